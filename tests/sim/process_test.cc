#include "sim/process.h"

#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

namespace orderflow::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Stands for the service graph a boot function builds; tells when it is destroyed.
struct Services {
  explicit Services(int* destroyed) : destroyed_(destroyed) {}
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;
  ~Services() { ++*destroyed_; }

  int* destroyed_;
};

class ProcessTest : public ::testing::Test {
 protected:
  ProcessTest() : process_(kernel_, "orders-1", kernel_.random().fork("orders-1")) {}

  // Runs every event due within `span` of the current time.
  void run_for(core::Duration span) { kernel_.run_until(kernel_.now() + span); }

  // A task that appends `label` to `ran_`.
  core::Task note(std::string label) {
    return [this, label = std::move(label)] { ran_.push_back(label); };
  }

  const TraceEvent* last_event_named(std::string_view name) {
    const auto& recent = kernel_.trace().recent();
    for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    return nullptr;
  }

  Kernel kernel_{7};
  Process process_;
  std::vector<std::string> ran_;
};

TEST_F(ProcessTest, StartsDownAndStartBringsItUp) {
  EXPECT_FALSE(process_.up());
  EXPECT_EQ(process_.name(), "orders-1");
  process_.start();
  EXPECT_TRUE(process_.up());
  EXPECT_FALSE(process_.paused());
  const TraceEvent* started = last_event_named("process_started");
  ASSERT_NE(started, nullptr);
  EXPECT_EQ(started->process, "orders-1");
}

TEST_F(ProcessTest, PostedTasksRunInPostingOrderAfterTheCurrentTask) {
  process_.start();
  auto& s = process_.scheduler();
  s.post([&] {
    s.post(note("nested"));
    ran_.push_back("first");
  });
  s.post(note("second"));
  s.post(note("third"));
  EXPECT_TRUE(ran_.empty());
  run_for(microseconds{0});
  EXPECT_EQ(ran_, (std::vector<std::string>{"first", "second", "third", "nested"}));
}

TEST_F(ProcessTest, TimersRunAtTheirDeadlineInDeadlineOrder) {
  process_.start();
  auto& s = process_.scheduler();
  s.schedule_after(milliseconds{5}, note("5ms"));
  s.schedule_after(milliseconds{2}, note("2ms"));
  s.schedule_after(milliseconds{2}, note("2ms-again"));
  run_for(milliseconds{2} - microseconds{1});
  EXPECT_TRUE(ran_.empty());
  run_for(microseconds{1});
  EXPECT_EQ(ran_, (std::vector<std::string>{"2ms", "2ms-again"}));
  run_for(milliseconds{3});
  EXPECT_EQ(ran_, (std::vector<std::string>{"2ms", "2ms-again", "5ms"}));
}

TEST_F(ProcessTest, CancelOfATimerThroughTheSchedulerPort) {
  process_.start();
  auto& s = process_.scheduler();
  const core::TimerId cancelled = s.schedule_after(milliseconds{1}, note("cancelled"));
  const core::TimerId kept = s.schedule_after(milliseconds{1}, note("kept"));
  EXPECT_NE(cancelled, kept);
  EXPECT_TRUE(s.cancel(cancelled));
  EXPECT_FALSE(s.cancel(cancelled));
  run_for(milliseconds{5});
  EXPECT_EQ(ran_, (std::vector<std::string>{"kept"}));
  EXPECT_FALSE(s.cancel(kept));
}

TEST_F(ProcessTest, CrashDropsQueuedTasksAndPendingTimers) {
  process_.start();
  process_.scheduler().post(note("posted"));
  process_.scheduler().schedule_after(milliseconds{3}, note("timer"));
  process_.crash();
  EXPECT_FALSE(process_.up());
  run_for(milliseconds{10});
  EXPECT_TRUE(ran_.empty());
  EXPECT_NE(last_event_named("process_crashed"), nullptr);
}

TEST_F(ProcessTest, CrashDestroysWhatBootReturned) {
  int boots = 0;
  int destroyed = 0;
  std::weak_ptr<void> services;
  process_.set_boot([&](Process&) {
    ++boots;
    auto s = std::make_shared<Services>(&destroyed);
    services = s;
    return s;
  });
  process_.start();
  EXPECT_EQ(boots, 1);
  EXPECT_FALSE(services.expired());
  process_.crash();
  EXPECT_TRUE(services.expired());
  EXPECT_EQ(destroyed, 1);
}

TEST_F(ProcessTest, RestartBootsANewIncarnation) {
  int boots = 0;
  int destroyed = 0;
  std::vector<std::weak_ptr<void>> incarnations;
  process_.set_boot([&](Process& p) {
    ++boots;
    EXPECT_EQ(&p, &process_);
    auto s = std::make_shared<Services>(&destroyed);
    incarnations.push_back(s);
    return s;
  });
  process_.start();
  const std::uint64_t first = process_.incarnation();
  process_.restart();
  EXPECT_TRUE(process_.up());
  EXPECT_EQ(boots, 2);
  EXPECT_NE(process_.incarnation(), first);
  ASSERT_EQ(incarnations.size(), 2u);
  EXPECT_TRUE(incarnations[0].expired());
  EXPECT_FALSE(incarnations[1].expired());
  EXPECT_EQ(destroyed, 1);
}

TEST_F(ProcessTest, BootMayPostWorkForItsOwnIncarnation) {
  process_.set_boot([this](Process& p) {
    p.scheduler().post(note("booted"));
    return std::shared_ptr<void>();
  });
  process_.start();
  run_for(microseconds{0});
  EXPECT_EQ(ran_, (std::vector<std::string>{"booted"}));
}

TEST_F(ProcessTest, ATaskBoundInOneIncarnationDoesNotRunInTheNext) {
  process_.start();
  Kernel::Action old_delivery = process_.bind(note("old"));
  process_.scheduler().schedule_after(milliseconds{5}, note("old-timer"));
  process_.restart();
  Kernel::Action new_delivery = process_.bind(note("new"));
  kernel_.after(milliseconds{1}, old_delivery);
  kernel_.after(milliseconds{1}, new_delivery);
  run_for(milliseconds{10});
  EXPECT_EQ(ran_, (std::vector<std::string>{"new"}));
}

TEST_F(ProcessTest, ATaskPostedWhileDownNeverRuns) {
  process_.start();
  process_.crash();
  process_.scheduler().post(note("while-down"));
  process_.scheduler().schedule_after(milliseconds{2}, note("timer-while-down"));
  process_.start();
  run_for(milliseconds{5});
  EXPECT_TRUE(ran_.empty());
}

TEST_F(ProcessTest, NothingRunsWhileTheProcessIsDown) {
  process_.scheduler().post(note("never-started"));
  run_for(milliseconds{1});
  process_.start();
  process_.crash();
  process_.scheduler().post(note("posted-while-down"));
  kernel_.after(milliseconds{1}, process_.bind(note("message-while-down")));
  run_for(milliseconds{5});
  EXPECT_TRUE(ran_.empty());
}

TEST_F(ProcessTest, DiskSurvivesACrashButNotAWipe) {
  process_.start();
  process_.disk().store("orders").put("o-1", "placed");
  process_.restart();
  EXPECT_EQ(process_.disk().store("orders").get("o-1"), "placed");

  process_.crash();
  process_.wipe_disk();
  EXPECT_TRUE(process_.disk().empty());
  process_.start();
  EXPECT_EQ(process_.disk().store("orders").get("o-1"), std::nullopt);
  EXPECT_NE(last_event_named("process_disk_wiped"), nullptr);
}

TEST_F(ProcessTest, PauseDefersTimersAndPostedTasksUntilResume) {
  process_.start();
  auto& s = process_.scheduler();
  s.schedule_after(milliseconds{4}, note("timer-4ms"));
  s.schedule_after(milliseconds{1}, note("timer-1ms"));
  process_.pause();
  EXPECT_TRUE(process_.paused());
  s.post(note("posted-while-paused"));
  kernel_.after(milliseconds{2}, process_.bind(note("message-2ms")));

  run_for(milliseconds{50});
  EXPECT_TRUE(ran_.empty());

  process_.resume();
  EXPECT_FALSE(process_.paused());
  run_for(microseconds{0});
  EXPECT_EQ(ran_, (std::vector<std::string>{"posted-while-paused", "timer-1ms", "message-2ms",
                                            "timer-4ms"}));
  const TraceEvent* resumed = last_event_named("process_resumed");
  ASSERT_NE(resumed, nullptr);
  ASSERT_EQ(resumed->fields.size(), 1u);
  EXPECT_EQ(resumed->fields[0].name, "deferred");
  EXPECT_EQ(std::get<std::int64_t>(resumed->fields[0].value), 4);
}

TEST_F(ProcessTest, TimersThatComeDueAfterResumeRunAtTheirDeadline) {
  process_.start();
  process_.scheduler().schedule_after(milliseconds{20}, note("late"));
  process_.pause();
  run_for(milliseconds{5});
  process_.resume();
  run_for(milliseconds{14});
  EXPECT_TRUE(ran_.empty());
  run_for(milliseconds{1});
  EXPECT_EQ(ran_, (std::vector<std::string>{"late"}));
}

// A resumed process handles what came due while it was stopped before anything
// that comes due at the instant it resumes, as an event loop does after SIGCONT.
TEST_F(ProcessTest, DeferredTasksRunBeforeATimerDueAtTheResumeInstant) {
  process_.start();
  kernel_.after(milliseconds{5}, [this] { process_.resume(); });
  process_.scheduler().schedule_after(milliseconds{5}, note("due-at-resume"));
  process_.scheduler().schedule_after(milliseconds{1}, note("due-while-paused"));
  process_.pause();
  run_for(milliseconds{10});
  EXPECT_EQ(ran_, (std::vector<std::string>{"due-while-paused", "due-at-resume"}));
}

// The Scheduler contract: cancelling a timer that has not run yet guarantees it
// never runs. A timer that came due during a pause has not run.
TEST_F(ProcessTest, CancelOfATimerThatCameDueWhilePausedStopsIt) {
  process_.start();
  auto& s = process_.scheduler();
  const core::TimerId timer = s.schedule_after(milliseconds{1}, note("cancelled"));
  process_.pause();
  run_for(milliseconds{5});
  const bool cancelled = s.cancel(timer);
  process_.resume();
  run_for(milliseconds{5});
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(ran_.empty());
}

TEST_F(ProcessTest, CrashWhilePausedDropsDeferredTasks) {
  process_.start();
  process_.scheduler().schedule_after(milliseconds{1}, note("deferred"));
  process_.pause();
  run_for(milliseconds{5});
  process_.crash();
  process_.start();
  EXPECT_FALSE(process_.paused());
  run_for(milliseconds{5});
  process_.pause();
  process_.resume();
  run_for(milliseconds{5});
  EXPECT_TRUE(ran_.empty());
}

TEST_F(ProcessTest, PauseAndResumeOfADownProcessDoNothing) {
  process_.pause();
  EXPECT_FALSE(process_.paused());
  process_.resume();
  EXPECT_EQ(last_event_named("process_paused"), nullptr);
  EXPECT_EQ(last_event_named("process_resumed"), nullptr);
}

TEST_F(ProcessTest, ClockSkewShiftsTheProcessClock) {
  process_.start();
  run_for(milliseconds{3});
  EXPECT_EQ(process_.clock().now(), kernel_.now());
  process_.set_clock_skew(milliseconds{250});
  EXPECT_EQ(process_.clock().now(), kernel_.now() + milliseconds{250});
  run_for(milliseconds{10});
  EXPECT_EQ(process_.clock().now(), kernel_.now() + milliseconds{250});
  process_.set_clock_skew(-milliseconds{40});
  EXPECT_EQ(process_.clock().now(), kernel_.now() - milliseconds{40});
}

TEST_F(ProcessTest, LogEventsAppearInTheKernelTraceWithTheProcessName) {
  process_.start();
  run_for(milliseconds{3});
  const std::string order_id = "o-17";
  process_.log().event(core::Severity::kWarn, "order_rejected",
                       {{"order_id", order_id}, {"lines", 3}});
  const TraceEvent* event = last_event_named("order_rejected");
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->process, "orders-1");
  EXPECT_EQ(event->severity, core::Severity::kWarn);
  EXPECT_EQ(event->time, kernel_.now());
  ASSERT_EQ(event->fields.size(), 2u);
  EXPECT_EQ(event->fields[0].name, "order_id");
  EXPECT_EQ(std::get<std::string>(event->fields[0].value), "o-17");
  EXPECT_EQ(event->fields[1].name, "lines");
  EXPECT_EQ(std::get<std::int64_t>(event->fields[1].value), 3);
}

TEST_F(ProcessTest, RandomIsTheStreamItWasGiven) {
  Prng expected = kernel_.random().fork("orders-1");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(process_.random().next_u64(), expected.next_u64());
}

}  // namespace
}  // namespace orderflow::sim
