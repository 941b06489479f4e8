// `orderflow sim`: run, sweep, shrink and check scenarios; catch the canaries.
//
//   orderflow sim run --scenario scenarios/smoke.textproto --seed 7
//   orderflow sim sweep --scenario scenarios/*.textproto --seeds 200 --jobs 2
//   orderflow sim shrink --scenario FILE --seed 7 --out shrunk.textproto
//   orderflow sim check-determinism --scenario FILE --seeds 50
//   orderflow sim canaries --seeds 1000
//
// Exit codes: 0 every check passed, 1 a check failed, 2 bad usage or a bad
// scenario file (the message names the file and line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace orderflow::cli {

struct SimOptions {
  std::vector<std::string> scenarios;
  std::uint64_t seed = 1;
  std::uint64_t seeds = 100;
  std::uint64_t from = 1;
  int jobs = 1;
  std::string junit;
  std::string trace;
  std::string out;
  std::vector<std::string> canaries;
  std::string scenario_dir = "scenarios";
  std::string shrink_dir;
  int trials = 1;
  int max_runs = 60;
};

// Adds `sim` and its subcommands to `app`; returns the `sim` subcommand.
CLI::App* add_sim_commands(CLI::App& app, SimOptions& options);
// Runs whichever `sim` subcommand was parsed.
int run_sim_command(const CLI::App& sim, const SimOptions& options);

}  // namespace orderflow::cli
