#include "sim/kernel.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace orderflow::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(Kernel, StartsAtTheSimulatedEpochWithNothingPending) {
  Kernel k(1);
  EXPECT_EQ(k.now(), kSimEpoch);
  EXPECT_EQ(k.start(), kSimEpoch);
  EXPECT_EQ(k.seed(), 1u);
  EXPECT_EQ(k.pending(), 0u);
  EXPECT_EQ(k.events_run(), 0u);
  EXPECT_FALSE(k.step());
}

TEST(Kernel, EventsRunInTimeOrder) {
  Kernel k(1);
  std::vector<int> order;
  std::vector<core::Timestamp> times;
  for (int ms : {30, 10, 20, 5, 25}) {
    k.after(milliseconds{ms}, [&, ms] {
      order.push_back(ms);
      times.push_back(k.now());
    });
  }
  while (k.step()) {
  }
  EXPECT_EQ(order, (std::vector<int>{5, 10, 20, 25, 30}));
  ASSERT_EQ(times.size(), 5u);
  EXPECT_EQ(times.front(), kSimEpoch + milliseconds{5});
  EXPECT_EQ(times.back(), kSimEpoch + milliseconds{30});
}

TEST(Kernel, EqualTimesRunInSchedulingOrder) {
  Kernel k(1);
  std::vector<int> order;
  for (int i = 0; i < 50; ++i) k.after(milliseconds{7}, [&order, i] { order.push_back(i); });
  while (k.step()) {
  }
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(Kernel, EventScheduledAtTheCurrentTimeRunsAfterTheRunningEvent) {
  Kernel k(1);
  std::vector<std::string> order;
  k.after(milliseconds{1}, [&] {
    k.after(microseconds{0}, [&] { order.push_back("child"); });
    order.push_back("parent");
  });
  k.after(milliseconds{1}, [&] { order.push_back("sibling"); });
  k.after(milliseconds{2}, [&] { order.push_back("later"); });
  while (k.step()) {
  }
  EXPECT_EQ(order, (std::vector<std::string>{"parent", "sibling", "child", "later"}));
}

TEST(Kernel, StepRunsOneEventAndMovesTheClockToIt) {
  Kernel k(1);
  int runs = 0;
  k.after(milliseconds{3}, [&] { ++runs; });
  k.after(milliseconds{9}, [&] { ++runs; });
  ASSERT_TRUE(k.step());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{3});
  ASSERT_TRUE(k.step());
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{9});
  EXPECT_FALSE(k.step());
  EXPECT_EQ(runs, 2);
}

TEST(Kernel, CancelPreventsTheEventFromRunning) {
  Kernel k(1);
  bool ran = false;
  bool other = false;
  const EventHandle h = k.after(milliseconds{1}, [&] { ran = true; });
  k.after(milliseconds{2}, [&] { other = true; });
  EXPECT_TRUE(k.cancel(h));
  while (k.step()) {
  }
  EXPECT_FALSE(ran);
  EXPECT_TRUE(other);
}

TEST(Kernel, CancelReturnsTrueOnlyOnce) {
  Kernel k(1);
  const EventHandle h = k.after(milliseconds{1}, [] {});
  EXPECT_TRUE(k.cancel(h));
  EXPECT_FALSE(k.cancel(h));
  EXPECT_FALSE(k.step());
  EXPECT_FALSE(k.cancel(h));
}

TEST(Kernel, CancelOfAnEventThatRanReturnsFalse) {
  Kernel k(1);
  const EventHandle h = k.after(milliseconds{1}, [] {});
  ASSERT_TRUE(k.step());
  EXPECT_FALSE(k.cancel(h));
}

TEST(Kernel, CancelOfTheRunningEventReturnsFalse) {
  Kernel k(1);
  EventHandle self;
  std::optional<bool> result;
  self = k.after(milliseconds{1}, [&] { result = k.cancel(self); });
  ASSERT_TRUE(k.step());
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
}

TEST(Kernel, CancelOfAnUnknownHandleReturnsFalse) {
  Kernel k(1);
  k.after(milliseconds{1}, [] {});
  EXPECT_FALSE(k.cancel(EventHandle{12345}));
  EXPECT_FALSE(k.cancel(EventHandle{}));
  EXPECT_EQ(k.pending(), 1u);
}

TEST(Kernel, AnEventCanCancelAnotherAtTheSameTime) {
  Kernel k(1);
  bool victim_ran = false;
  EventHandle victim;
  k.after(milliseconds{1}, [&] { EXPECT_TRUE(k.cancel(victim)); });
  victim = k.after(milliseconds{1}, [&] { victim_ran = true; });
  while (k.step()) {
  }
  EXPECT_FALSE(victim_ran);
  EXPECT_EQ(k.events_run(), 1u);
}

TEST(Kernel, RunUntilRunsEventsUpToAndIncludingTheDeadline) {
  Kernel k(1);
  std::vector<int> ran;
  for (int ms : {1, 5, 10, 11, 20}) k.after(milliseconds{ms}, [&ran, ms] { ran.push_back(ms); });
  k.run_until(kSimEpoch + milliseconds{10});
  EXPECT_EQ(ran, (std::vector<int>{1, 5, 10}));
  EXPECT_EQ(k.pending(), 2u);
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{10});

  k.run_until(kSimEpoch + milliseconds{15});
  EXPECT_EQ(ran, (std::vector<int>{1, 5, 10, 11}));
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{15});
  EXPECT_EQ(k.pending(), 1u);
}

TEST(Kernel, RunUntilSetsTheClockToTheDeadlineWhenNothingIsDue) {
  Kernel k(1);
  k.run_until(kSimEpoch + milliseconds{250});
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{250});
  EXPECT_EQ(k.events_run(), 0u);
}

TEST(Kernel, RunUntilNeverMovesTheClockBackwards) {
  Kernel k(1);
  k.run_until(kSimEpoch + milliseconds{10});
  k.run_until(kSimEpoch + milliseconds{4});
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{10});
}

TEST(Kernel, RunUntilRunsEventsThatEventsScheduleBeforeTheDeadline) {
  Kernel k(1);
  int chain = 0;
  std::function<void()> tick = [&] {
    ++chain;
    k.after(milliseconds{1}, tick);
  };
  k.after(milliseconds{1}, tick);
  k.run_until(kSimEpoch + milliseconds{10});
  EXPECT_EQ(chain, 10);
  EXPECT_EQ(k.pending(), 1u);
}

// The deadline must be compared with the next live event, not with a cancelled
// entry still at the head of the queue; otherwise a later event runs early.
TEST(Kernel, RunUntilWithACancelledHeadDoesNotRunALaterEventEarly) {
  Kernel k(1);
  bool late_ran = false;
  const EventHandle head = k.after(milliseconds{1}, [] {});
  k.after(milliseconds{10}, [&] { late_ran = true; });
  ASSERT_TRUE(k.cancel(head));

  k.run_until(kSimEpoch + milliseconds{5});
  EXPECT_FALSE(late_ran);
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{5});
  EXPECT_EQ(k.pending(), 1u);

  k.run_until(kSimEpoch + milliseconds{10});
  EXPECT_TRUE(late_ran);
}

TEST(Kernel, RunUntilPredicateWithACancelledHeadDoesNotRunALaterEventEarly) {
  Kernel k(1);
  bool late_ran = false;
  const EventHandle head = k.after(milliseconds{1}, [] {});
  k.after(milliseconds{10}, [&] { late_ran = true; });
  ASSERT_TRUE(k.cancel(head));

  EXPECT_FALSE(k.run_until([&] { return late_ran; }, kSimEpoch + milliseconds{5}));
  EXPECT_FALSE(late_ran);
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{5});
}

TEST(Kernel, RunUntilPredicateStopsAsSoonAsItHolds) {
  Kernel k(1);
  int count = 0;
  for (int ms = 1; ms <= 10; ++ms) k.after(milliseconds{ms}, [&] { ++count; });
  EXPECT_TRUE(k.run_until([&] { return count == 3; }, kSimEpoch + milliseconds{100}));
  EXPECT_EQ(count, 3);
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{3});
  EXPECT_EQ(k.pending(), 7u);
}

TEST(Kernel, RunUntilPredicateStopsBetweenEventsAtTheSameTime) {
  Kernel k(1);
  int count = 0;
  for (int i = 0; i < 5; ++i) k.after(milliseconds{2}, [&] { ++count; });
  EXPECT_TRUE(k.run_until([&] { return count == 2; }, kSimEpoch + milliseconds{100}));
  EXPECT_EQ(count, 2);
  EXPECT_EQ(k.pending(), 3u);
}

TEST(Kernel, RunUntilPredicateThatAlreadyHoldsRunsNothing) {
  Kernel k(1);
  k.after(milliseconds{1}, [] {});
  EXPECT_TRUE(k.run_until([] { return true; }, kSimEpoch + milliseconds{100}));
  EXPECT_EQ(k.events_run(), 0u);
  EXPECT_EQ(k.now(), kSimEpoch);
}

TEST(Kernel, RunUntilPredicateReturnsFalseAtTheDeadline) {
  Kernel k(1);
  int count = 0;
  for (int ms : {1, 2, 50}) k.after(milliseconds{ms}, [&] { ++count; });
  EXPECT_FALSE(k.run_until([&] { return count == 3; }, kSimEpoch + milliseconds{10}));
  EXPECT_EQ(count, 2);
  EXPECT_EQ(k.now(), kSimEpoch + milliseconds{10});
  EXPECT_EQ(k.pending(), 1u);
}

TEST(Kernel, PendingCountsLiveEventsAndEventsRunCountsRunOnes) {
  Kernel k(1);
  const EventHandle a = k.after(milliseconds{1}, [] {});
  k.after(milliseconds{2}, [] {});
  k.after(milliseconds{3}, [] {});
  EXPECT_EQ(k.pending(), 3u);
  ASSERT_TRUE(k.cancel(a));
  EXPECT_EQ(k.pending(), 2u);
  ASSERT_TRUE(k.step());
  EXPECT_EQ(k.pending(), 1u);
  EXPECT_EQ(k.events_run(), 1u);
  k.run_until(kSimEpoch + milliseconds{10});
  EXPECT_EQ(k.pending(), 0u);
  EXPECT_EQ(k.events_run(), 2u);
}

TEST(Kernel, RecordStampsTheTraceWithTheCurrentTime) {
  Kernel k(1);
  k.after(milliseconds{4}, [&] { k.record("svc", core::Severity::kInfo, "tick", {{"n", 1}}); });
  k.run_until(kSimEpoch + milliseconds{10});
  ASSERT_EQ(k.trace().recent().size(), 1u);
  EXPECT_EQ(k.trace().recent().front().time, kSimEpoch + milliseconds{4});
  EXPECT_EQ(k.trace().recent().front().process, "svc");
}

// Death tests fork the (ASan-instrumented) binary; this one takes well under a
// second, so it stays on in the dev preset.
TEST(KernelDeathTest, SchedulingInThePastAborts) {
  Kernel k(1);
  k.run_until(kSimEpoch + milliseconds{10});
  EXPECT_DEATH(k.at(kSimEpoch + milliseconds{9}, [] {}),
               "an event cannot be scheduled in the past");
}

TEST(Kernel, SchedulingAtTheCurrentTimeIsAllowed) {
  Kernel k(1);
  k.run_until(kSimEpoch + milliseconds{10});
  bool ran = false;
  k.at(k.now(), [&] { ran = true; });
  EXPECT_TRUE(k.step());
  EXPECT_TRUE(ran);
}

// A small random workload: events that record trace events with fields of every
// type and schedule children at random delays drawn from the kernel's stream.
struct RunResult {
  std::uint64_t hash = 0;
  std::vector<std::uint64_t> event_hashes;
  std::uint64_t events_run = 0;
};

RunResult run_workload(std::uint64_t seed, std::optional<std::uint64_t> tweak_event = {}) {
  Kernel k(seed);
  std::uint64_t recorded = 0;
  std::function<void(int, int)> work = [&](int worker, int depth) {
    const auto draw = static_cast<std::int64_t>(k.random().uniform(1000));
    const std::int64_t value = recorded == tweak_event ? draw + 1 : draw;
    ++recorded;
    k.record("worker-" + std::to_string(worker), core::Severity::kInfo, "work_done",
             {{"depth", depth},
              {"draw", value},
              {"ratio", k.random().unit()},
              {"even", draw % 2 == 0},
              {"note", "a note"}});
    if (depth == 6) return;
    const int children = static_cast<int>(k.random().uniform(3));
    for (int c = 0; c < children; ++c) {
      const auto delay = microseconds{k.random().uniform_between(0, 5000)};
      k.after(delay, [&work, worker, depth] { work(worker, depth + 1); });
    }
  };
  for (int w = 0; w < 4; ++w) {
    k.after(microseconds{k.random().uniform(100)}, [&work, w] { work(w, 0); });
  }
  k.run_until(kSimEpoch + std::chrono::seconds{10});
  return {k.trace().hash(), k.trace().event_hashes(), k.events_run()};
}

TEST(Determinism, SameSeedGivesTheSameTrace) {
  const RunResult a = run_workload(42);
  const RunResult b = run_workload(42);
  ASSERT_GT(a.event_hashes.size(), 20u) << "the workload is too small to say anything";
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.event_hashes, b.event_hashes);
  EXPECT_EQ(a.events_run, b.events_run);
}

TEST(Determinism, DifferentSeedGivesADifferentTrace) {
  const RunResult a = run_workload(42);
  const RunResult b = run_workload(43);
  EXPECT_NE(a.hash, b.hash);
  EXPECT_NE(a.event_hashes, b.event_hashes);
}

TEST(Determinism, ChangingOneFieldOfOneEventChangesTheHashFromThatEventOn) {
  const RunResult a = run_workload(42);
  const RunResult b = run_workload(42, 7);
  ASSERT_EQ(a.event_hashes.size(), b.event_hashes.size());
  ASSERT_GT(a.event_hashes.size(), 8u);
  EXPECT_NE(a.hash, b.hash);
  for (std::size_t i = 0; i < a.event_hashes.size(); ++i) {
    if (i == 7) {
      EXPECT_NE(a.event_hashes[i], b.event_hashes[i]) << "event " << i;
    } else {
      EXPECT_EQ(a.event_hashes[i], b.event_hashes[i]) << "event " << i;
    }
  }
}

}  // namespace
}  // namespace orderflow::sim
