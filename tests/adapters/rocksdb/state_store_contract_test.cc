// The `StateStore` contract, run against every implementation: the in-memory store that
// the simulator uses and the RocksDB store that production uses, the latter also with
// a zero-byte buffer so that every change goes to disk at once.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/rocksdb/rocksdb_state_store.h"
#include "core/ports/memory_state_store.h"
#include "tests/adapters/rocksdb/temp_dir.h"

namespace orderflow::adapters::rocksdb {
namespace {

using core::ChangelogEntry;
using core::Offset;
using core::StateStore;
using Contents = std::map<std::string, std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;
using Changes = std::vector<ChangelogEntry>;

struct MemoryFactory {
  std::unique_ptr<StateStore> make() { return std::make_unique<core::MemoryStateStore>(); }
};

template <std::size_t kBufferBytes>
struct RocksDbFactory {
  TempDir dir;
  std::unique_ptr<RocksDbEnvironment> env;

  std::unique_ptr<StateStore> make() {
    auto opened = RocksDbEnvironment::open(dir.path(), {.max_buffered_bytes = kBufferBytes});
    EXPECT_TRUE(opened.has_value()) << opened.error().message;
    env = std::move(*opened);
    return env->open_store("contract");
  }
};

using Buffering = RocksDbFactory<std::size_t{64} << 20>;
using WritingThrough = RocksDbFactory<0>;

template <typename Factory>
class StateStoreContractTest : public ::testing::Test {
 protected:
  Factory factory_;
  std::unique_ptr<StateStore> owned_ = factory_.make();
  StateStore& store_ = *owned_;
};

class FactoryNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, MemoryFactory>) return "Memory";
    if constexpr (std::is_same_v<T, Buffering>) return "RocksDbBuffering";
    return "RocksDbWritingThrough";
  }
};

using Factories = ::testing::Types<MemoryFactory, Buffering, WritingThrough>;
TYPED_TEST_SUITE(StateStoreContractTest, Factories, FactoryNames);

Contents contents(const StateStore& store) {
  Contents all;
  store.scan("", "", [&all](std::string_view key, std::string_view value) {
    all.emplace(key, value);
    return true;
  });
  return all;
}

Pairs scan(const StateStore& store, std::string_view from, std::string_view to,
           std::size_t limit = SIZE_MAX) {
  Pairs visited;
  store.scan(from, to, [&](std::string_view key, std::string_view value) {
    visited.emplace_back(key, value);
    return visited.size() < limit;
  });
  return visited;
}

ChangelogEntry put_entry(std::string key, std::string value) {
  return {std::move(key), std::move(value)};
}

ChangelogEntry tombstone(std::string key) { return {std::move(key), std::nullopt}; }

TYPED_TEST(StateStoreContractTest, GetPutErase) {
  StateStore& store = this->store_;
  EXPECT_EQ(store.get("a"), std::nullopt);

  store.put("a", "1");
  store.put("b", "2");
  store.put("a", "3");
  EXPECT_EQ(store.get("a"), "3");
  EXPECT_EQ(store.get("b"), "2");

  store.erase("a");
  store.erase("missing");
  EXPECT_EQ(store.get("a"), std::nullopt);
  EXPECT_EQ(contents(store), (Contents{{"b", "2"}}));
}

TYPED_TEST(StateStoreContractTest, KeysAndValuesAreArbitraryBytes) {
  StateStore& store = this->store_;
  const std::string key("k\0ey", 4);
  const std::string value("\0\xff", 2);
  store.put(key, value);
  store.put("", "");
  EXPECT_EQ(store.get(key), value);
  EXPECT_EQ(store.get(""), "");
  EXPECT_EQ(store.get("k"), std::nullopt);
}

TYPED_TEST(StateStoreContractTest, ScanVisitsKeysInBytewiseOrder) {
  StateStore& store = this->store_;
  for (const char* key : {"b", "\xff", "a", "ab", "\x80", "B", ""}) store.put(key, "v");

  std::vector<std::string> keys;
  for (const auto& [key, unused] : scan(store, "", "")) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"", "B", "a", "ab", "b", "\x80", "\xff"}));
}

TYPED_TEST(StateStoreContractTest, ScanCoversFromInclusiveToExclusive) {
  StateStore& store = this->store_;
  for (const char* key : {"a", "b", "c", "d"}) store.put(key, std::string(key) + "!");

  EXPECT_EQ(scan(store, "b", "d"), (Pairs{{"b", "b!"}, {"c", "c!"}}));
  EXPECT_EQ(scan(store, "bb", "cc"), (Pairs{{"c", "c!"}}));
  EXPECT_EQ(scan(store, "c", ""), (Pairs{{"c", "c!"}, {"d", "d!"}}));
  EXPECT_EQ(scan(store, "b", "b"), Pairs{});
  EXPECT_EQ(scan(store, "c", "b"), Pairs{});
  EXPECT_EQ(scan(store, "e", ""), Pairs{});
}

TYPED_TEST(StateStoreContractTest, ScanStopsWhenTheVisitorSaysSo) {
  StateStore& store = this->store_;
  for (const char* key : {"a", "b", "c"}) store.put(key, "v");

  EXPECT_EQ(scan(store, "", "", 1), (Pairs{{"a", "v"}}));
  EXPECT_EQ(scan(store, "b", "", 1), (Pairs{{"b", "v"}}));
}

// Some changes checkpointed, later ones not: reads see the latest of each key.
TYPED_TEST(StateStoreContractTest, ReadsSeeCheckpointedAndLaterChangesTogether) {
  StateStore& store = this->store_;
  for (const char* key : {"a", "c", "e", "g"}) store.put(key, "old");
  store.set_checkpoint(Offset{4});

  store.erase("a");
  store.put("b", "new");
  store.put("e", "new");
  store.erase("g");
  store.put("h", "new");

  EXPECT_EQ(scan(store, "", ""), (Pairs{{"b", "new"}, {"c", "old"}, {"e", "new"}, {"h", "new"}}));
  EXPECT_EQ(scan(store, "c", "h"), (Pairs{{"c", "old"}, {"e", "new"}}));
  EXPECT_EQ(scan(store, "", "", 2), (Pairs{{"b", "new"}, {"c", "old"}}));
  EXPECT_EQ(store.get("a"), std::nullopt);
  EXPECT_EQ(store.get("c"), "old");
  EXPECT_EQ(store.get("e"), "new");
}

TYPED_TEST(StateStoreContractTest, TakeChangesKeepsTheLastChangePerKeyInKeyOrder) {
  StateStore& store = this->store_;
  store.put("b", "1");
  store.put("a", "1");
  store.put("b", "2");
  store.put("c", "1");
  store.erase("c");
  store.erase("never");

  EXPECT_EQ(store.take_changes(), (Changes{put_entry("a", "1"), put_entry("b", "2"), tombstone("c"),
                                           tombstone("never")}));
  EXPECT_EQ(store.take_changes(), Changes{});

  store.erase("a");
  EXPECT_EQ(store.take_changes(), Changes{tombstone("a")});
}

TYPED_TEST(StateStoreContractTest, DiscardChangesRestoresTheValuesBeforeTheFirstUntakenChange) {
  StateStore& store = this->store_;
  store.put("kept", "1");
  store.put("changed", "1");
  store.put("erased", "1");
  ASSERT_EQ(store.take_changes().size(), 3u);

  store.put("changed", "2");
  store.put("changed", "3");
  store.erase("erased");
  store.put("new", "1");
  store.put("gone", "1");
  store.erase("gone");
  store.discard_changes();

  EXPECT_EQ(contents(store), (Contents{{"changed", "1"}, {"erased", "1"}, {"kept", "1"}}));
  EXPECT_EQ(store.take_changes(), Changes{});
}

TYPED_TEST(StateStoreContractTest, DiscardAfterEraseThenPutRestoresTheOriginal) {
  StateStore& store = this->store_;
  store.put("a", "1");
  (void)store.take_changes();

  store.erase("a");
  store.put("a", "2");
  store.discard_changes();
  EXPECT_EQ(store.get("a"), "1");
}

// A checkpoint set while changes are untaken does not make them permanent.
TYPED_TEST(StateStoreContractTest, DiscardRestoresValuesAcrossACheckpoint) {
  StateStore& store = this->store_;
  store.put("a", "1");
  (void)store.take_changes();

  store.put("a", "2");
  store.put("b", "2");
  store.set_checkpoint(Offset{5});
  store.discard_changes();

  EXPECT_EQ(contents(store), (Contents{{"a", "1"}}));
  EXPECT_EQ(store.checkpoint(), Offset{5});
}

TYPED_TEST(StateStoreContractTest, ApplyDoesNotRecordChanges) {
  StateStore& store = this->store_;
  store.apply(put_entry("a", "1"));
  store.apply(put_entry("b", "1"));
  store.apply(put_entry("a", "2"));
  store.apply(tombstone("b"));
  store.apply(tombstone("missing"));

  EXPECT_EQ(contents(store), (Contents{{"a", "2"}}));
  EXPECT_EQ(store.take_changes(), Changes{});
  store.discard_changes();
  EXPECT_EQ(contents(store), (Contents{{"a", "2"}}));
}

TYPED_TEST(StateStoreContractTest, ClearDropsDataChangesAndCheckpoint) {
  StateStore& store = this->store_;
  store.put("", "1");
  store.put("a", "1");
  store.put("\xff\xff", "1");
  store.set_checkpoint(Offset{42});
  store.put("b", "1");
  store.clear();

  EXPECT_EQ(contents(store), Contents{});
  EXPECT_EQ(store.get("a"), std::nullopt);
  EXPECT_EQ(store.take_changes(), Changes{});
  EXPECT_EQ(store.checkpoint(), std::nullopt);

  store.put("a", "2");
  EXPECT_EQ(contents(store), (Contents{{"a", "2"}}));
}

TYPED_TEST(StateStoreContractTest, ClearOfAStoreHoldingOnlyTheEmptyKey) {
  StateStore& store = this->store_;
  store.put("", "1");
  store.set_checkpoint(Offset{1});
  store.clear();
  EXPECT_EQ(contents(store), Contents{});
}

TYPED_TEST(StateStoreContractTest, CheckpointIsKeptUntilReplaced) {
  StateStore& store = this->store_;
  EXPECT_EQ(store.checkpoint(), std::nullopt);
  store.set_checkpoint(Offset{7});
  EXPECT_EQ(store.checkpoint(), Offset{7});
  store.put("a", "1");
  store.discard_changes();
  EXPECT_EQ(store.checkpoint(), Offset{7});
  store.set_checkpoint(Offset{9});
  EXPECT_EQ(store.checkpoint(), Offset{9});
  store.set_checkpoint(std::nullopt);
  EXPECT_EQ(store.checkpoint(), std::nullopt);
}

// A 64-bit linear congruential generator (Knuth's MMIX constants): fixed and simple,
// so that a failure replays exactly.
class Lcg {
 public:
  explicit Lcg(std::uint64_t seed) : state_(seed) {}
  std::uint32_t next(std::uint32_t bound) {
    state_ = state_ * 6364136223846793005u + 1442695040888963407u;
    return static_cast<std::uint32_t>(state_ >> 33) % bound;
  }

 private:
  std::uint64_t state_;
};

// Restore: the changelog a store's taken changes make up, applied to an empty store,
// rebuilds that store's contents, whatever was put, erased or discarded on the way.
TYPED_TEST(StateStoreContractTest, ReplayingTakenChangesRestoresTheContents) {
  StateStore& store = this->store_;
  Lcg lcg(3);
  Changes changelog;
  for (int step = 0; step < 400; ++step) {
    const std::string key = "k" + std::to_string(lcg.next(12));
    switch (lcg.next(11)) {
      case 0: store.discard_changes(); break;
      case 1:
      case 2:
        for (auto& change : store.take_changes()) changelog.push_back(std::move(change));
        break;
      case 3:
      case 4: store.erase(key); break;
      case 5: store.set_checkpoint(Offset{step}); break;
      default: store.put(key, std::to_string(step)); break;
    }
  }
  for (auto& change : store.take_changes()) changelog.push_back(std::move(change));

  core::MemoryStateStore restored;
  for (const ChangelogEntry& entry : changelog) restored.apply(entry);
  EXPECT_EQ(contents(restored), contents(store));
}

}  // namespace
}  // namespace orderflow::adapters::rocksdb
