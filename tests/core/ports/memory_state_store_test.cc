#include "core/ports/memory_state_store.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace orderflow::core {
namespace {

using Contents = std::map<std::string, std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

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

TEST(MemoryStateStoreTest, GetPutErase) {
  MemoryStateStore store;
  EXPECT_EQ(store.get("a"), std::nullopt);

  store.put("a", "1");
  store.put("b", "2");
  store.put("a", "3");
  EXPECT_EQ(store.get("a"), "3");
  EXPECT_EQ(store.get("b"), "2");
  EXPECT_EQ(store.size(), 2u);

  store.erase("a");
  store.erase("missing");
  EXPECT_EQ(store.get("a"), std::nullopt);
  EXPECT_EQ(store.size(), 1u);
}

TEST(MemoryStateStoreTest, KeysAndValuesAreArbitraryBytes) {
  MemoryStateStore store;
  const std::string key("k\0ey", 4);
  const std::string value("\0\xff", 2);
  store.put(key, value);
  EXPECT_EQ(store.get(key), value);
  EXPECT_EQ(store.get("k"), std::nullopt);
}

TEST(MemoryStateStoreTest, ScanVisitsKeysInBytewiseOrder) {
  MemoryStateStore store;
  for (const char* key : {"b", "\xff", "a", "ab", "\x80", "B", ""}) store.put(key, "v");

  std::vector<std::string> keys;
  for (const auto& [key, unused] : scan(store, "", "")) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"", "B", "a", "ab", "b", "\x80", "\xff"}));
}

TEST(MemoryStateStoreTest, ScanCoversFromInclusiveToExclusive) {
  MemoryStateStore store;
  for (const char* key : {"a", "b", "c", "d"}) store.put(key, std::string(key) + "!");

  EXPECT_EQ(scan(store, "b", "d"), (Pairs{{"b", "b!"}, {"c", "c!"}}));
  EXPECT_EQ(scan(store, "bb", "cc"), (Pairs{{"c", "c!"}}));
  EXPECT_EQ(scan(store, "c", ""), (Pairs{{"c", "c!"}, {"d", "d!"}}));
  EXPECT_EQ(scan(store, "b", "b"), Pairs{});
  EXPECT_EQ(scan(store, "e", ""), Pairs{});
}

TEST(MemoryStateStoreTest, ScanStopsWhenTheVisitorSaysSo) {
  MemoryStateStore store;
  for (const char* key : {"a", "b", "c"}) store.put(key, "v");

  EXPECT_EQ(scan(store, "", "", 1), (Pairs{{"a", "v"}}));
  EXPECT_EQ(scan(store, "b", "", 1), (Pairs{{"b", "v"}}));
}

TEST(MemoryStateStoreTest, TakeChangesKeepsTheLastChangePerKeyInKeyOrder) {
  MemoryStateStore store;
  store.put("b", "1");
  store.put("a", "1");
  store.put("b", "2");
  store.put("c", "1");
  store.erase("c");
  store.erase("never");

  EXPECT_EQ(store.take_changes(),
            (std::vector<ChangelogEntry>{put_entry("a", "1"), put_entry("b", "2"), tombstone("c"),
                                         tombstone("never")}));
  EXPECT_EQ(store.take_changes(), std::vector<ChangelogEntry>{});

  store.erase("a");
  EXPECT_EQ(store.take_changes(), std::vector<ChangelogEntry>{tombstone("a")});
}

TEST(MemoryStateStoreTest, DiscardChangesRestoresTheValuesBeforeTheFirstUntakenChange) {
  MemoryStateStore store;
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
  EXPECT_EQ(store.take_changes(), std::vector<ChangelogEntry>{});
}

TEST(MemoryStateStoreTest, DiscardAfterEraseThenPutRestoresTheOriginal) {
  MemoryStateStore store;
  store.put("a", "1");
  (void)store.take_changes();

  store.erase("a");
  store.put("a", "2");
  store.discard_changes();
  EXPECT_EQ(store.get("a"), "1");
}

TEST(MemoryStateStoreTest, ApplyDoesNotRecordChanges) {
  MemoryStateStore store;
  store.apply(put_entry("a", "1"));
  store.apply(put_entry("b", "1"));
  store.apply(put_entry("a", "2"));
  store.apply(tombstone("b"));
  store.apply(tombstone("missing"));

  EXPECT_EQ(contents(store), (Contents{{"a", "2"}}));
  EXPECT_EQ(store.take_changes(), std::vector<ChangelogEntry>{});
  store.discard_changes();
  EXPECT_EQ(contents(store), (Contents{{"a", "2"}}));
}

TEST(MemoryStateStoreTest, ClearDropsDataChangesAndCheckpoint) {
  MemoryStateStore store;
  store.put("a", "1");
  store.set_checkpoint(Offset{42});
  store.clear();

  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.get("a"), std::nullopt);
  EXPECT_EQ(store.take_changes(), std::vector<ChangelogEntry>{});
  EXPECT_EQ(store.checkpoint(), std::nullopt);
}

TEST(MemoryStateStoreTest, CheckpointIsKeptUntilReplaced) {
  MemoryStateStore store;
  EXPECT_EQ(store.checkpoint(), std::nullopt);
  store.set_checkpoint(Offset{7});
  EXPECT_EQ(store.checkpoint(), Offset{7});
  store.put("a", "1");
  store.discard_changes();
  EXPECT_EQ(store.checkpoint(), Offset{7});
  store.set_checkpoint(Offset{9});
  EXPECT_EQ(store.checkpoint(), Offset{9});
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
TEST(MemoryStateStoreTest, ReplayingTakenChangesRestoresTheContents) {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(seed);
    Lcg lcg(seed);
    MemoryStateStore store;
    std::vector<ChangelogEntry> changelog;
    for (int step = 0; step < 400; ++step) {
      const std::string key = "k" + std::to_string(lcg.next(12));
      switch (lcg.next(10)) {
        case 0: store.discard_changes(); break;
        case 1:
        case 2:
          for (auto& change : store.take_changes()) changelog.push_back(std::move(change));
          break;
        case 3:
        case 4: store.erase(key); break;
        default: store.put(key, std::to_string(step)); break;
      }
    }
    for (auto& change : store.take_changes()) changelog.push_back(std::move(change));

    MemoryStateStore restored;
    for (const ChangelogEntry& entry : changelog) restored.apply(entry);
    EXPECT_EQ(contents(restored), contents(store));
    EXPECT_EQ(restored.take_changes(), std::vector<ChangelogEntry>{});
  }
}

}  // namespace
}  // namespace orderflow::core
