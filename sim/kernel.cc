#include "sim/kernel.h"

#include <algorithm>

#include "core/check.h"

namespace orderflow::sim {

Kernel::Kernel(std::uint64_t seed) : seed_(seed), random_(seed) {}

EventHandle Kernel::at(core::Timestamp when, Action action) {
  OF_CHECK(when >= now_, "an event cannot be scheduled in the past");
  const std::uint64_t seq = next_seq_++;
  std::uint32_t slot = 0;
  if (free_slots_.empty()) {
    slot = static_cast<std::uint32_t>(actions_.size());
    actions_.push_back(std::move(action));
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    actions_[slot] = std::move(action);
  }
  queue_.push_back(Entry{when, seq, slot});
  std::push_heap(queue_.begin(), queue_.end(), Later{});
  finished_.push_back(false);
  return EventHandle{seq};
}

bool Kernel::cancel(EventHandle handle) {
  if (handle.seq == 0 || handle.seq >= next_seq_ || finished_[handle.seq]) return false;
  finished_[handle.seq] = true;
  ++cancelled_in_queue_;
  return true;
}

const Kernel::Entry* Kernel::next_live() {
  while (!queue_.empty() && finished_[queue_.front().seq]) {
    --cancelled_in_queue_;
    actions_[queue_.front().slot] = nullptr;
    free_slots_.push_back(queue_.front().slot);
    std::pop_heap(queue_.begin(), queue_.end(), Later{});
    queue_.pop_back();
  }
  return queue_.empty() ? nullptr : &queue_.front();
}

bool Kernel::step() {
  if (next_live() == nullptr) return false;
  std::pop_heap(queue_.begin(), queue_.end(), Later{});
  const Entry entry = queue_.back();
  queue_.pop_back();
  Action action = std::move(actions_[entry.slot]);
  actions_[entry.slot] = nullptr;
  free_slots_.push_back(entry.slot);
  finished_[entry.seq] = true;
  now_ = entry.when;
  ++events_run_;
  action();
  return true;
}

void Kernel::run_until(core::Timestamp deadline) {
  for (const Entry* next = next_live(); next != nullptr && next->when <= deadline;
       next = next_live()) {
    step();
  }
  if (deadline > now_) now_ = deadline;
}

bool Kernel::run_until(const std::function<bool()>& done, core::Timestamp deadline) {
  if (done()) return true;
  for (const Entry* next = next_live(); next != nullptr && next->when <= deadline;
       next = next_live()) {
    step();
    if (done()) return true;
  }
  if (deadline > now_) now_ = deadline;
  return done();
}

}  // namespace orderflow::sim
