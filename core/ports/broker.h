// `Broker`: Kafka client semantics as a port.
//
// It mirrors what a Kafka client offers rather than hiding it, so that the same
// service code meets the same duplicates, rebalances and fencing in the simulator
// (adapters/sim_broker) and in production (adapters/kafka, on librdkafka).
//
// Threading: every callback a `Producer` or `Consumer` makes runs on the executor
// of the instance that created it (see scheduler.h), never inside the call that
// caused it: `send` returns before its delivery report arrives. Objects are owned
// by the caller; destroying one cancels its pending callbacks (they never run).
//
// Errors: calls that complete asynchronously report a `Result` to their
// callback; see error.h for what each `ErrorKind` asks of the caller.
//
//   auto producer = broker.make_producer({.client_id = "orders-1",
//                                          .transactional_id = "orders-1"});
//   producer->init_transactions([&](Result<> r) { ... begin, send, commit ... });
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ports/error.h"
#include "core/strong.h"
#include "core/time.h"

namespace orderflow::core {

struct TopicPartition {
  std::string topic;
  Partition partition;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

struct TopicPartitionOffset {
  TopicPartition tp;
  Offset offset;  // for commits: the next offset to read, as in Kafka
  friend auto operator<=>(const TopicPartitionOffset&, const TopicPartitionOffset&) = default;
};

struct Header {
  std::string key;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};

struct ProducerRecord {
  std::string topic;
  std::optional<std::string> key;    // partitioned by murmur2 of the key when present
  std::optional<std::string> value;  // no value: a tombstone on a compacted topic
  std::vector<Header> headers;
  std::optional<Partition> partition;  // overrides the partitioner when set
};

struct ConsumerRecord {
  TopicPartition tp;
  Offset offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<Header> headers;
  Timestamp timestamp;  // producer create time
};

// What a delivery report says of a record the broker accepted.
struct RecordMetadata {
  TopicPartition tp;
  Offset offset;
};

using Completion = std::function<void(Result<>)>;
using DeliveryReport = std::function<void(Result<RecordMetadata>)>;

enum class Acks { kLeader, kAll };

struct ProducerOptions {
  std::string client_id;
  bool idempotent = true;
  // Set to use transactions; implies idempotence. Instances that share an id fence
  // each other: `init_transactions` of the newer one bumps the epoch.
  std::optional<std::string> transactional_id;
  Acks acks = Acks::kAll;
  int max_in_flight = 5;
  // How long a partition's records wait to fill a batch (Kafka's linger.ms).
  Duration linger = std::chrono::milliseconds{5};
  Duration delivery_timeout = std::chrono::seconds{30};
  Duration transaction_timeout = std::chrono::seconds{60};
};

// A consumer group member's identity at a point in time, for fencing offsets sent
// within a transaction (KIP-447).
struct GroupMetadata {
  std::string group_id;
  Generation generation;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  friend bool operator==(const GroupMetadata&, const GroupMetadata&) = default;
};

// `Producer`: one per service instance.
//
// Ordering: records sent to one partition are appended in send order when the
// producer is idempotent; without idempotence, a retried batch can land after a
// later one (and a lost acknowledgement followed by a retry duplicates it).
// Delivery reports for one partition arrive in offset order.
//
// Transactions: `init_transactions` once; then per unit of work `begin_transaction`,
// any number of `send`s, optionally `send_offsets_to_transaction`, and
// `commit_transaction` or `abort_transaction`. Partitions join the transaction on
// their first send. A call out of this order fails with kFatal. After kAbortable,
// abort and start again; after kFenced, destroy the producer.
class Producer {
 public:
  virtual ~Producer() = default;

  // The record is owned by the producer from here on. Exactly one report follows.
  virtual void send(ProducerRecord record, DeliveryReport on_delivery) = 0;
  // Completes when every record sent so far has its delivery report.
  virtual void flush(Completion done) = 0;

  virtual void init_transactions(Completion done) = 0;
  virtual Result<> begin_transaction() = 0;
  virtual void send_offsets_to_transaction(std::vector<TopicPartitionOffset> offsets,
                                           GroupMetadata group, Completion done) = 0;
  virtual void commit_transaction(Completion done) = 0;
  virtual void abort_transaction(Completion done) = 0;
};

enum class OffsetReset { kEarliest, kLatest, kNone };
enum class IsolationLevel { kReadUncommitted, kReadCommitted };
enum class AssignmentStrategy { kEagerRange, kCooperativeSticky };

struct ConsumerOptions {
  std::string group_id;
  std::string client_id;
  std::optional<std::string> group_instance_id;  // static membership when set
  OffsetReset auto_offset_reset = OffsetReset::kEarliest;
  IsolationLevel isolation = IsolationLevel::kReadCommitted;
  AssignmentStrategy strategy = AssignmentStrategy::kCooperativeSticky;
  Duration session_timeout = std::chrono::seconds{10};
  Duration heartbeat_interval = std::chrono::seconds{3};
  Duration max_poll_interval = std::chrono::minutes{5};
  int max_records_per_batch = 500;
};

// `ConsumerHandler`: what a consumer tells its owner. Implemented by the service.
//
// Rebalance protocol: `on_revoked` runs before partitions move away while this
// member can still commit for them; `on_lost` runs instead when the member was
// already evicted (session timeout, fencing) and must not commit; `on_assigned`
// runs before any record of a newly assigned partition is delivered. With the
// eager strategy every rebalance revokes everything first; with
// cooperative-sticky only the partitions that move are revoked.
//
// Records: `on_records` delivers a batch in offset order per partition; records
// of one partition are never delivered out of order or twice within one
// assignment, but after a rebalance or restart delivery resumes at the committed
// offset, so records after it are delivered again.
class ConsumerHandler {
 public:
  virtual ~ConsumerHandler() = default;

  virtual void on_assigned(const std::vector<TopicPartition>& partitions) = 0;
  virtual void on_revoked(const std::vector<TopicPartition>& partitions) = 0;
  // The asynchronous form of `on_revoked`, which consumers call: the consumer
  // gives the partitions up (rejoins the group) only once `done` has run, so the
  // handler can first finish committing what it did with them — as a Kafka
  // client's revocation callback holds up its poll loop. The default calls
  // `on_revoked` and is done at once.
  virtual void on_revoked_async(const std::vector<TopicPartition>& partitions,
                                std::function<void()> done) {
    on_revoked(partitions);
    done();
  }
  virtual void on_lost(const std::vector<TopicPartition>& partitions) = 0;
  virtual void on_records(const std::vector<ConsumerRecord>& records) = 0;
  // A consumer-level error that is not tied to one call (for example the broker
  // unreachable for long); kFatal means the consumer stopped.
  virtual void on_error(const Error& error) = 0;
};

struct Watermarks {
  Offset low;   // first offset still in the log
  Offset high;  // high watermark: one past the last replicated record
};

// `Consumer`: a member of one consumer group (after `subscribe`), or a
// group-less reader of explicit partitions (after `assign`, used to restore state
// from changelogs). Not both.
class Consumer {
 public:
  virtual ~Consumer() = default;

  // Joins the group; assignment arrives through the handler.
  virtual void subscribe(std::vector<std::string> topics) = 0;
  // Reads the given partitions from the given offsets, outside any group.
  virtual void assign(std::vector<TopicPartitionOffset> partitions) = 0;
  virtual void seek(const TopicPartitionOffset& position) = 0;

  // Stops / restarts delivery for partitions without leaving the group.
  virtual void pause(const std::vector<TopicPartition>& partitions) = 0;
  virtual void resume(const std::vector<TopicPartition>& partitions) = 0;

  // Commits next-offsets to read outside a transaction (at-least-once mode).
  virtual void commit(std::vector<TopicPartitionOffset> offsets, Completion done) = 0;
  virtual void committed(std::vector<TopicPartition> partitions,
                         std::function<void(Result<std::vector<TopicPartitionOffset>>)> done) = 0;
  virtual void watermarks(TopicPartition partition,
                          std::function<void(Result<Watermarks>)> done) = 0;

  // The next offset this consumer will fetch from an assigned partition (past any
  // transaction markers it skipped); empty before the position is known.
  [[nodiscard]] virtual std::optional<Offset> position(const TopicPartition& partition) const = 0;

  // The member's current identity; valid once a partition has been assigned.
  [[nodiscard]] virtual GroupMetadata group_metadata() const = 0;

  // Leaves the group (revoking the assignment first) and stops all callbacks
  // once `done` has run.
  virtual void close(Completion done) = 0;
};

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = 1;
  bool compacted = false;
};

// `Broker`: the cluster as one service instance reaches it; makes the clients.
class Broker {
 public:
  virtual ~Broker() = default;

  [[nodiscard]] virtual std::unique_ptr<Producer> make_producer(ProducerOptions options) = 0;
  // `handler` must outlive the consumer.
  [[nodiscard]] virtual std::unique_ptr<Consumer> make_consumer(ConsumerOptions options,
                                                                ConsumerHandler& handler) = 0;
  // Creating a topic that exists with the same partition count succeeds.
  virtual void create_topics(std::vector<TopicSpec> topics, Completion done) = 0;
  virtual void partition_count(std::string topic, std::function<void(Result<int>)> done) = 0;
};

}  // namespace orderflow::core
