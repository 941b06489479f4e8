#include "sim/process.h"

#include <algorithm>

namespace orderflow::sim {

Process::Process(Kernel& kernel, std::string name, Prng random)
    : kernel_(kernel), name_(std::move(name)), random_(std::move(random)) {}

Kernel::Action Process::bind(std::function<void()> task) {
  return [this, incarnation = incarnation_, task = std::move(task)] {
    run_or_defer(incarnation, 0, task);
  };
}

Kernel::Action Process::bind_timer(std::shared_ptr<std::uint64_t> timer,
                                   std::function<void()> task) {
  return [this, incarnation = incarnation_, timer = std::move(timer), task = std::move(task)] {
    run_or_defer(incarnation, *timer, task);
  };
}

void Process::run_or_defer(std::uint64_t incarnation, std::uint64_t timer,
                           const std::function<void()>& task) {
  if (!up_ || incarnation != incarnation_) return;
  if (paused_) {
    deferred_.push_back({timer, task});
    return;
  }
  task();
}

void Process::Executor::post(core::Task task) {
  p_.kernel_.after(core::Duration{0}, p_.bind(std::move(task)));
}

core::TimerId Process::Executor::schedule_after(core::Duration delay, core::Task task) {
  auto id = std::make_shared<std::uint64_t>(0);
  const EventHandle handle = p_.kernel_.after(delay, p_.bind_timer(id, std::move(task)));
  *id = handle.seq;
  return core::TimerId{handle.seq};
}

bool Process::Executor::cancel(core::TimerId timer) {
  if (p_.kernel_.cancel(EventHandle{timer.value})) return true;
  // It may have come due during a pause and be waiting for the resume.
  auto it = std::find_if(p_.deferred_.begin(), p_.deferred_.end(),
                         [&](const Deferred& d) { return d.timer == timer.value; });
  if (it == p_.deferred_.end()) return false;
  p_.deferred_.erase(it);
  return true;
}

void Process::start() {
  if (up_) return;
  up_ = true;
  paused_ = false;
  ++incarnation_;
  kernel_.record(name_, core::Severity::kInfo, "process_started", {{"incarnation", incarnation_}});
  if (boot_) services_ = boot_(*this);
}

void Process::crash() {
  if (!up_) return;
  up_ = false;
  paused_ = false;
  ++incarnation_;  // everything bound to the old incarnation is now dropped
  deferred_.clear();
  kernel_.record(name_, core::Severity::kInfo, "process_crashed", {});
  http_ = nullptr;
  services_.reset();
}

void Process::restart() {
  crash();
  start();
}

void Process::pause() {
  if (!up_ || paused_) return;
  paused_ = true;
  kernel_.record(name_, core::Severity::kInfo, "process_paused", {});
}

void Process::resume() {
  if (!up_ || !paused_) return;
  paused_ = false;
  kernel_.record(name_, core::Severity::kInfo, "process_resumed",
                 {{"deferred", static_cast<std::int64_t>(deferred_.size())}});
  // Everything that came due while paused runs now, in the order it came due,
  // before anything that comes due later.
  auto due = std::move(deferred_);
  deferred_.clear();
  const std::uint64_t incarnation = incarnation_;
  for (auto& d : due) run_or_defer(incarnation, d.timer, d.task);
}

void Process::wipe_disk() {
  disk_.wipe();
  kernel_.record(name_, core::Severity::kInfo, "process_disk_wiped", {});
}

}  // namespace orderflow::sim
