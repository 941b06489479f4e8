#include "core/ports/memory_state_store.h"

namespace orderflow::core {

std::optional<std::string> MemoryStateStore::get(std::string_view key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

void MemoryStateStore::remember_before(std::string_view key) {
  if (before_.contains(key)) return;
  before_.emplace(std::string(key), get(key));
}

void MemoryStateStore::put(std::string_view key, std::string_view value) {
  remember_before(key);
  data_.insert_or_assign(std::string(key), std::string(value));
}

void MemoryStateStore::erase(std::string_view key) {
  remember_before(key);
  if (auto it = data_.find(key); it != data_.end()) data_.erase(it);
}

void MemoryStateStore::scan(
    std::string_view from, std::string_view to,
    const std::function<bool(std::string_view, std::string_view)>& visit) const {
  for (auto it = data_.lower_bound(from); it != data_.end(); ++it) {
    if (!to.empty() && it->first >= to) break;
    if (!visit(it->first, it->second)) break;
  }
}

std::vector<ChangelogEntry> MemoryStateStore::take_changes() {
  std::vector<ChangelogEntry> changes;
  changes.reserve(before_.size());
  for (const auto& [key, unused] : before_) {
    changes.push_back(ChangelogEntry{key, get(key)});
  }
  before_.clear();
  return changes;
}

void MemoryStateStore::discard_changes() {
  for (auto& [key, old] : before_) {
    if (old) {
      data_.insert_or_assign(key, std::move(*old));
    } else if (auto it = data_.find(key); it != data_.end()) {
      data_.erase(it);
    }
  }
  before_.clear();
}

void MemoryStateStore::apply(const ChangelogEntry& entry) {
  if (entry.value) {
    data_.insert_or_assign(entry.key, *entry.value);
  } else if (auto it = data_.find(entry.key); it != data_.end()) {
    data_.erase(it);
  }
}

void MemoryStateStore::clear() {
  data_.clear();
  before_.clear();
  checkpoint_.reset();
}

}  // namespace orderflow::core
