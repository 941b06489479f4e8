// `KafkaHistory`: what the clients of a simulated cluster did and were told, for
// checking a run against the anomaly classes of Jepsen's Kafka workload
// (sim/checkers/kafka_history.h).
//
// It records, stamped with simulated time:
// - sends: one `SendId` per `SimProducer::send` call, the producer, the partition
//   and the outcome reported to the client (an offset or an error code). The id
//   travels with the record into the partition log (`StoredRecord::send_id`), so a
//   batch that a producer without idempotence retried after a lost
//   acknowledgement shows up as two offsets holding one send id;
// - appends: which offsets each produce request and each transaction marker took;
// - transactions: as the producer saw them end (`TxnEnd`) and as the cluster
//   ended them (`TxnOutcome`: commit or abort, the time its markers were written,
//   and the records it covered);
// - consumers: every record handed to a handler (`kDelivered`), and every change
//   of position after which a consumer may legitimately go back or jump ahead on
//   a partition (assign, seek, rebalance assignment, revocation, loss, offset
//   reset).
// The final log is the cluster's partition logs themselves; `final_records`
// gives the checker each offset's send id, whether it is a marker, and how its
// transaction ended.
//
// Everything is kept in flat vectors of small structs; producers, consumers,
// partitions and error codes are interned as indexes, so a record costs a few
// words and no allocation of its own.
//
//   cluster.enable_history();           // before the clients start
//   ... run ...
//   const KafkaHistory& h = cluster.history();
//
// Ownership: owned by `SimCluster`, which records into it only after
// `enable_history()`; clients reach it through `SimCluster::recording()`.
// Threading: the simulator's one thread.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ports/broker.h"
#include "sim/kernel.h"

namespace orderflow::adapters {

struct PartitionLog;
class SimCluster;

// One `send` call. Zero: unknown (the record was produced while history was off,
// or not by a `SimProducer`).
using SendId = std::uint64_t;
inline constexpr SendId kNoSend = 0;

// Interned partitions, producers and consumers.
using TpIndex = std::uint32_t;
inline constexpr TpIndex kNoTp = std::numeric_limits<TpIndex>::max();
using ClientIndex = std::uint32_t;

struct ProducerInfo {
  std::string client_id;
  std::optional<std::string> transactional_id;
  std::uint32_t incarnation = 0;  // producer objects with this client id made before it
  bool idempotent = false;
};

enum class SendStatus : std::uint8_t { kPending, kAcked, kFailed };

struct SendEvent {
  SendId id = kNoSend;
  ClientIndex producer = 0;
  TpIndex tp = kNoTp;     // kNoTp: refused before a partition was chosen
  std::uint32_t txn = 0;  // the producer's transaction serial (from 1); 0: none
  SendStatus status = SendStatus::kPending;
  core::Offset offset{-1};  // when acknowledged
  std::uint32_t error = 0;  // when failed: for `string()`
  core::Timestamp sent_at{};
  core::Timestamp reported_at{};
};

// Offsets a produce request or a marker took, in the order they were appended.
struct Append {
  TpIndex tp = kNoTp;
  core::Offset first;
  std::uint32_t count = 0;
  core::Timestamp at{};
};

// A transaction's end as its producer was told.
struct TxnEnd {
  ClientIndex producer = 0;
  std::uint32_t txn = 0;
  bool commit = false;  // what the producer asked for
  bool ok = false;      // whether it was told the request succeeded
  core::Timestamp at{};
};

struct LogPosition {
  TpIndex tp = kNoTp;
  core::Offset offset;
};

// A transaction's end as the cluster wrote it.
struct TxnOutcome {
  std::uint32_t transactional_id = 0;  // for `string()`
  core::ProducerId producer_id{-1};
  core::ProducerEpoch epoch{-1};
  bool commit = false;
  core::Timestamp at{};             // when its markers were written
  std::uint32_t first_covered = 0;  // its records: `covered(outcome)`
  std::uint32_t covered_count = 0;
};

struct ConsumerInfo {
  std::string client_id;
  std::string group;
  std::uint32_t incarnation = 0;  // consumer objects with this client id made before it
  core::IsolationLevel isolation = core::IsolationLevel::kReadCommitted;
  bool subscribed = false;  // a group member rather than a reader of assigned partitions
};

enum class ConsumerEventKind : std::uint8_t {
  kDelivered,          // a record handed to the handler
  kAssigned,           // `assign` (offset: the position asked for)
  kSought,             // `seek` (offset: the position asked for)
  kRebalanceAssigned,  // given by a rebalance; the position is resolved later
  kRevoked,
  kLost,
  kOffsetReset,  // `offset_out_of_range`: auto_offset_reset applies
};

[[nodiscard]] constexpr bool is_position_reset(ConsumerEventKind kind) {
  return kind != ConsumerEventKind::kDelivered;
}

struct ConsumerEvent {
  ClientIndex consumer = 0;
  TpIndex tp = kNoTp;
  ConsumerEventKind kind = ConsumerEventKind::kDelivered;
  core::Offset offset{-1};
  SendId send = kNoSend;  // deliveries only
  core::Timestamp at{};
};

enum class TxnStatus : std::uint8_t { kNone, kOpen, kCommitted, kAborted };

// One offset of a final partition log.
struct FinalRecord {
  core::Offset offset;
  SendId send = kNoSend;
  core::ProducerId producer_id{-1};
  bool control = false;
  bool transactional = false;
  // For a transactional record, how the first marker of its producer after it
  // ended the transaction (kOpen: no marker yet); for a marker, which one it is.
  TxnStatus status = TxnStatus::kNone;
};

// `log`'s records from its log start on, with their transactions' outcomes.
[[nodiscard]] std::vector<FinalRecord> final_records(const PartitionLog& log);

class KafkaHistory {
 public:
  explicit KafkaHistory(const sim::Kernel& kernel) : kernel_(kernel) {}

  // Recording, by the cluster and its clients.
  [[nodiscard]] TpIndex intern(const core::TopicPartition& tp);
  [[nodiscard]] ClientIndex add_producer(const core::ProducerOptions& options);
  [[nodiscard]] SendId record_send(ClientIndex producer, TpIndex tp, std::uint32_t txn);
  void record_reported(SendId id, const core::Result<core::RecordMetadata>& result);
  void record_txn_end(ClientIndex producer, std::uint32_t txn, bool commit, bool ok);
  void record_append(TpIndex tp, core::Offset first, std::size_t count);
  void record_txn_outcome(std::string_view transactional_id, core::ProducerId producer_id,
                          core::ProducerEpoch epoch, bool commit,
                          std::span<const LogPosition> covered);
  [[nodiscard]] ClientIndex add_consumer(const core::ConsumerOptions& options, bool subscribed);
  void mark_subscribed(ClientIndex consumer) { consumers_[consumer].subscribed = true; }
  void record_delivery(ClientIndex consumer, TpIndex tp, core::Offset offset, SendId send);
  void record_reset(ClientIndex consumer, TpIndex tp, ConsumerEventKind kind,
                    core::Offset offset = core::Offset{-1});

  // Reading, by checkers.
  [[nodiscard]] bool empty() const;
  [[nodiscard]] const std::vector<core::TopicPartition>& partitions() const { return tps_; }
  [[nodiscard]] const core::TopicPartition& partition(TpIndex tp) const { return tps_[tp]; }
  [[nodiscard]] std::optional<TpIndex> find(const core::TopicPartition& tp) const;
  [[nodiscard]] const std::string& string(std::uint32_t index) const { return strings_[index]; }
  [[nodiscard]] const std::vector<ProducerInfo>& producers() const { return producers_; }
  [[nodiscard]] const std::vector<ConsumerInfo>& consumers() const { return consumers_; }
  // Sends in `send` order; `sends()[id - 1].id == id`.
  [[nodiscard]] const std::vector<SendEvent>& sends() const { return sends_; }
  [[nodiscard]] const SendEvent* send(SendId id) const;
  [[nodiscard]] const std::vector<Append>& appends() const { return appends_; }
  [[nodiscard]] const std::vector<TxnEnd>& txn_ends() const { return txn_ends_; }
  [[nodiscard]] const std::vector<TxnOutcome>& txn_outcomes() const { return txn_outcomes_; }
  [[nodiscard]] std::span<const LogPosition> covered(const TxnOutcome& outcome) const;
  // Deliveries and position resets of every consumer, in the order they happened.
  [[nodiscard]] const std::vector<ConsumerEvent>& consumer_events() const {
    return consumer_events_;
  }

 private:
  friend class KafkaHistoryTamper;

  [[nodiscard]] std::uint32_t intern_string(std::string_view s);
  [[nodiscard]] core::Timestamp now() const { return kernel_.now(); }

  const sim::Kernel& kernel_;
  std::vector<core::TopicPartition> tps_;
  std::map<core::TopicPartition, TpIndex> tp_index_;
  std::vector<std::string> strings_{std::string{}};  // index 0: the empty string
  std::map<std::string, std::uint32_t, std::less<>> string_index_;
  std::map<std::string, std::uint32_t, std::less<>> producer_incarnations_;
  std::map<std::string, std::uint32_t, std::less<>> consumer_incarnations_;
  std::vector<ProducerInfo> producers_;
  std::vector<ConsumerInfo> consumers_;
  std::vector<SendEvent> sends_;
  std::vector<Append> appends_;
  std::vector<TxnEnd> txn_ends_;
  std::vector<TxnOutcome> txn_outcomes_;
  std::vector<LogPosition> covered_;
  std::vector<ConsumerEvent> consumer_events_;
};

// `KafkaHistoryTamper`: for tests only. Corrupts a recorded history or a
// partition log in ways a correct cluster never does, to show that the checker
// notices. Never used by the simulator itself.
class KafkaHistoryTamper {
 public:
  static std::vector<SendEvent>& sends(KafkaHistory& h) { return h.sends_; }
  static std::vector<ConsumerInfo>& consumers(KafkaHistory& h) { return h.consumers_; }
  static std::vector<ConsumerEvent>& consumer_events(KafkaHistory& h) { return h.consumer_events_; }
  static std::vector<TxnOutcome>& txn_outcomes(KafkaHistory& h) { return h.txn_outcomes_; }
  static std::vector<TxnEnd>& txn_ends(KafkaHistory& h) { return h.txn_ends_; }
  // The partition log itself; must exist.
  static PartitionLog& log(SimCluster& cluster, const core::TopicPartition& tp);
};

}  // namespace orderflow::adapters
