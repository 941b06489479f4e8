#include "adapters/asio/clock.h"

#include <chrono>

#include <gtest/gtest.h>

namespace orderflow::adapters::asio {
namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::system_clock;

std::int64_t micros(system_clock::time_point t) {
  return duration_cast<microseconds>(t.time_since_epoch()).count();
}

TEST(SystemClockTest, ReadsTheSystemClockInUnixMicroseconds) {
  const SystemClock clock;
  const auto before = system_clock::now();
  const core::Timestamp now = clock.now();
  const auto after = system_clock::now();

  EXPECT_LE(micros(before), now.time_since_epoch().count());
  EXPECT_GE(micros(after), now.time_since_epoch().count());
  EXPECT_EQ(core::to_unix_millis(now), now.time_since_epoch().count() / 1000);
}

}  // namespace
}  // namespace orderflow::adapters::asio
