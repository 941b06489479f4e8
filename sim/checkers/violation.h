// `Violation`: one broken invariant found by a checker, with when it became visible.
//
// Checkers read a finished run's history and return violations; an empty list is
// a pass. `kind` is a stable name (`lost_write`, `version_gap`) that sweeps count
// and tests match; `detail` says which record, order or offset, for a human.
#pragma once

#include <string>
#include <vector>

#include "core/time.h"

namespace orderflow::sim {

struct Violation {
  std::string checker;  // "kafka", "event_sourcing", "cqrs", "liveness"
  std::string kind;
  std::string detail;
  core::Timestamp at{};  // simulated time the evidence appeared; epoch when unknown
};

using Violations = std::vector<Violation>;

}  // namespace orderflow::sim
