// A mixed Kafka workload on a simulated world: the load for the determinism check
// and the simulator benchmark.
//
// Two producer processes — one idempotent, one transactional (begin, a few sends,
// commit or abort) — send keyed records at random intervals; two consumer
// processes in one cooperative group read them and commit. With `faults` on, a
// fault driver drawn from the seed loses acknowledgements, moves partition
// leaders, pauses a consumer past its session, forces a rebalance, and crashes and
// restarts a producer.
#pragma once

#include <cstdint>
#include <functional>

#include "core/time.h"
#include "sim/trace.h"

namespace orderflow::sim {

struct BrokerWorkloadOptions {
  std::uint64_t seed = 1;
  core::Duration duration = std::chrono::seconds{20};
  int partitions = 6;
  double records_per_second = 200;  // per producer
  int records_per_send = 1;         // records sent back to back at each tick
  bool faults = true;
  Trace::Sink trace_sink;  // receives every trace event when set
};

struct BrokerWorkloadResult {
  std::uint64_t trace_hash = 0;
  std::uint64_t trace_events = 0;
  std::uint64_t kernel_events = 0;
  std::uint64_t records_acked = 0;
  std::uint64_t records_delivered = 0;  // records handed to consumers
};

[[nodiscard]] BrokerWorkloadResult run_broker_workload(const BrokerWorkloadOptions& options);

}  // namespace orderflow::sim
