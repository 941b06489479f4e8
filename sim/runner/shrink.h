// Shrinking: from a failing run to a smaller scenario that fails the same way.
//
// The swarm draw is first written out as a fixed schedule (`with_schedule`). Delta
// debugging (ddmin) then removes faults and fault points, and the load is cut
// (shorter, slower, fewer cancels) while the run with the same seed still reports
// the violation kind the original run reported first. Every candidate is a whole
// deterministic run, so the budget bounds the cost.
//
// Threading: runs scenarios on the calling thread.
#pragma once

#include <functional>
#include <string>

#include "sim/runner/run.h"

namespace orderflow::sim {

struct ShrinkOptions {
  std::uint64_t seed = 1;
  int max_runs = 80;
  // Called after every candidate run: the runs so far and the faults left.
  std::function<void(int runs, int faults, bool failed)> progress;
};

struct ShrinkResult {
  bool reproduced = false;  // the original failure happened at all
  std::string kind;         // the violation kind kept failing
  Scenario scenario;        // the smallest failing scenario found
  int runs = 0;
  int faults_before = 0;
  int faults_after = 0;
};

[[nodiscard]] ShrinkResult shrink(const Scenario& failing, const ShrinkOptions& options);

}  // namespace orderflow::sim
