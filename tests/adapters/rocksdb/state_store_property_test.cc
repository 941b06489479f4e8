// Random operation sequences give the same results on the RocksDB store as on the
// in-memory store, whatever the buffer size, and across closing and reopening the store
// or the whole database.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "adapters/rocksdb/rocksdb_state_store.h"
#include "core/ports/memory_state_store.h"
#include "tests/adapters/rocksdb/temp_dir.h"

namespace orderflow::adapters::rocksdb {
namespace {

using core::ChangelogEntry;
using core::MemoryStateStore;
using core::Offset;
using core::StateStore;
using Pairs = std::vector<std::pair<std::string, std::string>>;

enum class OpKind {
  kPut,
  kErase,
  kGet,
  kScan,
  kTakeChanges,
  kDiscardChanges,
  kApply,
  kClear,
  kSetCheckpoint,
  kReopen,
};

struct Op {
  OpKind kind = OpKind::kGet;
  std::string key;
  std::string to;  // kScan: the end of the range
  std::optional<std::string> value;
  std::optional<std::int64_t> offset;
  std::size_t limit = 0;  // kScan: stop after this many keys; 0 for all
  bool restart = false;   // kReopen: reopen the whole database, not only the store
};

// Shows only what the operation uses, e.g. `put("a", "x")` or `set_checkpoint(none)`.
void showValue(const Op& op, std::ostream& os) {
  const auto value = [&os](const std::optional<std::string>& v) {
    if (v) {
      rc::show(*v, os);
    } else {
      os << "tombstone";
    }
  };
  switch (op.kind) {
    case OpKind::kPut:
    case OpKind::kApply:
      os << (op.kind == OpKind::kPut ? "put(" : "apply(");
      rc::show(op.key, os);
      os << ", ";
      value(op.value);
      os << ")";
      return;
    case OpKind::kErase:
    case OpKind::kGet:
      os << (op.kind == OpKind::kErase ? "erase(" : "get(");
      rc::show(op.key, os);
      os << ")";
      return;
    case OpKind::kScan:
      os << "scan(";
      rc::show(op.key, os);
      os << ", ";
      rc::show(op.to, os);
      os << ", limit " << op.limit << ")";
      return;
    case OpKind::kSetCheckpoint:
      os << "set_checkpoint(";
      if (op.offset) {
        os << *op.offset << ")";
      } else {
        os << "none)";
      }
      return;
    case OpKind::kTakeChanges: os << "take_changes()"; return;
    case OpKind::kDiscardChanges: os << "discard_changes()"; return;
    case OpKind::kClear: os << "clear()"; return;
    case OpKind::kReopen: os << (op.restart ? "restart()" : "reopen()"); return;
  }
}

// Few distinct keys, so that operations meet; the bytes include NUL and 0xff.
rc::Gen<std::string> key_gen() {
  return rc::gen::container<std::string>(
      *rc::gen::inRange<std::size_t>(0, 3),
      rc::gen::element<char>('a', 'b', 'c', '\0', static_cast<char>(0xff)));
}

rc::Gen<Op> op_gen() {
  return rc::gen::exec([] {
    Op op;
    op.kind = *rc::gen::weightedElement<OpKind>({{8, OpKind::kPut},
                                                 {4, OpKind::kErase},
                                                 {3, OpKind::kGet},
                                                 {3, OpKind::kScan},
                                                 {3, OpKind::kTakeChanges},
                                                 {3, OpKind::kDiscardChanges},
                                                 {3, OpKind::kApply},
                                                 {1, OpKind::kClear},
                                                 {3, OpKind::kSetCheckpoint},
                                                 {2, OpKind::kReopen}});
    op.key = *key_gen();
    op.to = *key_gen();
    // Puts need a value; an applied entry or a checkpoint is sometimes empty.
    if (op.kind == OpKind::kPut || *rc::gen::inRange(0, 4) != 0) {
      op.value = *rc::gen::string<std::string>();
    }
    if (*rc::gen::inRange(0, 4) != 0) op.offset = *rc::gen::inRange<std::int64_t>(0, 1000);
    op.limit = *rc::gen::inRange<std::size_t>(0, 4);
    op.restart = *rc::gen::inRange(0, 4) == 0;
    return op;
  });
}

Pairs scan(const StateStore& store, const Op& op) {
  Pairs visited;
  store.scan(op.key, op.to, [&](std::string_view key, std::string_view value) {
    visited.emplace_back(key, value);
    return op.limit == 0 || visited.size() < op.limit;
  });
  return visited;
}

Pairs contents(const StateStore& store) { return scan(store, Op{.kind = OpKind::kScan}); }

// What reopening does to a store on disk, for the in-memory store: untaken changes
// are forgotten, and so is the checkpoint when anything changed after it was set.
class ReopenModel {
 public:
  void after(const Op& op, MemoryStateStore& store) {
    switch (op.kind) {
      case OpKind::kPut:
      case OpKind::kErase: untaken_ = changed_ = true; break;
      case OpKind::kApply: changed_ = true; break;
      case OpKind::kDiscardChanges: changed_ |= std::exchange(untaken_, false); break;
      case OpKind::kTakeChanges: untaken_ = false; break;
      case OpKind::kClear: untaken_ = changed_ = false; break;
      case OpKind::kSetCheckpoint: changed_ = false; break;
      case OpKind::kReopen:
        (void)store.take_changes();
        if (changed_) store.set_checkpoint(std::nullopt);
        untaken_ = changed_ = false;
        break;
      case OpKind::kGet:
      case OpKind::kScan: break;
    }
  }

 private:
  bool untaken_ = false;  // put or erased since the last take or discard
  bool changed_ = false;  // written to since the last checkpoint was set
};

// Opening a database or creating a store costs tens of milliseconds (RocksDB writes and
// parses an options file each time), so the runs share one database per buffer size
// and one store in it, which each run clears first.
class SharedDatabase {
 public:
  static SharedDatabase& with_buffer(std::size_t bytes) {
    auto [it, inserted] = databases_.try_emplace(bytes);
    if (inserted) {
      it->second.options_.max_buffered_bytes = bytes;
      it->second.restart();
    }
    return it->second;
  }

  void restart() {
    env_.reset();
    auto env = RocksDbEnvironment::open(dir_.path(), options_);
    RC_ASSERT(env.has_value());
    env_ = std::move(*env);
  }

  std::unique_ptr<RocksDbStateStore> open_store(const std::string& name) {
    return env_->open_store(name);
  }

 private:
  // Closed by `CloseSharedDatabases` before exit: RocksDB's own statics are created on
  // first use, so they would be destroyed before a static map declared here.
  static std::map<std::size_t, SharedDatabase> databases_;
  friend class CloseSharedDatabases;

  TempDir dir_;
  RocksDbOptions options_;
  std::unique_ptr<RocksDbEnvironment> env_;
};

std::map<std::size_t, SharedDatabase> SharedDatabase::databases_;

class CloseSharedDatabases final : public ::testing::Environment {
 public:
  void TearDown() override { SharedDatabase::databases_.clear(); }
};

[[maybe_unused]] ::testing::Environment* const kCloseSharedDatabases =
    ::testing::AddGlobalTestEnvironment(new CloseSharedDatabases);

RC_GTEST_PROP(RocksDbStateStoreProperty, BehavesLikeTheMemoryStore, ()) {
  const std::string name = "property";
  SharedDatabase& database =
      SharedDatabase::with_buffer(*rc::gen::element<std::size_t>(0, 300, std::size_t{64} << 20));
  const auto ops = *rc::gen::container<std::vector<Op>>(op_gen());

  auto rocks = database.open_store(name);
  rocks->clear();
  MemoryStateStore memory;
  ReopenModel model;
  for (const Op& op : ops) {
    switch (op.kind) {
      case OpKind::kPut:
        rocks->put(op.key, *op.value);
        memory.put(op.key, *op.value);
        break;
      case OpKind::kErase:
        rocks->erase(op.key);
        memory.erase(op.key);
        break;
      case OpKind::kGet: RC_ASSERT(rocks->get(op.key) == memory.get(op.key)); break;
      case OpKind::kScan: RC_ASSERT(scan(*rocks, op) == scan(memory, op)); break;
      case OpKind::kTakeChanges: RC_ASSERT(rocks->take_changes() == memory.take_changes()); break;
      case OpKind::kDiscardChanges:
        rocks->discard_changes();
        memory.discard_changes();
        break;
      case OpKind::kApply:
        rocks->apply(ChangelogEntry{op.key, op.value});
        memory.apply(ChangelogEntry{op.key, op.value});
        break;
      case OpKind::kClear:
        rocks->clear();
        memory.clear();
        break;
      case OpKind::kSetCheckpoint: {
        const auto checkpoint = op.offset ? std::optional(Offset{*op.offset}) : std::nullopt;
        rocks->set_checkpoint(checkpoint);
        memory.set_checkpoint(checkpoint);
        break;
      }
      case OpKind::kReopen:
        rocks.reset();
        if (op.restart) database.restart();
        rocks = database.open_store(name);
        break;
    }
    model.after(op, memory);
    RC_ASSERT(rocks->checkpoint() == memory.checkpoint());
  }
  RC_ASSERT(contents(*rocks) == contents(memory));
}

}  // namespace
}  // namespace orderflow::adapters::rocksdb
