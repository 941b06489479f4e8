// `AsioScheduler`: the `core::Scheduler` of a production process.
//
// Tasks run on the `Executor`'s loop thread, one at a time. `post` queues on the
// executor in posting order. Timers are kept in this object's own queue, ordered
// by (deadline on the steady clock, scheduling order), behind one Asio
// `steady_timer` armed for the earliest deadline: that is what guarantees the
// port's promise that equal deadlines run in scheduling order, and makes `cancel`
// exact — a cancelled timer is removed from the queue, so it cannot run.
//
// Ownership: borrows the executor, which must outlive it. Destroying the
// scheduler destroys its pending timers without running them; tasks already
// handed to `post` belong to the executor and still run.
// Threading: `post` is safe from any thread (librdkafka's threads hand their
// callbacks over with it). `schedule_after` and `cancel` are called on the loop
// thread, or while the loop is not running.
#pragma once

#include <memory>

#include "adapters/asio/executor.h"
#include "core/ports/scheduler.h"

namespace orderflow::adapters::asio {

class AsioScheduler final : public core::Scheduler {
 public:
  explicit AsioScheduler(Executor& executor);
  ~AsioScheduler() override;
  AsioScheduler(const AsioScheduler&) = delete;
  AsioScheduler& operator=(const AsioScheduler&) = delete;

  void post(core::Task task) override;
  core::TimerId schedule_after(core::Duration delay, core::Task task) override;
  bool cancel(core::TimerId timer) override;

 private:
  class Timers;

  Executor& executor_;
  std::shared_ptr<Timers> timers_;
};

}  // namespace orderflow::adapters::asio
