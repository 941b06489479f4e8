#include "sim/runner/shrink.h"

#include <algorithm>

namespace orderflow::sim {
namespace {

class Shrinker {
 public:
  Shrinker(const ShrinkOptions& options, std::string kind)
      : options_(options), kind_(std::move(kind)) {}

  [[nodiscard]] bool budget_left() const { return runs_ < options_.max_runs; }
  [[nodiscard]] int runs() const { return runs_; }

  // Whether `candidate` still fails with the kind being shrunk.
  bool fails(const Scenario& candidate) {
    if (!budget_left()) return false;
    ++runs_;
    const RunResult r = run_scenario(candidate, {.seed = options_.seed});
    const bool failed = std::any_of(r.violations.begin(), r.violations.end(),
                                    [&](const Violation& v) { return v.kind == kind_; });
    if (options_.progress) options_.progress(runs_, candidate.faults_size(), failed);
    return failed;
  }

 private:
  const ShrinkOptions& options_;
  std::string kind_;
  int runs_ = 0;
};

Scenario with_faults(const Scenario& base, const std::vector<v1::Fault>& faults) {
  Scenario s = base;
  s.clear_faults();
  for (const auto& f : faults) *s.add_faults() = f;
  return s;
}

// ddmin over the fault list.
Scenario shrink_faults(Scenario current, Shrinker& shrinker) {
  std::vector<v1::Fault> faults(current.faults().begin(), current.faults().end());
  if (!faults.empty() && shrinker.fails(with_faults(current, {}))) return with_faults(current, {});
  std::size_t n = 2;
  while (faults.size() >= 2 && shrinker.budget_left()) {
    const std::size_t chunk = (faults.size() + n - 1) / n;
    bool reduced = false;
    for (std::size_t start = 0; start < faults.size() && shrinker.budget_left(); start += chunk) {
      std::vector<v1::Fault> complement;
      for (std::size_t i = 0; i < faults.size(); ++i) {
        if (i < start || i >= start + chunk) complement.push_back(faults[i]);
      }
      if (shrinker.fails(with_faults(current, complement))) {
        faults = std::move(complement);
        n = std::max<std::size_t>(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= faults.size()) break;
      n = std::min(n * 2, faults.size());
    }
  }
  if (faults.size() == 1 && shrinker.fails(with_faults(current, {}))) faults.clear();
  return with_faults(current, faults);
}

Scenario shrink_fault_points(Scenario current, Shrinker& shrinker) {
  for (int i = current.fault_points_size() - 1; i >= 0 && shrinker.budget_left(); --i) {
    Scenario candidate = current;
    candidate.mutable_fault_points()->DeleteSubrange(i, 1);
    if (shrinker.fails(candidate)) current = std::move(candidate);
  }
  return current;
}

// Shorter and lighter load, keeping the faults that still fit.
Scenario shrink_load(Scenario current, Shrinker& shrinker) {
  for (int round = 0; round < 4 && shrinker.budget_left(); ++round) {
    const core::Duration load = duration_of(current.duration());
    if (load <= std::chrono::seconds{2}) break;
    Scenario candidate = current;
    const auto half = std::chrono::duration_cast<std::chrono::milliseconds>(load / 2);
    candidate.set_duration(format_duration(half));
    std::vector<v1::Fault> kept;
    for (const auto& f : current.faults()) {
      if (duration_of(f.at()) <= half) kept.push_back(f);
    }
    candidate = with_faults(candidate, kept);
    if (!shrinker.fails(candidate)) break;
    current = std::move(candidate);
  }
  for (int round = 0; round < 4 && shrinker.budget_left(); ++round) {
    if (current.workload().orders_per_second() <= 1) break;
    Scenario candidate = current;
    candidate.mutable_workload()->set_orders_per_second(
        std::max(1.0, current.workload().orders_per_second() / 2));
    if (!shrinker.fails(candidate)) break;
    current = std::move(candidate);
  }
  if (current.workload().cancel_ratio() > 0 && shrinker.budget_left()) {
    Scenario candidate = current;
    candidate.mutable_workload()->set_cancel_ratio(0);
    if (shrinker.fails(candidate)) current = std::move(candidate);
  }
  return current;
}

}  // namespace

ShrinkResult shrink(const Scenario& failing, const ShrinkOptions& options) {
  ShrinkResult result;
  const RunResult original = run_scenario(failing, {.seed = options.seed});
  result.runs = 1;
  if (original.passed()) {
    result.scenario = failing;
    return result;
  }
  result.reproduced = true;
  result.kind = original.violations.front().kind;
  Scenario current = with_schedule(failing, original);
  result.faults_before = current.faults_size();

  Shrinker shrinker(options, result.kind);
  current = shrink_faults(std::move(current), shrinker);
  current = shrink_fault_points(std::move(current), shrinker);
  current = shrink_load(std::move(current), shrinker);
  current = shrink_faults(std::move(current), shrinker);

  current.set_name(failing.name() + "-shrunk");
  current.set_description("Shrunk from " + failing.name() + " seed " +
                          std::to_string(options.seed) + ": still fails with " + result.kind + ".");
  result.faults_after = current.faults_size();
  result.runs += shrinker.runs();
  result.scenario = std::move(current);
  return result;
}

}  // namespace orderflow::sim
