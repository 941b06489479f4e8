// Determinism check: run the same seed twice and name the first trace event where
// the runs part ways.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "sim/trace.h"

namespace orderflow::sim {

struct Divergence {
  std::uint64_t index = 0;  // of the first differing trace event
  std::string first;        // that event in the first run ("<none>" if it ended)
  std::string second;       // and in the second
};

// `run(sink)` performs one complete run, passing every trace event to `sink`.
// Returns the first divergence, or nothing when both runs traced the same events.
[[nodiscard]] std::optional<Divergence> find_divergence(
    const std::function<void(const Trace::Sink&)>& run);

}  // namespace orderflow::sim
