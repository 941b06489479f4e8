// `RocksDbEnvironment` and `RocksDbStateStore`: the `StateStore` port on RocksDB.
//
// One RocksDB database per instance state directory. Each store is a column family
// named after the store; checkpoints live in the default column family under
// "checkpoint/<store name>", so that a store's data and its checkpoint change in one
// atomic write batch.
//
//   auto env = RocksDbEnvironment::open("/var/lib/orderflow/orders-1");
//   if (!env) return env.error();
//   std::unique_ptr<RocksDbStateStore> store = (*env)->open_store("order-state.3");
//
// What the disk holds: changes are kept in memory and written together with the
// next `set_checkpoint`, so after a crash the disk holds the data as of a checkpoint
// the runtime declared, and a restart replays only the changelog's tail. When the
// buffered changes outgrow `RocksDbOptions::max_buffered_bytes`, or the store is
// destroyed with changes not yet written, they are written early and the on-disk
// checkpoint is withdrawn: a restart then sees "unknown" and restores in full, never
// stale data under a valid checkpoint. Reads see the buffered changes.
//
// Ownership: stores share ownership of the database with the environment, so the
// database closes when the last of them is destroyed.
// Threading: `RocksDbEnvironment` is thread-safe. A `RocksDbStateStore` is owned by
// one stream task on one executor and is not thread-safe; stores of one environment
// may be used on different threads.
// Errors: opening the directory can fail (`open`); after that a disk error is an
// invariant failure, as the `StateStore` port prescribes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ports/error.h"
#include "core/ports/state_store.h"

namespace orderflow::adapters::rocksdb {

struct RocksDbOptions {
  // Fsync the write-ahead log on every write. Off, a process crash still loses
  // nothing written; a machine crash may lose the latest writes, and each store
  // reopens at an earlier checkpoint that matches its data.
  bool sync = false;
  // Buffered changes beyond this many key and value bytes are written early, which
  // withdraws the on-disk checkpoint until the next `set_checkpoint`.
  std::size_t max_buffered_bytes = std::size_t{64} << 20;
};

class RocksDbStateStore;

class RocksDbEnvironment {
 public:
  // Opens the database in `dir`, creating the directory and the database when absent.
  // Fails when the directory cannot be created or another process holds the database.
  [[nodiscard]] static core::Result<std::unique_ptr<RocksDbEnvironment>> open(
      const std::filesystem::path& dir, const RocksDbOptions& options = {});

  ~RocksDbEnvironment();
  RocksDbEnvironment(const RocksDbEnvironment&) = delete;
  RocksDbEnvironment& operator=(const RocksDbEnvironment&) = delete;

  // Opens the store `name`, creating it empty when absent. `name` is not empty and not
  // "default"; at most one store object per name is alive at a time.
  [[nodiscard]] std::unique_ptr<RocksDbStateStore> open_store(std::string_view name);

  // Names of the stores the database holds, sorted.
  [[nodiscard]] std::vector<std::string> store_names() const;

 private:
  friend class RocksDbStateStore;
  struct Shared;

  explicit RocksDbEnvironment(std::shared_ptr<Shared> shared);

  std::shared_ptr<Shared> shared_;
};

class RocksDbStateStore final : public core::StateStore {
 public:
  // Writes buffered changes (withdrawing the on-disk checkpoint when there are any).
  ~RocksDbStateStore() override;
  RocksDbStateStore(const RocksDbStateStore&) = delete;
  RocksDbStateStore& operator=(const RocksDbStateStore&) = delete;

  [[nodiscard]] std::optional<std::string> get(std::string_view key) const override;
  void put(std::string_view key, std::string_view value) override;
  void erase(std::string_view key) override;
  void scan(std::string_view from, std::string_view to,
            const std::function<bool(std::string_view, std::string_view)>& visit) const override;

  [[nodiscard]] std::vector<core::ChangelogEntry> take_changes() override;
  void discard_changes() override;
  void apply(const core::ChangelogEntry& entry) override;
  void clear() override;

  [[nodiscard]] std::optional<core::Offset> checkpoint() const override;
  // Writes the buffered changes and the checkpoint in one atomic batch.
  void set_checkpoint(std::optional<core::Offset> next_offset) override;

  [[nodiscard]] const std::string& name() const;

 private:
  friend class RocksDbEnvironment;
  struct Impl;

  explicit RocksDbStateStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::adapters::rocksdb
