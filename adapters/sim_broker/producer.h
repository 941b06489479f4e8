// `SimProducer`: the `core::Producer` port as a client of the simulated cluster.
//
// It behaves like the Kafka producer where behaviour is observable: records are
// batched per partition, up to `max_in_flight` batches per partition are in flight
// at once, and failed batches are retried until the delivery timeout.
// - Without idempotence a retry is a new append: a lost acknowledgement duplicates
//   a batch and a retry behind a later batch reorders them.
// - With idempotence (producer id, epoch, per-partition sequence) the broker
//   answers a retried batch with its original offset, and batches of a partition
//   are resent in sequence order, so neither happens.
// - Transactions: partitions join on their first send; commit waits for every
//   delivery; a newer producer with the same transactional id fences this one.
//
// Ownership: owned by the service instance that made it; destroying it cancels
// every pending callback. Threading: its process's executor.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "adapters/sim_broker/cluster.h"
#include "adapters/sim_broker/rpc.h"
#include "core/ports/broker.h"

namespace orderflow::adapters {

class SimProducer final : public core::Producer {
 public:
  SimProducer(SimCluster& cluster, ClientEndpoint client, core::ProducerOptions options);
  ~SimProducer() override;

  void send(core::ProducerRecord record, core::DeliveryReport on_delivery) override;
  void flush(core::Completion done) override;
  void init_transactions(core::Completion done) override;
  core::Result<> begin_transaction() override;
  void send_offsets_to_transaction(std::vector<core::TopicPartitionOffset> offsets,
                                   core::GroupMetadata group, core::Completion done) override;
  void commit_transaction(core::Completion done) override;
  void abort_transaction(core::Completion done) override;

 private:
  enum class State {
    kUninitialized,
    kInitializing,
    kReady,
    kInTransaction,
    kCommitting,
    kAborting,
    kAbortableError,
    kFenced,
  };

  struct Batch {
    core::TopicPartition tp;
    std::int32_t first_sequence = -1;
    std::shared_ptr<std::vector<core::ProducerRecord>> records =
        std::make_shared<std::vector<core::ProducerRecord>>();
    std::shared_ptr<std::vector<SendId>> send_ids;  // only while history is recorded
    std::vector<core::DeliveryReport> reports;
    core::Timestamp deadline;
    bool in_flight = false;
    bool done = false;
  };

  struct Waiting {
    core::ProducerRecord record;
    core::DeliveryReport report;
    SendId send_id = kNoSend;
  };

  struct Queue {
    std::deque<Waiting> waiting;
    std::deque<std::shared_ptr<Batch>> unacked;  // in sequence order
    std::int32_t next_sequence = 0;
    bool drain_posted = false;
    bool resend_scheduled = false;
    TpIndex history_tp = kNoTp;  // interned once history is on
  };

  [[nodiscard]] bool transactional() const { return options_.transactional_id.has_value(); }
  [[nodiscard]] bool idempotent() const { return options_.idempotent || transactional(); }
  [[nodiscard]] std::weak_ptr<void> owner() const { return alive_; }
  [[nodiscard]] core::Scheduler& scheduler() { return client_.process->scheduler(); }
  [[nodiscard]] core::Timestamp now() const { return cluster_.kernel().now(); }

  std::optional<core::Partition> choose_partition(const core::ProducerRecord& record);
  // History: records a send on `tp` (kNoTp: refused before a partition was
  // chosen) and returns its id; kNoSend while the cluster records none.
  SendId note_send(TpIndex tp);
  // Runs a delivery report, recording the outcome of send `id` first.
  void deliver(const core::DeliveryReport& report, SendId id,
               core::Result<core::RecordMetadata> result);
  [[nodiscard]] static SendId send_id_of(const Batch& batch, std::size_t i) {
    return batch.send_ids ? (*batch.send_ids)[i] : kNoSend;
  }
  void post_drain(const core::TopicPartition& tp);
  bool ready_to_send(const core::TopicPartition& tp);
  void drain(const core::TopicPartition& tp);
  void send_batch(const std::shared_ptr<Batch>& batch);
  void on_produce_reply(const std::shared_ptr<Batch>& batch, core::Result<core::Offset> result);
  void schedule_resend(const core::TopicPartition& tp);
  void resend_unacked(const core::TopicPartition& tp);
  void complete(Batch& batch, core::Offset base);
  void fail(Batch& batch, const core::Error& error);
  void fail_everything(const core::Error& error);
  void record_reported(std::size_t count);
  void acquire_identity();
  void add_partition(const core::TopicPartition& tp);
  void after_flush(std::function<void()> then);
  void end_transaction(bool commit, core::Completion done);
  void enter_fenced(const core::Error& error);

  // A coordinator request retried on retriable errors until `deadline`.
  template <typename T>
  void coordinator_call(std::function<core::Result<T>(int broker)> handle, core::Timestamp deadline,
                        std::function<void(core::Result<T>)> done);

  SimCluster& cluster_;
  ClientEndpoint client_;
  core::ProducerOptions options_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  State state_ = State::kUninitialized;
  std::optional<SimCluster::ProducerIdentity> identity_;
  bool identity_requested_ = false;
  std::optional<core::Error> txn_error_;
  std::map<core::TopicPartition, Queue> queues_;
  std::set<core::TopicPartition> txn_partitions_;
  std::set<core::TopicPartition> adding_;
  std::size_t outstanding_ = 0;  // records sent whose report has not run yet
  std::vector<std::function<void()>> flush_waiters_;
  std::map<std::string, std::int32_t> sticky_;  // keyless records: partition per topic
  // History: this producer's index once it recorded anything, and the serial of
  // its current transaction.
  std::optional<ClientIndex> history_id_;
  std::uint32_t txn_serial_ = 0;
};

}  // namespace orderflow::adapters
