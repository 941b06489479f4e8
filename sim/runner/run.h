// `run_scenario`: one seed of one scenario, from an empty world to a verdict.
//
// The run builds the topology on a simulated cluster, restocks the warehouse,
// lets customers place, cancel and read orders over HTTP for the scenario's
// duration while the fault schedule (fixed, or drawn from the seed in swarm mode)
// plays, then stops the faults and waits out the liveness window. The checkers
// then judge what happened (see checks.h). Everything derives from the seed: the
// same scenario and seed give the same trace hash and the same verdict.
//
//   auto result = run_scenario(scenario, {.seed = 42});
//   if (!result.passed()) print(result.violations);
//
// Threading: runs on the calling thread and installs the simulation hooks there
// for its duration; runs on different threads are independent.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/checkers/violation.h"
#include "sim/runner/scenario.h"
#include "sim/trace.h"

namespace orderflow::sim {

struct RunOptions {
  std::uint64_t seed = 1;
  std::string trace_path;  // when set, every trace event as a JSON line
  // Keeps every trace event, to show those just before the first violation.
  bool timeline = false;
  // Receives every trace event (the determinism check compares two runs' events).
  std::function<void(const TraceEvent&)> trace_sink;
};

struct RunStats {
  int orders_attempted = 0;
  int orders_acknowledged = 0;
  int cancels_acknowledged = 0;
  int client_gave_up = 0;
  int delivered = 0;
  int cancelled = 0;
  int not_terminal = 0;
  int reads = 0;
  std::uint64_t trace_events = 0;
  core::Duration simulated{};
};

struct RunResult {
  std::uint64_t seed = 0;
  Violations violations;
  std::vector<std::string> checks;  // the invariants that were checked
  std::uint64_t trace_hash = 0;
  RunStats stats;
  // What was injected: the scenario's faults, or the ones the swarm drew.
  std::vector<v1::Fault> schedule;
  std::vector<v1::FaultPoint> fault_points;
  std::map<std::string, std::uint64_t> probes;  // every known probe, reached or not
  std::vector<std::string> timeline;            // trace lines around the first violation

  [[nodiscard]] bool passed() const { return violations.empty(); }
};

[[nodiscard]] RunResult run_scenario(const Scenario& scenario, const RunOptions& options);

// The scenario with the schedule a run actually used written out as fixed faults
// (swarm replaced), so that it replays without the swarm draw and can be shrunk.
[[nodiscard]] Scenario with_schedule(const Scenario& scenario, const RunResult& result);

}  // namespace orderflow::sim
