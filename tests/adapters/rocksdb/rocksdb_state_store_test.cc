// What only a store on disk has: reopening, crashes, several stores in one database.
#include "adapters/rocksdb/rocksdb_state_store.h"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/adapters/rocksdb/temp_dir.h"

namespace orderflow::adapters::rocksdb {
namespace {

using core::Offset;
using Contents = std::map<std::string, std::string>;

Contents contents(const core::StateStore& store) {
  Contents all;
  store.scan("", "", [&all](std::string_view key, std::string_view value) {
    all.emplace(key, value);
    return true;
  });
  return all;
}

std::unique_ptr<RocksDbEnvironment> open_env(const TempDir& dir, RocksDbOptions options = {}) {
  auto env = RocksDbEnvironment::open(dir.path(), options);
  if (!env) {
    ADD_FAILURE() << env.error().code << ": " << env.error().message;
    std::abort();
  }
  return std::move(*env);
}

class RocksDbStateStoreTest : public ::testing::Test {
 protected:
  // Runs `ops` on the store "orders" in another process, which then dies by SIGKILL.
  void crash_after(std::size_t buffer_bytes, const std::vector<std::string>& ops) {
    std::vector<std::string> args = {ORDERFLOW_CRASH_WRITER, dir_.path().string(),
                                     std::to_string(buffer_bytes)};
    args.insert(args.end(), ops.begin(), ops.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    pid_t pid = 0;
    ASSERT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  }

  TempDir dir_;
};

TEST_F(RocksDbStateStoreTest, ReopeningKeepsContentsAndCheckpoint) {
  {
    auto env = open_env(dir_);
    auto store = env->open_store("orders");
    store->put("a", "1");
    store->put("b", "2");
    store->erase("a");
    store->put(std::string("\0", 1), "zero");
    store->set_checkpoint(Offset{12});
  }
  auto env = open_env(dir_);
  auto store = env->open_store("orders");
  EXPECT_EQ(contents(*store), (Contents{{std::string("\0", 1), "zero"}, {"b", "2"}}));
  EXPECT_EQ(store->checkpoint(), Offset{12});
  // The changes were taken by nobody, but what is on disk is not a change.
  EXPECT_EQ(store->take_changes(), std::vector<core::ChangelogEntry>{});
}

TEST_F(RocksDbStateStoreTest, ReopeningAfterChangesSinceTheCheckpointKeepsThemButNotIt) {
  {
    auto env = open_env(dir_);
    auto store = env->open_store("orders");
    store->put("a", "1");
    store->set_checkpoint(Offset{3});
    store->put("a", "2");
  }
  auto env = open_env(dir_);
  auto store = env->open_store("orders");
  EXPECT_EQ(store->get("a"), "2");
  EXPECT_EQ(store->checkpoint(), std::nullopt);
}

TEST_F(RocksDbStateStoreTest, ClearIsPersisted) {
  {
    auto env = open_env(dir_);
    auto store = env->open_store("orders");
    store->put("a", "1");
    store->put("\xff", "1");
    store->set_checkpoint(Offset{3});
    store->clear();
  }
  auto env = open_env(dir_);
  auto store = env->open_store("orders");
  EXPECT_EQ(contents(*store), Contents{});
  EXPECT_EQ(store->checkpoint(), std::nullopt);
}

// A crash loses the changes after the last checkpoint, and only those: the data on
// disk matches the checkpoint, so replaying the changelog's tail is enough.
TEST_F(RocksDbStateStoreTest, CrashKeepsTheDataOfTheLastCheckpoint) {
  crash_after(64 << 20,
              {"put:a=1", "put:b=1", "checkpoint:3", "take", "put:a=2", "erase:b", "put:c=2"});

  auto env = open_env(dir_);
  auto store = env->open_store("orders");
  EXPECT_EQ(contents(*store), (Contents{{"a", "1"}, {"b", "1"}}));
  EXPECT_EQ(store->checkpoint(), Offset{3});
}

// Changes that outgrow the buffer go to disk early; a crash then must not leave a
// checkpoint that the data no longer matches.
TEST_F(RocksDbStateStoreTest, CrashAfterAnEarlyWriteLeavesNoCheckpoint) {
  crash_after(1000, {"put:a=1", "checkpoint:3", "put:a=" + std::string(2000, 'x')});

  auto env = open_env(dir_);
  auto store = env->open_store("orders");
  EXPECT_EQ(store->get("a"), std::string(2000, 'x'));
  EXPECT_EQ(store->checkpoint(), std::nullopt);
}

TEST_F(RocksDbStateStoreTest, StoresOfOneDatabaseAreIndependent) {
  auto env = open_env(dir_);
  auto orders = env->open_store("orders.0");
  auto stock = env->open_store("stock.0");
  orders->put("k", "order");
  stock->put("k", "stock");
  orders->set_checkpoint(Offset{1});
  stock->set_checkpoint(Offset{2});
  stock->clear();

  EXPECT_EQ(orders->get("k"), "order");
  EXPECT_EQ(orders->checkpoint(), Offset{1});
  EXPECT_EQ(stock->get("k"), std::nullopt);
  EXPECT_EQ(stock->checkpoint(), std::nullopt);
  EXPECT_EQ(env->store_names(), (std::vector<std::string>{"orders.0", "stock.0"}));

  orders.reset();
  stock.reset();
  env.reset();
  env = open_env(dir_);
  EXPECT_EQ(env->store_names(), (std::vector<std::string>{"orders.0", "stock.0"}));
  EXPECT_EQ(env->open_store("orders.0")->checkpoint(), Offset{1});
}

TEST_F(RocksDbStateStoreTest, AStoreMayOutliveItsEnvironment) {
  auto env = open_env(dir_);
  auto store = env->open_store("orders");
  env.reset();
  store->put("a", "1");
  store->set_checkpoint(Offset{1});
  EXPECT_EQ(store->get("a"), "1");
}

TEST_F(RocksDbStateStoreTest, AClosedStoreCanBeOpenedAgain) {
  auto env = open_env(dir_);
  env->open_store("orders")->put("a", "1");
  EXPECT_EQ(env->open_store("orders")->get("a"), "1");
}

// The death tests fork although RocksDB runs threads: the child fails its check before it
// touches RocksDB. (The "threadsafe" style would run the test afresh in the child and
// leave that run's directory behind.)
TEST_F(RocksDbStateStoreTest, OpeningAnOpenStoreAgainIsABug) {
  auto env = open_env(dir_);
  auto store = env->open_store("orders");
  EXPECT_DEATH((void)env->open_store("orders"), "already open");
}

TEST_F(RocksDbStateStoreTest, ReservedStoreNamesAreRejected) {
  auto env = open_env(dir_);
  EXPECT_DEATH((void)env->open_store(""), "store name");
  EXPECT_DEATH((void)env->open_store("default"), "store name");
}

TEST_F(RocksDbStateStoreTest, ASecondEnvironmentOnTheSameDirectoryIsRetriable) {
  auto env = open_env(dir_);
  auto second = RocksDbEnvironment::open(dir_.path());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().kind, core::ErrorKind::kRetriable);
  EXPECT_EQ(second.error().code, "state_dir_locked");
}

TEST_F(RocksDbStateStoreTest, ADirectoryThatCannotBeCreatedIsFatal) {
  std::ofstream(dir_.path() / "file") << "not a directory";
  auto env = RocksDbEnvironment::open(dir_.path() / "file" / "state");
  ASSERT_FALSE(env.has_value());
  EXPECT_EQ(env.error().kind, core::ErrorKind::kFatal);
  EXPECT_EQ(env.error().code, "state_dir_unavailable");
}

}  // namespace
}  // namespace orderflow::adapters::rocksdb
