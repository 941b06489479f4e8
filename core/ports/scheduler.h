// `Scheduler`: the executor a service runs on.
//
// Every callback a service receives — records, delivery reports, timers, HTTP
// requests — runs on one executor, one at a time, so services need no locks.
//
// Ordering: tasks posted with `post` run in posting order, after the current task
// returns. A timer runs no earlier than its deadline; timers with equal deadlines
// run in the order they were scheduled. `cancel` of a timer that has not run yet
// guarantees it never runs; cancelling one that ran or was cancelled is a no-op
// that returns false.
//
// Ownership: the scheduler owns queued tasks. When the process crashes (in the
// simulator) or shuts down, queued tasks are destroyed without running.
#pragma once

#include <cstdint>
#include <functional>

#include "core/time.h"

namespace orderflow::core {

using Task = std::function<void()>;

struct TimerId {
  std::uint64_t value = 0;
  friend auto operator<=>(TimerId, TimerId) = default;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  virtual void post(Task task) = 0;
  virtual TimerId schedule_after(Duration delay, Task task) = 0;
  virtual bool cancel(TimerId timer) = 0;
};

}  // namespace orderflow::core
