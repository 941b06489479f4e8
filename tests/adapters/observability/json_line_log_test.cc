#include "adapters/observability/json_line_log.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/json/json.h"

namespace orderflow::adapters::observability {
namespace {

using core::Json;
using core::JsonObject;
using core::Severity;
using namespace std::chrono_literals;

class FixedClock final : public core::Clock {
 public:
  explicit FixedClock(core::Timestamp now) : now_(now) {}
  [[nodiscard]] core::Timestamp now() const override { return now_; }

 private:
  core::Timestamp now_;
};

// 2024-05-01T12:00:00.123456Z
const core::Timestamp kNow{1714564800s + 123456us};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

Json parsed(const std::string& line) {
  auto json = core::parse(line);
  EXPECT_TRUE(json.has_value()) << line << ": " << json.error().to_string();
  return json.value_or(Json());
}

TEST(JsonLineLogTest, WritesOneObjectPerLineWithTimeLevelEventThenFields) {
  std::ostringstream out;
  FixedClock clock(kNow);
  JsonLineLog log(out, clock);
  log.event(Severity::kInfo, "order_placed",
            {{"order_id", "o-1"}, {"lines", 3}, {"total", 12.5}, {"whole", 2.0}, {"paid", true}});
  log.event(Severity::kError, "txn_commit_failed", {});

  EXPECT_EQ(out.str(),
            "{\"ts\":\"2024-05-01T12:00:00.123Z\",\"level\":\"info\",\"event\":\"order_placed\","
            "\"order_id\":\"o-1\",\"lines\":3,\"total\":12.5,\"whole\":2.0,\"paid\":true}\n"
            "{\"ts\":\"2024-05-01T12:00:00.123Z\",\"level\":\"error\","
            "\"event\":\"txn_commit_failed\"}\n");
  for (const std::string& line : lines(out.str())) (void)parsed(line);
}

TEST(JsonLineLogTest, EscapesStringsAndReplacesInvalidUtf8) {
  std::ostringstream out;
  FixedClock clock(kNow);
  JsonLineLog log(out, clock);
  const std::string nasty =
      std::string("q\"b\\s/\n\t\x01\x1f", 10) + std::string("\0", 1) + "caf\xC3\xA9 \xFF\xC0 end";
  log.event(Severity::kWarn, "weird \"event\"\n", {{"text", nasty}});

  const std::vector<std::string> written = lines(out.str());
  ASSERT_EQ(written.size(), 1u) << out.str();
  const Json json = parsed(written[0]);
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(*json.find("event"), Json("weird \"event\"\n"));
  EXPECT_EQ(*json.find("text"),
            Json(std::string("q\"b\\s/\n\t\x01\x1f", 10) + std::string("\0", 1) +
                 "caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD end"));
}

TEST(JsonLineLogTest, NonFiniteDoublesBecomeNullAndIntegersKeepTheirRange) {
  std::ostringstream out;
  FixedClock clock(kNow);
  JsonLineLog log(out, clock);
  log.event(Severity::kInfo, "numbers",
            {{"nan", NAN},
             {"inf", INFINITY},
             {"min", INT64_MIN},
             {"max", std::uint32_t{4294967295u}},
             {"tiny", 5e-324}});

  const Json json = parsed(lines(out.str()).at(0));
  EXPECT_EQ(*json.find("nan"), Json(nullptr));
  EXPECT_EQ(*json.find("inf"), Json(nullptr));
  EXPECT_EQ(*json.find("min"), Json(INT64_MIN));
  EXPECT_EQ(*json.find("max"), Json(std::int64_t{4294967295}));
  EXPECT_EQ(*json.find("tiny"), Json(5e-324));
}

TEST(JsonLineLogTest, RenamesFieldsWhoseNameIsTaken) {
  std::ostringstream out;
  FixedClock clock(kNow);
  JsonLineLog log(out, clock);
  log.event(Severity::kInfo, "clash",
            {{"ts", 1}, {"level", 2}, {"x", 3}, {"x", 4}, {"x_2", 5}, {"event", 6}});

  const Json json = parsed(lines(out.str()).at(0));
  const JsonObject expected = {{"ts", "2024-05-01T12:00:00.123Z"},
                               {"level", "info"},
                               {"event", "clash"},
                               {"ts_2", 1},
                               {"level_2", 2},
                               {"x", 3},
                               {"x_2", 4},
                               {"x_2_2", 5},
                               {"event_2", 6}};
  EXPECT_EQ(json, Json(expected));
}

TEST(JsonLineLogTest, DropsEventsBelowTheMinimumSeverity) {
  std::ostringstream out;
  FixedClock clock(kNow);
  JsonLineLog log(out, clock, Severity::kWarn);
  log.event(Severity::kDebug, "a", {});
  log.event(Severity::kInfo, "b", {});
  log.event(Severity::kWarn, "c", {});
  log.event(Severity::kError, "d", {});
  log.set_min_severity(Severity::kDebug);
  log.event(Severity::kDebug, "e", {});

  std::vector<std::string> events;
  for (const std::string& line : lines(out.str())) {
    events.push_back(*parsed(line).find("event")->as_string());
  }
  EXPECT_EQ(events, (std::vector<std::string>{"c", "d", "e"}));
}

TEST(JsonLineLogTest, LinesFromManyThreadsDoNotInterleave) {
  std::ostringstream out;
  FixedClock clock(kNow);
  JsonLineLog log(out, clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      const std::string padding(200, static_cast<char>('a' + t));
      for (int i = 0; i < 250; ++i) {
        log.event(Severity::kInfo, "tick", {{"thread", t}, {"i", i}, {"padding", padding}});
      }
    });
  }
  for (auto& thread : threads) thread.join();

  const std::vector<std::string> written = lines(out.str());
  ASSERT_EQ(written.size(), 1000u);
  for (const std::string& line : written) ASSERT_TRUE(core::parse(line).has_value()) << line;
}

TEST(FormatRfc3339Test, FormatsUtcWithMillisecondsRoundedDown) {
  using core::Timestamp;
  EXPECT_EQ(format_rfc3339_millis(Timestamp{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_millis(kNow), "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(format_rfc3339_millis(Timestamp{-1us}), "1969-12-31T23:59:59.999Z");
  // 2024-02-29T23:59:59.999999Z
  EXPECT_EQ(format_rfc3339_millis(Timestamp{1709251199s + 999999us}), "2024-02-29T23:59:59.999Z");
}

}  // namespace
}  // namespace orderflow::adapters::observability
