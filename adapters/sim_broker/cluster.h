// `SimCluster`: the broker side of a simulated Kafka cluster.
//
// It holds what the brokers of a real cluster hold between them — topics and
// partition logs with leaders, high watermark and last stable offset, producer
// ids with epochs and sequence numbers, transaction state, and (through
// `GroupCoordinator`) consumer groups and committed offsets — and answers the
// requests that the simulated clients (`SimProducer`, `SimConsumer`) send over the
// simulated network. Request handlers run when a request reaches its broker; a
// broker that is down or a partition whose leader is moving answers with a
// retriable error or not at all, as a real one would.
//
// Simplifications, chosen so that the anomalies clients must handle still occur:
// replication is not modelled byte by byte — every acknowledged record survives a
// leader change (acks=all); a leader change makes the partition unavailable for a
// failover window, during which requests fail with `not_leader_for_partition`.
//
// History: after `enable_history()` the cluster and its clients record what they
// do into a `KafkaHistory` (history.h) for the Kafka checker; off by default, when
// recording costs a null check per request.
//
// Threading: the simulator's one thread. Owned by the `World`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/sim_broker/history.h"
#include "core/ports/broker.h"
#include "sim/kernel.h"
#include "sim/network.h"

namespace orderflow::adapters {

class GroupCoordinator;

struct ClusterConfig {
  int brokers = 3;
  int default_partitions = 3;
  core::Duration failover_window{std::chrono::milliseconds{300}};
  // Records a partition keeps before the oldest are deleted (retention); zero keeps all.
  std::size_t retention_records = 0;
};

// One record as stored in a partition log, with the producer state Kafka keeps in
// the batch header. Control records (transaction markers) take an offset but are
// never returned to consumers.
struct StoredRecord {
  core::Offset offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<core::Header> headers;
  core::Timestamp timestamp;
  core::ProducerId producer_id{-1};
  core::ProducerEpoch epoch{-1};
  bool transactional = false;
  bool control = false;  // a transaction marker
  bool commit = false;   // for markers: commit (true) or abort (false)
  // The `send` call that stored it, when history is on; internal to the
  // simulator, never visible through the port.
  SendId send_id = kNoSend;
};

struct AbortedRange {
  core::ProducerId producer_id;
  core::Offset first;
  core::Offset last;  // the abort marker's offset
};

struct PartitionLog {
  int leader = 0;  // broker index
  core::Timestamp unavailable_until{};
  core::Offset log_start{0};
  std::vector<StoredRecord> records;  // records[i].offset == log_start + i
  // First offset of each producer's open transaction on this partition.
  std::map<core::ProducerId, core::Offset> open_transactions;
  std::vector<AbortedRange> aborted;
  // Idempotence: per producer id, the epoch and the last sequence appended, and
  // the base offsets of its recent batches so a retried batch is answered with its
  // original offset instead of being appended twice.
  struct ProducerState {
    core::ProducerEpoch epoch{-1};
    std::int32_t last_sequence = -1;
    std::map<std::int32_t, core::Offset> batch_offsets;  // first sequence -> base offset
  };
  std::map<core::ProducerId, ProducerState> producers;

  [[nodiscard]] core::Offset end() const {
    return core::Offset{log_start.value() + static_cast<std::int64_t>(records.size())};
  }
  // The last stable offset: below it no transaction is open.
  [[nodiscard]] core::Offset last_stable() const;
};

struct ProduceBatch {
  core::TopicPartition tp;
  core::ProducerId producer_id{-1};  // -1: not idempotent
  core::ProducerEpoch epoch{-1};
  std::int32_t first_sequence = -1;
  bool transactional = false;
  // Shared with the producer's retry buffer: a batch is never copied on its way.
  std::shared_ptr<const std::vector<core::ProducerRecord>> records;
  core::Timestamp timestamp;
  // One per record when history is on, else null; shared with the retry buffer too.
  std::shared_ptr<const std::vector<SendId>> send_ids;
};

struct FetchResult {
  std::vector<core::ConsumerRecord> records;
  core::Offset next_offset;  // where the next fetch should start
  core::Offset high_watermark;
  core::Offset last_stable;
  std::vector<SendId> send_ids;  // one per record when history is on, else empty
};

class SimCluster {
 public:
  SimCluster(sim::Kernel& kernel, sim::Network& network, ClusterConfig config);
  ~SimCluster();
  SimCluster(const SimCluster&) = delete;
  SimCluster& operator=(const SimCluster&) = delete;

  [[nodiscard]] sim::Kernel& kernel() { return kernel_; }
  [[nodiscard]] const sim::Kernel& kernel() const { return kernel_; }
  [[nodiscard]] sim::Network& network() { return network_; }
  [[nodiscard]] const ClusterConfig& config() const { return config_; }
  [[nodiscard]] GroupCoordinator& groups() { return *groups_; }

  // Brokers.
  [[nodiscard]] int broker_count() const { return static_cast<int>(broker_nodes_.size()); }
  [[nodiscard]] sim::NodeId broker_node(int broker) const { return broker_nodes_[broker]; }
  [[nodiscard]] bool broker_up(int broker) const { return broker_up_[broker]; }
  void broker_down(int broker);
  void broker_up_again(int broker);
  // Moves a partition's leadership to `broker` (or the next live broker when -1),
  // with a failover window.
  void move_leader(const core::TopicPartition& tp, int broker = -1);

  // Topics.
  core::Result<> create_topic(const core::TopicSpec& spec);
  [[nodiscard]] std::optional<int> partition_count(const std::string& topic) const;
  [[nodiscard]] const PartitionLog* log(const core::TopicPartition& tp) const;
  [[nodiscard]] std::vector<core::TopicPartition> partitions(const std::string& topic) const;
  [[nodiscard]] const std::map<std::string, std::vector<PartitionLog>>& topics() const {
    return topics_;
  }

  // The broker a client should send a partition's requests to, and the
  // coordinator broker of a group or transactional id.
  [[nodiscard]] int leader_of(const core::TopicPartition& tp) const;
  [[nodiscard]] int coordinator_of(const std::string& key) const;

  // Request handlers, run at broker `at` when a request arrives there.
  core::Result<core::Offset> produce(int at, const ProduceBatch& batch);
  core::Result<FetchResult> fetch(int at, const core::TopicPartition& tp, core::Offset from,
                                  core::IsolationLevel isolation, int max_records);
  core::Result<core::Watermarks> watermarks(int at, const core::TopicPartition& tp);

  struct ProducerIdentity {
    core::ProducerId id;
    core::ProducerEpoch epoch;
  };
  // Idempotent producers get a fresh id; transactional ones keep their id and get
  // the next epoch, which fences the previous holder and aborts its open
  // transaction.
  core::Result<ProducerIdentity> init_producer_id(int at, const std::optional<std::string>& txn_id,
                                                  core::Duration txn_timeout);
  core::Result<> add_partitions_to_txn(int at, const std::string& txn_id, ProducerIdentity who,
                                       const std::vector<core::TopicPartition>& partitions);
  core::Result<> txn_offset_commit(int at, const std::string& txn_id, ProducerIdentity who,
                                   const core::GroupMetadata& group,
                                   const std::vector<core::TopicPartitionOffset>& offsets);
  core::Result<> end_txn(int at, const std::string& txn_id, ProducerIdentity who, bool commit);

  // True while an open transaction carries offsets of `group` for `tp`.
  [[nodiscard]] bool has_pending_txn_offsets(const std::string& group,
                                             const core::TopicPartition& tp) const;

  // History: off until enabled, then on for good. `recording()` is null while off.
  void enable_history() { recording_ = true; }
  [[nodiscard]] bool history_enabled() const { return recording_; }
  [[nodiscard]] const KafkaHistory& history() const { return history_; }
  [[nodiscard]] KafkaHistory* recording() { return recording_ ? &history_ : nullptr; }

  // Statistics for tests and benchmarks.
  [[nodiscard]] std::uint64_t records_appended() const { return records_appended_; }

 private:
  struct Transaction {
    ProducerIdentity producer{core::ProducerId{-1}, core::ProducerEpoch{-1}};
    bool open = false;
    std::set<core::TopicPartition> partitions;
    std::map<std::string, std::vector<core::TopicPartitionOffset>> pending_offsets;
    core::Duration timeout{};
    sim::EventHandle expiry;
  };

  core::Result<> check_leader(int at, const core::TopicPartition& tp) const;
  core::Result<> check_coordinator(int at, const std::string& key) const;
  core::Result<PartitionLog*> writable(int at, const core::TopicPartition& tp);
  core::Result<> check_transaction(const std::string& txn_id, ProducerIdentity who) const;
  void complete_transaction(const std::string& txn_id, bool commit, std::string_view why);
  void write_marker(const core::TopicPartition& tp, core::ProducerId pid, core::ProducerEpoch epoch,
                    bool commit);
  void arm_expiry(const std::string& txn_id);
  void collect_covered(const core::TopicPartition& tp, core::ProducerId pid,
                       std::vector<LogPosition>& out);
  void trace(std::string_view name, core::Fields fields);

  sim::Kernel& kernel_;
  sim::Network& network_;
  ClusterConfig config_;
  std::vector<sim::NodeId> broker_nodes_;
  std::vector<bool> broker_up_;
  std::map<std::string, std::vector<PartitionLog>> topics_;
  std::map<std::string, Transaction> transactions_;
  std::int64_t next_producer_id_ = 1000;
  std::uint64_t records_appended_ = 0;
  std::unique_ptr<GroupCoordinator> groups_;
  bool recording_ = false;
  KafkaHistory history_{kernel_};
  friend class KafkaHistoryTamper;
};

}  // namespace orderflow::adapters
