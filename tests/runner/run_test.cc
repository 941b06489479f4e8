// `run_scenario` end to end on short scenarios: a clean run passes every check
// with consistent counts, the trace hash is a function of the seed, injected
// faults are reported, and a swarm run written out as fixed faults replays to the
// same trace (which is what makes shrinking a swarm failure sound).
#include "sim/runner/run.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "core/sim_hooks.h"
#include "sim/runner/checks.h"
#include "sim/runner/scenario.h"

namespace orderflow::sim {
namespace {

using namespace std::chrono_literals;
using google::protobuf::util::MessageDifferencer;

// Three seconds of light load and a short liveness window: about 15 orders.
constexpr const char* kTiny =
    "name: \"tiny\"\n"
    "workload { orders_per_second: 5 cancel_ratio: 0.2 }\n"
    "duration: \"3s\"\n"
    "liveness_window: \"15s\"\n";

Scenario scenario(const std::string& text) {
  auto s = parse_scenario(text, "run_test");
  if (!s) ADD_FAILURE() << s.error().message;
  return s.value_or(Scenario{});
}

std::string violations_of(const RunResult& r) {
  std::string out;
  for (const auto& v : r.violations) out += v.checker + "/" + v.kind + ": " + v.detail + "\n";
  return out;
}

TEST(RunScenario, CleanRunPassesEveryCheckWithConsistentCounts) {
  const Scenario s = scenario(kTiny);
  const RunResult r = run_scenario(s, {.seed = 5});

  EXPECT_TRUE(r.passed()) << violations_of(r);
  EXPECT_EQ(r.seed, 5u);
  EXPECT_EQ(r.checks, invariant_names());
  EXPECT_TRUE(r.schedule.empty());
  EXPECT_TRUE(r.fault_points.empty());
  for (auto probe : core::hooks::kProbes) EXPECT_TRUE(r.probes.contains(std::string(probe)));
  EXPECT_TRUE(r.timeline.empty());

  const RunStats& st = r.stats;
  EXPECT_GT(st.orders_attempted, 3) << "3 s at 5 orders per second";
  EXPECT_LE(st.orders_acknowledged, st.orders_attempted);
  const int orders = st.delivered + st.cancelled + st.not_terminal;
  EXPECT_LE(st.orders_acknowledged, orders) << "an acknowledged order is in the log";
  EXPECT_LE(orders, st.orders_attempted) << "every order in the log was placed by a customer";
  EXPECT_EQ(st.not_terminal, 0);
  EXPECT_GT(st.delivered, 0);
  EXPECT_EQ(st.client_gave_up, 0) << "nothing is lost without faults";
  EXPECT_GT(st.reads, 0);
  EXPECT_GT(st.trace_events, 0u);
  EXPECT_GE(st.simulated, duration_of(s.duration()) + duration_of(s.liveness_window()));
  EXPECT_NE(r.trace_hash, 0u);
}

TEST(RunScenario, TraceHashIsAFunctionOfTheSeed) {
  const Scenario s = scenario(kTiny);
  const RunResult first = run_scenario(s, {.seed = 11});

  // Watching the run (a sink, the timeline) must not change it.
  std::uint64_t seen = 0;
  const RunResult again = run_scenario(
      s, {.seed = 11, .timeline = true, .trace_sink = [&seen](const TraceEvent&) { ++seen; }});
  EXPECT_EQ(first.trace_hash, again.trace_hash);
  EXPECT_EQ(first.stats.trace_events, again.stats.trace_events);
  EXPECT_EQ(first.stats.orders_attempted, again.stats.orders_attempted);
  EXPECT_EQ(first.stats.delivered, again.stats.delivered);
  EXPECT_EQ(first.probes, again.probes);
  EXPECT_GE(seen, again.stats.trace_events);

  const RunResult other = run_scenario(s, {.seed = 12});
  EXPECT_NE(first.trace_hash, other.trace_hash);
  EXPECT_TRUE(first.passed()) << violations_of(first);
  EXPECT_TRUE(other.passed()) << violations_of(other);
}

// Disabled while it fails: ~World crashes every process after the run has taken
// its trace hash, and those `process_crashed` events still reach the sink (and,
// with `trace_path`, the sink writes through a trace file already destroyed).
TEST(RunScenario, SinkSeesNoEventAfterTheTraceHashIsTaken) {
  std::uint64_t seen = 0;
  const RunResult r = run_scenario(
      scenario(kTiny), {.seed = 11, .trace_sink = [&seen](const TraceEvent&) { ++seen; }});
  EXPECT_EQ(seen, r.stats.trace_events);
}

TEST(RunScenario, ReportsAFixedFaultInItsSchedule) {
  const Scenario s =
      scenario(std::string(kTiny) +
               "faults { at: \"1s\" kind: CRASH target: \"orders-1\" duration: \"1s\" }\n"
               "fault_points { name: \"streams.commit_fails\" probability: 0.01 }\n");
  const RunResult r = run_scenario(s, {.seed = 5});

  ASSERT_EQ(r.schedule.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(r.schedule[0], s.faults(0)));
  EXPECT_EQ(r.schedule[0].kind(), v1::CRASH);
  EXPECT_EQ(r.schedule[0].target(), "orders-1");
  ASSERT_EQ(r.fault_points.size(), 1u);
  EXPECT_EQ(r.fault_points[0].name(), "streams.commit_fails");
  EXPECT_TRUE(r.passed()) << violations_of(r);
  EXPECT_EQ(r.stats.not_terminal, 0);

  // A fixed schedule written out is the scenario itself.
  EXPECT_TRUE(MessageDifferencer::Equals(with_schedule(s, r), s));
}

TEST(RunScenario, SwarmRunReplaysAsFixedFaultsToTheSameTrace) {
  const Scenario swarm = scenario(std::string(kTiny) +
                                  "swarm {\n"
                                  "  kinds: [CRASH, PAUSE, SKEW_CLOCK, DROP, LOSE_ACKS, "
                                  "BROKER_DOWN, MOVE_LEADER, REBALANCE]\n"
                                  "  max_per_minute: 60\n"
                                  "  max_duration: \"2s\"\n"
                                  "  fault_points: [\"streams.commit_fails\", "
                                  "\"orders.produce_times_out\"]\n"
                                  "  max_fault_point_probability: 0.2\n"
                                  "}\n");
  RunResult drawn;
  for (std::uint64_t seed = 1; seed <= 8 && drawn.schedule.size() < 2; ++seed) {
    drawn = run_scenario(swarm, {.seed = seed});
  }
  ASSERT_GE(drawn.schedule.size(), 2u) << "no seed drew a schedule worth replaying";

  const Scenario fixed = with_schedule(swarm, drawn);
  EXPECT_FALSE(fixed.has_swarm());
  ASSERT_EQ(fixed.faults_size(), static_cast<int>(drawn.schedule.size()));
  EXPECT_EQ(fixed.fault_points_size(), static_cast<int>(drawn.fault_points.size()));

  const RunResult replayed = run_scenario(fixed, {.seed = drawn.seed});
  EXPECT_EQ(replayed.trace_hash, drawn.trace_hash);
  EXPECT_EQ(replayed.violations.size(), drawn.violations.size());
  EXPECT_EQ(replayed.stats.orders_attempted, drawn.stats.orders_attempted);

  // What `orderflow sim shrink` writes must load and replay the same way.
  const auto written = parse_scenario(to_text(fixed), "written");
  ASSERT_TRUE(written.has_value()) << written.error().message;
  const RunResult from_text = run_scenario(*written, {.seed = drawn.seed});
  EXPECT_EQ(from_text.trace_hash, drawn.trace_hash);
}

}  // namespace
}  // namespace orderflow::sim
