#include "sim/process.h"

namespace orderflow::sim {

Process::Process(Kernel& kernel, std::string name, Prng random)
    : kernel_(kernel), name_(std::move(name)), random_(std::move(random)) {}

Kernel::Action Process::bind(std::function<void()> task) {
  return [this, incarnation = incarnation_, task = std::move(task)] {
    run_or_defer(incarnation, task);
  };
}

void Process::run_or_defer(std::uint64_t incarnation, const std::function<void()>& task) {
  if (!up_ || incarnation != incarnation_) return;
  if (paused_) {
    deferred_.push_back(task);
    return;
  }
  task();
}

void Process::Executor::post(core::Task task) {
  p_.kernel_.after(core::Duration{0}, p_.bind(std::move(task)));
}

core::TimerId Process::Executor::schedule_after(core::Duration delay, core::Task task) {
  const EventHandle handle = p_.kernel_.after(delay, p_.bind(std::move(task)));
  return core::TimerId{handle.seq};
}

bool Process::Executor::cancel(core::TimerId timer) {
  return p_.kernel_.cancel(EventHandle{timer.value});
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
  // Everything that came due while paused runs now, in the order it came due.
  auto due = std::move(deferred_);
  deferred_.clear();
  for (auto& task : due) kernel_.after(core::Duration{0}, bind(std::move(task)));
}

void Process::wipe_disk() {
  disk_.wipe();
  kernel_.record(name_, core::Severity::kInfo, "process_disk_wiped", {});
}

}  // namespace orderflow::sim
