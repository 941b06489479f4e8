// Scenario files: what a person gets told when a file is wrong, the defaults a
// loaded scenario carries, the duration syntax, and the bundled scenarios.
#include "sim/runner/scenario.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

namespace orderflow::sim {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kOrigin = "in-test.textproto";

// A valid scenario whose lines are known: the processes are orders-1, orders-2,
// shipping-1, shipping-2, query-1 and clients.
constexpr std::string_view kHeader =
    "name: \"t\"\n"
    "topology { orders: 2 shipping: 2 query: 1 brokers: 3 partitions: 3 }\n"
    "duration: \"3s\"\n"
    "liveness_window: \"15s\"\n";

// The 1-based line of the first line of `text` that contains `needle`.
int line_of(std::string_view text, std::string_view needle) {
  const auto at = text.find(needle);
  EXPECT_NE(at, std::string_view::npos) << needle;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

// The message of the error `text` must produce.
std::string error_of(const std::string& text) {
  auto parsed = parse_scenario(text, kOrigin);
  if (parsed) {
    ADD_FAILURE() << "accepted:\n" << text;
    return "";
  }
  return parsed.error().message;
}

// The "ORIGIN:LINE:" an error about `needle` must start with.
std::string located(const std::string& text, std::string_view needle) {
  return std::string(kOrigin) + ":" + std::to_string(line_of(text, needle)) + ":";
}

TEST(ScenarioErrors, SyntaxErrorNamesTheOriginAndLine) {
  const std::string text = std::string(kHeader) + "workload {\n  skus 5\n}\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "skus")));
}

TEST(ScenarioErrors, UnknownFieldNamesTheOriginAndLine) {
  const std::string text = std::string(kHeader) + "workload { skus: 5 }\nbogus_field: 3\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "bogus_field")));
  EXPECT_THAT(message, HasSubstr("bogus_field"));
}

TEST(ScenarioErrors, UnknownFieldInANestedMessageNamesItsLine) {
  const std::string text = std::string(kHeader) + "workload {\n  skus: 5\n  sku_count: 3\n}\n";
  EXPECT_THAT(error_of(text), StartsWith(located(text, "sku_count")));
}

TEST(ScenarioErrors, MalformedDurationNamesTheField) {
  const std::string text =
      "name: \"t\"\n"
      "liveness_window: \"15s\"\n"
      "duration: \"5 seconds\"\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "duration:")));
  EXPECT_THAT(message, HasSubstr("duration"));
  EXPECT_THAT(message, HasSubstr("5 seconds"));
}

TEST(ScenarioErrors, MalformedClientTimeoutNamesItsLineInTheWorkload) {
  const std::string text = std::string(kHeader) +
                           "workload {\n"
                           "  skus: 5\n"
                           "  client_timeout: \"2 s\"\n"
                           "}\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "client_timeout")));
  EXPECT_THAT(message, HasSubstr("client_timeout"));
}

TEST(ScenarioErrors, FaultOnAProcessThatDoesNotExist) {
  const std::string text = std::string(kHeader) +
                           "faults { at: \"1s\" kind: CRASH target: \"orders-1\" }\n"
                           "faults { at: \"2s\" kind: CRASH target: \"orders-3\" }\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "orders-3")));
  EXPECT_THAT(message, HasSubstr("no process named \"orders-3\""));
}

TEST(ScenarioErrors, FaultOnAPeerThatDoesNotExist) {
  const std::string text = std::string(kHeader) +
                           "faults {\n"
                           "  at: \"1s\" kind: PARTITION target: \"orders-1\" peer: \"broker-3\"\n"
                           "}\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "faults {")));
  EXPECT_THAT(message, HasSubstr("broker-3"));
}

TEST(ScenarioErrors, FaultAfterTheLoadPhase) {
  const std::string text = std::string(kHeader) +
                           "faults { at: \"3s\" kind: CRASH target: \"orders-1\" }\n"
                           "faults { at: \"3001ms\" kind: CRASH target: \"orders-2\" }\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "3001ms")));
  EXPECT_THAT(message, HasSubstr("after the load phase"));
}

TEST(ScenarioErrors, FaultWithAMalformedDurationNamesTheFaultsDurationLine) {
  const std::string text = std::string(kHeader) +
                           "faults {\n"
                           "  at: \"1s\"\n"
                           "  kind: CRASH\n"
                           "  target: \"orders-1\"\n"
                           "  duration: \"soon\"\n"
                           "}\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "\"soon\"")));
}

TEST(ScenarioErrors, FaultOnABrokerOutOfRange) {
  const std::string text =
      std::string(kHeader) + "faults { at: \"1s\" kind: BROKER_DOWN broker: 3 }\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "BROKER_DOWN")));
  EXPECT_THAT(message, HasSubstr("broker 3 does not exist"));
}

TEST(ScenarioErrors, SwarmTogetherWithFaults) {
  const std::string text = std::string(kHeader) +
                           "faults { at: \"1s\" kind: CRASH target: \"orders-1\" }\n"
                           "swarm { kinds: [CRASH] }\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "swarm")));
  EXPECT_THAT(message, HasSubstr("not both"));
}

TEST(ScenarioErrors, UnknownCanary) {
  const std::string text = std::string(kHeader) +
                           "canaries: \"no-transactions\"\n"
                           "canaries: \"no_such_canary\"\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "no_such_canary")));
  EXPECT_THAT(message, HasSubstr("no canary named \"no_such_canary\""));
}

TEST(ScenarioErrors, TopologyOutOfRange) {
  const std::string text =
      "name: \"t\"\n"
      "topology {\n"
      "  orders: 2\n"
      "  shipping: 10\n"
      "}\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "shipping")));
  EXPECT_THAT(message, HasSubstr("topology.shipping"));
}

TEST(ScenarioErrors, TopologyNegative) {
  const std::string text = "name: \"t\"\ntopology {\n  brokers: -1\n}\n";
  EXPECT_THAT(error_of(text), StartsWith(located(text, "brokers")));
}

TEST(ScenarioErrors, ReplicationAboveTheBrokers) {
  const std::string text = "name: \"t\"\ntopology {\n  brokers: 2\n  replication: 3\n}\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "replication")));
}

TEST(ScenarioErrors, MissingFileNamesThePath) {
  auto loaded = load_scenario("/nonexistent/dir/nothing.textproto");
  ASSERT_FALSE(loaded.has_value());
  EXPECT_THAT(loaded.error().message, StartsWith("/nonexistent/dir/nothing.textproto:"));
}

TEST(ScenarioErrors, WorkloadOutOfRangeNamesItsLine) {
  const std::string text = std::string(kHeader) + "workload {\n  reads_per_second: -1\n}\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "reads_per_second")));
  EXPECT_THAT(message, HasSubstr("out of range"));
}

TEST(ScenarioErrors, UnknownFaultPointNamesItsLine) {
  const std::string text =
      std::string(kHeader) + "fault_points { name: \"streams.comit_fails\" probability: 0.1 }\n";
  const std::string message = error_of(text);
  EXPECT_THAT(message, StartsWith(located(text, "fault_points")));
  EXPECT_THAT(message, HasSubstr("streams.comit_fails"));
}

TEST(ScenarioErrors, SwarmWithAnUnspecifiedKind) {
  const std::string text = std::string(kHeader) + "swarm {\n  kinds: FAULT_KIND_UNSPECIFIED\n}\n";
  EXPECT_THAT(error_of(text), StartsWith(located(text, "kinds")));
}

TEST(ScenarioDurations, DoubleSignsAndHugeNumbersAreRejected) {
  EXPECT_FALSE(parse_duration("--3s").has_value());
  EXPECT_FALSE(parse_duration("-+3s").has_value());
  EXPECT_FALSE(parse_duration("999999999999m").has_value());
  EXPECT_TRUE(parse_duration("1000000000ms").has_value());
}

TEST(ScenarioDefaults, AreFilledIn) {
  auto s = parse_scenario("name: \"empty\"\n", kOrigin);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->topology().orders(), 2);
  EXPECT_EQ(s->topology().shipping(), 2);
  EXPECT_EQ(s->topology().query(), 1);
  EXPECT_EQ(s->topology().brokers(), 3);
  EXPECT_EQ(s->topology().partitions(), 3);
  EXPECT_EQ(s->topology().replication(), 3);
  EXPECT_EQ(s->workload().orders_per_second(), 20);
  EXPECT_EQ(s->workload().client_attempts(), 8);
  EXPECT_EQ(s->workload().client_timeout(), "2s");
  EXPECT_EQ(s->workload().client_backoff(), "500ms");
  EXPECT_EQ(s->duration(), "20s");
  EXPECT_EQ(s->liveness_window(), "60s");
  EXPECT_FALSE(s->has_swarm());
}

TEST(ScenarioDefaults, ReplicationFollowsFewBrokers) {
  auto s = parse_scenario("topology { brokers: 2 }\n", kOrigin);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->topology().replication(), 2);
}

TEST(ScenarioDefaults, SwarmDefaultsOnlyWithASwarm) {
  auto s = parse_scenario("swarm { kinds: [CRASH] }\n", kOrigin);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->swarm().max_per_minute(), 6);
  EXPECT_EQ(s->swarm().max_duration(), "10s");
  EXPECT_DOUBLE_EQ(s->swarm().max_fault_point_probability(), 0.05);
}

TEST(ScenarioDefaults, ExplicitValuesAreKept) {
  auto s = parse_scenario(
      "topology { orders: 1 brokers: 1 }\nworkload { client_attempts: 3 }\nduration: \"3s\"\n",
      kOrigin);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->topology().orders(), 1);
  EXPECT_EQ(s->topology().replication(), 1);
  EXPECT_EQ(s->workload().client_attempts(), 3);
  EXPECT_EQ(s->duration(), "3s");
}

TEST(ScenarioProcesses, InBootOrder) {
  auto s = parse_scenario("topology { orders: 1 shipping: 2 query: 2 }\n", kOrigin);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(process_names(*s), (std::vector<std::string>{"orders-1", "shipping-1", "shipping-2",
                                                         "query-1", "query-2", "clients"}));
}

TEST(Duration, ParsesEachUnit) {
  EXPECT_EQ(parse_duration("250ms"), core::Duration{250ms});
  EXPECT_EQ(parse_duration("3s"), core::Duration{3s});
  EXPECT_EQ(parse_duration("2m"), core::Duration{2min});
  EXPECT_EQ(parse_duration("-3s"), core::Duration{-3s});
  EXPECT_EQ(parse_duration("0s"), core::Duration::zero());
}

TEST(Duration, FormatParseRoundTrips) {
  for (const char* text : {"250ms", "3s", "2m", "-3s", "1500ms", "-2500ms", "0s"}) {
    const auto d = parse_duration(text);
    ASSERT_TRUE(d.has_value()) << text << ": " << d.error();
    EXPECT_EQ(parse_duration(format_duration(*d)), d) << text;
  }
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(3s), "3s");
  EXPECT_EQ(format_duration(2min), "120s");
  EXPECT_EQ(format_duration(-3s), "-3s");
}

TEST(Duration, RejectsMalformedText) {
  for (const char* text : {"", "5", "5h", "abc", "ms", "-", "5 s", "5s ", "1.5s"}) {
    const auto d = parse_duration(text);
    EXPECT_FALSE(d.has_value()) << '"' << text << "\" parsed";
    if (!d) {
      EXPECT_FALSE(d.error().empty()) << text;
    }
  }
}

TEST(Duration, EmptyFieldMeansZero) {
  EXPECT_EQ(duration_of(""), core::Duration::zero());
  EXPECT_EQ(duration_of("1500ms"), core::Duration{1500ms});
}

std::vector<std::filesystem::path> bundled_scenarios() {
  std::vector<std::filesystem::path> paths;
  const std::filesystem::path dir = std::filesystem::path(ORDERFLOW_SOURCE_DIR) / "scenarios";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().extension() == ".textproto") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

TEST(BundledScenarios, EveryOneLoads) {
  const auto paths = bundled_scenarios();
  ASSERT_GE(paths.size(), 10u);
  for (const auto& path : paths) {
    const auto loaded = load_scenario(path.string());
    EXPECT_TRUE(loaded.has_value()) << loaded.error().message;
    if (loaded) {
      EXPECT_FALSE(loaded->name().empty()) << path;
    }
  }
}

TEST(BundledScenarios, TextRoundTripsToAnEqualMessage) {
  for (const auto& path : bundled_scenarios()) {
    const auto loaded = load_scenario(path.string());
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    const std::string text = to_text(*loaded);
    const auto again = parse_scenario(text, path.string() + " (written)");
    ASSERT_TRUE(again.has_value()) << again.error().message << "\n" << text;
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(*loaded, *again)) << path << ":\n" << diff;
  }
}

TEST(ScenarioText, RoundTripsEveryFaultField) {
  const std::string text = std::string(kHeader) +
                           "mode: AT_LEAST_ONCE\n"
                           "canaries: \"no-transactions\"\n"
                           "fault_points { name: \"streams.commit_fails\" probability: 0.1 }\n"
                           "faults { at: \"1s\" kind: SKEW_CLOCK target: \"query-1\" skew: \"-3s\" "
                           "duration: \"1500ms\" }\n"
                           "faults { at: \"1s\" kind: DROP target: \"orders-1\" peer: \"broker-0\" "
                           "probability: 0.3333333333333333 duration: \"1s\" }\n"
                           "faults { at: \"2s\" kind: MOVE_LEADER topic: \"orders.events\" "
                           "partition: 2 }\n"
                           "faults { at: \"2s\" kind: REBALANCE group: \"orders\" }\n";
  const auto parsed = parse_scenario(text, kOrigin);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const auto again = parse_scenario(to_text(*parsed), "written");
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*parsed, *again));
}

}  // namespace
}  // namespace orderflow::sim
