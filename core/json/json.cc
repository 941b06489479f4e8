#include "core/json/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <numeric>
#include <system_error>

namespace orderflow::core {
namespace {

// How a valid UTF-8 sequence may start (Unicode Table 3-7): its length and the range
// allowed for its second byte, which rules out overlong forms, surrogates and code points
// above U+10FFFF. Later bytes are always 0x80..0xBF.
struct Utf8Lead {
  std::size_t length = 0;  // 0: not a valid first byte
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
};

Utf8Lead utf8_lead(unsigned char byte) {
  if (byte < 0x80) return {1};
  if (byte < 0xC2) return {0};
  if (byte < 0xE0) return {2};
  if (byte == 0xE0) return {3, 0xA0, 0xBF};
  if (byte == 0xED) return {3, 0x80, 0x9F};
  if (byte < 0xF0) return {3};
  if (byte == 0xF0) return {4, 0x90, 0xBF};
  if (byte < 0xF4) return {4};
  if (byte == 0xF4) return {4, 0x80, 0x8F};
  return {0};
}

// The length of the valid UTF-8 sequence at `pos`, or 0 when there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  const Utf8Lead lead = utf8_lead(static_cast<unsigned char>(text[pos]));
  if (lead.length == 0 || text.size() - pos < lead.length) return 0;
  for (std::size_t i = 1; i < lead.length; ++i) {
    const auto byte = static_cast<unsigned char>(text[pos + i]);
    const unsigned char min = i == 1 ? lead.second_min : 0x80;
    const unsigned char max = i == 1 ? lead.second_max : 0xBF;
    if (byte < min || byte > max) return 0;
  }
  return lead.length;
}

void append_utf8(std::string& out, char32_t code_point) {
  const auto byte = [&out](char32_t bits) { out.push_back(static_cast<char>(bits)); };
  if (code_point < 0x80) {
    byte(code_point);
  } else if (code_point < 0x800) {
    byte(0xC0 | (code_point >> 6));
    byte(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    byte(0xE0 | (code_point >> 12));
    byte(0x80 | ((code_point >> 6) & 0x3F));
    byte(0x80 | (code_point & 0x3F));
  } else {
    byte(0xF0 | (code_point >> 18));
    byte(0x80 | ((code_point >> 12) & 0x3F));
    byte(0x80 | ((code_point >> 6) & 0x3F));
    byte(0x80 | (code_point & 0x3F));
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
int hex_digit(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool is_high_surrogate(char32_t unit) { return unit >= 0xD800 && unit <= 0xDBFF; }
bool is_low_surrogate(char32_t unit) { return unit >= 0xDC00 && unit <= 0xDFFF; }

// Bytes that may be copied into a string as they are: printable ASCII but '"' and '\'.
bool is_plain(char c) { return c >= 0x20 && c != '"' && c != '\\' && c < 0x7F; }

std::string hex_byte(unsigned char byte) {
  constexpr std::string_view kDigits = "0123456789ABCDEF";
  return {kDigits[byte >> 4], kDigits[byte & 0xF]};
}

// The index of the first member, in document order, whose key an earlier member already
// has. Sorting keeps this O(n log n) for objects with many members.
std::optional<std::size_t> first_duplicate(const JsonObject& members) {
  std::vector<std::size_t> order(members.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::ranges::stable_sort(order, {},
                           [&](std::size_t i) -> const std::string& { return members[i].first; });

  std::optional<std::size_t> first;
  for (std::size_t i = 1; i < order.size(); ++i) {
    if (members[order[i]].first != members[order[i - 1]].first) continue;
    if (!first || order[i] < *first) first = order[i];
  }
  return first;
}

// `text` as a JSON string for an error message, cut after about 64 bytes.
std::string quote_shortened(std::string_view text) {
  constexpr std::size_t kShown = 64;
  if (text.size() <= kShown) return serialize(Json(text));
  std::size_t cut = kShown;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return serialize(Json(text.substr(0, cut))) + "...";
}

class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits) : text_(text), limits_(limits) {}

  std::expected<Json, JsonError> run() {
    auto value = parse_value(0);
    if (!value) return value;
    skip_whitespace();
    if (!at_end()) return fail(pos_, "trailing characters after the value");
    return value;
  }

 private:
  using Parsed = std::expected<Json, JsonError>;

  Parsed parse_value(int depth) {
    skip_whitespace();
    if (at_end()) return expected_here("a value");
    const char c = peek();
    if (c == '{') return parse_object(depth + 1);
    if (c == '[') return parse_array(depth + 1);
    if (c == '"') return parse_string();
    if (c == '-' || is_digit(c)) return parse_number();
    if (is_letter(c)) return parse_literal();
    return expected_here("a value");
  }

  Parsed parse_object(int depth) {
    if (depth > limits_.max_depth) return too_deep();
    ++pos_;
    JsonObject members;
    std::vector<std::size_t> key_offsets;
    skip_whitespace();
    if (consume('}')) return Json(std::move(members));
    while (true) {
      if (members.size() == limits_.max_object_members) {
        return fail(pos_, "object has more than " + std::to_string(members.size()) + " members");
      }
      key_offsets.push_back(pos_);
      auto member = parse_member(depth, members.empty());
      if (!member) return std::unexpected(std::move(member.error()));
      members.push_back(std::move(*member));

      skip_whitespace();
      if (consume('}')) break;
      if (!consume(',')) return expected_here("',' or '}' after object member");
      skip_whitespace();
    }
    if (auto dup = first_duplicate(members)) {
      return fail(key_offsets[*dup], "duplicate key " + quote_shortened(members[*dup].first));
    }
    return Json(std::move(members));
  }

  // One "key": value pair, starting at the key.
  std::expected<std::pair<std::string, Json>, JsonError> parse_member(int depth, bool first) {
    if (at_end() || peek() != '"') {
      if (!first && !at_end() && peek() == '}') return fail(pos_, "trailing comma in object");
      return expected_here(first ? "a string key or '}'" : "a string key");
    }
    auto key = parse_raw_string();
    if (!key) return std::unexpected(std::move(key.error()));

    skip_whitespace();
    if (!consume(':')) return expected_here("':' after object key");
    auto value = parse_value(depth);
    if (!value) return std::unexpected(std::move(value.error()));
    return std::pair{std::move(*key), std::move(*value)};
  }

  Parsed parse_array(int depth) {
    if (depth > limits_.max_depth) return too_deep();
    ++pos_;
    JsonArray elements;
    skip_whitespace();
    if (consume(']')) return Json(std::move(elements));
    while (true) {
      if (elements.size() == limits_.max_array_elements) {
        return fail(pos_, "array has more than " + std::to_string(elements.size()) + " elements");
      }
      if (!elements.empty() && !at_end() && peek() == ']') {
        return fail(pos_, "trailing comma in array");
      }
      auto element = parse_value(depth);
      if (!element) return element;
      elements.push_back(std::move(*element));

      skip_whitespace();
      if (consume(']')) return Json(std::move(elements));
      if (!consume(',')) return expected_here("',' or ']' after array element");
      skip_whitespace();
    }
  }

  Parsed parse_literal() {
    const std::size_t start = pos_;
    while (!at_end() && is_letter(peek())) ++pos_;
    const std::string_view word = text_.substr(start, pos_ - start);
    if (word == "null") return Json();
    if (word == "true") return Json(true);
    if (word == "false") return Json(false);
    constexpr std::size_t kShown = 16;
    const std::string shown(word.substr(0, kShown));
    return fail(start, "invalid literal '" + shown + (word.size() > kShown ? "...'" : "'"));
  }

  Parsed parse_number() {
    const std::size_t start = pos_;
    auto shape = scan_number();
    if (!shape) return std::unexpected(std::move(shape.error()));

    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (*shape == NumberShape::kInteger) {
      std::int64_t integer = 0;
      if (std::from_chars(first, last, integer).ec == std::errc{}) return Json(integer);
    }
    double number = 0;
    if (std::from_chars(first, last, number).ec != std::errc{}) {
      return fail(start, "number out of range");
    }
    return Json(number);
  }

  enum class NumberShape { kInteger, kReal };

  // Moves past a number as RFC 8259 spells it and says whether it has a fraction or exponent.
  std::expected<NumberShape, JsonError> scan_number() {
    const std::size_t start = pos_;
    consume('-');
    if (consume('0')) {
      if (!at_end() && is_digit(peek())) return fail(start, "leading zeros are not allowed");
    } else if (!skip_digits()) {
      return expected_here("a digit after '-'");  // a number starts with '-' or a digit
    }

    NumberShape shape = NumberShape::kInteger;
    if (consume('.')) {
      if (!skip_digits()) return expected_here("a digit after the decimal point");
      shape = NumberShape::kReal;
    }
    if (consume('e') || consume('E')) {
      if (!consume('+')) consume('-');
      if (!skip_digits()) return expected_here("a digit in the exponent");
      shape = NumberShape::kReal;
    }
    return shape;
  }

  Parsed parse_string() {
    auto text = parse_raw_string();
    if (!text) return std::unexpected(std::move(text.error()));
    return Json(std::move(*text));
  }

  // A string, from its opening quote to past its closing one, unescaped.
  std::expected<std::string, JsonError> parse_raw_string() {
    const std::size_t start = pos_++;
    std::string out;
    while (true) {
      const std::size_t run = pos_;
      while (!at_end() && is_plain(peek())) ++pos_;
      out.append(text_.substr(run, pos_ - run));
      if (out.size() > limits_.max_string_bytes) return string_too_long(start);
      if (at_end()) return fail(start, "unterminated string");

      const char c = peek();
      if (c == '"') break;
      auto step = c == '\\' ? parse_escape(start, out) : copy_special_byte(out);
      if (!step) return std::unexpected(std::move(step.error()));
    }
    ++pos_;
    return out;
  }

  // A control character, DEL or the start of a multi-byte sequence.
  std::expected<void, JsonError> copy_special_byte(std::string& out) {
    const auto byte = static_cast<unsigned char>(peek());
    if (byte < 0x20) {
      return fail(pos_, "unescaped control character U+00" + hex_byte(byte) + " in string");
    }
    const std::size_t length = utf8_sequence_length(text_, pos_);
    if (length == 0) return fail(pos_, "string is not valid UTF-8");
    out.append(text_.substr(pos_, length));
    pos_ += length;
    return {};
  }

  // One escape sequence, from its backslash, in the string opened at `string_start`.
  std::expected<void, JsonError> parse_escape(std::size_t string_start, std::string& out) {
    const std::size_t start = pos_++;
    if (at_end()) return fail(string_start, "unterminated string");
    const char c = text_[pos_++];
    switch (c) {
      case '"': out.push_back('"'); return {};
      case '\\': out.push_back('\\'); return {};
      case '/': out.push_back('/'); return {};
      case 'b': out.push_back('\b'); return {};
      case 'f': out.push_back('\f'); return {};
      case 'n': out.push_back('\n'); return {};
      case 'r': out.push_back('\r'); return {};
      case 't': out.push_back('\t'); return {};
      case 'u': return parse_unicode_escape(start, out);
      default: break;
    }
    if (c > 0x20 && c < 0x7F) return fail(start, std::string("invalid escape \\") + c);
    return fail(start, "invalid escape: '\\' followed by byte 0x" +
                           hex_byte(static_cast<unsigned char>(c)));
  }

  // \uXXXX, or a surrogate pair \uXXXX\uXXXX; `start` is at the backslash, `pos_` past 'u'.
  std::expected<void, JsonError> parse_unicode_escape(std::size_t start, std::string& out) {
    auto unit = read_hex4(start);
    if (!unit) return std::unexpected(std::move(unit.error()));
    char32_t code_point = *unit;
    const auto unpaired = [&] {
      return fail(start, "unpaired surrogate " + std::string(text_.substr(start, 6)));
    };
    if (is_low_surrogate(code_point)) return unpaired();
    if (is_high_surrogate(code_point)) {
      if (text_.substr(pos_, 2) != "\\u") return unpaired();
      const std::size_t low_start = pos_;
      pos_ += 2;
      auto low = read_hex4(low_start);
      if (!low) return std::unexpected(std::move(low.error()));
      if (!is_low_surrogate(*low)) return unpaired();
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (*low - 0xDC00);
    }
    append_utf8(out, code_point);
    return {};
  }

  std::expected<char32_t, JsonError> read_hex4(std::size_t escape_start) {
    char32_t value = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const int digit = at_end() ? -1 : hex_digit(peek());
      if (digit < 0) return fail(escape_start, "invalid \\u escape: expected four hex digits");
      value = value * 16 + static_cast<char32_t>(digit);
    }
    return value;
  }

  bool skip_digits() {
    const std::size_t start = pos_;
    while (!at_end() && is_digit(peek())) ++pos_;
    return pos_ > start;
  }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    if (at_end() || peek() != c) return false;
    ++pos_;
    return true;
  }

  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return text_[pos_]; }

  std::unexpected<JsonError> expected_here(std::string_view what) const {
    const std::string prefix = at_end() ? "unexpected end of input, expected " : "expected ";
    return fail(pos_, prefix + std::string(what));
  }

  std::unexpected<JsonError> too_deep() const {
    return fail(pos_, "nesting deeper than " + std::to_string(limits_.max_depth));
  }

  std::unexpected<JsonError> string_too_long(std::size_t start) const {
    return fail(start, "string longer than " + std::to_string(limits_.max_string_bytes) + " bytes");
  }

  std::unexpected<JsonError> fail(std::size_t offset, std::string message) const {
    const std::string_view before = text_.substr(0, offset);
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column =
        line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    const auto line = static_cast<std::size_t>(std::ranges::count(before, '\n')) + 1;
    return std::unexpected(JsonError{line, column, offset, std::move(message)});
  }

  std::string_view text_;
  const ParseLimits& limits_;
  std::size_t pos_ = 0;
};

void write_value(const Json& value, std::string& out);

// Appends `text` quoted and escaped; invalid UTF-8 becomes U+FFFD.
void write_string(std::string_view text, std::string& out) {
  out.push_back('"');
  std::size_t pos = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (is_plain(c) || c == 0x7F) {
      out.push_back(c);
      ++pos;
    } else if (c == '"' || c == '\\') {
      out.append({'\\', c});
      ++pos;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out.append("\\u00" + hex_byte(static_cast<unsigned char>(c)));
      ++pos;
    } else if (const std::size_t length = utf8_sequence_length(text, pos); length > 0) {
      out.append(text.substr(pos, length));
      pos += length;
    } else {
      out.append("\xEF\xBF\xBD");
      ++pos;
    }
  }
  out.push_back('"');
}

void write_double(double number, std::string& out) {
  if (!std::isfinite(number)) {
    out.append("null");
    return;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, number);
  const std::string_view text(buffer, result.ptr);
  out.append(text);
  if (text.find_first_of(".e") == std::string_view::npos) out.append(".0");
}

void write_int(std::int64_t integer, std::string& out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, integer);
  out.append(buffer, result.ptr);
}

void write_array(const JsonArray& elements, std::string& out) {
  out.push_back('[');
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) out.push_back(',');
    write_value(elements[i], out);
  }
  out.push_back(']');
}

void write_object(const JsonObject& members, std::string& out) {
  out.push_back('{');
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i > 0) out.push_back(',');
    write_string(members[i].first, out);
    out.push_back(':');
    write_value(members[i].second, out);
  }
  out.push_back('}');
}

void write_value(const Json& value, std::string& out) {
  switch (value.kind()) {
    case Json::Kind::kNull: out.append("null"); return;
    case Json::Kind::kBool: out.append(*value.as_bool() ? "true" : "false"); return;
    case Json::Kind::kInt: write_int(*value.as_int(), out); return;
    case Json::Kind::kDouble: write_double(*value.as_double(), out); return;
    case Json::Kind::kString: write_string(*value.as_string(), out); return;
    case Json::Kind::kArray: write_array(*value.as_array(), out); return;
    case Json::Kind::kObject: write_object(*value.as_object(), out); return;
  }
}

// Keys that read unambiguously after a '.' in a field path.
bool is_path_word(std::string_view key) {
  return !key.empty() && std::ranges::all_of(key, [](char c) {
    return is_letter(c) || is_digit(c) || c == '_' || c == '-';
  });
}

std::optional<std::string> string_copy(const Json& value) {
  const std::string* text = value.as_string();
  return text ? std::optional(*text) : std::nullopt;
}

std::optional<std::span<const Json>> array_span(const Json& value) {
  const JsonArray* elements = value.as_array();
  return elements ? std::optional<std::span<const Json>>(*elements) : std::nullopt;
}

}  // namespace

std::optional<bool> Json::as_bool() const {
  if (const auto* value = std::get_if<bool>(&value_)) return *value;
  return std::nullopt;
}

std::optional<std::int64_t> Json::as_int() const {
  if (const auto* value = std::get_if<std::int64_t>(&value_)) return *value;
  return std::nullopt;
}

std::optional<double> Json::as_double() const {
  if (const auto* value = std::get_if<double>(&value_)) return *value;
  if (const auto* value = std::get_if<std::int64_t>(&value_)) return static_cast<double>(*value);
  return std::nullopt;
}

const std::string* Json::as_string() const { return std::get_if<std::string>(&value_); }
const JsonArray* Json::as_array() const { return std::get_if<JsonArray>(&value_); }
JsonArray* Json::as_array() { return std::get_if<JsonArray>(&value_); }
const JsonObject* Json::as_object() const { return std::get_if<JsonObject>(&value_); }
JsonObject* Json::as_object() { return std::get_if<JsonObject>(&value_); }

const Json* Json::find(std::string_view key) const {
  const JsonObject* members = as_object();
  if (members == nullptr) return nullptr;
  const auto it = std::ranges::find(*members, key, &JsonObject::value_type::first);
  return it == members->end() ? nullptr : &it->second;
}

std::string JsonError::to_string() const {
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
}

std::expected<Json, JsonError> parse(std::string_view text, const ParseLimits& limits) {
  return Parser(text, limits).run();
}

std::string serialize(const Json& value) {
  std::string out;
  write_value(value, out);
  return out;
}

std::string FieldError::to_string() const { return path.empty() ? message : path + ": " + message; }

ObjectReader::ObjectReader(const Json& value)
    : ObjectReader(&value, "", std::make_shared<std::optional<FieldError>>()) {}

ObjectReader::ObjectReader(const Json* value, std::string path, ErrorSlot error)
    : path_(std::move(path)), error_(std::move(error)) {
  if (value == nullptr) return;
  object_ = value->as_object();
  if (object_ == nullptr) {
    fail(path_, "expected an object");
    return;
  }
  read_.assign(object_->size(), false);
}

// The member `key`, marked as read; nullptr when absent, when `null` and optional, or after
// an error anywhere in the tree of readers.
const Json* ObjectReader::member(std::string_view key, Presence presence) {
  if (!ok() || object_ == nullptr) return nullptr;
  const auto it = std::ranges::find(*object_, key, &JsonObject::value_type::first);
  if (it == object_->end()) {
    if (presence == Presence::kRequired) fail(child_path(key), "required field is missing");
    return nullptr;
  }
  read_[static_cast<std::size_t>(it - object_->begin())] = true;
  if (presence == Presence::kOptional && it->second.is_null()) return nullptr;
  return &it->second;
}

// Reads member `key` through `convert`, which yields nothing when the value has the wrong
// type; fails then with "expected <what>".
template <typename Convert>
auto ObjectReader::read(std::string_view key, Presence presence, std::string_view what,
                        Convert convert) -> std::invoke_result_t<Convert, const Json&> {
  const Json* value = member(key, presence);
  if (value == nullptr) return std::nullopt;
  auto result = std::invoke(convert, *value);
  if (!result) fail(child_path(key), "expected " + std::string(what));
  return result;
}

std::string ObjectReader::required_string(std::string_view key) {
  return read(key, Presence::kRequired, "a string", string_copy).value_or("");
}

std::optional<std::string> ObjectReader::optional_string(std::string_view key) {
  return read(key, Presence::kOptional, "a string", string_copy);
}

std::int64_t ObjectReader::required_int(std::string_view key) {
  return read(key, Presence::kRequired, "an integer", &Json::as_int).value_or(0);
}

std::optional<std::int64_t> ObjectReader::optional_int(std::string_view key) {
  return read(key, Presence::kOptional, "an integer", &Json::as_int);
}

bool ObjectReader::required_bool(std::string_view key) {
  return read(key, Presence::kRequired, "a boolean", &Json::as_bool).value_or(false);
}

std::optional<bool> ObjectReader::optional_bool(std::string_view key) {
  return read(key, Presence::kOptional, "a boolean", &Json::as_bool);
}

std::span<const Json> ObjectReader::required_array(std::string_view key) {
  return read(key, Presence::kRequired, "an array", array_span).value_or(std::span<const Json>{});
}

ObjectReader ObjectReader::required_object(std::string_view key) {
  return ObjectReader(member(key, Presence::kRequired), child_path(key), error_);
}

std::optional<ObjectReader> ObjectReader::optional_object(std::string_view key) {
  const Json* value = member(key, Presence::kOptional);
  if (value == nullptr) return std::nullopt;
  return ObjectReader(value, child_path(key), error_);
}

std::vector<ObjectReader> ObjectReader::required_objects(std::string_view key) {
  const std::span<const Json> elements = required_array(key);
  const std::string path = child_path(key);
  std::vector<ObjectReader> readers;
  readers.reserve(elements.size());
  for (std::size_t i = 0; i < elements.size(); ++i) {
    readers.push_back(ObjectReader(&elements[i], path + "[" + std::to_string(i) + "]", error_));
  }
  return readers;
}

std::vector<std::string_view> ObjectReader::unknown_fields(
    std::initializer_list<std::string_view> known) const {
  std::vector<std::string_view> unknown;
  if (object_ == nullptr) return unknown;
  for (std::size_t i = 0; i < object_->size(); ++i) {
    const std::string& key = (*object_)[i].first;
    if (!read_[i] && std::ranges::find(known, key) == known.end()) unknown.push_back(key);
  }
  return unknown;
}

void ObjectReader::reject_unknown(std::initializer_list<std::string_view> known) {
  const std::vector<std::string_view> unknown = unknown_fields(known);
  if (!unknown.empty()) fail(child_path(unknown.front()), "unknown field");
}

void ObjectReader::reject(std::string_view key, std::string message) {
  fail(child_path(key), std::move(message));
}

std::string ObjectReader::child_path(std::string_view key) const {
  if (!is_path_word(key)) return path_ + "[" + serialize(Json(key)) + "]";
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void ObjectReader::fail(std::string path, std::string message) {
  if (ok()) *error_ = FieldError{std::move(path), std::move(message)};
}

}  // namespace orderflow::core
