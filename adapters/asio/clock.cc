#include "adapters/asio/clock.h"

#include <chrono>

namespace orderflow::adapters::asio {

core::Timestamp SystemClock::now() const {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return core::Timestamp{std::chrono::duration_cast<core::Duration>(since_epoch)};
}

}  // namespace orderflow::adapters::asio
