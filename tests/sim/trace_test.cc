#include "sim/trace.h"

#include <cctype>
#include <chrono>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "sim/kernel.h"

namespace orderflow::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

TraceEvent make_event(std::vector<TraceField> fields,
                      core::Severity severity = core::Severity::kInfo) {
  return TraceEvent{7,
                    kSimEpoch + seconds{12} + microseconds{345'678},
                    "orders-1",
                    severity,
                    "order_placed",
                    std::move(fields)};
}

// Just enough of a JSON parser to tell whether `to_json` wrote one valid object
// of scalar members: strings, numbers, true and false.
class JsonObjectChecker {
 public:
  explicit JsonObjectChecker(std::string_view text) : s_(text) {}

  bool valid() {
    if (!eat('{')) return false;
    if (eat('}')) return at_end();
    do {
      if (!string() || !eat(':') || !value()) return false;
    } while (eat(','));
    return eat('}') && at_end();
  }

 private:
  bool at_end() const { return i_ == s_.size(); }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool string() {
    if (!eat('"')) return false;
    while (i_ < s_.size() && s_[i_] != '"') {
      const auto c = static_cast<unsigned char>(s_[i_++]);
      if (c < 0x20) return false;
      if (c != '\\') continue;
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      if (e == 'u') {
        for (int k = 0; k < 4; ++k, ++i_) {
          if (i_ >= s_.size() || std::isxdigit(static_cast<unsigned char>(s_[i_])) == 0) {
            return false;
          }
        }
      } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
        return false;
      }
    }
    return eat('"');
  }
  bool digits() {
    const std::size_t from = i_;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])) != 0) ++i_;
    return i_ > from;
  }
  bool number() {
    eat('-');
    if (!digits()) return false;
    if (eat('.') && !digits()) return false;
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      return digits();
    }
    return true;
  }
  bool value() { return string() || literal("true") || literal("false") || number(); }

  std::string_view s_;
  std::size_t i_ = 0;
};

bool is_valid_json_object(std::string_view text) { return JsonObjectChecker(text).valid(); }

TEST(TraceText, ShowsIndexRelativeTimeProcessNameAndFields) {
  const TraceEvent e = make_event({{"order_id", std::string("o-1")},
                                   {"lines", std::int64_t{3}},
                                   {"express", true},
                                   {"ratio", 0.5}});
  EXPECT_EQ(to_text(e, kSimEpoch),
            "#7 +12.345678s orders-1 order_placed order_id=o-1 lines=3 express=true ratio=0.5");
}

TEST(TraceText, PadsMicrosecondsToSixDigits) {
  TraceEvent e = make_event({});
  e.time = kSimEpoch + seconds{3} + microseconds{42};
  EXPECT_EQ(to_text(e, kSimEpoch), "#7 +3.000042s orders-1 order_placed");
  e.time = kSimEpoch;
  EXPECT_EQ(to_text(e, kSimEpoch), "#7 +0.000000s orders-1 order_placed");
}

TEST(TraceText, TimeIsRelativeToTheGivenStart) {
  const TraceEvent e = make_event({});
  EXPECT_EQ(to_text(e, kSimEpoch + seconds{2}), "#7 +10.345678s orders-1 order_placed");
}

TEST(TraceText, ShowsSeverityFromWarnUp) {
  EXPECT_EQ(to_text(make_event({}, core::Severity::kDebug), kSimEpoch),
            "#7 +12.345678s orders-1 order_placed");
  EXPECT_EQ(to_text(make_event({}, core::Severity::kWarn), kSimEpoch),
            "#7 +12.345678s orders-1 warn order_placed");
  EXPECT_EQ(to_text(make_event({}, core::Severity::kError), kSimEpoch),
            "#7 +12.345678s orders-1 error order_placed");
}

TEST(TraceText, QuotesStringsWithSpacesQuotesOrEquals) {
  const TraceEvent e = make_event({{"plain", std::string("ok")},
                                   {"spaced", std::string("two words")},
                                   {"quoted", std::string("say \"hi\"")},
                                   {"assign", std::string("a=b")},
                                   {"empty", std::string()}});
  EXPECT_EQ(to_text(e, kSimEpoch),
            "#7 +12.345678s orders-1 order_placed plain=ok spaced=\"two words\" "
            "quoted=\"say \\\"hi\\\"\" assign=\"a=b\" empty=\"\"");
}

TEST(TraceText, IsOneLineEvenWhenAFieldHoldsANewline) {
  const TraceEvent e = make_event({{"error", std::string("line1\nline2")}});
  const std::string text = to_text(e, kSimEpoch);
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
}

TEST(TraceJson, WritesOneObjectWithEveryMember) {
  const TraceEvent e = make_event({{"order_id", std::string("o 1")},
                                   {"lines", std::int64_t{-3}},
                                   {"express", false},
                                   {"ratio", 0.25}});
  const std::string t_us = std::to_string((e.time).time_since_epoch().count());
  EXPECT_EQ(to_json(e), "{\"i\":7,\"t_us\":" + t_us +
                            ",\"process\":\"orders-1\",\"severity\":\"info\","
                            "\"event\":\"order_placed\",\"order_id\":\"o 1\",\"lines\":-3,"
                            "\"express\":false,\"ratio\":0.25}");
  EXPECT_TRUE(is_valid_json_object(to_json(e)));
}

TEST(TraceJson, EscapesQuotesBackslashesAndControlCharacters) {
  TraceEvent e = make_event({{"msg", std::string("say \"hi\"\nthen\\tab\there\x01")}});
  e.process = "odd\"name";
  const std::string json = to_json(e);
  EXPECT_TRUE(is_valid_json_object(json)) << json;
  EXPECT_NE(json.find(R"("process":"odd\"name")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("msg":"say \"hi\"\nthen\\tab\there\u0001")"), std::string::npos) << json;
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

TEST(TraceJson, NonFiniteDoublesStillGiveValidJson) {
  const TraceEvent e = make_event({{"ratio", std::numeric_limits<double>::quiet_NaN()},
                                   {"limit", std::numeric_limits<double>::infinity()}});
  const std::string json = to_json(e);
  EXPECT_TRUE(is_valid_json_object(json)) << json;
}

TEST(TraceJson, CheckerRejectsBrokenJson) {
  // The checker must be able to fail, or the tests above prove nothing.
  EXPECT_TRUE(is_valid_json_object(R"({"a":1,"b":"x","c":true,"d":-1.5e3})"));
  EXPECT_FALSE(is_valid_json_object(R"({"a":1,})"));
  EXPECT_FALSE(is_valid_json_object("{\"a\":\"x\ny\"}"));
  EXPECT_FALSE(is_valid_json_object(R"({"a":nan})"));
  EXPECT_FALSE(is_valid_json_object(R"({"a":"\q"})"));
  EXPECT_FALSE(is_valid_json_object(R"({"a":1})"
                                    "\n"));
}

TEST(Trace, RecordCopiesEventsAndNumbersThem) {
  Trace t;
  {
    std::string borrowed = "temporary value";
    t.record(kSimEpoch + milliseconds{1}, "svc", core::Severity::kInfo, "first",
             {{"text", borrowed}, {"n", 1}});
    borrowed.assign(borrowed.size(), 'x');
  }
  t.record(kSimEpoch + milliseconds{2}, "svc", core::Severity::kWarn, "second", {});
  EXPECT_EQ(t.count(), 2u);
  ASSERT_EQ(t.recent().size(), 2u);
  const TraceEvent& first = t.recent()[0];
  EXPECT_EQ(first.index, 0u);
  EXPECT_EQ(first.name, "first");
  EXPECT_EQ(first.time, kSimEpoch + milliseconds{1});
  ASSERT_EQ(first.fields.size(), 2u);
  EXPECT_EQ(std::get<std::string>(first.fields[0].value), "temporary value");
  EXPECT_EQ(t.recent()[1].index, 1u);
  EXPECT_EQ(t.recent()[1].severity, core::Severity::kWarn);
}

void record_numbered(Trace& t, int from, int to) {
  for (int i = from; i < to; ++i) {
    t.record(kSimEpoch + milliseconds{i}, "svc", core::Severity::kInfo, "tick", {{"i", i}});
  }
}

TEST(Trace, KeepsOnlyTheMostRecentEvents) {
  Trace t(3);
  record_numbered(t, 0, 10);
  EXPECT_EQ(t.count(), 10u);
  EXPECT_EQ(t.event_hashes().size(), 10u);
  ASSERT_EQ(t.recent().size(), 3u);
  EXPECT_EQ(t.recent()[0].index, 7u);
  EXPECT_EQ(t.recent()[2].index, 9u);
}

TEST(Trace, KeepRecentZeroKeepsNoneButStillHashes) {
  Trace t(0);
  record_numbered(t, 0, 5);
  EXPECT_TRUE(t.recent().empty());
  EXPECT_EQ(t.count(), 5u);
  Trace full;
  record_numbered(full, 0, 5);
  EXPECT_EQ(t.hash(), full.hash());
}

TEST(Trace, KeepAllKeepsEveryLaterEvent) {
  Trace t(2);
  record_numbered(t, 0, 5);
  ASSERT_EQ(t.recent().size(), 2u);
  t.keep_all();
  record_numbered(t, 5, 600);
  EXPECT_EQ(t.recent().size(), 597u);
  EXPECT_EQ(t.recent().front().index, 3u);
  EXPECT_EQ(t.recent().back().index, 599u);
}

TEST(Trace, SinkReceivesEveryEvent) {
  Trace t(2);
  std::vector<std::uint64_t> seen;
  std::vector<std::string> lines;
  t.set_sink([&](const TraceEvent& e) {
    seen.push_back(e.index);
    lines.push_back(to_json(e));
  });
  record_numbered(t, 0, 50);
  ASSERT_EQ(seen.size(), 50u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
  EXPECT_NE(lines[49].find("\"i\":49"), std::string::npos);
}

TEST(Trace, SinkSeesOnlyEventsFromWhenItWasSet) {
  Trace t;
  record_numbered(t, 0, 3);
  int calls = 0;
  t.set_sink([&](const TraceEvent&) { ++calls; });
  record_numbered(t, 3, 5);
  EXPECT_EQ(calls, 2);
}

// The hash of one event recorded on its own.
std::uint64_t event_hash(core::Timestamp time, std::string_view process, core::Severity severity,
                         std::string_view name, core::Fields fields) {
  Trace t;
  t.record(time, process, severity, name, fields);
  return t.event_hashes().at(0);
}

TEST(TraceHash, IsTheSameForTheSameEvents) {
  Trace a;
  Trace b;
  record_numbered(a, 0, 20);
  record_numbered(b, 0, 20);
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.event_hashes(), b.event_hashes());
}

TEST(TraceHash, EveryPartOfAnEventChangesItsHash) {
  const auto t = kSimEpoch + milliseconds{5};
  const auto info = core::Severity::kInfo;
  const std::uint64_t base = event_hash(t, "p", info, "e", {{"n", 1}, {"s", "x"}});
  EXPECT_EQ(base, event_hash(t, "p", info, "e", {{"n", 1}, {"s", "x"}}));
  EXPECT_NE(base, event_hash(t + microseconds{1}, "p", info, "e", {{"n", 1}, {"s", "x"}}));
  EXPECT_NE(base, event_hash(t, "q", info, "e", {{"n", 1}, {"s", "x"}}));
  EXPECT_NE(base, event_hash(t, "p", core::Severity::kWarn, "e", {{"n", 1}, {"s", "x"}}));
  EXPECT_NE(base, event_hash(t, "p", info, "f", {{"n", 1}, {"s", "x"}}));
  EXPECT_NE(base, event_hash(t, "p", info, "e", {{"m", 1}, {"s", "x"}}));
  EXPECT_NE(base, event_hash(t, "p", info, "e", {{"n", 2}, {"s", "x"}}));
  EXPECT_NE(base, event_hash(t, "p", info, "e", {{"n", 1}, {"s", "y"}}));
  EXPECT_NE(base, event_hash(t, "p", info, "e", {{"n", 1.0}, {"s", "x"}}));
  EXPECT_NE(base, event_hash(t, "p", info, "e", {{"n", true}, {"s", "x"}}));
  EXPECT_NE(base, event_hash(t, "p", info, "e", {{"s", "x"}, {"n", 1}}));
  EXPECT_NE(base, event_hash(t, "p", info, "e", {{"n", 1}}));
}

TEST(TraceHash, BoundariesBetweenStringsMatter) {
  const auto t = kSimEpoch;
  const auto info = core::Severity::kInfo;
  EXPECT_NE(event_hash(t, "ab", info, "c", {}), event_hash(t, "a", info, "bc", {}));
  EXPECT_NE(event_hash(t, "p", info, "e", {{"ab", "c"}}),
            event_hash(t, "p", info, "e", {{"a", "bc"}}));
}

TEST(TraceHash, AStringCannotImitateTheFieldsAfterIt) {
  // Without length prefixes, the bytes of {a="", b=1} and of {a="b<int 0><int 1>"} would
  // be the same.
  using namespace std::string_view_literals;
  const auto mimic = "b\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0"sv;
  const auto info = core::Severity::kInfo;
  EXPECT_NE(event_hash(kSimEpoch, "p", info, "e", {{"a", ""}, {"b", 1}}),
            event_hash(kSimEpoch, "p", info, "e", {{"a", mimic}}));
}

TEST(TraceHash, DependsOnTheOrderOfEvents) {
  Trace ab;
  Trace ba;
  ab.record(kSimEpoch, "p", core::Severity::kInfo, "a", {});
  ab.record(kSimEpoch, "p", core::Severity::kInfo, "b", {});
  ba.record(kSimEpoch, "p", core::Severity::kInfo, "b", {});
  ba.record(kSimEpoch, "p", core::Severity::kInfo, "a", {});
  EXPECT_NE(ab.hash(), ba.hash());
}

TEST(TraceHash, ChangesWithEveryEvent) {
  Trace t;
  std::vector<std::uint64_t> hashes{t.hash()};
  for (int i = 0; i < 5; ++i) {
    t.record(kSimEpoch, "p", core::Severity::kInfo, "same", {});
    hashes.push_back(t.hash());
  }
  for (std::size_t i = 1; i < hashes.size(); ++i) EXPECT_NE(hashes[i], hashes[i - 1]);
}

}  // namespace
}  // namespace orderflow::sim
