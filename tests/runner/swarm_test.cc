// Swarm draws: a pure function of the scenario and the seed, and every schedule
// drawn is one a person could have written by hand (it passes validation), which
// is what lets a failing swarm seed be replayed and shrunk as fixed faults.
#include "sim/runner/swarm.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "sim/prng.h"
#include "sim/runner/scenario.h"

namespace orderflow::sim {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr const char* kEveryKind =
    "[CRASH, PAUSE, WIPE_DISK, SKEW_CLOCK, PARTITION, ISOLATE, DROP, DUPLICATE, CLOG, "
    "LOSE_ACKS, BROKER_DOWN, MOVE_LEADER, REBALANCE]";

Scenario swarm_everything(const std::string& duration = "60s") {
  auto s = parse_scenario(
      "name: \"swarm\"\n"
      "duration: \"" +
          duration +
          "\"\n"
          "swarm {\n"
          "  kinds: " +
          kEveryKind +
          "\n"
          "  max_per_minute: 12\n"
          "  max_duration: \"8s\"\n"
          "  fault_points: [\"streams.commit_fails\", \"orders.produce_times_out\"]\n"
          "}\n",
      "swarm-everything");
  if (!s) ADD_FAILURE() << s.error().message;
  return s.value_or(Scenario{});
}

SwarmDraw draw(const Scenario& s, std::uint64_t seed) {
  Prng random(seed);
  return draw_swarm(s, random);
}

bool same_faults(const std::vector<v1::Fault>& a, const std::vector<v1::Fault>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return MessageDifferencer::Equals(x, y); });
}

bool same_points(const std::vector<v1::FaultPoint>& a, const std::vector<v1::FaultPoint>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return MessageDifferencer::Equals(x, y); });
}

// The scenario with the draw written out as fixed faults, as text, parsed again.
std::expected<Scenario, ScenarioError> as_fixed_scenario(const Scenario& s, const SwarmDraw& d) {
  Scenario fixed = s;
  fixed.clear_swarm();
  fixed.clear_faults();
  fixed.clear_fault_points();
  for (const auto& f : d.faults) *fixed.add_faults() = f;
  for (const auto& p : d.fault_points) *fixed.add_fault_points() = p;
  return parse_scenario(to_text(fixed), "drawn");
}

TEST(SwarmDraw, SameSeedSameSchedule) {
  const Scenario s = swarm_everything();
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const SwarmDraw first = draw(s, seed);
    const SwarmDraw second = draw(s, seed);
    EXPECT_TRUE(same_faults(first.faults, second.faults)) << "seed " << seed;
    EXPECT_TRUE(same_points(first.fault_points, second.fault_points)) << "seed " << seed;
  }
}

TEST(SwarmDraw, DifferentSeedsDifferentSchedules) {
  const Scenario s = swarm_everything();
  std::set<std::string> schedules;
  std::size_t faults = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const SwarmDraw d = draw(s, seed);
    std::string text;
    for (const auto& f : d.faults) text += f.ShortDebugString() + "\n";
    for (const auto& p : d.fault_points) text += p.ShortDebugString() + "\n";
    schedules.insert(text);
    faults += d.faults.size();
  }
  EXPECT_EQ(schedules.size(), 20u);
  EXPECT_GT(faults, 20u) << "a minute at up to 12 per minute per kind draws more than this";
}

TEST(SwarmDraw, SwitchesKindsOnAndOffPerSeed) {
  const Scenario s = swarm_everything();
  std::set<std::set<int>> mixes;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::set<int> kinds;
    for (const auto& f : draw(s, seed).faults) kinds.insert(f.kind());
    EXPECT_LT(kinds.size(), 13u) << "seed " << seed << " switched every kind on";
    mixes.insert(kinds);
  }
  EXPECT_GT(mixes.size(), 10u);
}

TEST(SwarmDraw, NoKindsNoFaults) {
  auto s = parse_scenario("duration: \"60s\"\nswarm { max_per_minute: 60 }\n", "no-kinds");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) EXPECT_TRUE(draw(*s, seed).faults.empty());
}

TEST(SwarmDraw, BundledSwarmScenarioDrawsValidSchedules) {
  const auto s =
      load_scenario(std::string(ORDERFLOW_SOURCE_DIR) + "/scenarios/swarm-everything.textproto");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const auto fixed = as_fixed_scenario(*s, draw(*s, seed));
    EXPECT_TRUE(fixed.has_value()) << "seed " << seed << ": " << fixed.error().message;
  }
}

// A random swarm scenario within the ranges validation accepts.
Scenario arbitrary_swarm_scenario() {
  const int orders = *rc::gen::inRange(1, 4);
  const int shipping = *rc::gen::inRange(1, 4);
  const int query = *rc::gen::inRange(1, 4);
  const int brokers = *rc::gen::inRange(1, 6);
  const int partitions = *rc::gen::inRange(1, 9);
  const int duration_ms = *rc::gen::inRange(100, 180'000);
  const int max_per_minute = *rc::gen::inRange(1, 120);
  const int max_duration_ms = *rc::gen::inRange(100, 30'000);  // at least 100 ms
  const double max_point_p = *rc::gen::inRange(1, 101) / 100.0;
  std::string kinds;
  for (int k = v1::CRASH; k <= v1::REBALANCE; ++k) {
    if (*rc::gen::arbitrary<bool>()) {
      kinds += " kinds: " + v1::FaultKind_Name(static_cast<v1::FaultKind>(k));
    }
  }
  std::string points;
  for (const char* name :
       {"streams.commit_fails", "streams.abort_before_commit", "orders.produce_times_out"}) {
    if (*rc::gen::arbitrary<bool>()) points += std::string(" fault_points: \"") + name + "\"";
  }
  const std::string text =
      "name: \"arbitrary\"\n"
      "topology { orders: " +
      std::to_string(orders) + " shipping: " + std::to_string(shipping) +
      " query: " + std::to_string(query) + " brokers: " + std::to_string(brokers) +
      " partitions: " + std::to_string(partitions) + " }\nduration: \"" +
      std::to_string(duration_ms) + "ms\"\nswarm {" + kinds +
      " max_per_minute: " + std::to_string(max_per_minute) + " max_duration: \"" +
      std::to_string(max_duration_ms) + "ms\"" + points +
      " max_fault_point_probability: " + std::to_string(max_point_p) + " }\n";
  RC_LOG() << text;
  auto s = parse_scenario(text, "arbitrary");
  if (!s) RC_FAIL(s.error().message);
  return *s;
}

RC_GTEST_PROP(SwarmDrawProperty, IsAPureFunctionOfScenarioAndSeed, ()) {
  const Scenario s = arbitrary_swarm_scenario();
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  const SwarmDraw first = draw(s, seed);
  const SwarmDraw second = draw(s, seed);
  RC_ASSERT(same_faults(first.faults, second.faults));
  RC_ASSERT(same_points(first.fault_points, second.fault_points));
}

RC_GTEST_PROP(SwarmDrawProperty, FaultsAreSortedWithinTheLoadAndOfTheSwarmsKinds, ()) {
  const Scenario s = arbitrary_swarm_scenario();
  const SwarmDraw d = draw(s, *rc::gen::arbitrary<std::uint64_t>());
  const core::Duration load = duration_of(s.duration());
  const std::set<int> kinds(s.swarm().kinds().begin(), s.swarm().kinds().end());
  core::Duration previous = core::Duration::zero();
  for (const auto& f : d.faults) {
    const auto at = parse_duration(f.at());
    RC_ASSERT(at.has_value());
    RC_ASSERT(*at >= previous);
    RC_ASSERT(*at <= load);
    RC_ASSERT(kinds.contains(f.kind()));
    RC_ASSERT(f.target() != "clients");
    previous = *at;
  }
  for (const auto& p : d.fault_points) {
    RC_ASSERT(p.probability() > 0.0);
    RC_ASSERT(p.probability() <= s.swarm().max_fault_point_probability());
  }
}

RC_GTEST_PROP(SwarmDrawProperty, EveryDrawnScheduleValidatesAsFixedFaults, ()) {
  const Scenario s = arbitrary_swarm_scenario();
  const SwarmDraw d = draw(s, *rc::gen::arbitrary<std::uint64_t>());
  const auto fixed = as_fixed_scenario(s, d);
  if (!fixed) RC_FAIL(fixed.error().message);
  RC_ASSERT(fixed->faults_size() == static_cast<int>(d.faults.size()));
  RC_ASSERT(fixed->fault_points_size() == static_cast<int>(d.fault_points.size()));
  for (int i = 0; i < fixed->faults_size(); ++i) {
    RC_ASSERT(MessageDifferencer::Equals(fixed->faults(i), d.faults[static_cast<std::size_t>(i)]));
  }
}

}  // namespace
}  // namespace orderflow::sim
