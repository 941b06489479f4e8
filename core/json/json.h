// A small, strict JSON library: a `Json` value, `parse`, `serialize`, and `ObjectReader`
// for reading request bodies field by field with errors that name the field.
//
// `parse` accepts RFC 8259 and nothing more: no comments, trailing commas, NaN or
// Infinity, leading zeros, unescaped control characters, lone surrogates, invalid UTF-8
// or duplicate object keys. A rejection is a `JsonError` with line, column, byte offset
// and a message. `ParseLimits` bound the work done on hostile input. Nothing throws
// (allocation failure aside).
//
//   auto body = parse(R"({"customer_id": "c-1", "items": [{"sku": "a", "quantity": 2}]})");
//   if (!body) return bad_request(body.error().to_string());  // "line 1, column 9: ..."
//
//   ObjectReader order(*body);
//   std::string customer = order.required_string("customer_id");
//   for (ObjectReader& item : order.required_objects("items")) {
//     lines.push_back({item.required_string("sku"), item.required_int("quantity")});
//     item.reject_unknown();
//   }
//   order.reject_unknown();
//   if (order.error()) return bad_request(order.error()->to_string());
//   // e.g. "items[2].quantity: expected an integer"
//
// Values are plain data: no thread affinity, safe to share when not mutated.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace orderflow::core {

class Json;
using JsonArray = std::vector<Json>;
// Members in the order they were written or added.
using JsonObject = std::vector<std::pair<std::string, Json>>;

// Integer types that convert to an `int64` without loss; `bool` and characters excluded.
template <typename T>
concept JsonInteger =
    std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
    !std::same_as<T, char8_t> && !std::same_as<T, char16_t> && !std::same_as<T, char32_t> &&
    !std::same_as<T, wchar_t> && (std::signed_integral<T> || sizeof(T) < sizeof(std::int64_t));

// `Json` is one JSON value. A number is an integer when it was written without a fraction
// or exponent and fits an `int64`, a double otherwise; `1` and `1.0` are different values.
// Strings hold UTF-8. Two values are equal when they have the same kind and equal contents,
// object members compared in order.
class Json {
 public:
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

  Json() = default;
  Json(std::nullptr_t) {}
  template <std::same_as<bool> B>
  Json(B value) : value_(value) {}
  template <JsonInteger T>
  Json(T value) : value_(static_cast<std::int64_t>(value)) {}
  Json(double value) : value_(value) {}
  Json(std::string value) : value_(std::move(value)) {}
  Json(std::string_view value) : value_(std::string(value)) {}
  Json(const char* value) : value_(std::string(value)) {}
  Json(JsonArray value) : value_(std::move(value)) {}
  Json(JsonObject value) : value_(std::move(value)) {}

  [[nodiscard]] Kind kind() const { return static_cast<Kind>(value_.index()); }
  [[nodiscard]] bool is_null() const { return kind() == Kind::kNull; }
  [[nodiscard]] bool is_bool() const { return kind() == Kind::kBool; }
  [[nodiscard]] bool is_int() const { return kind() == Kind::kInt; }
  [[nodiscard]] bool is_double() const { return kind() == Kind::kDouble; }
  [[nodiscard]] bool is_string() const { return kind() == Kind::kString; }
  [[nodiscard]] bool is_array() const { return kind() == Kind::kArray; }
  [[nodiscard]] bool is_object() const { return kind() == Kind::kObject; }

  // Each accessor yields nothing when the value has another kind.
  [[nodiscard]] std::optional<bool> as_bool() const;
  [[nodiscard]] std::optional<std::int64_t> as_int() const;
  // An integer or a double, as a double.
  [[nodiscard]] std::optional<double> as_double() const;
  [[nodiscard]] const std::string* as_string() const;
  [[nodiscard]] const JsonArray* as_array() const;
  [[nodiscard]] JsonArray* as_array();
  [[nodiscard]] const JsonObject* as_object() const;
  [[nodiscard]] JsonObject* as_object();

  // The first member named `key`, or nullptr when absent or when this is not an object.
  [[nodiscard]] const Json* find(std::string_view key) const;

  friend bool operator==(const Json&, const Json&) = default;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, JsonArray, JsonObject>
      value_;
};

// `ParseLimits` bound the work and memory a hostile text can cost. Parsing recurses once
// per nesting level: keep `max_depth` in the hundreds at most.
struct ParseLimits {
  int max_depth = 64;                        // arrays and objects nested in each other
  std::size_t max_string_bytes = 1 << 20;    // per string or key, after unescaping
  std::size_t max_array_elements = 100'000;  // per array
  std::size_t max_object_members = 10'000;   // per object
};

// `JsonError` says where and why a text was rejected. Line and column count from 1, the
// column in bytes; `offset` counts bytes from 0.
struct JsonError {
  std::size_t line = 1;
  std::size_t column = 1;
  std::size_t offset = 0;
  std::string message;

  // "line 3, column 7: expected ',' or '}' after object member"
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const JsonError&, const JsonError&) = default;
};

// Parses exactly one JSON value, surrounded by optional whitespace.
[[nodiscard]] std::expected<Json, JsonError> parse(std::string_view text,
                                                   const ParseLimits& limits = {});

// Compact text that `parse` reads back as an equal value. `"`, `\` and control characters
// are escaped (the latter as \u00XX); invalid UTF-8 in a string becomes U+FFFD; doubles are
// written in their shortest round-trip form, with ".0" added when they would otherwise
// read back as integers; a NaN or infinite double, which JSON cannot express, becomes null.
[[nodiscard]] std::string serialize(const Json& value);

// `FieldError` names the offending field of a request body, e.g. path "items[2].quantity"
// and message "expected an integer". The path is empty for the body itself.
struct FieldError {
  std::string path;
  std::string message;

  // "items[2].quantity: expected an integer", or just the message when the path is empty.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const FieldError&, const FieldError&) = default;
};

// `ObjectReader` reads typed members of a JSON object. The first error, from this reader
// or any reader derived from it, is kept and all later reads return empty values, so a
// handler reads every field, then checks `error()` once. Readers point into the `Json`
// they read, which must outlive them. `null` counts as absent for the optional reads.
// Integers must be written as integers: `2.0` and `2e0` are not accepted as `2`.
class ObjectReader {
 public:
  // Reads `value`; fails with "expected an object" when it is not one.
  explicit ObjectReader(const Json& value);

  [[nodiscard]] std::string required_string(std::string_view key);
  [[nodiscard]] std::optional<std::string> optional_string(std::string_view key);
  [[nodiscard]] std::int64_t required_int(std::string_view key);
  [[nodiscard]] std::optional<std::int64_t> optional_int(std::string_view key);
  [[nodiscard]] bool required_bool(std::string_view key);
  [[nodiscard]] std::optional<bool> optional_bool(std::string_view key);
  // The elements of array `key`; empty on error.
  [[nodiscard]] std::span<const Json> required_array(std::string_view key);
  [[nodiscard]] ObjectReader required_object(std::string_view key);
  [[nodiscard]] std::optional<ObjectReader> optional_object(std::string_view key);
  // One reader per element of array `key`, at path "key[i]"; each must be an object.
  [[nodiscard]] std::vector<ObjectReader> required_objects(std::string_view key);

  // Members neither read so far nor listed in `known`, in document order.
  [[nodiscard]] std::vector<std::string_view> unknown_fields(
      std::initializer_list<std::string_view> known = {}) const;
  // Fails with "unknown field" at the first member that `unknown_fields(known)` returns.
  void reject_unknown(std::initializer_list<std::string_view> known = {});
  // Fails at member `key` with `message`, for checks the types cannot express.
  void reject(std::string_view key, std::string message);

  [[nodiscard]] const std::optional<FieldError>& error() const { return *error_; }
  [[nodiscard]] bool ok() const { return !error_->has_value(); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  using ErrorSlot = std::shared_ptr<std::optional<FieldError>>;
  enum class Presence { kRequired, kOptional };

  ObjectReader(const Json* value, std::string path, ErrorSlot error);

  const Json* member(std::string_view key, Presence presence);
  template <typename Convert>
  auto read(std::string_view key, Presence presence, std::string_view what, Convert convert)
      -> std::invoke_result_t<Convert, const Json&>;
  [[nodiscard]] std::string child_path(std::string_view key) const;
  void fail(std::string path, std::string message);

  const JsonObject* object_ = nullptr;  // nullptr when the value read is not an object
  std::string path_;
  std::vector<bool> read_;  // per member of `object_`
  ErrorSlot error_;
};

}  // namespace orderflow::core
