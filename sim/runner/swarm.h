// Swarm mode: each seed switches fault kinds on and off and draws their rates,
// then a concrete fault schedule, so that one scenario covers many mixes of
// failures (swarm testing). The schedule is fixed faults like a hand-written one,
// which is what makes a swarm failure replayable and shrinkable.
//
// Threading: pure function of the scenario and the PRNG.
#pragma once

#include <vector>

#include "sim/prng.h"
#include "sim/runner/scenario.h"

namespace orderflow::sim {

struct SwarmDraw {
  std::vector<v1::Fault> faults;  // ordered by `at`
  std::vector<v1::FaultPoint> fault_points;
};

[[nodiscard]] SwarmDraw draw_swarm(const Scenario& scenario, Prng& random);

}  // namespace orderflow::sim
