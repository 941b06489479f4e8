// `StateStore`: an ordered key-value store whose changes are also a changelog.
//
// A stream task keeps its state in a store and writes every change to the
// store's changelog topic within the same transaction as its outputs; after a
// crash or a move to another instance the store is rebuilt by replaying that
// topic. So the store records what changed since the runtime last took the
// changes, and can apply changelog entries without recording them again.
//
// Ordering: `scan` visits keys in bytewise ascending order. Keys and values are
// arbitrary bytes.
// Threading: owned by one stream task on one executor; not thread-safe.
// Errors: in-memory and local-disk stores do not fail recoverably; a disk error is
// an invariant failure of the process.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/strong.h"

namespace orderflow::core {

// One change: a put, or a delete when `value` is empty (a changelog tombstone).
struct ChangelogEntry {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const ChangelogEntry&, const ChangelogEntry&) = default;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  [[nodiscard]] virtual std::optional<std::string> get(std::string_view key) const = 0;
  virtual void put(std::string_view key, std::string_view value) = 0;
  virtual void erase(std::string_view key) = 0;

  // Visits keys in [from, to) in order until `visit` returns false. An empty `to`
  // means "to the end".
  virtual void scan(
      std::string_view from, std::string_view to,
      const std::function<bool(std::string_view key, std::string_view value)>& visit) const = 0;

  // The changes since the previous call, in key order, with only the last change
  // of each key kept (so replaying them in any order gives the same contents). The runtime writes
  // them to the changelog.
  [[nodiscard]] virtual std::vector<ChangelogEntry> take_changes() = 0;
  // Forgets changes not yet taken (the transaction that would carry them aborted)
  // and restores the values they replaced.
  virtual void discard_changes() = 0;

  // Restore: applies a changelog entry without recording it as a change.
  virtual void apply(const ChangelogEntry& entry) = 0;
  // Drops all contents and changes (before a full restore, or when the local disk
  // is lost).
  virtual void clear() = 0;

  // The changelog offset up to which the contents are known to match the committed
  // changelog; kept with the data so that a restart replays only the tail. Empty
  // means "unknown": the store must be wiped and restored in full (the runtime
  // clears it while a commit is in flight).
  [[nodiscard]] virtual std::optional<Offset> checkpoint() const = 0;
  virtual void set_checkpoint(std::optional<Offset> next_offset) = 0;
};

}  // namespace orderflow::core
