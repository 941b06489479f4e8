// The checkers of a scenario run, over the cluster's logs, the read models and
// what the clients saw. Each returns violations; none means the invariant held.
//
// Event sourcing (on the committed event logs):
//   version_gap, version_conflict     per aggregate, versions run 1, 2, 3 ...
//   applied_twice                     one event id at two offsets (at least once: the
//                                     same event written again is allowed)
//   illegal_transition                an event its aggregate's state does not allow
//   lost_command                      a command answered 202 with no outcome
//   lost_order                        a placement answered 202 with no OrderPlaced
//   dispatched_cancelled              a shipment dispatched for a cancelled order,
//                                     or without the order's approval
//   double_dispatch                   two dispatched shipments for one order
//   stock_not_conserved, stock_leaked conservation, and nothing left reserved
// CQRS (after quiescence, and during the run):
//   read_model_mismatch               a query instance's model differs from the fold
//   version_regressed                 a reader saw an order's version go backwards
// Liveness: not_terminal              an order not delivered or cancelled at the end
//
// Threading: pure functions of their inputs.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "adapters/sim_broker/cluster.h"
#include "core/ports/state_store.h"
#include "sim/checkers/violation.h"

namespace orderflow::sim {

// What the simulated customers did and saw.
struct ClientHistory {
  std::map<std::string, core::Timestamp> acked_commands;  // command id -> when answered 202
  std::set<std::string> acked_orders;                     // orders whose placement got 202
  struct Read {
    core::Timestamp at;
    std::string instance;
    std::string order;
    std::int64_t version = 0;
  };
  std::vector<Read> reads;
};

// One query instance's stores, by name and partition.
using StoresOf = std::function<const core::StateStore&(const std::string& store, int partition)>;

struct QueryModels {
  std::string instance;
  StoresOf stores;
};

// A committed record of a topic: not a marker, not aborted, below the stable offset.
struct CommittedRecord {
  core::TopicPartition tp;
  core::Offset offset;
  std::string value;
  core::Timestamp timestamp;
};
[[nodiscard]] std::vector<CommittedRecord> committed_records(const adapters::SimCluster& cluster,
                                                             const std::string& topic);

// What a read_committed reader of each whole topic saw, by topic: from the
// simulated cluster, or read back from a real one (`orderflow demo`).
using RecordedLogs = std::map<std::string, std::vector<CommittedRecord>>;
// orders.events, shipments.events, stock.events and orders.outcomes of a simulated cluster.
[[nodiscard]] RecordedLogs recorded_logs(const adapters::SimCluster& cluster);

struct CheckSummary {
  int orders = 0;
  int delivered = 0;
  int cancelled = 0;
  int not_terminal = 0;
};

[[nodiscard]] Violations check_event_sourcing(const RecordedLogs& logs,
                                              const ClientHistory& clients, bool at_least_once,
                                              CheckSummary& summary);
[[nodiscard]] Violations check_cqrs(const RecordedLogs& logs, const ClientHistory& clients,
                                    const std::vector<QueryModels>& models, int partitions);
[[nodiscard]] Violations check_liveness(const RecordedLogs& logs);
// Event sourcing and liveness on recorded logs: the verdict a real run can have.
[[nodiscard]] Violations check_recorded_logs(const RecordedLogs& logs, const ClientHistory& clients,
                                             bool at_least_once, CheckSummary& summary);

// The names of every invariant the checkers above and the Kafka history checker
// test, for the run report.
[[nodiscard]] std::vector<std::string> invariant_names();

}  // namespace orderflow::sim
