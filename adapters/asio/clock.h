// `SystemClock`: the `core::Clock` of a production process.
//
// Reads `std::chrono::system_clock`, whose epoch is the Unix epoch, truncated to
// the microseconds of `core::Timestamp`. The wall clock may jump (NTP steps it);
// measure intervals with the Scheduler, as `core::Clock` asks.
//
// Ownership: stateless; one per process is enough, any number may exist.
// Threading: `now` is safe from any thread.
#pragma once

#include "core/ports/clock.h"

namespace orderflow::adapters::asio {

class SystemClock final : public core::Clock {
 public:
  [[nodiscard]] core::Timestamp now() const override;
};

}  // namespace orderflow::adapters::asio
