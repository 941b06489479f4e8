// `Process`: a simulated OS process hosting service instances.
//
// A process gives the code it hosts the ports a real process would — a Scheduler
// (its executor), a Clock, a Random stream and a Log — all driven by the kernel.
// Its lifecycle is the fault model:
// - `crash()`: memory, timers, queued tasks and in-flight requests are gone. Every
//   task and message addressed to the old incarnation is silently dropped.
// - `restart()`: a new incarnation boots from what is on the process's disk.
// - `pause()` / `resume()`: nothing runs in between (a stop-the-world GC pause or
//   SIGSTOP); timers and messages that came due run after `resume`. A member
//   paused past its session timeout wakes up as a zombie.
// - `wipe_disk()`: the local state stores are lost too (a replaced machine).
// - `set_clock_skew()`: the process's clock reads off by the given amount.
//
// Ownership: the `World` owns processes; a process owns what its boot function
// returns (the service graph) and destroys it on crash.
// Threading: the simulator's one thread.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/ports/clock.h"
#include "core/ports/http.h"
#include "core/ports/log.h"
#include "core/ports/memory_state_store.h"
#include "core/ports/scheduler.h"
#include "sim/kernel.h"

namespace orderflow::sim {

class Process;

// The process's local disk: named stores that survive a crash but not a wipe.
class Disk {
 public:
  core::MemoryStateStore& store(const std::string& name) { return stores_[name]; }
  void wipe() { stores_.clear(); }
  [[nodiscard]] bool empty() const { return stores_.empty(); }

 private:
  std::map<std::string, core::MemoryStateStore> stores_;
};

class Process {
 public:
  // Builds the services of a new incarnation; what it returns lives until the
  // next crash.
  using Boot = std::function<std::shared_ptr<void>(Process&)>;

  Process(Kernel& kernel, std::string name, Prng random);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] bool up() const { return up_; }
  [[nodiscard]] bool paused() const { return paused_; }
  [[nodiscard]] std::uint64_t incarnation() const { return incarnation_; }

  [[nodiscard]] core::Scheduler& scheduler() { return scheduler_; }
  [[nodiscard]] core::Clock& clock() { return clock_; }
  [[nodiscard]] core::Random& random() { return random_; }
  [[nodiscard]] core::Log& log() { return log_; }
  [[nodiscard]] Disk& disk() { return disk_; }

  // The HTTP handler the current incarnation serves, if any; forgotten on crash.
  void serve_http(core::HttpHandler* handler) { http_ = handler; }
  [[nodiscard]] core::HttpHandler* http_handler() const { return up_ ? http_ : nullptr; }
  [[nodiscard]] Kernel& kernel() { return kernel_; }

  // Wraps `task` so that it runs only in the current incarnation, after any
  // pause. Everything delivered to the process goes through here.
  [[nodiscard]] Kernel::Action bind(std::function<void()> task);

  void set_boot(Boot boot) { boot_ = std::move(boot); }
  void start();
  void crash();
  void restart();
  void pause();
  void resume();
  void wipe_disk();
  void set_clock_skew(core::Duration skew) { skew_ = skew; }

 private:
  class Executor final : public core::Scheduler {
   public:
    explicit Executor(Process& p) : p_(p) {}
    void post(core::Task task) override;
    core::TimerId schedule_after(core::Duration delay, core::Task task) override;
    bool cancel(core::TimerId timer) override;

   private:
    Process& p_;
  };

  class SkewedClock final : public core::Clock {
   public:
    explicit SkewedClock(Process& p) : p_(p) {}
    [[nodiscard]] core::Timestamp now() const override { return p_.kernel_.now() + p_.skew_; }

   private:
    Process& p_;
  };

  class TraceLog final : public core::Log {
   public:
    explicit TraceLog(Process& p) : p_(p) {}
    void event(core::Severity severity, std::string_view name, core::Fields fields) override {
      p_.kernel_.record(p_.name_, severity, name, fields);
    }

   private:
    Process& p_;
  };

  // `timer` is the kernel sequence of the timer a task belongs to (0 for posted
  // tasks), so that a timer that came due during a pause can still be cancelled.
  void run_or_defer(std::uint64_t incarnation, std::uint64_t timer,
                    const std::function<void()>& task);
  [[nodiscard]] Kernel::Action bind_timer(std::shared_ptr<std::uint64_t> timer,
                                          std::function<void()> task);

  struct Deferred {
    std::uint64_t timer = 0;
    std::function<void()> task;
  };

  Kernel& kernel_;
  std::string name_;
  Prng random_;
  Executor scheduler_{*this};
  SkewedClock clock_{*this};
  TraceLog log_{*this};
  Disk disk_;
  Boot boot_;
  std::shared_ptr<void> services_;
  core::HttpHandler* http_ = nullptr;
  std::deque<Deferred> deferred_;
  core::Duration skew_{0};
  std::uint64_t incarnation_ = 0;
  bool up_ = false;
  bool paused_ = false;
};

}  // namespace orderflow::sim
