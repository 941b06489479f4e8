// Simulator benchmarks: kernel events and simulated Kafka record deliveries per
// second of wall time on one core.
//
//   build/release/bin/sim_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "sim/broker_workload.h"
#include "sim/kernel.h"

namespace orderflow::sim {
namespace {

using namespace std::chrono_literals;

// Events that each schedule the next at a random delay: the kernel's own cost.
void BM_KernelEvents(benchmark::State& state) {
  std::uint64_t events = 0;
  for (auto _ : state) {
    Kernel kernel(42);
    constexpr int kChains = 64;
    std::function<void()> hop;
    hop = [&] {
      kernel.after(core::Duration{static_cast<std::int64_t>(1 + kernel.random().uniform(1000))},
                   hop);
    };
    for (int i = 0; i < kChains; ++i) kernel.after(core::Duration{i}, hop);
    while (kernel.events_run() < 200'000) kernel.step();
    events += kernel.events_run();
  }
  state.counters["events_per_sec"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_KernelEvents)->Unit(benchmark::kMillisecond);

// Producers, brokers and a consumer group exchanging records over the simulated
// network; the figure is records handed to consumers per wall-clock second.
void BM_SimulatedDeliveries(benchmark::State& state) {
  std::uint64_t delivered = 0;
  std::uint64_t simulated_us = 0;
  for (auto _ : state) {
    const auto result = run_broker_workload({.seed = 7,
                                             .duration = 10s,
                                             .records_per_second = 1000,
                                             .records_per_send = static_cast<int>(state.range(0)),
                                             .faults = false});
    delivered += result.records_delivered;
    simulated_us += 10'000'000;
  }
  state.counters["deliveries_per_sec"] =
      benchmark::Counter(static_cast<double>(delivered), benchmark::Counter::kIsRate);
  state.counters["sim_seconds_per_sec"] =
      benchmark::Counter(static_cast<double>(simulated_us) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SimulatedDeliveries)->Arg(1)->Arg(20)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace orderflow::sim

BENCHMARK_MAIN();
