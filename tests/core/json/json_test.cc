// Tests of the strict JSON library: every rejection with its position, the accepted edge
// cases, serialisation, round-trip properties over random values and texts, and the
// typed `ObjectReader` used by the HTTP handlers.
#include "core/json/json.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <expected>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace orderflow::core {

// For gtest and RapidCheck counterexamples.
std::ostream& operator<<(std::ostream& out, const Json& value) { return out << serialize(value); }

namespace {

using namespace std::string_literals;

Json parsed(std::string_view text) {
  auto value = parse(text);
  EXPECT_TRUE(value.has_value()) << text << ": " << value.error().to_string();
  return value.value_or(Json());
}

JsonError rejection(std::string_view text, const ParseLimits& limits = {}) {
  auto value = parse(text, limits);
  EXPECT_FALSE(value.has_value()) << text << " parsed as " << serialize(*value);
  return value ? JsonError{} : value.error();
}

// ---------------------------------------------------------------------------------------
// Rejections

struct BadText {
  std::string name;
  std::string text;
  std::string message;
  std::size_t line;
  std::size_t column;
};

std::ostream& operator<<(std::ostream& out, const BadText& bad) { return out << bad.name; }

class RejectsTest : public testing::TestWithParam<BadText> {};

TEST_P(RejectsTest, WithMessageAndPosition) {
  const BadText& bad = GetParam();
  const JsonError error = rejection(bad.text);
  EXPECT_EQ(error.message, bad.message);
  EXPECT_EQ(error.line, bad.line);
  EXPECT_EQ(error.column, bad.column);
}

const std::string kTooDeep = std::string(65, '[') + std::string(65, ']');

INSTANTIATE_TEST_SUITE_P(
    Json, RejectsTest,
    testing::Values(
        // Structure.
        BadText{"Empty", "", "unexpected end of input, expected a value", 1, 1},
        BadText{"OnlyWhitespace", " \n ", "unexpected end of input, expected a value", 2, 2},
        BadText{"MissingCommaInObject", R"({"a": 1 "b": 2})",
                "expected ',' or '}' after object member", 1, 9},
        BadText{"UnclosedObject", R"({"a": 1)",
                "unexpected end of input, expected ',' or '}' after object member", 1, 8},
        BadText{"EmptyUnclosedObject", "{", "unexpected end of input, expected a string key or '}'",
                1, 2},
        BadText{"NonStringKey", "{1: 2}", "expected a string key or '}'", 1, 2},
        BadText{"NonStringSecondKey", R"({"a": 1, b: 2})", "expected a string key", 1, 10},
        BadText{"MissingColon", R"({"a" 1})", "expected ':' after object key", 1, 6},
        BadText{"TrailingCommaInObject", R"({"a": 1,})", "trailing comma in object", 1, 9},
        BadText{"MissingCommaInArray", "[1 2]", "expected ',' or ']' after array element", 1, 4},
        BadText{"UnclosedArray", "[", "unexpected end of input, expected a value", 1, 2},
        BadText{"TrailingCommaInArray", "[1,\r\n  ]", "trailing comma in array", 2, 3},
        BadText{"LeadingComma", "[,1]", "expected a value", 1, 2},
        BadText{"TrailingCharacters", "{} x", "trailing characters after the value", 1, 4},
        BadText{"TwoValues", "1 2", "trailing characters after the value", 1, 3},
        BadText{"DuplicateKey", "{\n  \"a\": 1,\n  \"b\": {},\n  \"a\": 2\n}",
                "duplicate key \"a\"", 4, 3},
        BadText{"DuplicateEscapedKey", R"({"é": 1, "\u00e9": 2})", "duplicate key \"é\"", 1, 11},
        BadText{"TooDeep", kTooDeep, "nesting deeper than 64", 1, 65},
        BadText{"LineComment", "// note\n{}", "expected a value", 1, 1},
        BadText{"BlockComment", "[1 /* note */]", "expected ',' or ']' after array element", 1, 4},
        BadText{"SingleQuotes", "['a']", "expected a value", 1, 2},
        BadText{"ByteOrderMark", "\xEF\xBB\xBF{}", "expected a value", 1, 1},
        // Literals.
        BadText{"NaN", "NaN", "invalid literal 'NaN'", 1, 1},
        BadText{"Infinity", "[Infinity]", "invalid literal 'Infinity'", 1, 2},
        BadText{"NegativeInfinity", "-Infinity", "expected a digit after '-'", 1, 2},
        BadText{"TruncatedNull", "nul", "invalid literal 'nul'", 1, 1},
        BadText{"LiteralRunOn", "[truex]", "invalid literal 'truex'", 1, 2},
        BadText{"CapitalisedTrue", "True", "invalid literal 'True'", 1, 1},
        BadText{"LongWord", "abcdefghijklmnopqrstuvwxyz", "invalid literal 'abcdefghijklmnop...'",
                1, 1},
        // Numbers.
        BadText{"LeadingZero", "01", "leading zeros are not allowed", 1, 1},
        BadText{"NegativeLeadingZero", "[-012]", "leading zeros are not allowed", 1, 2},
        BadText{"PlusSign", "+1", "expected a value", 1, 1},
        BadText{"BareMinus", "-", "unexpected end of input, expected a digit after '-'", 1, 2},
        BadText{"LeadingDot", ".5", "expected a value", 1, 1},
        BadText{"TrailingDot", "1.",
                "unexpected end of input, expected a digit after the decimal point", 1, 3},
        BadText{"DotBeforeExponent", "1.e5", "expected a digit after the decimal point", 1, 3},
        BadText{"EmptyExponent", "1e", "unexpected end of input, expected a digit in the exponent",
                1, 3},
        BadText{"SignedEmptyExponent", "[1E+]", "expected a digit in the exponent", 1, 5},
        BadText{"HexNumber", "0x10", "trailing characters after the value", 1, 2},
        BadText{"Overflow", "[1e400]", "number out of range", 1, 2},
        BadText{"NegativeOverflow", "-1.5e309", "number out of range", 1, 1},
        BadText{"Underflow", "1e-400", "number out of range", 1, 1},
        // Strings.
        BadText{"Unterminated", "[\"abc", "unterminated string", 1, 2},
        BadText{"UnterminatedAfterBackslash", "\"abc\\", "unterminated string", 1, 1},
        BadText{"InvalidEscape", R"(["a\q"])", "invalid escape \\q", 1, 4},
        BadText{"EscapedSingleQuote", R"("\'")", "invalid escape \\'", 1, 2},
        BadText{"EscapedControlByte", "\"\\\x01\"", "invalid escape: '\\' followed by byte 0x01", 1,
                2},
        BadText{"ShortUnicodeEscape", R"("\u12")", "invalid \\u escape: expected four hex digits",
                1, 2},
        BadText{"NonHexUnicodeEscape", R"("x\u12G4")",
                "invalid \\u escape: expected four hex digits", 1, 3},
        BadText{"LoneHighSurrogate", R"("\uD800")", "unpaired surrogate \\uD800", 1, 2},
        BadText{"LoneLowSurrogate", R"("a\udc00b")", "unpaired surrogate \\udc00", 1, 3},
        BadText{"HighSurrogateThenBmp", R"("\uD83D\u0041")", "unpaired surrogate \\uD83D", 1, 2},
        BadText{"HighSurrogateThenText", R"("\uD83Dx")", "unpaired surrogate \\uD83D", 1, 2},
        BadText{"SurrogatePairBadHex", R"("\uD83D\uZZZZ")",
                "invalid \\u escape: expected four hex digits", 1, 8},
        BadText{"RawTab", "\"a\tb\"", "unescaped control character U+0009 in string", 1, 3},
        BadText{"RawNewline", "{\"a\": \"x\ny\"}", "unescaped control character U+000A in string",
                1, 9},
        BadText{"RawNul", "\"\0\""s, "unescaped control character U+0000 in string", 1, 2},
        BadText{"InvalidUtf8ContinuationAlone", "\"\x80\"", "string is not valid UTF-8", 1, 2},
        BadText{"InvalidUtf8BadSecondByte", "\"\xC3\x28\"", "string is not valid UTF-8", 1, 2},
        BadText{"InvalidUtf8Overlong", "\"\xC0\xAF\"", "string is not valid UTF-8", 1, 2},
        BadText{"InvalidUtf8OverlongThreeBytes", "\"\xE0\x80\xAF\"", "string is not valid UTF-8", 1,
                2},
        BadText{"InvalidUtf8EncodedSurrogate", "\"\xED\xA0\x80\"", "string is not valid UTF-8", 1,
                2},
        BadText{"InvalidUtf8AboveMax", "\"\xF4\x90\x80\x80\"", "string is not valid UTF-8", 1, 2},
        BadText{"InvalidUtf8Truncated", "\"ab\xE2\x82\"", "string is not valid UTF-8", 1, 4},
        BadText{"InvalidUtf8InKey", "{\"\xFF\": 1}", "string is not valid UTF-8", 1, 3}),
    [](const testing::TestParamInfo<BadText>& bad) { return bad.param.name; });

TEST(JsonLimits, DepthIsConfigurable) {
  EXPECT_TRUE(parse(std::string(64, '[') + std::string(64, ']')).has_value());
  EXPECT_TRUE(parse(R"({"a":{"b":{"c":[]}}})", {.max_depth = 4}).has_value());

  const JsonError error = rejection(R"({"a":{"b":{"c":[]}}})", {.max_depth = 3});
  EXPECT_EQ(error.message, "nesting deeper than 3");
  EXPECT_EQ(error.column, 16);
}

TEST(JsonLimits, StringLength) {
  const ParseLimits limits{.max_string_bytes = 4};
  EXPECT_TRUE(parse(R"(["abcd", "\u00e9\u00e9"])", limits).has_value());

  EXPECT_EQ(rejection(R"(["abcde"])", limits).message, "string longer than 4 bytes");
  EXPECT_EQ(rejection(R"(["abcde"])", limits).column, 2);
  // Counted after unescaping: three two-byte characters.
  EXPECT_EQ(rejection(R"("\u00e9\u00e9\u00e9")", limits).message, "string longer than 4 bytes");
  EXPECT_EQ(rejection(R"({"abcde": 1})", limits).message, "string longer than 4 bytes");
}

TEST(JsonLimits, ArrayElements) {
  const ParseLimits limits{.max_array_elements = 3};
  EXPECT_TRUE(parse("[1,2,3]", limits).has_value());

  const JsonError error = rejection("[1,2,3,4]", limits);
  EXPECT_EQ(error.message, "array has more than 3 elements");
  EXPECT_EQ(error.column, 8);
}

TEST(JsonLimits, ObjectMembers) {
  const ParseLimits limits{.max_object_members = 2};
  EXPECT_TRUE(parse(R"({"a":1,"b":2})", limits).has_value());

  const JsonError error = rejection(R"({"a":1,"b":2,"c":3})", limits);
  EXPECT_EQ(error.message, "object has more than 2 members");
  EXPECT_EQ(error.column, 14);
}

TEST(JsonLimits, DefaultsAreSane) {
  const ParseLimits limits;
  EXPECT_EQ(limits.max_depth, 64);
  EXPECT_EQ(limits.max_string_bytes, 1u << 20);
  EXPECT_EQ(limits.max_array_elements, 100'000u);
  EXPECT_EQ(limits.max_object_members, 10'000u);
}

TEST(JsonError, ToStringNamesThePosition) {
  const JsonError error = rejection("{\n  \"a\" 1}");
  EXPECT_EQ(error.offset, 8);
  EXPECT_EQ(error.to_string(), "line 2, column 7: expected ':' after object key");
}

TEST(JsonDuplicates, ReportTheFirstRepeatInDocumentOrder) {
  const JsonError error = rejection(R"({"b":1,"a":2,"c":3,"a":4,"b":5})");
  EXPECT_EQ(error.message, "duplicate key \"a\"");
  EXPECT_EQ(error.column, 20);
}

TEST(JsonDuplicates, AreFoundInLargeObjects) {
  std::string text = "{";
  for (int i = 0; i < 5'000; ++i)
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  text += "\"k4321\":0}";
  EXPECT_EQ(rejection(text).message, "duplicate key \"k4321\"");
}

TEST(JsonDuplicates, LongKeysAreShortenedInTheMessage) {
  // The cut falls inside "é" and moves back before it.
  const std::string key = std::string(63, 'a') + "é" + std::string(100, 'b');
  const std::string text = "{\"" + key + "\": 1, \"" + key + "\": 2}";
  EXPECT_EQ(rejection(text).message, "duplicate key \"" + std::string(63, 'a') + "\"...");
}

TEST(JsonDuplicates, SameKeyInDifferentObjectsIsFine) {
  EXPECT_TRUE(parse(R"({"a":{"a":1},"b":{"a":2}})").has_value());
}

// ---------------------------------------------------------------------------------------
// Accepted texts

TEST(JsonParse, EmptyContainers) {
  EXPECT_EQ(parsed("{}"), Json(JsonObject{}));
  EXPECT_EQ(parsed("[]"), Json(JsonArray{}));
  EXPECT_EQ(parsed(" \t\r\n[ \n ] \n"), Json(JsonArray{}));
  EXPECT_EQ(parsed("[{}, [], [[]]]"),
            Json(JsonArray{JsonObject{}, JsonArray{}, JsonArray{JsonArray{}}}));
}

TEST(JsonParse, Scalars) {
  EXPECT_EQ(parsed("null"), Json());
  EXPECT_EQ(parsed("true"), Json(true));
  EXPECT_EQ(parsed(" false "), Json(false));
  EXPECT_EQ(parsed("\"\""), Json(""));
  EXPECT_EQ(parsed("42"), Json(42));
}

TEST(JsonParse, NestedValuesKeepMemberOrder) {
  const Json value = parsed(R"({"z": [1, {"y": null}], "a": {"m": true, "b": "x"}})");
  const JsonObject* members = value.as_object();
  ASSERT_NE(members, nullptr);
  ASSERT_EQ(members->size(), 2);
  EXPECT_EQ((*members)[0].first, "z");
  EXPECT_EQ((*members)[1].first, "a");
  EXPECT_EQ(value, Json(JsonObject{{"z", JsonArray{1, JsonObject{{"y", nullptr}}}},
                                   {"a", JsonObject{{"m", true}, {"b", "x"}}}}));
  EXPECT_EQ(serialize(value), R"({"z":[1,{"y":null}],"a":{"m":true,"b":"x"}})");
}

TEST(JsonParse, Escapes) {
  EXPECT_EQ(parsed(R"("\"\\\/\b\f\n\r\t")"), Json("\"\\/\b\f\n\r\t"));
  EXPECT_EQ(parsed(R"("\u0041\u00e9\u20AC")"), Json("Aé€"));
  EXPECT_EQ(parsed(R"("\u0000")"), Json("\0"s));
  EXPECT_EQ(parsed(R"("\uFFFF")"), Json("\xEF\xBF\xBF"));
}

TEST(JsonParse, SurrogatePairs) {
  EXPECT_EQ(parsed(R"("\uD83D\uDE00")"), Json("\xF0\x9F\x98\x80"));  // U+1F600
  EXPECT_EQ(parsed(R"("\ud800\udc00")"), Json("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_EQ(parsed(R"("\uDBFF\uDFFF")"), Json("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(JsonParse, RawUtf8) {
  EXPECT_EQ(parsed("\"aé€😀\x7F\""), Json("aé€😀\x7F"));
  const Json object = parsed("{\"ключ\": \"значение\"}");
  EXPECT_EQ(object.find("ключ")->as_string()->size(), 16);
}

TEST(JsonParse, Integers) {
  EXPECT_EQ(parsed("0"), Json(0));
  EXPECT_EQ(parsed("-7"), Json(-7));
  EXPECT_EQ(parsed("9223372036854775807"), Json(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(parsed("-9223372036854775808"), Json(std::numeric_limits<std::int64_t>::min()));
}

TEST(JsonParse, NegativeZero) {
  // An integer zero has no sign; a double keeps it.
  EXPECT_EQ(parsed("-0"), Json(0));
  const Json zero = parsed("-0.0");
  ASSERT_TRUE(zero.is_double());
  EXPECT_TRUE(std::signbit(*zero.as_double()));
  EXPECT_EQ(serialize(zero), "-0.0");
}

TEST(JsonParse, BeyondInt64BecomesDouble) {
  EXPECT_EQ(parsed("9223372036854775808"), Json(9223372036854775808.0));
  EXPECT_EQ(parsed("-9223372036854775809"), Json(-9223372036854775808.0));
  EXPECT_EQ(parsed("123456789012345678901234567890"), Json(1.2345678901234568e29));
}

TEST(JsonParse, FractionsAndExponents) {
  EXPECT_EQ(parsed("1.0"), Json(1.0));
  EXPECT_EQ(parsed("1E2"), Json(100.0));
  EXPECT_EQ(parsed("1e+2"), Json(100.0));
  EXPECT_EQ(parsed("25e-2"), Json(0.25));
  EXPECT_EQ(parsed("-1.5E-3"), Json(-0.0015));
  EXPECT_EQ(parsed("0e0"), Json(0.0));
  EXPECT_EQ(parsed("0.1"), Json(0.1));
}

TEST(JsonParse, ExtremeDoubles) {
  EXPECT_EQ(parsed("1.7976931348623157e308"), Json(std::numeric_limits<double>::max()));
  EXPECT_EQ(parsed("-1.7976931348623157e308"), Json(std::numeric_limits<double>::lowest()));
  EXPECT_EQ(parsed("2.2250738585072014e-308"), Json(std::numeric_limits<double>::min()));
  EXPECT_EQ(parsed("5e-324"), Json(std::numeric_limits<double>::denorm_min()));
  EXPECT_EQ(parsed("0.000000000000000000000000000001"), Json(1e-30));
}

TEST(JsonParse, IntegerAndDoubleDiffer) {
  EXPECT_NE(parsed("1"), parsed("1.0"));
  EXPECT_TRUE(parsed("1").is_int());
  EXPECT_TRUE(parsed("1e0").is_double());
}

// ---------------------------------------------------------------------------------------
// Accessors

TEST(JsonAccess, ReturnNothingForOtherKinds) {
  const Json value = parsed(R"({"s": "x", "i": 3, "d": 2.5, "b": true, "a": [], "n": null})");
  EXPECT_EQ(*value.find("s")->as_string(), "x");
  EXPECT_EQ(value.find("s")->as_int(), std::nullopt);
  EXPECT_EQ(value.find("i")->as_int(), 3);
  EXPECT_EQ(value.find("i")->as_double(), 3.0);
  EXPECT_EQ(value.find("i")->as_string(), nullptr);
  EXPECT_EQ(value.find("d")->as_double(), 2.5);
  EXPECT_EQ(value.find("d")->as_int(), std::nullopt);
  EXPECT_EQ(value.find("b")->as_bool(), true);
  EXPECT_EQ(value.find("b")->as_int(), std::nullopt);
  EXPECT_NE(value.find("a")->as_array(), nullptr);
  EXPECT_EQ(value.find("a")->as_object(), nullptr);
  EXPECT_TRUE(value.find("n")->is_null());
  EXPECT_EQ(value.find("missing"), nullptr);
  EXPECT_EQ(value.find("s")->find("x"), nullptr);
  EXPECT_EQ(value.kind(), Json::Kind::kObject);
}

TEST(JsonAccess, MutableContainers) {
  Json value = JsonArray{};
  value.as_array()->push_back(JsonObject{});
  (*value.as_array())[0].as_object()->emplace_back("k", 1);
  EXPECT_EQ(serialize(value), R"([{"k":1}])");
}

// ---------------------------------------------------------------------------------------
// Serialisation

TEST(JsonSerialize, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(serialize("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(serialize("\n\t\x01\x1F"s + '\0'), R"("\u000A\u0009\u0001\u001F\u0000")");
  EXPECT_EQ(serialize("é€😀\x7F"), "\"é€😀\x7F\"");
}

TEST(JsonSerialize, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(serialize("a\xFF"
                      "b\xC3"),
            "\"a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\"");
  EXPECT_TRUE(parse(serialize("\xED\xA0\x80")).has_value());
}

TEST(JsonSerialize, Integers) {
  EXPECT_EQ(serialize(Json(0)), "0");
  EXPECT_EQ(serialize(Json(std::numeric_limits<std::int64_t>::max())), "9223372036854775807");
  EXPECT_EQ(serialize(Json(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
}

TEST(JsonSerialize, DoublesAreShortestAndStayDoubles) {
  EXPECT_EQ(serialize(Json(1.0)), "1.0");
  EXPECT_EQ(serialize(Json(0.1)), "0.1");
  EXPECT_EQ(serialize(Json(-0.0)), "-0.0");
  EXPECT_EQ(serialize(Json(123456.0)), "123456.0");
  EXPECT_EQ(serialize(Json(1e16)), "1e+16");
  EXPECT_EQ(serialize(Json(1e300)), "1e+300");
  EXPECT_EQ(serialize(Json(5e-324)), "5e-324");
  EXPECT_EQ(serialize(Json(9223372036854775808.0)), "9223372036854775808.0");
  EXPECT_EQ(serialize(Json(std::numeric_limits<double>::max())), "1.7976931348623157e+308");
}

TEST(JsonSerialize, NonFiniteDoublesBecomeNull) {
  EXPECT_EQ(serialize(Json(std::numeric_limits<double>::quiet_NaN())), "null");
  EXPECT_EQ(serialize(Json(-std::numeric_limits<double>::infinity())), "null");
}

TEST(JsonSerialize, Compact) {
  const Json value = JsonObject{{"b", JsonArray{true, nullptr, 1.5, "x"}}, {"a", JsonObject{}}};
  EXPECT_EQ(serialize(value), R"({"b":[true,null,1.5,"x"],"a":{}})");
}

// ---------------------------------------------------------------------------------------
// Properties

// Uniform in [min, max) at any size: `rc::gen::inRange` stays near `min` while the size is
// small, which made most generated values scalars.
template <typename T = int>
T uniform(T min, T max) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(min, max));
}

// UTF-8 written here rather than by the library, so that the properties check it.
std::string encode_utf8(char32_t c) {
  const auto byte = [](char32_t bits) { return static_cast<char>(bits); };
  if (c < 0x80) return {byte(c)};
  if (c < 0x800) return {byte(0xC0 | (c >> 6)), byte(0x80 | (c & 0x3F))};
  if (c < 0x10000) {
    return {byte(0xE0 | (c >> 12)), byte(0x80 | ((c >> 6) & 0x3F)), byte(0x80 | (c & 0x3F))};
  }
  return {byte(0xF0 | (c >> 18)), byte(0x80 | ((c >> 12) & 0x3F)), byte(0x80 | ((c >> 6) & 0x3F)),
          byte(0x80 | (c & 0x3F))};
}

// A code point of every UTF-8 length, control characters and specials included.
char32_t random_code_point() {
  switch (uniform(0, 6)) {
    case 0: return uniform<char32_t>(0, 0x20);
    case 1: return *rc::gen::element<char32_t>('"', '\\', '/', 0x7F);
    case 2: return uniform<char32_t>(0x80, 0x800);
    case 3: {
      const auto c = uniform<char32_t>(0x800, 0x10000 - 0x800);  // skipping the surrogates
      return c < 0xD800 ? c : c + 0x800;
    }
    case 4: return uniform<char32_t>(0x10000, 0x110000);
    default: return uniform<char32_t>(0x20, 0x7F);
  }
}

std::string random_string() {
  std::string text;
  const int length = uniform(0, 8);
  for (int i = 0; i < length; ++i) text += encode_utf8(random_code_point());
  return text;
}

double random_double() {
  switch (uniform(0, 3)) {
    case 0: {
      const auto bits = *rc::gen::arbitrary<std::uint64_t>();
      const auto value = std::bit_cast<double>(bits);
      return std::isfinite(value) ? value : 0.5;
    }
    case 1:
      return *rc::gen::element(-0.0, 0.0, 1.0, 0.1, 1e16, 5e-324, 9223372036854775808.0,
                               std::numeric_limits<double>::max(),
                               std::numeric_limits<double>::lowest());
    default: return static_cast<double>(*rc::gen::arbitrary<std::int32_t>()) / 64.0;
  }
}

JsonArray random_array(int depth);
JsonObject random_object(int depth);

// Containers are likelier than scalars while `depth` allows them, so that trees grow.
Json random_json(int depth) {
  if (depth > 0 && uniform(0, 3) > 0) {
    return uniform(0, 2) == 0 ? Json(random_array(depth)) : Json(random_object(depth));
  }
  switch (uniform(0, 5)) {
    case 0: return Json();
    case 1: return Json(*rc::gen::arbitrary<bool>());
    case 2: return Json(*rc::gen::arbitrary<std::int64_t>());
    case 3: return Json(random_double());
    default: return Json(random_string());
  }
}

JsonArray random_array(int depth) {
  JsonArray elements(uniform<std::size_t>(0, 5));
  for (Json& element : elements) element = random_json(depth - 1);
  return elements;
}

JsonObject random_object(int depth) {
  JsonObject members;
  const int size = uniform(0, 5);
  for (int i = 0; i < size; ++i) {
    std::string key = random_string();
    if (std::ranges::find(members, key, &JsonObject::value_type::first) != members.end()) continue;
    members.emplace_back(std::move(key), random_json(depth - 1));
  }
  return members;
}

RC_GTEST_PROP(JsonProperty, SerializedValuesParseBackEqual, ()) {
  const Json value = random_json(uniform(0, 6));
  const std::string text = serialize(value);
  const auto back = parse(text);
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == value);
}

// Random whitespace between tokens.
std::string blank() {
  static constexpr std::string_view kBlanks = " \t\n\r";
  std::string text;
  const int length = uniform(0, 3);
  for (int i = 0; i < length; ++i) text += kBlanks[uniform<std::size_t>(0, 4)];
  return text;
}

std::string hex4(char32_t unit) {
  static constexpr std::string_view kUpper = "0123456789ABCDEF";
  static constexpr std::string_view kLower = "0123456789abcdef";
  const std::string_view digits = *rc::gen::arbitrary<bool>() ? kUpper : kLower;
  std::string text = "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) text += digits[(unit >> shift) & 0xF];
  return text;
}

// One character of a string literal in any of the ways JSON allows to write it.
std::string random_string_piece() {
  const char32_t c = random_code_point();
  const int how = uniform(0, 3);
  if (c == '"' || c == '\\' || c < 0x20 || how == 0) {
    if (c < 0x10000) return hex4(c);
    const char32_t offset = c - 0x10000;
    return hex4(0xD800 + (offset >> 10)) + hex4(0xDC00 + (offset & 0x3FF));
  }
  if (how == 1 && c == '/') return "\\/";
  return encode_utf8(c);
}

std::string random_string_text(std::string_view prefix = "") {
  std::string text = "\"" + std::string(prefix);
  const int length = uniform(0, 6);
  for (int i = 0; i < length; ++i) text += random_string_piece();
  return text + "\"";
}

std::string random_digits(int min, int max) {
  std::string digits;
  const int length = uniform(min, max + 1);
  for (int i = 0; i < length; ++i) digits += static_cast<char>('0' + uniform(0, 10));
  return digits;
}

std::string random_number_text() {
  std::string text = *rc::gen::arbitrary<bool>() ? "-" : "";
  const std::string digits = random_digits(1, 22);
  text += digits.size() > 1 && digits[0] == '0' ? "1" + digits : digits;
  if (*rc::gen::arbitrary<bool>()) text += "." + random_digits(1, 20);
  if (*rc::gen::arbitrary<bool>()) {
    text += *rc::gen::element<std::string>("e", "E", "e+", "E-", "e-");
    text += random_digits(1, 2);
  }
  return text;
}

std::string random_text(int depth);

std::string random_array_text(int depth) {
  std::string text = "[" + blank();
  const int size = uniform(0, 5);
  for (int i = 0; i < size; ++i) {
    text += (i > 0 ? "," + blank() : "") + random_text(depth - 1) + blank();
  }
  return text + "]";
}

// Keys start with distinct prefixes, so that no two decode to the same string.
std::string random_object_text(int depth) {
  std::string text = "{" + blank();
  const int size = uniform(0, 5);
  for (int i = 0; i < size; ++i) {
    text += (i > 0 ? "," + blank() : "") + random_string_text("k" + std::to_string(i) + ".") +
            blank() + ":" + blank() + random_text(depth - 1) + blank();
  }
  return text + "}";
}

std::string random_text(int depth) {
  if (depth > 0 && uniform(0, 3) > 0) {
    return uniform(0, 2) == 0 ? random_array_text(depth) : random_object_text(depth);
  }
  switch (uniform(0, 4)) {
    case 0: return *rc::gen::element<std::string>("null", "true", "false");
    case 1: return random_number_text();
    case 2: return random_string_text();
    default: return std::to_string(*rc::gen::arbitrary<std::int64_t>());
  }
}

RC_GTEST_PROP(JsonProperty, ParseSerializeIsStable, ()) {
  const std::string text = blank() + random_text(uniform(0, 6)) + blank();
  const auto first = parse(text);
  RC_ASSERT(first.has_value());

  const std::string canonical = serialize(*first);
  const auto second = parse(canonical);
  RC_ASSERT(second.has_value());
  RC_ASSERT(*second == *first);
  RC_ASSERT(serialize(*second) == canonical);
}

// An error's line and column, counted here independently of the parser.
void check_position(std::string_view text, const JsonError& error) {
  RC_ASSERT(error.offset <= text.size());
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < error.offset; ++i) {
    column = text[i] == '\n' ? 1 : column + 1;
    line += text[i] == '\n' ? 1 : 0;
  }
  RC_ASSERT(error.line == line);
  RC_ASSERT(error.column == column);
  RC_ASSERT(!error.message.empty());
}

RC_GTEST_PROP(JsonProperty, DamagedTextIsRejectedCleanlyOrRoundTrips, ()) {
  std::string text = random_text(uniform(0, 4));
  const int damage = *rc::gen::inRange(1, 4);
  for (int i = 0; i < damage; ++i) {
    const auto pos = uniform<std::size_t>(0, text.size() + 1);
    const char byte = *rc::gen::arbitrary<char>();
    switch (uniform(0, 3)) {
      case 0: text.insert(pos, 1, byte); break;
      case 1:
        if (pos < text.size()) text.erase(pos, 1);
        break;
      default:
        if (pos < text.size()) text[pos] = byte;
        break;
    }
  }

  const auto value = parse(text);
  if (!value) {
    check_position(text, value.error());
    return;
  }
  const auto back = parse(serialize(*value));
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == *value);
}

// ---------------------------------------------------------------------------------------
// ObjectReader

constexpr std::string_view kOrder = R"({
  "customer_id": "c-1",
  "note": null,
  "items": [
    {"sku": "sku-a", "quantity": 2, "unit_price_cents": 1250},
    {"sku": "sku-b", "quantity": 1, "unit_price_cents": 499, "gift": true}
  ],
  "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Springfield",
                       "postcode": "12345", "country": "US"}
})";

struct Line {
  std::string sku;
  std::int64_t quantity = 0;
  std::int64_t unit_price_cents = 0;
  bool gift = false;
  friend bool operator==(const Line&, const Line&) = default;
};

struct Order {
  std::string customer_id;
  std::optional<std::string> note;
  std::vector<Line> lines;
  std::string city;
};

// What a handler does with a PlaceOrder body.
std::expected<Order, FieldError> read_order(const Json& body) {
  ObjectReader reader(body);
  Order order;
  order.customer_id = reader.required_string("customer_id");
  order.note = reader.optional_string("note");
  for (ObjectReader& item : reader.required_objects("items")) {
    Line line{item.required_string("sku"), item.required_int("quantity"),
              item.required_int("unit_price_cents"), item.optional_bool("gift").value_or(false)};
    if (line.quantity <= 0) item.reject("quantity", "must be positive");
    item.reject_unknown();
    order.lines.push_back(line);
  }
  ObjectReader address = reader.required_object("shipping_address");
  order.city = address.required_string("city");
  address.reject_unknown({"name", "line1", "postcode", "country"});
  reader.reject_unknown();

  if (reader.error()) return std::unexpected(*reader.error());
  return order;
}

// `kOrder` with `from` replaced by `to`.
FieldError order_error(std::string_view from, std::string_view to) {
  std::string text(kOrder);
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  const auto order = read_order(parsed(text));
  EXPECT_FALSE(order.has_value());
  return order ? FieldError{} : order.error();
}

TEST(ObjectReader, ReadsAnOrder) {
  const auto order = read_order(parsed(kOrder));
  ASSERT_TRUE(order.has_value()) << order.error().to_string();
  EXPECT_EQ(order->customer_id, "c-1");
  EXPECT_EQ(order->note, std::nullopt);
  EXPECT_EQ(order->lines, (std::vector<Line>{{"sku-a", 2, 1250, false}, {"sku-b", 1, 499, true}}));
  EXPECT_EQ(order->city, "Springfield");
}

TEST(ObjectReader, MissingField) {
  const FieldError error = order_error(R"("customer_id": "c-1",)", "");
  EXPECT_EQ(error.to_string(), "customer_id: required field is missing");
}

TEST(ObjectReader, WrongTypes) {
  EXPECT_EQ(order_error(R"("c-1")", "17").to_string(), "customer_id: expected a string");
  EXPECT_EQ(order_error(R"("note": null)", R"("note": 3)").to_string(), "note: expected a string");
  EXPECT_EQ(order_error(R"("quantity": 1)", R"("quantity": 1.0)").to_string(),
            "items[1].quantity: expected an integer");
  EXPECT_EQ(order_error(R"("gift": true)", R"("gift": "yes")").to_string(),
            "items[1].gift: expected a boolean");
  EXPECT_EQ(order_error(R"("items": [)", R"("items": 5, "x": [)").to_string(),
            "items: expected an array");
  EXPECT_EQ(order_error(R"("city": "Springfield")", R"("city": null)").to_string(),
            "shipping_address.city: expected a string");
}

TEST(ObjectReader, NestedPathNamesTheElement) {
  const Json body = parsed(R"({"items": [{"quantity": 1}, {"quantity": 2}, {"quantity": "3"}]})");
  ObjectReader reader(body);
  for (ObjectReader& item : reader.required_objects("items")) (void)item.required_int("quantity");
  ASSERT_TRUE(reader.error());
  EXPECT_EQ(reader.error()->path, "items[2].quantity");
  EXPECT_EQ(reader.error()->message, "expected an integer");
  EXPECT_EQ(reader.error()->to_string(), "items[2].quantity: expected an integer");
}

TEST(ObjectReader, ElementThatIsNotAnObject) {
  EXPECT_EQ(
      order_error(R"({"sku": "sku-a", "quantity": 2, "unit_price_cents": 1250})", "7").to_string(),
      "items[0]: expected an object");
}

TEST(ObjectReader, UnknownFields) {
  EXPECT_EQ(order_error(R"("note": null,)", R"("note": null, "coupon": "x",)").to_string(),
            "coupon: unknown field");
  EXPECT_EQ(order_error(R"("quantity": 2,)", R"("quantity": 2, "colour": "red",)").to_string(),
            "items[0].colour: unknown field");
  EXPECT_EQ(order_error(R"("country": "US")", R"("country": "US", "zip": "1")").to_string(),
            "shipping_address.zip: unknown field");
}

TEST(ObjectReader, UnknownFieldsAreThoseNeitherReadNorListed) {
  const Json body = parsed(R"({"a": 1, "b": 2, "c": 3, "d": 4})");
  ObjectReader reader(body);
  EXPECT_EQ(reader.unknown_fields(), (std::vector<std::string_view>{"a", "b", "c", "d"}));
  EXPECT_EQ(reader.required_int("b"), 2);
  EXPECT_EQ(reader.unknown_fields(), (std::vector<std::string_view>{"a", "c", "d"}));
  EXPECT_EQ(reader.unknown_fields({"a", "d"}), (std::vector<std::string_view>{"c"}));

  reader.reject_unknown({"a", "c", "d"});
  EXPECT_TRUE(reader.ok());
  reader.reject_unknown({"a"});
  EXPECT_EQ(reader.error()->to_string(), "c: unknown field");
}

TEST(ObjectReader, RejectUnknownBeforeReading) {
  const Json body = parsed(R"({"a": 1, "x": 2, "y": 3})");
  ObjectReader reader(body);
  reader.reject_unknown({"a", "b"});
  EXPECT_EQ(reader.error()->to_string(), "x: unknown field");
}

TEST(ObjectReader, CustomRejection) {
  EXPECT_EQ(order_error(R"("quantity": 1)", R"("quantity": 0)").to_string(),
            "items[1].quantity: must be positive");
}

TEST(ObjectReader, FirstErrorWinsAndLaterReadsAreEmpty) {
  const Json body = parsed(R"({"a": "x", "b": 5, "c": {"d": 1}})");
  ObjectReader reader(body);
  EXPECT_EQ(reader.required_int("a"), 0);
  EXPECT_EQ(reader.required_int("b"), 0);
  ObjectReader child = reader.required_object("c");
  EXPECT_EQ(child.required_int("d"), 0);
  EXPECT_EQ(child.error()->to_string(), "a: expected an integer");
  EXPECT_EQ(reader.error()->to_string(), "a: expected an integer");
  EXPECT_TRUE(reader.required_array("b").empty());
}

TEST(ObjectReader, ChildErrorsReachTheRoot) {
  const Json body = parsed(R"({"c": {"d": 1}, "e": 2})");
  ObjectReader reader(body);
  {
    ObjectReader child = reader.required_object("c");
    (void)child.required_string("d");
  }
  EXPECT_EQ(reader.required_int("e"), 0);
  EXPECT_EQ(reader.error()->to_string(), "c.d: expected a string");
}

TEST(ObjectReader, BodyThatIsNotAnObject) {
  ObjectReader reader(parsed("[1]"));
  EXPECT_EQ(reader.required_string("a"), "");
  ASSERT_TRUE(reader.error());
  EXPECT_EQ(reader.error()->path, "");
  EXPECT_EQ(reader.error()->to_string(), "expected an object");
  EXPECT_TRUE(reader.unknown_fields().empty());
}

TEST(ObjectReader, OptionalReads) {
  const Json body = parsed(R"({"s": "x", "n": null, "i": 4, "b": false, "o": {"k": 1}})");
  ObjectReader reader(body);
  EXPECT_EQ(reader.optional_string("s"), "x");
  EXPECT_EQ(reader.optional_string("n"), std::nullopt);
  EXPECT_EQ(reader.optional_string("absent"), std::nullopt);
  EXPECT_EQ(reader.optional_int("i"), 4);
  EXPECT_EQ(reader.optional_bool("b"), false);
  EXPECT_EQ(reader.optional_object("absent"), std::nullopt);
  EXPECT_EQ(reader.optional_object("n"), std::nullopt);
  std::optional<ObjectReader> child = reader.optional_object("o");
  ASSERT_TRUE(child);
  EXPECT_EQ(child->path(), "o");
  EXPECT_EQ(child->required_int("k"), 1);
  EXPECT_TRUE(reader.ok());
  EXPECT_TRUE(reader.unknown_fields().empty());
}

TEST(ObjectReader, RequiredValues) {
  const Json body = parsed(R"({"b": true, "a": [1, "x"], "n": null})");
  ObjectReader reader(body);
  EXPECT_EQ(reader.required_bool("b"), true);
  EXPECT_EQ(reader.required_array("a").size(), 2);
  EXPECT_TRUE(reader.ok());
  EXPECT_EQ(reader.required_int("n"), 0);
  EXPECT_EQ(reader.error()->to_string(), "n: expected an integer");
}

TEST(ObjectReader, MissingObjectAndArray) {
  const Json body = parsed("{}");
  ObjectReader reader(body);
  EXPECT_TRUE(reader.required_objects("items").empty());
  EXPECT_EQ(reader.error()->to_string(), "items: required field is missing");

  ObjectReader other(body);
  ObjectReader child = other.required_object("address");
  EXPECT_EQ(child.required_string("city"), "");
  EXPECT_EQ(other.error()->to_string(), "address: required field is missing");
}

TEST(ObjectReader, KeysThatAreNotWordsAreQuotedInPaths) {
  const Json body = parsed(R"({"unit price": {"a.b": "x"}, "": 1})");
  ObjectReader reader(body);
  ObjectReader child = reader.required_object("unit price");
  EXPECT_EQ(child.path(), R"(["unit price"])");
  (void)child.required_int("a.b");
  EXPECT_EQ(reader.error()->to_string(), R"(["unit price"]["a.b"]: expected an integer)");

  ObjectReader again(body);
  again.reject_unknown({"unit price"});
  EXPECT_EQ(again.error()->to_string(), R"([""]: unknown field)");
}

}  // namespace
}  // namespace orderflow::core
