#include "cli/sim.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "core/sim_hooks.h"
#include "sim/determinism.h"
#include "sim/runner/run.h"
#include "sim/runner/shrink.h"

namespace orderflow::cli {
namespace {

using sim::RunResult;
using sim::Scenario;
using WallClock = std::chrono::steady_clock;

// Each canary and the scenario that must catch it.
struct CanaryHome {
  core::hooks::Canary canary;
  const char* scenario;
};
constexpr CanaryHome kCanaryHomes[] = {
    {core::hooks::Canary::kCommitBeforeProduce, "crash-restart"},
    {core::hooks::Canary::kNoTransactions, "zombie-fencing"},
    {core::hooks::Canary::kProjectionWithoutVersionCheck, "crash-restart"},
    {core::hooks::Canary::kSkipStoreRestore, "disk-loss"},
    {core::hooks::Canary::kNoCompensationOnCancel, "smoke"},
    {core::hooks::Canary::kNonIdempotentRetries, "lost-acks"},
    {core::hooks::Canary::kDispatchWithoutApproval, "smoke"},
};

struct Loaded {
  std::string path;
  Scenario scenario;
};

std::optional<std::vector<Loaded>> load_all(const std::vector<std::string>& paths) {
  std::vector<Loaded> loaded;
  for (const auto& path : paths) {
    auto s = sim::load_scenario(path);
    if (!s) {
      std::cerr << "error: " << s.error().message << "\n";
      return std::nullopt;
    }
    loaded.push_back({path, std::move(*s)});
  }
  return loaded;
}

// Canaries named on the command line, checked like those in a scenario file.
bool add_canaries(Scenario& scenario, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (!core::hooks::canary_from_string(name)) {
      std::cerr << "error: no canary named \"" << name << "\"\n";
      return false;
    }
    scenario.add_canaries(name);
  }
  return true;
}

std::string replay_command(const std::string& path, std::uint64_t seed,
                           const std::vector<std::string>& canaries = {}) {
  std::string command = "orderflow sim run --scenario " + path + " --seed " + std::to_string(seed);
  for (const auto& c : canaries) command += " --canary " + c;
  return command;
}

std::string describe(const sim::Violation& v) { return v.checker + "/" + v.kind + ": " + v.detail; }

double seconds(core::Duration d) { return std::chrono::duration<double>(d).count(); }

// Runs `count` jobs on `jobs` threads; `done(i, result)` is called on the calling
// thread in completion order. Each run is a world of its own on its own thread.
template <typename Job, typename Done>
void parallel(std::size_t count, int jobs, Job job, Done done) {
  std::mutex mutex;
  std::condition_variable ready;
  std::vector<std::pair<std::size_t, RunResult>> finished;
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < std::max(1, jobs); ++w) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < count; i = next++) {
        RunResult r = job(i);
        std::lock_guard lock(mutex);
        finished.emplace_back(i, std::move(r));
        ready.notify_one();
      }
    });
  }
  for (std::size_t handled = 0; handled < count;) {
    std::vector<std::pair<std::size_t, RunResult>> batch;
    {
      std::unique_lock lock(mutex);
      ready.wait(lock, [&] { return !finished.empty(); });
      batch.swap(finished);
    }
    for (auto& [i, r] : batch) {
      done(i, std::move(r));
      ++handled;
    }
  }
  for (auto& w : workers) w.join();
}

class Progress {
 public:
  Progress(std::string what, std::size_t total)
      : what_(std::move(what)),
        total_(total),
        tty_(isatty(STDERR_FILENO) != 0),
        start_(WallClock::now()) {}

  void update(std::size_t done, std::size_t failed) {
    const bool last = done == total_;
    const std::size_t step = std::max<std::size_t>(1, total_ / 10);
    if (!tty_ && !last && done % step != 0) return;
    const double elapsed = std::chrono::duration<double>(WallClock::now() - start_).count();
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / std::max<std::size_t>(1, total_));
    std::fprintf(stderr, "%s[%s%s] %zu/%zu %s  %.1f/s  failed %zu%s", tty_ ? "\r" : "",
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, ' ').c_str(), done,
                 total_, what_.c_str(), elapsed > 0 ? done / elapsed : 0.0, failed,
                 tty_ && !last ? "" : "\n");
    std::fflush(stderr);
  }
  [[nodiscard]] double elapsed() const {
    return std::chrono::duration<double>(WallClock::now() - start_).count();
  }

 private:
  std::string what_;
  std::size_t total_;
  bool tty_;
  WallClock::time_point start_;
};

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void print_result(const std::string& path, const RunResult& r) {
  std::cout << "scenario " << path << " seed " << r.seed << ": "
            << (r.passed() ? "PASSED" : "FAILED") << "\n";
  std::cout << "  simulated " << seconds(r.stats.simulated) << " s, " << r.stats.trace_events
            << " trace events, trace hash " << std::hex << r.trace_hash << std::dec << "\n";
  std::cout << "  orders: " << r.stats.orders_attempted << " attempted, "
            << r.stats.orders_acknowledged << " acknowledged, " << r.stats.delivered
            << " delivered, " << r.stats.cancelled << " cancelled, " << r.stats.not_terminal
            << " unfinished; " << r.stats.cancels_acknowledged << " cancels acknowledged, "
            << r.stats.reads << " reads, " << r.stats.client_gave_up << " requests given up\n";
  std::cout << "  faults injected: " << r.schedule.size()
            << "; fault points on: " << r.fault_points.size() << "\n";
  std::cout << "  invariants checked:\n";
  for (const auto& c : r.checks) std::cout << "    - " << c << "\n";
  std::cout << "  probes:";
  for (const auto& [name, n] : r.probes) std::cout << " " << name << "=" << n;
  std::cout << "\n";
  if (r.passed()) return;
  std::cout << "  violations (" << r.violations.size() << "):\n";
  for (std::size_t i = 0; i < std::min<std::size_t>(r.violations.size(), 20); ++i) {
    std::cout << "    " << describe(r.violations[i]) << "\n";
  }
  if (!r.timeline.empty()) {
    std::cout << "  timeline up to the first violation:\n";
    for (const auto& line : r.timeline) std::cout << "    " << line << "\n";
  }
}

int run_one(const SimOptions& o) {
  auto loaded = load_all(o.scenarios);
  if (!loaded) return 2;
  auto& [path, scenario] = loaded->front();
  if (!add_canaries(scenario, o.canaries)) return 2;
  const RunResult r =
      sim::run_scenario(scenario, {.seed = o.seed, .trace_path = o.trace, .timeline = true});
  print_result(path, r);
  if (!r.passed()) std::cout << "replay: " << replay_command(path, o.seed, o.canaries) << "\n";
  return r.passed() ? 0 : 1;
}

struct Tally {
  std::size_t runs = 0;
  std::size_t failed = 0;
  double simulated_s = 0;
  std::vector<std::pair<std::uint64_t, std::string>> failures;  // seed, first violation
  std::vector<std::string> junit_cases;
};

int sweep(const SimOptions& o) {
  auto loaded = load_all(o.scenarios);
  if (!loaded) return 2;
  const std::size_t per = o.seeds;
  const std::size_t total = per * loaded->size();
  std::vector<Tally> tallies(loaded->size());
  std::map<std::string, std::uint64_t> probes;
  Progress progress("seeds", total);
  std::size_t done = 0;
  std::size_t failed = 0;
  std::vector<double> wall(loaded->size(), 0);
  parallel(
      total, o.jobs,
      [&](std::size_t i) {
        const auto start = WallClock::now();
        RunResult r = sim::run_scenario((*loaded)[i / per].scenario, {.seed = o.from + i % per});
        const double took = std::chrono::duration<double>(WallClock::now() - start).count();
        r.probes["__wall_us"] = static_cast<std::uint64_t>(took * 1e6);
        return r;
      },
      [&](std::size_t i, RunResult r) {
        Tally& t = tallies[i / per];
        ++t.runs;
        t.simulated_s += seconds(r.stats.simulated);
        wall[i / per] += r.probes["__wall_us"] / 1e6;
        r.probes.erase("__wall_us");
        for (const auto& [name, n] : r.probes) probes[name] += n;
        std::string junit = "    <testcase classname=\"" + xml_escape((*loaded)[i / per].path) +
                            "\" name=\"seed-" + std::to_string(r.seed) + "\">";
        if (!r.passed()) {
          ++t.failed;
          ++failed;
          t.failures.emplace_back(r.seed, describe(r.violations.front()));
          junit += "<failure message=\"" + xml_escape(describe(r.violations.front())) + "\">" +
                   xml_escape(replay_command((*loaded)[i / per].path, r.seed)) + "</failure>";
        }
        t.junit_cases.push_back(junit + "</testcase>\n");
        progress.update(++done, failed);
      });

  std::printf("\n%-44s %7s %7s %7s %9s %10s\n", "scenario", "seeds", "passed", "failed", "seeds/s",
              "sim/wall");
  for (std::size_t s = 0; s < loaded->size(); ++s) {
    const Tally& t = tallies[s];
    const double per_core_wall = wall[s];
    std::printf("%-44s %7zu %7zu %7zu %9.2f %9.0fx\n", (*loaded)[s].path.c_str(), t.runs,
                t.runs - t.failed, t.failed, per_core_wall > 0 ? t.runs / per_core_wall : 0.0,
                per_core_wall > 0 ? t.simulated_s / per_core_wall : 0.0);
  }
  std::printf("(seeds/s and sim/wall are per core: wall time summed over the runs)\n");
  std::printf("%zu seeds in %.1f s wall on %d jobs\n", done, progress.elapsed(), o.jobs);
  std::vector<std::string> unreached;
  for (const auto& [name, n] : probes) {
    if (n == 0) unreached.push_back(name);
  }
  std::printf("probes reached:");
  for (const auto& [name, n] : probes) {
    if (n > 0) std::printf(" %s=%llu", name.c_str(), static_cast<unsigned long long>(n));
  }
  std::printf("\nprobes never reached: %s\n", unreached.empty() ? "none" : "");
  for (const auto& name : unreached) std::printf("  %s\n", name.c_str());
  for (std::size_t s = 0; s < loaded->size(); ++s) {
    auto& f = tallies[s].failures;
    std::sort(f.begin(), f.end());
    for (const auto& [seed, what] : f) {
      std::printf("FAILED %s seed %llu: %s\n  replay: %s\n", (*loaded)[s].path.c_str(),
                  static_cast<unsigned long long>(seed), what.c_str(),
                  replay_command((*loaded)[s].path, seed).c_str());
    }
  }
  if (!o.junit.empty()) {
    std::ofstream xml(o.junit);
    xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
    for (std::size_t s = 0; s < loaded->size(); ++s) {
      const Tally& t = tallies[s];
      xml << "  <testsuite name=\"" << xml_escape((*loaded)[s].path) << "\" tests=\"" << t.runs
          << "\" failures=\"" << t.failed << "\" time=\"" << wall[s] << "\">\n";
      for (const auto& c : t.junit_cases) xml << c;
      xml << "  </testsuite>\n";
    }
    xml << "</testsuites>\n";
  }
  return failed == 0 ? 0 : 1;
}

int shrink_one(const SimOptions& o) {
  auto loaded = load_all(o.scenarios);
  if (!loaded) return 2;
  if (o.out.empty()) {
    std::cerr << "error: shrink needs --out FILE\n";
    return 2;
  }
  Scenario scenario = loaded->front().scenario;
  if (!add_canaries(scenario, o.canaries)) return 2;
  const auto result = sim::shrink(
      scenario,
      {.seed = o.seed, .max_runs = o.max_runs, .progress = [](int runs, int faults, bool f) {
         std::fprintf(stderr, "shrink: run %d, %d faults, %s\n", runs, faults,
                      f ? "still fails" : "passes");
       }});
  if (!result.reproduced) {
    std::cout << "seed " << o.seed << " passes: nothing to shrink\n";
    return 1;
  }
  std::ofstream(o.out) << sim::to_text(result.scenario);
  std::cout << "shrunk " << loaded->front().path << " seed " << o.seed << " (" << result.kind
            << ") from " << result.faults_before << " to " << result.faults_after << " faults in "
            << result.runs << " runs; wrote " << o.out << "\n";
  std::cout << "replay: " << replay_command(o.out, o.seed) << "\n";
  return 0;
}

int check_determinism(const SimOptions& o) {
  auto loaded = load_all(o.scenarios);
  if (!loaded) return 2;
  const std::size_t per = o.seeds;
  const std::size_t total = per * loaded->size();
  Progress progress("seeds run twice", total);
  std::size_t done = 0;
  std::vector<std::pair<std::size_t, std::string>> mismatches;
  parallel(
      total, o.jobs,
      [&](std::size_t i) {
        const Scenario& s = (*loaded)[i / per].scenario;
        const std::uint64_t seed = o.from + i % per;
        RunResult first = sim::run_scenario(s, {.seed = seed});
        const RunResult second = sim::run_scenario(s, {.seed = seed});
        if (first.trace_hash != second.trace_hash ||
            first.violations.size() != second.violations.size()) {
          first.violations.push_back({"determinism", "diverged", "", {}});
        }
        return first;
      },
      [&](std::size_t i, RunResult r) {
        if (!r.violations.empty() && r.violations.back().kind == "diverged") {
          mismatches.emplace_back(i, "");
        }
        progress.update(++done, mismatches.size());
      });
  for (auto& [i, what] : mismatches) {
    const auto& [path, scenario] = (*loaded)[i / per];
    const std::uint64_t seed = o.from + i % per;
    const auto divergence = sim::find_divergence([&](const sim::Trace::Sink& sink) {
      (void)sim::run_scenario(scenario, {.seed = seed, .trace_sink = sink});
    });
    std::printf("NONDETERMINISTIC %s seed %llu\n", path.c_str(),
                static_cast<unsigned long long>(seed));
    if (divergence) {
      std::printf("  first divergent event #%llu:\n    first run:  %s\n    second run: %s\n",
                  static_cast<unsigned long long>(divergence->index), divergence->first.c_str(),
                  divergence->second.c_str());
    }
    std::printf("  replay: orderflow sim check-determinism --scenario %s --from %llu --seeds 1\n",
                path.c_str(), static_cast<unsigned long long>(seed));
  }
  std::printf("%zu seeds run twice: %s\n", done,
              mismatches.empty() ? "identical traces" : "MISMATCHES");
  return mismatches.empty() ? 0 : 1;
}

int canaries(const SimOptions& o) {
  std::vector<CanaryHome> chosen;
  for (const auto& home : kCanaryHomes) {
    const std::string name(core::hooks::to_string(home.canary));
    if (o.canaries.empty() ||
        std::find(o.canaries.begin(), o.canaries.end(), name) != o.canaries.end()) {
      chosen.push_back(home);
    }
  }
  for (const auto& name : o.canaries) {
    if (!core::hooks::canary_from_string(name)) {
      std::cerr << "error: no canary named \"" << name << "\"\n";
      return 2;
    }
  }
  bool all_caught = true;
  std::printf("%-34s %-16s %-22s %s\n", "canary", "scenario", "seeds to detect",
              "shrunk (faults before -> after, replay)");
  for (const auto& home : chosen) {
    const std::string name(core::hooks::to_string(home.canary));
    const std::string path = o.scenario_dir + "/" + home.scenario + ".textproto";
    auto loaded = load_all({path});
    if (!loaded) return 2;
    Scenario scenario = loaded->front().scenario;
    scenario.add_canaries(name);
    std::vector<std::uint64_t> to_detect;
    std::optional<std::uint64_t> first_failing;
    for (int trial = 0; trial < std::max(1, o.trials); ++trial) {
      const std::uint64_t base = o.from + static_cast<std::uint64_t>(trial) * o.seeds;
      // Seeds in parallel, in windows of `jobs`; the first failing seed in order counts.
      std::optional<std::uint64_t> found;
      for (std::uint64_t start = 0; start < o.seeds && !found; start += o.jobs) {
        const std::size_t count = std::min<std::uint64_t>(o.jobs, o.seeds - start);
        std::vector<bool> failed(count, false);
        parallel(
            count, o.jobs,
            [&](std::size_t i) { return sim::run_scenario(scenario, {.seed = base + start + i}); },
            [&](std::size_t i, RunResult r) { failed[i] = !r.passed(); });
        for (std::size_t i = 0; i < count && !found; ++i) {
          if (failed[i]) found = start + i;
        }
      }
      if (found) {
        to_detect.push_back(*found + 1);
        if (!first_failing) first_failing = base + *found;
      }
    }
    std::string detect = "not caught";
    if (!to_detect.empty()) {
      std::vector<std::uint64_t> sorted = to_detect;
      std::sort(sorted.begin(), sorted.end());
      detect = "median " + std::to_string(sorted[sorted.size() / 2]) + " (";
      for (std::size_t i = 0; i < to_detect.size(); ++i) {
        detect += (i ? "," : "") + std::to_string(to_detect[i]);
      }
      detect += ")";
    }
    std::string shrunk = "-";
    if (first_failing) {
      const auto result = sim::shrink(scenario, {.seed = *first_failing, .max_runs = o.max_runs});
      const RunResult replay = sim::run_scenario(result.scenario, {.seed = *first_failing});
      const bool replays = !replay.passed();
      shrunk = std::to_string(result.faults_before) + " -> " + std::to_string(result.faults_after) +
               ", " + result.kind + ", " + (replays ? "fails on replay" : "PASSES ON REPLAY");
      if (!o.shrink_dir.empty()) {
        const std::string out = o.shrink_dir + "/" + name + ".textproto";
        std::ofstream(out) << sim::to_text(result.scenario);
        shrunk += " (" + replay_command(out, *first_failing) + ")";
      }
      all_caught = all_caught && replays;
    } else {
      all_caught = false;
    }
    std::printf("%-34s %-16s %-22s %s\n", name.c_str(), home.scenario, detect.c_str(),
                shrunk.c_str());
    std::fflush(stdout);
  }
  std::printf("%s\n", all_caught ? "every canary caught and shrunk" : "SOME CANARY ESCAPED");
  return all_caught ? 0 : 1;
}

}  // namespace

CLI::App* add_sim_commands(CLI::App& app, SimOptions& o) {
  auto* sim = app.add_subcommand("sim", "Deterministic simulation: run, sweep, shrink, check");
  sim->require_subcommand(1);

  auto* run = sim->add_subcommand("run", "Run one seed of one scenario");
  run->add_option("--scenario", o.scenarios, "Scenario file")->required()->expected(1);
  run->add_option("--seed", o.seed, "Seed");
  run->add_option("--trace", o.trace, "Write every trace event to FILE.jsonl");
  run->add_option("--canary", o.canaries, "Switch a deliberate bug on");

  auto* sweep = sim->add_subcommand("sweep", "Run many seeds of scenarios");
  sweep->add_option("--scenario", o.scenarios, "Scenario files")->required();
  sweep->add_option("--seeds", o.seeds, "Seeds per scenario")->check(CLI::PositiveNumber);
  sweep->add_option("--from", o.from, "First seed");
  sweep->add_option("--jobs", o.jobs, "Parallel runs")->check(CLI::Range(1, 64));
  sweep->add_option("--junit", o.junit, "Write JUnit XML to FILE");

  auto* shrink = sim->add_subcommand("shrink", "Shrink a failing run to a minimal scenario");
  shrink->add_option("--scenario", o.scenarios, "Scenario file")->required()->expected(1);
  shrink->add_option("--seed", o.seed, "The failing seed")->required();
  shrink->add_option("--out", o.out, "Where to write the shrunk scenario")->required();
  shrink->add_option("--canary", o.canaries, "Switch a deliberate bug on");
  shrink->add_option("--max-runs", o.max_runs, "Most candidate runs")->check(CLI::PositiveNumber);

  auto* det = sim->add_subcommand("check-determinism", "Run every seed twice and compare traces");
  det->add_option("--scenario", o.scenarios, "Scenario files")->required();
  det->add_option("--seeds", o.seeds, "Seeds per scenario")->check(CLI::PositiveNumber);
  det->add_option("--from", o.from, "First seed");
  det->add_option("--jobs", o.jobs, "Parallel runs")->check(CLI::Range(1, 64));

  auto* can = sim->add_subcommand("canaries", "Switch each deliberate bug on until it is caught");
  can->add_option("--canary", o.canaries, "Only these canaries");
  can->add_option("--seeds", o.seeds, "Most seeds per canary and trial")
      ->check(CLI::PositiveNumber);
  can->add_option("--from", o.from, "First seed");
  can->add_option("--trials", o.trials, "Independent seed ranges per canary")
      ->check(CLI::Range(1, 100));
  can->add_option("--jobs", o.jobs, "Parallel runs")->check(CLI::Range(1, 64));
  can->add_option("--scenario-dir", o.scenario_dir, "Where the bundled scenarios are");
  can->add_option("--shrink-dir", o.shrink_dir, "Write each shrunk scenario there");
  can->add_option("--max-runs", o.max_runs, "Most shrink runs per canary")
      ->check(CLI::PositiveNumber);
  return sim;
}

int run_sim_command(const CLI::App& sim, const SimOptions& o) {
  const auto* chosen = sim.get_subcommands().front();
  const std::string name = chosen->get_name();
  if (name == "run") return run_one(o);
  if (name == "sweep") return sweep(o);
  if (name == "shrink") return shrink_one(o);
  if (name == "check-determinism") return check_determinism(o);
  if (name == "canaries") return canaries(o);
  return 2;
}

}  // namespace orderflow::cli
