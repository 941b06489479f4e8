// Time as the domain and the ports see it.
//
// `Timestamp` is a point on the Unix time line with microsecond resolution and
// `Duration` a span of it. The clock type below is only a tag: it has no `now()`.
// Time reaches core and services through `ports::Clock`, which the simulator
// drives virtually and production drives from the system clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace orderflow::core {

struct UnixTime {
  using rep = std::int64_t;
  using period = std::micro;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<UnixTime, duration>;
  static constexpr bool is_steady = false;
};

using Duration = UnixTime::duration;
using Timestamp = UnixTime::time_point;

// Kafka timestamps are milliseconds since the epoch.
[[nodiscard]] constexpr std::int64_t to_unix_millis(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

[[nodiscard]] constexpr Timestamp from_unix_millis(std::int64_t ms) {
  return Timestamp{std::chrono::milliseconds{ms}};
}

}  // namespace orderflow::core
