#include "adapters/observability/json_line_log.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "core/json/json.h"
#include "core/overloaded.h"

namespace orderflow::adapters::observability {
namespace {

// `name`, or the first of `name_2`, `name_3`, ... that is not in `used`.
std::string unique_name(std::string_view name, const std::vector<std::string>& used) {
  std::string candidate(name);
  for (int n = 2; std::ranges::find(used, candidate) != used.end(); ++n) {
    candidate = std::string(name) + "_" + std::to_string(n);
  }
  return candidate;
}

core::Json to_json(const core::FieldValue& value) {
  return std::visit(core::Overloaded{
                        [](std::int64_t v) { return core::Json(v); },
                        [](double v) { return core::Json(v); },
                        [](bool v) { return core::Json(v); },
                        [](std::string_view v) { return core::Json(v); },
                    },
                    value);
}

}  // namespace

std::string format_rfc3339_millis(core::Timestamp t) {
  using namespace std::chrono;
  const sys_time<milliseconds> time{floor<milliseconds>(t.time_since_epoch())};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  char text[40];
  std::snprintf(
      text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
      static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
  return text;
}

JsonLineLog::JsonLineLog(std::ostream& out, const core::Clock& clock, core::Severity min_severity)
    : out_(out), clock_(clock), min_severity_(min_severity) {}

void JsonLineLog::event(core::Severity severity, std::string_view name, core::Fields fields) {
  if (!enabled(severity)) return;

  std::vector<std::string> used = {"ts", "level", "event"};
  core::JsonObject members;
  members.reserve(2 + fields.size());
  members.emplace_back("level", core::to_string(severity));
  members.emplace_back("event", name);
  for (const core::Field& field : fields) {
    used.push_back(unique_name(field.name, used));
    members.emplace_back(used.back(), to_json(field.value));
  }
  // "ts" goes first, read under the lock so that lines appear in clock order.
  const std::string rest = core::serialize(core::Json(std::move(members)));

  std::lock_guard lock(mutex_);
  std::string line = "{\"ts\":\"" + format_rfc3339_millis(clock_.now()) + "\",";
  line.append(rest, 1);
  line += '\n';
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.flush();
}

}  // namespace orderflow::adapters::observability
