// `check_kafka_history`: the anomaly classes of Jepsen's Kafka workload, checked
// against the client history a `SimCluster` recorded (adapters/sim_broker/history.h)
// and its final partition logs.
//
//   world.cluster().enable_history();  // before the clients start
//   ... run ...
//   for (const Violation& v : check_kafka_history(world.cluster())) ...
//
// Every violation has checker "kafka" and one of these kinds:
// - `lost_write`: a send acknowledged with an offset — and, when transactional,
//   whose producer was told its transaction committed — is not at that offset of
//   the final log (the log ends before it, a marker is there, or another send is
//   there and this one is nowhere in the partition), or is there in a transaction
//   that aborted.
// - `duplicate`: one send id stored at more than one offset not aborted.
// - `inconsistent_offsets`: two deliveries of one offset carry different send ids;
//   or a delivery, or an acknowledgement, names a send the final log does not
//   hold at that offset.
// - `poll_skip`: between two deliveries of one partition to one consumer, with no
//   position reset (assign, seek, rebalance, revocation, loss, offset reset) in
//   between, the consumer jumped over a record it should have seen: not a marker,
//   and for read_committed not of an aborted or open transaction.
// - `nonmonotonic_poll`: such consecutive deliveries went backwards or repeated.
// - `nonmonotonic_send`: one producer object's acknowledged offsets on one
//   partition did not increase in the order of its `send` calls.
// - `aborted_read`: a read_committed consumer was handed a record of a
//   transaction that aborted.
// - `precommitted_read`: a read_committed consumer was handed a transactional
//   record before its commit markers were written (or while still open at the end).
// - `unseen`: on a partition that members of a consumer group read (consumers that
//   subscribed rather than assigned), an acknowledged send whose record is in the
//   final log and visible (not transactional, or committed) lies between the
//   lowest and the highest offset delivered to group members, but was never
//   delivered to any consumer. The range keeps the rule sound for a run that ends
//   while consumers lag behind producers, or that starts a group at `latest`.
//
// Offsets below a partition's log start (deleted by retention) are not checked.
// Sends and records recorded while history was off (send id zero) are skipped.
// `at` is the simulated time the evidence appeared: the acknowledgement, the
// append of the second copy, the delivery; the end of the run for `unseen`.
//
// Threading: any; reads the cluster only. Deterministic: violations come in the
// order of the history and the logs.
#pragma once

#include "adapters/sim_broker/cluster.h"
#include "sim/checkers/violation.h"

namespace orderflow::sim {

[[nodiscard]] Violations check_kafka_history(const adapters::SimCluster& cluster);

}  // namespace orderflow::sim
