// `TestLoop` and `TestExecutor`: executors whose tasks run on the test thread.
//
// librdkafka clients hand their callbacks over from their own threads with
// `post`, which is thread-safe here; the tasks and timers then run only inside
// `TestLoop::run_until` / `run_for`, on the thread that calls them — the test's —
// so tests read what the callbacks recorded without locks, as a service would on
// its one executor. An executor can be paused: its tasks wait until resumed.
//
//   TestLoop loop;
//   TestExecutor& executor = loop.add();
//   KafkaBroker broker({.bootstrap_servers = ..., .executor = &executor});
//   loop.run_until([&] { return done; }, 10s);
//
// Ownership: the loop owns its executors; it must outlive every client posting to
// them. Queued tasks are destroyed unrun with the loop.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/ports/scheduler.h"
#include "core/time.h"

namespace orderflow::kafka_testing {

class TestLoop;

class TestExecutor final : public core::Scheduler {
 public:
  explicit TestExecutor(TestLoop& loop) : loop_(loop) {}

  void post(core::Task task) override;
  core::TimerId schedule_after(core::Duration delay, core::Task task) override;
  bool cancel(core::TimerId timer) override;

  void pause();
  void resume();
  // Tasks posted and not yet run.
  [[nodiscard]] std::size_t queued();

 private:
  friend class TestLoop;
  using Clock = std::chrono::steady_clock;

  // Runs what is ready (posted tasks, then due timers), at most `kBurst` of them
  // so that a busy executor cannot keep the loop from checking its condition;
  // returns whether work was left.
  bool run_ready();
  static constexpr int kBurst = 1000;
  [[nodiscard]] std::optional<Clock::time_point> next_deadline();

  TestLoop& loop_;
  std::mutex mutex_;
  std::deque<core::Task> tasks_;
  std::map<std::pair<Clock::time_point, std::uint64_t>, core::Task> timers_;
  std::map<std::uint64_t, Clock::time_point> deadlines_;  // by timer id
  std::uint64_t next_timer_ = 1;
  bool paused_ = false;
};

class TestLoop {
 public:
  TestLoop() = default;
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;

  TestExecutor& add();

  // Runs the executors' tasks until `done()` holds or `timeout` has passed;
  // returns whether `done()` held.
  bool run_until(const std::function<bool()>& done, core::Duration timeout);
  void run_for(core::Duration duration);

 private:
  friend class TestExecutor;

  void wake();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::uint64_t wakes_ = 0;
  std::vector<std::unique_ptr<TestExecutor>> executors_;
};

inline void TestExecutor::post(core::Task task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  loop_.wake();
}

inline core::TimerId TestExecutor::schedule_after(core::Duration delay, core::Task task) {
  std::lock_guard lock(mutex_);
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::max(delay, core::Duration{}));
  const std::uint64_t id = next_timer_++;
  timers_.emplace(std::pair{deadline, id}, std::move(task));
  deadlines_.emplace(id, deadline);
  return core::TimerId{id};
}

inline bool TestExecutor::cancel(core::TimerId timer) {
  std::lock_guard lock(mutex_);
  auto it = deadlines_.find(timer.value);
  if (it == deadlines_.end()) return false;
  timers_.erase({it->second, timer.value});
  deadlines_.erase(it);
  return true;
}

inline void TestExecutor::pause() {
  std::lock_guard lock(mutex_);
  paused_ = true;
}

inline void TestExecutor::resume() {
  {
    std::lock_guard lock(mutex_);
    paused_ = false;
  }
  loop_.wake();
}

inline std::size_t TestExecutor::queued() {
  std::lock_guard lock(mutex_);
  return tasks_.size();
}

inline bool TestExecutor::run_ready() {
  for (int ran = 0; ran < kBurst; ++ran) {
    core::Task task;
    {
      std::lock_guard lock(mutex_);
      if (paused_) return false;
      if (!tasks_.empty()) {
        task = std::move(tasks_.front());
        tasks_.pop_front();
      } else if (!timers_.empty() && timers_.begin()->first.first <= Clock::now()) {
        auto node = timers_.extract(timers_.begin());
        deadlines_.erase(node.key().second);
        task = std::move(node.mapped());
      } else {
        return false;
      }
    }
    task();
  }
  return true;
}

inline std::optional<TestExecutor::Clock::time_point> TestExecutor::next_deadline() {
  std::lock_guard lock(mutex_);
  if (paused_ || timers_.empty()) return std::nullopt;
  return timers_.begin()->first.first;
}

inline TestExecutor& TestLoop::add() {
  executors_.push_back(std::make_unique<TestExecutor>(*this));
  return *executors_.back();
}

inline void TestLoop::wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakes_;
  }
  wake_.notify_all();
}

inline bool TestLoop::run_until(const std::function<bool()>& done, core::Duration timeout) {
  using Clock = TestExecutor::Clock;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  while (true) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mutex_);
      seen = wakes_;
    }
    // Executors may be added by the tasks themselves.
    bool more = false;
    for (std::size_t i = 0; i < executors_.size(); ++i) more = executors_[i]->run_ready() || more;
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    if (more) continue;
    auto until = deadline;
    for (const auto& e : executors_) {
      if (auto next = e->next_deadline()) until = std::min(until, *next);
    }
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, until, [&] { return wakes_ != seen; });
  }
}

inline void TestLoop::run_for(core::Duration duration) {
  run_until([] { return false; }, duration);
}

}  // namespace orderflow::kafka_testing
