#include "adapters/rocksdb/rocksdb_state_store.h"

#include <charconv>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <source_location>
#include <system_error>
#include <utility>

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>
#include <rocksdb/write_batch.h>

#include "core/check.h"

namespace orderflow::adapters::rocksdb {
namespace {

namespace rdb = ::rocksdb;

// Counted per buffered change on top of its key and value bytes: roughly a map node.
constexpr std::size_t kEntryOverhead = 64;
constexpr std::string_view kCheckpointPrefix = "checkpoint/";

// Fails with "<what> <store>: <status>"; the message is built only on failure.
void check_ok(const rdb::Status& status, std::string_view what, std::string_view store = {},
              const std::source_location& where = std::source_location::current()) {
  if (status.ok()) return;
  std::string message(what);
  if (!store.empty()) message.append(" ").append(store);
  core::check_failed("status.ok()", message + ": " + status.ToString(), where);
}

rdb::Slice slice(std::string_view bytes) { return {bytes.data(), bytes.size()}; }
std::string_view view(const rdb::Slice& bytes) { return {bytes.data(), bytes.size()}; }

std::string encode_offset(core::Offset offset) { return std::to_string(offset.value()); }

core::Offset decode_offset(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  OF_CHECK(error == std::errc{} && end == text.data() + text.size(),
           "a stored checkpoint is not a decimal offset");
  return core::Offset{value};
}

core::Error open_error(const std::filesystem::path& dir, const rdb::Status& status) {
  // RocksDB reports a held LOCK file as an I/O error naming the lock; another
  // instance (or a slow-to-exit predecessor) owns the directory, so retrying can help.
  const std::string text = status.ToString();
  if (status.IsIOError() && text.find("lock") != std::string::npos) {
    return {core::ErrorKind::kRetriable, "state_dir_locked", dir.string() + ": " + text};
  }
  return {core::ErrorKind::kFatal, "state_dir_unavailable", dir.string() + ": " + text};
}

}  // namespace

// The open database, shared by the environment and its stores.
struct RocksDbEnvironment::Shared {
  RocksDbOptions options;
  std::unique_ptr<rdb::DB> db;
  rdb::ColumnFamilyHandle* meta = nullptr;  // the default column family: checkpoints

  mutable std::mutex mutex;
  std::map<std::string, rdb::ColumnFamilyHandle*, std::less<>> families;  // one per store
  std::set<std::string, std::less<>> open_stores;

  ~Shared() {
    for (const auto& [name, family] : families) {
      check_ok(db->DestroyColumnFamilyHandle(family), "closing store", name);
    }
    check_ok(db->DestroyColumnFamilyHandle(meta), "closing the default column family");
    check_ok(db->Close(), "closing the database");
  }

  [[nodiscard]] rdb::WriteOptions write_options() const {
    rdb::WriteOptions write;
    write.sync = options.sync;
    return write;
  }

  // Marks `name` open and returns its column family, creating it when absent.
  rdb::ColumnFamilyHandle* acquire(std::string_view name) {
    std::lock_guard lock(mutex);
    OF_CHECK(open_stores.emplace(name).second, "a store is already open under this name");
    if (auto it = families.find(name); it != families.end()) return it->second;
    rdb::ColumnFamilyHandle* family = nullptr;
    check_ok(db->CreateColumnFamily(rdb::ColumnFamilyOptions(), std::string(name), &family),
             "creating store", name);
    families.emplace(std::string(name), family);
    return family;
  }

  void release(std::string_view name) {
    std::lock_guard lock(mutex);
    if (auto it = open_stores.find(name); it != open_stores.end()) open_stores.erase(it);
  }
};

// Logical contents = the column family overlaid with `pending`.
struct RocksDbStateStore::Impl {
  using Changes = std::map<std::string, std::optional<std::string>, std::less<>>;

  std::shared_ptr<RocksDbEnvironment::Shared> env;
  std::string name;
  std::string checkpoint_key;
  rdb::ColumnFamilyHandle* family = nullptr;

  // Changes not yet on disk: a value, or empty for a delete.
  Changes pending;
  std::size_t pending_bytes = 0;
  // For each key changed since the last `take_changes`: its value before the first
  // such change (empty when absent), so `discard_changes` can roll back.
  Changes before;
  std::optional<core::Offset> checkpoint;
  std::optional<core::Offset> disk_checkpoint;

  [[nodiscard]] std::optional<std::string> get(std::string_view key) const {
    if (auto it = pending.find(key); it != pending.end()) return it->second;
    std::string value;
    const rdb::Status status = env->db->Get(rdb::ReadOptions(), family, slice(key), &value);
    if (status.IsNotFound()) return std::nullopt;
    check_ok(status, "reading store", name);
    return value;
  }

  void remember_before(std::string_view key) {
    if (before.contains(key)) return;
    before.emplace(std::string(key), get(key));
  }

  // Records a change in memory; spills to disk when the buffer is full.
  void buffer(std::string_view key, std::optional<std::string_view> value) {
    auto it = pending.find(key);
    if (it == pending.end()) {
      it = pending.emplace(std::string(key), std::nullopt).first;
      pending_bytes += kEntryOverhead + key.size();
    } else if (it->second) {
      pending_bytes -= it->second->size();
    }
    if (value) {
      it->second.emplace(*value);
      pending_bytes += value->size();
    } else {
      it->second.reset();
    }
    if (pending_bytes > env->options.max_buffered_bytes) write(std::nullopt);
  }

  // Writes the buffered changes and `next_checkpoint` in one atomic batch.
  void write(std::optional<core::Offset> next_checkpoint) {
    rdb::WriteBatch batch;
    for (const auto& [key, value] : pending) {
      check_ok(value ? batch.Put(family, key, *value) : batch.Delete(family, key), "batching");
    }
    if (next_checkpoint != disk_checkpoint) {
      check_ok(next_checkpoint
                   ? batch.Put(env->meta, checkpoint_key, encode_offset(*next_checkpoint))
                   : batch.Delete(env->meta, checkpoint_key),
               "batching");
    }
    if (batch.Count() > 0) {
      check_ok(env->db->Write(env->write_options(), &batch), "writing store", name);
    }
    pending.clear();
    pending_bytes = 0;
    disk_checkpoint = next_checkpoint;
  }

  void scan(std::string_view from, std::string_view to,
            const std::function<bool(std::string_view, std::string_view)>& visit) const {
    rdb::ReadOptions read;
    const rdb::Slice upper = slice(to);
    if (!to.empty()) read.iterate_upper_bound = &upper;
    std::unique_ptr<rdb::Iterator> disk(env->db->NewIterator(read, family));
    disk->Seek(slice(from));

    // Merge the disk's keys with the buffered ones; a buffered change shadows the disk.
    auto buffered = pending.lower_bound(from);
    auto in_range = [&] {
      return buffered != pending.end() && (to.empty() || buffered->first < to);
    };
    while (disk->Valid() || in_range()) {
      const int order = !disk->Valid() ? -1
                        : !in_range()
                            ? 1
                            : std::string_view(buffered->first).compare(view(disk->key()));
      if (order > 0) {
        if (!visit(view(disk->key()), view(disk->value()))) return;
        disk->Next();
        continue;
      }
      if (order == 0) disk->Next();
      const auto& [key, value] = *buffered++;
      if (value && !visit(key, *value)) return;
    }
    check_ok(disk->status(), "scanning store", name);
  }

  void clear() {
    rdb::WriteBatch batch;
    std::unique_ptr<rdb::Iterator> disk(env->db->NewIterator(rdb::ReadOptions(), family));
    disk->SeekToLast();
    check_ok(disk->status(), "scanning store", name);
    if (disk->Valid()) {
      // Keys are arbitrary bytes, so no key bounds them all from above: delete up to
      // the last key, then the last key itself.
      const std::string last = disk->key().ToString();
      if (!last.empty()) check_ok(batch.DeleteRange(family, "", last), "batching");
      check_ok(batch.Delete(family, last), "batching");
    }
    disk.reset();
    if (disk_checkpoint) check_ok(batch.Delete(env->meta, checkpoint_key), "batching");
    if (batch.Count() > 0) {
      check_ok(env->db->Write(env->write_options(), &batch), "clearing store", name);
    }
    pending.clear();
    pending_bytes = 0;
    before.clear();
    checkpoint.reset();
    disk_checkpoint.reset();
  }
};

RocksDbEnvironment::RocksDbEnvironment(std::shared_ptr<Shared> shared)
    : shared_(std::move(shared)) {}

RocksDbEnvironment::~RocksDbEnvironment() = default;

core::Result<std::unique_ptr<RocksDbEnvironment>> RocksDbEnvironment::open(
    const std::filesystem::path& dir, const RocksDbOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return core::make_error(core::ErrorKind::kFatal, "state_dir_unavailable",
                            dir.string() + ": " + error.message());
  }

  rdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;

  // Every existing column family must be opened; a new database has only the default.
  std::vector<std::string> names;
  if (!rdb::DB::ListColumnFamilies(db_options, dir.string(), &names).ok() || names.empty()) {
    names = {rdb::kDefaultColumnFamilyName};
  }
  std::vector<rdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rdb::ColumnFamilyOptions());

  std::vector<rdb::ColumnFamilyHandle*> handles;
  rdb::DB* db = nullptr;
  const rdb::Status status = rdb::DB::Open(db_options, dir.string(), descriptors, &handles, &db);
  if (!status.ok()) return std::unexpected(open_error(dir, status));

  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->db.reset(db);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == rdb::kDefaultColumnFamilyName) {
      shared->meta = handles[i];
    } else {
      shared->families.emplace(names[i], handles[i]);
    }
  }
  return std::unique_ptr<RocksDbEnvironment>(new RocksDbEnvironment(std::move(shared)));
}

std::unique_ptr<RocksDbStateStore> RocksDbEnvironment::open_store(std::string_view name) {
  OF_CHECK(!name.empty() && name != rdb::kDefaultColumnFamilyName,
           "a store name is not empty and not \"default\"");
  auto impl = std::make_unique<RocksDbStateStore::Impl>();
  impl->env = shared_;
  impl->name = name;
  impl->checkpoint_key = std::string(kCheckpointPrefix) + impl->name;
  impl->family = shared_->acquire(name);

  std::string stored;
  const rdb::Status status =
      shared_->db->Get(rdb::ReadOptions(), shared_->meta, impl->checkpoint_key, &stored);
  if (!status.IsNotFound()) {
    check_ok(status, "reading the checkpoint of store", impl->name);
    impl->checkpoint = decode_offset(stored);
    impl->disk_checkpoint = impl->checkpoint;
  }
  return std::unique_ptr<RocksDbStateStore>(new RocksDbStateStore(std::move(impl)));
}

std::vector<std::string> RocksDbEnvironment::store_names() const {
  std::lock_guard lock(shared_->mutex);
  std::vector<std::string> names;
  for (const auto& [name, unused] : shared_->families) names.push_back(name);
  return names;
}

RocksDbStateStore::RocksDbStateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RocksDbStateStore::~RocksDbStateStore() {
  if (!impl_->pending.empty()) impl_->write(std::nullopt);
  impl_->env->release(impl_->name);
}

std::optional<std::string> RocksDbStateStore::get(std::string_view key) const {
  return impl_->get(key);
}

void RocksDbStateStore::put(std::string_view key, std::string_view value) {
  impl_->remember_before(key);
  impl_->buffer(key, value);
}

void RocksDbStateStore::erase(std::string_view key) {
  impl_->remember_before(key);
  impl_->buffer(key, std::nullopt);
}

void RocksDbStateStore::scan(
    std::string_view from, std::string_view to,
    const std::function<bool(std::string_view, std::string_view)>& visit) const {
  impl_->scan(from, to, visit);
}

std::vector<core::ChangelogEntry> RocksDbStateStore::take_changes() {
  std::vector<core::ChangelogEntry> changes;
  changes.reserve(impl_->before.size());
  for (const auto& [key, unused] : impl_->before) {
    changes.push_back(core::ChangelogEntry{key, impl_->get(key)});
  }
  impl_->before.clear();
  return changes;
}

void RocksDbStateStore::discard_changes() {
  auto before = std::move(impl_->before);
  impl_->before.clear();
  for (const auto& [key, old] : before) impl_->buffer(key, old);
}

void RocksDbStateStore::apply(const core::ChangelogEntry& entry) {
  impl_->buffer(entry.key, entry.value);
}

void RocksDbStateStore::clear() { impl_->clear(); }

std::optional<core::Offset> RocksDbStateStore::checkpoint() const { return impl_->checkpoint; }

void RocksDbStateStore::set_checkpoint(std::optional<core::Offset> next_offset) {
  impl_->checkpoint = next_offset;
  impl_->write(next_offset);
}

const std::string& RocksDbStateStore::name() const { return impl_->name; }

}  // namespace orderflow::adapters::rocksdb
