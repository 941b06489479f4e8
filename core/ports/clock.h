// `Clock`: the only way core and services learn the time.
//
// Threading: called on the owning executor only. The simulator returns virtual
// time, which moves only between events; production returns the system clock.
// A clock may jump (the simulator skews clocks on purpose): never assume
// monotonicity across processes, and measure intervals with the Scheduler.
#pragma once

#include "core/time.h"

namespace orderflow::core {

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual Timestamp now() const = 0;
};

}  // namespace orderflow::core
