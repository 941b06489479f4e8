// Scenario files: loading, validating and writing `orderflow.sim.v1.Scenario`.
//
// A scenario is protobuf text format. Loading fails with the file, line and a
// message a person can act on: a syntax error from the parser, an unknown field,
// a malformed duration, a fault aimed at a process the topology does not have.
// Defaults for unset fields are filled in, so the runner sees complete values.
//
//   auto scenario = load_scenario("scenarios/smoke.textproto");
//   if (!scenario) { std::cerr << scenario.error().message; return 2; }
//
// Threading: pure functions.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "orderflow/sim/v1/scenario.pb.h"

namespace orderflow::sim {

using v1::Scenario;

struct ScenarioError {
  std::string message;  // "FILE:LINE: what is wrong"
};

// Reads, parses, fills in defaults and validates a scenario file.
[[nodiscard]] std::expected<Scenario, ScenarioError> load_scenario(const std::string& path);
// The same for text already in memory; `origin` names it in messages.
[[nodiscard]] std::expected<Scenario, ScenarioError> parse_scenario(std::string_view text,
                                                                    const std::string& origin);

// "250ms", "30s", "2m", "-3s" (the sign only where a skew is meant).
[[nodiscard]] std::expected<core::Duration, std::string> parse_duration(std::string_view text);
[[nodiscard]] std::string format_duration(core::Duration duration);
// A duration field that validation has accepted; empty means zero.
[[nodiscard]] core::Duration duration_of(const std::string& text);

// The scenario as text format, for files that shrinking writes.
[[nodiscard]] std::string to_text(const Scenario& scenario);

// Names of the processes the topology runs, in boot order.
[[nodiscard]] std::vector<std::string> process_names(const Scenario& scenario);

}  // namespace orderflow::sim
