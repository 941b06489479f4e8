// `JsonLineLog`: the `Log` port as one JSON object per line, for production.
//
//   {"ts":"2024-05-01T12:00:00.123Z","level":"info","event":"order_placed","order_id":"o-1"}
//
// "ts" is the event's time from the injected clock, RFC 3339 in UTC with milliseconds;
// then "level", "event", and each field in the order given, integers and doubles as
// JSON numbers (a NaN or infinite double as null), booleans as booleans, strings with
// control characters escaped and invalid UTF-8 replaced by U+FFFD. A field whose name
// is already taken ("ts", or an earlier field's) is written as `name_2`, `name_3`, ...
// so that every line parses as strict JSON. Events below the minimum severity are
// dropped.
//
// Ownership: borrows the stream and the clock, which must outlive the log.
// Threading: thread-safe; each line is written and flushed under one lock, so lines
// from different threads never interleave. The clock is read under that lock and
// must be callable from any thread that logs.
#pragma once

#include <atomic>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

#include "core/ports/clock.h"
#include "core/ports/log.h"

namespace orderflow::adapters::observability {

class JsonLineLog final : public core::Log {
 public:
  JsonLineLog(std::ostream& out, const core::Clock& clock,
              core::Severity min_severity = core::Severity::kInfo);

  void event(core::Severity severity, std::string_view name, core::Fields fields) override;

  void set_min_severity(core::Severity severity) { min_severity_.store(severity); }
  [[nodiscard]] bool enabled(core::Severity severity) const {
    return severity >= min_severity_.load();
  }

 private:
  std::ostream& out_;
  const core::Clock& clock_;
  std::atomic<core::Severity> min_severity_;
  std::mutex mutex_;
};

// `t` as RFC 3339 in UTC with milliseconds, rounded down: "2024-05-01T12:00:00.123Z".
[[nodiscard]] std::string format_rfc3339_millis(core::Timestamp t);

}  // namespace orderflow::adapters::observability
