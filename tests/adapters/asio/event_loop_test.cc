#include "adapters/asio/event_loop.h"

#include <atomic>
#include <csignal>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "adapters/asio/scheduler.h"

namespace orderflow::adapters::asio {
namespace {

TEST(EventLoopTest, StopBeforeRunMakesRunReturnAtOnce) {
  EventLoop loop;
  AsioScheduler scheduler(loop.executor());
  bool ran = false;
  scheduler.post([&] { ran = true; });

  loop.stop();
  loop.run();

  EXPECT_FALSE(ran);
}

TEST(EventLoopTest, RunKeepsGoingWhenIdleUntilStop) {
  EventLoop loop;
  AsioScheduler scheduler(loop.executor());
  std::promise<void> task_ran;
  std::atomic<bool> stop_called = false;
  std::thread stopper([&] {
    task_ran.get_future().wait();
    stop_called = true;
    loop.stop();
  });
  scheduler.post([&] { task_ran.set_value(); });

  loop.run();

  EXPECT_TRUE(stop_called);
  stopper.join();
}

TEST(EventLoopTest, TasksRunOnTheThreadInsideRun) {
  EventLoop loop;
  AsioScheduler scheduler(loop.executor());
  bool on_loop = false;
  EXPECT_FALSE(loop.executor().running_in_this_thread());
  scheduler.post([&] {
    on_loop = loop.executor().running_in_this_thread();
    loop.stop();
  });

  loop.run();

  EXPECT_TRUE(on_loop);
}

class EventLoopSignalTest : public ::testing::TestWithParam<int> {};

TEST_P(EventLoopSignalTest, SignalCallsTheCallbackOnTheLoopThread) {
  EventLoop loop;
  AsioScheduler scheduler(loop.executor());
  int received = 0;
  bool on_loop = false;
  loop.handle_signals([&](int signal) {
    received = signal;
    on_loop = loop.executor().running_in_this_thread();
    loop.stop();
  });
  scheduler.post([] { std::raise(GetParam()); });

  loop.run();

  EXPECT_EQ(received, GetParam());
  EXPECT_TRUE(on_loop);
}

INSTANTIATE_TEST_SUITE_P(InterruptAndTerminate, EventLoopSignalTest,
                         ::testing::Values(SIGINT, SIGTERM));

TEST(EventLoopTest, EverySignalCallsTheCallback) {
  EventLoop loop;
  AsioScheduler scheduler(loop.executor());
  int calls = 0;
  loop.handle_signals([&](int) {
    if (++calls == 2) loop.stop();
  });
  scheduler.post([] { std::raise(SIGTERM); });
  scheduler.post([] { std::raise(SIGINT); });

  loop.run();

  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace orderflow::adapters::asio
