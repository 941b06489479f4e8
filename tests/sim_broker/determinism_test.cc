// A seed and a build reproduce a run exactly: a mixed broker workload with faults,
// run twice for each of 1,000 seeds, gives identical trace hashes.
#include "sim/determinism.h"

#include <cstdlib>

#include <gtest/gtest.h>

#include "sim/broker_workload.h"
#include "sim/kernel.h"

namespace orderflow::sim {
namespace {

using namespace std::chrono_literals;

BrokerWorkloadOptions short_run(std::uint64_t seed) {
  return {.seed = seed, .duration = 4s, .records_per_second = 100};
}

// 1,000 seeds by default; the sanitizer preset, thirty times slower, sets fewer
// through ORDERFLOW_DETERMINISM_SEEDS.
std::uint64_t seed_count() {
  const char* configured = std::getenv("ORDERFLOW_DETERMINISM_SEEDS");
  return configured != nullptr ? std::strtoull(configured, nullptr, 10) : 1000;
}

TEST(Determinism, EverySeedOfABrokerWorkloadReplaysIdentically) {
  int mismatches = 0;
  std::uint64_t delivered = 0;
  const std::uint64_t seeds = seed_count();
  ASSERT_GT(seeds, 0u);
  for (std::uint64_t seed = 1; seed <= seeds && mismatches < 3; ++seed) {
    const auto first = run_broker_workload(short_run(seed));
    const auto second = run_broker_workload(short_run(seed));
    delivered += first.records_delivered;
    if (first.trace_hash == second.trace_hash && first.trace_events == second.trace_events)
      continue;
    ++mismatches;
    const auto divergence = find_divergence([seed](const Trace::Sink& sink) {
      auto options = short_run(seed);
      options.trace_sink = sink;
      (void)run_broker_workload(options);
    });
    ADD_FAILURE() << "seed " << seed << " diverged"
                  << (divergence ? " at trace event " + std::to_string(divergence->index) +
                                       ":\n  first:  " + divergence->first +
                                       "\n  second: " + divergence->second
                                 : std::string(" in its hash only"));
  }
  EXPECT_GT(delivered, 0u) << "the workload must actually move records";
}

TEST(Determinism, DifferentSeedsTakeDifferentPaths) {
  EXPECT_NE(run_broker_workload(short_run(1)).trace_hash,
            run_broker_workload(short_run(2)).trace_hash);
}

TEST(Determinism, DivergenceNamesTheFirstDifferentEvent) {
  int run = 0;
  const auto divergence = find_divergence([&run](const Trace::Sink& sink) {
    Trace trace;
    trace.set_sink(sink);
    trace.record(kSimEpoch, "p", core::Severity::kInfo, "same", {});
    trace.record(kSimEpoch, "p", core::Severity::kInfo, "differs", {{"run", ++run}});
  });
  ASSERT_TRUE(divergence.has_value());
  EXPECT_EQ(divergence->index, 1u);
  EXPECT_NE(divergence->first.find("run=1"), std::string::npos);
  EXPECT_NE(divergence->second.find("run=2"), std::string::npos);
}

}  // namespace
}  // namespace orderflow::sim
