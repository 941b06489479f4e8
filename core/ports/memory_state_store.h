// `MemoryStateStore`: the `StateStore` port on an ordered in-memory map.
//
// Used by tests and by the simulator, where "losing the local disk" is `clear()`.
// Owned by one stream task; not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/ports/state_store.h"

namespace orderflow::core {

class MemoryStateStore final : public StateStore {
 public:
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const override;
  void put(std::string_view key, std::string_view value) override;
  void erase(std::string_view key) override;
  void scan(std::string_view from, std::string_view to,
            const std::function<bool(std::string_view, std::string_view)>& visit) const override;

  [[nodiscard]] std::vector<ChangelogEntry> take_changes() override;
  void discard_changes() override;
  void apply(const ChangelogEntry& entry) override;
  void clear() override;

  [[nodiscard]] std::optional<Offset> checkpoint() const override { return checkpoint_; }
  void set_checkpoint(std::optional<Offset> next_offset) override { checkpoint_ = next_offset; }

  [[nodiscard]] std::size_t size() const { return data_.size(); }

 private:
  void remember_before(std::string_view key);

  std::map<std::string, std::string, std::less<>> data_;
  // For each key changed since the last `take_changes`: its value before the first
  // such change (empty when absent), so `discard_changes` can roll back.
  std::map<std::string, std::optional<std::string>, std::less<>> before_;
  std::optional<Offset> checkpoint_;
};

}  // namespace orderflow::core
