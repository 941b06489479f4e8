// `Log`: named events with typed fields.
//
// A log line is an event name that never changes (`order_placed`,
// `txn_commit_failed`) and fields with snake_case names and typed values. The
// simulator turns each into a trace event stamped with simulated time and process
// (and fails the run on an `kError` it did not expect); production writes one
// JSON object per line.
//
//   log.event(Severity::kInfo, "order_placed", {{"order_id", id.str()}, {"lines", 3}});
//
// Threading: called on the owning executor. Field values are only borrowed for
// the duration of the call.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace orderflow::core {

enum class Severity { kDebug, kInfo, kWarn, kError };

[[nodiscard]] std::string_view to_string(Severity severity);

using FieldValue = std::variant<std::int64_t, double, bool, std::string_view>;

struct Field {
  std::string_view name;
  FieldValue value;

  Field(std::string_view n, std::string_view v) : name(n), value(v) {}
  Field(std::string_view n, const std::string& v) : name(n), value(std::string_view(v)) {}
  Field(std::string_view n, const char* v) : name(n), value(std::string_view(v)) {}
  Field(std::string_view n, bool v) : name(n), value(v) {}
  Field(std::string_view n, double v) : name(n), value(v) {}
  template <typename Int>
  requires std::is_integral_v<Int> &&(!std::is_same_v<Int, bool>)Field(std::string_view n, Int v)
      : name(n), value(static_cast<std::int64_t>(v)) {}
};

using Fields = std::initializer_list<Field>;

class Log {
 public:
  virtual ~Log() = default;
  virtual void event(Severity severity, std::string_view name, Fields fields) = 0;
};

// Appends ` name=value` pairs to `out`; strings are quoted when they contain
// spaces, quotes or '='. One formatting for every text sink.
void append_fields(std::string& out, Fields fields);

}  // namespace orderflow::core
