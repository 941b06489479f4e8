#include "adapters/asio/scheduler.h"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/asio/event_loop.h"

namespace orderflow::adapters::asio {
namespace {

using std::chrono::milliseconds;

class AsioSchedulerTest : public ::testing::Test {
 protected:
  // Runs the loop on this thread until a task stops it; a watchdog fails the test
  // instead of hanging it.
  void run() {
    bool timed_out = false;
    const auto watchdog = scheduler_.schedule_after(std::chrono::seconds(10), [&] {
      timed_out = true;
      loop_.stop();
    });
    loop_.run();
    scheduler_.cancel(watchdog);
    EXPECT_FALSE(timed_out) << "the loop was not stopped";
  }

  EventLoop loop_;
  AsioScheduler scheduler_{loop_.executor()};
};

TEST_F(AsioSchedulerTest, PostsRunInPostingOrder) {
  std::vector<int> ran;
  for (int i = 0; i < 100; ++i) scheduler_.post([&, i] { ran.push_back(i); });
  scheduler_.post([&] { loop_.stop(); });

  run();

  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
}

TEST_F(AsioSchedulerTest, PostRunsAfterTheCurrentTaskReturns) {
  std::vector<std::string> ran;
  scheduler_.post([&] {
    scheduler_.post([&] {
      ran.push_back("inner");
      loop_.stop();
    });
    ran.push_back("outer done");
  });

  run();

  EXPECT_EQ(ran, (std::vector<std::string>{"outer done", "inner"}));
}

TEST_F(AsioSchedulerTest, TimersRunInDeadlineOrder) {
  std::vector<int> ran;
  scheduler_.schedule_after(milliseconds(60), [&] {
    ran.push_back(60);
    loop_.stop();
  });
  scheduler_.schedule_after(milliseconds(20), [&] { ran.push_back(20); });
  scheduler_.schedule_after(milliseconds(40), [&] { ran.push_back(40); });

  run();

  EXPECT_EQ(ran, (std::vector<int>{20, 40, 60}));
}

TEST_F(AsioSchedulerTest, EqualDelaysRunInSchedulingOrder) {
  std::vector<int> ran;
  for (int i = 0; i < 100; ++i) {
    scheduler_.schedule_after(milliseconds(1), [&, i] { ran.push_back(i); });
  }
  scheduler_.schedule_after(milliseconds(1), [&] { loop_.stop(); });

  run();

  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
}

TEST_F(AsioSchedulerTest, ZeroDelaysRunInSchedulingOrder) {
  std::vector<int> ran;
  for (int i = 0; i < 100; ++i) scheduler_.schedule_after({}, [&, i] { ran.push_back(i); });
  scheduler_.schedule_after({}, [&] { loop_.stop(); });

  run();

  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
}

TEST_F(AsioSchedulerTest, TimerRunsNoEarlierThanItsDeadline) {
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration waited{};
  scheduler_.schedule_after(milliseconds(20), [&] {
    waited = std::chrono::steady_clock::now() - start;
    loop_.stop();
  });

  run();

  EXPECT_GE(waited, milliseconds(20));
}

TEST_F(AsioSchedulerTest, NegativeDelayRunsLikeZero) {
  bool ran = false;
  scheduler_.schedule_after(milliseconds(-5), [&] {
    ran = true;
    loop_.stop();
  });

  run();

  EXPECT_TRUE(ran);
}

TEST_F(AsioSchedulerTest, CancelledTimerNeverRuns) {
  bool ran = false;
  const core::TimerId timer = scheduler_.schedule_after(milliseconds(5), [&] { ran = true; });
  scheduler_.schedule_after(milliseconds(20), [&] { loop_.stop(); });

  EXPECT_TRUE(scheduler_.cancel(timer));
  EXPECT_FALSE(scheduler_.cancel(timer));
  run();

  EXPECT_FALSE(ran);
}

TEST_F(AsioSchedulerTest, CancelOfTheEarliestTimerKeepsTheLaterOnes) {
  std::vector<int> ran;
  const auto first = scheduler_.schedule_after(milliseconds(1), [&] { ran.push_back(1); });
  scheduler_.schedule_after(milliseconds(2), [&] {
    ran.push_back(2);
    loop_.stop();
  });

  EXPECT_TRUE(scheduler_.cancel(first));
  run();

  EXPECT_EQ(ran, (std::vector<int>{2}));
}

TEST_F(AsioSchedulerTest, CancelAfterTheTimerRanReturnsFalse) {
  core::TimerId timer;
  timer = scheduler_.schedule_after(milliseconds(1), [&] {
    scheduler_.post([&] {
      EXPECT_FALSE(scheduler_.cancel(timer));
      loop_.stop();
    });
  });

  run();
}

TEST_F(AsioSchedulerTest, CancelOfATimerThatNeverExistedReturnsFalse) {
  EXPECT_FALSE(scheduler_.cancel(core::TimerId{12345}));
}

TEST_F(AsioSchedulerTest, TimerCancelsAnotherDueTimer) {
  std::vector<std::string> ran;
  core::TimerId second;
  scheduler_.schedule_after(milliseconds(5), [&] {
    ran.push_back("first");
    EXPECT_TRUE(scheduler_.cancel(second));
  });
  second = scheduler_.schedule_after(milliseconds(5), [&] { ran.push_back("second"); });
  scheduler_.schedule_after(milliseconds(20), [&] { loop_.stop(); });

  run();

  EXPECT_EQ(ran, (std::vector<std::string>{"first"}));
}

TEST_F(AsioSchedulerTest, PostsFromAnotherThreadRunOnTheLoopThreadInOrder) {
  std::vector<int> ran;
  bool all_on_loop = true;
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) {
      scheduler_.post([&, i] {
        ran.push_back(i);
        all_on_loop = all_on_loop && loop_.executor().running_in_this_thread();
      });
    }
    scheduler_.post([&] { loop_.stop(); });
  });

  run();
  producer.join();

  ASSERT_EQ(ran.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
  EXPECT_TRUE(all_on_loop);
}

TEST_F(AsioSchedulerTest, DestroyingASchedulerDropsItsTimersWithoutRunning) {
  auto other = std::make_unique<AsioScheduler>(loop_.executor());
  auto captured = std::make_shared<int>(0);
  bool ran = false;
  other->schedule_after(milliseconds(1), [&ran, captured] { ran = true; });
  scheduler_.schedule_after(milliseconds(10), [&] { loop_.stop(); });

  other.reset();
  EXPECT_EQ(captured.use_count(), 1);
  run();

  EXPECT_FALSE(ran);
}

TEST_F(AsioSchedulerTest, TaskThatDestroysItsSchedulerEndsItsTimers) {
  auto other = std::make_unique<AsioScheduler>(loop_.executor());
  std::vector<std::string> ran;
  other->schedule_after(milliseconds(2), [&] {
    ran.push_back("destroys");
    other.reset();
  });
  other->schedule_after(milliseconds(2), [&] { ran.push_back("after"); });
  scheduler_.schedule_after(milliseconds(20), [&] { loop_.stop(); });

  run();

  EXPECT_EQ(ran, (std::vector<std::string>{"destroys"}));
}

}  // namespace
}  // namespace orderflow::adapters::asio
