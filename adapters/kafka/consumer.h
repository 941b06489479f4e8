// `KafkaConsumer`: the `core::Consumer` port on librdkafka's high-level consumer.
//
// Options map onto `group.id`, `client.id`, `group.instance.id`,
// `auto.offset.reset` (none: `error`), `isolation.level`,
// `partition.assignment.strategy` (`cooperative-sticky` or `range`),
// `session.timeout.ms`, `heartbeat.interval.ms` and `max.poll.interval.ms`;
// offsets are committed only by `commit` (`enable.auto.commit=false`). librdkafka's
// consumer needs a group id even to read assigned partitions, so a consumer made
// without one gets a private group it never joins or commits to.
//
// Threads. A poll thread calls `rd_kafka_consumer_poll`, gathers up to
// `max_records_per_batch` records and posts them to the executor as one
// `on_records` batch, then waits until the executor has run it before polling
// again. When there is nothing to read it still hands the executor a task at
// least every half second and waits for it. So a service whose executor stops
// running tasks stops the polling too, and librdkafka evicts it from the group
// after `max.poll.interval.ms`, as the Java client does when its poll loop stalls. librdkafka runs
// the rebalance callback inside that poll, on the poll thread, and needs
// `rd_kafka_incremental_assign` / `_unassign` (or `assign` for the eager protocol) called before
// the callback returns. So the callback first delivers the records it already polled, then posts
// the handler's callback
// (`on_assigned`, `on_lost` when `rd_kafka_assignment_lost`, else
// `on_revoked_async`) and blocks the poll thread until the executor has run it —
// for a revocation, until the handler calls `done`, so it can first commit what it
// did with the partitions — and only then changes librdkafka's assignment. A
// `SerialWorker` runs the blocking calls (`commit`, `committed`, `watermarks`) and
// posts their outcomes.
//
// Positions. A partition's position is the offset after the last record delivered,
// or where `assign` or `seek` put it; librdkafka's own position, which also steps
// over transaction markers, is taken over when the poll thread finds nothing to
// read and nothing changed since. `pause` and `seek` act at once in librdkafka;
// records of the partition polled before and still on their way to the executor
// are dropped there and fetched again from the position.
//
// Ownership: owned by the service that made it; the handler, the executor and the
// log outlive it. Destroying it cancels every pending callback without leaving
// the group (as a crash would; `close` leaves it) and waits for a blocking call
// in progress to return. Threading: every method is called on the executor; every
// handler callback runs there, never inside a call to the consumer.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/kafka/client.h"
#include "core/ports/broker.h"

namespace orderflow::adapters::kafka {

class KafkaConsumer final : public core::Consumer {
 public:
  // `properties` are applied after those the options map to, so they win.
  KafkaConsumer(Env env, const std::string& bootstrap_servers, const Properties& properties,
                core::ConsumerOptions options, core::ConsumerHandler& handler);
  ~KafkaConsumer() override;
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  void subscribe(std::vector<std::string> topics) override;
  // Replaces the assigned set; no rebalance callbacks in this mode, as in Kafka.
  void assign(std::vector<core::TopicPartitionOffset> partitions) override;
  // Ignored for a partition this consumer does not own.
  void seek(const core::TopicPartitionOffset& position) override;
  void pause(const std::vector<core::TopicPartition>& partitions) override;
  void resume(const std::vector<core::TopicPartition>& partitions) override;

  void commit(std::vector<core::TopicPartitionOffset> offsets, core::Completion done) override;
  void committed(
      std::vector<core::TopicPartition> partitions,
      std::function<void(core::Result<std::vector<core::TopicPartitionOffset>>)> done) override;
  void watermarks(core::TopicPartition partition,
                  std::function<void(core::Result<core::Watermarks>)> done) override;

  [[nodiscard]] std::optional<core::Offset> position(
      const core::TopicPartition& partition) const override;
  [[nodiscard]] core::GroupMetadata group_metadata() const override;

  void close(core::Completion done) override;

 private:
  class Hooks;
  struct Batch;
  struct Positions;
  enum class Mode { kIdle, kSubscribed, kAssigned, kClosing, kClosed };

  struct PartitionState {
    std::optional<core::Offset> next;
    bool paused = false;
    // The value of the change counter after this partition's last seek, pause,
    // resume or assignment; batches and positions read before it are stale.
    std::uint64_t changed_at = 0;
    bool seek_pending = false;  // librdkafka refused the last seek; retried
  };

  // Called on the executor by the poll thread's posts.
  void on_assigned(const std::vector<core::TopicPartition>& partitions);
  void on_revoked(const std::vector<core::TopicPartition>& partitions, std::function<void()> done);
  void on_lost(const std::vector<core::TopicPartition>& partitions);
  void deliver(Batch& batch);
  void take_positions(const Positions& positions);
  // A consumer-level error the consumer goes on after.
  void fail_softly(const core::Error& error);
  // A fatal one: the consumer stops.
  void fail(core::Error error);

  // Moves librdkafka's fetch position to `next`; false when it refused.
  bool seek_to(const core::TopicPartition& tp, core::Offset next);
  void retry_seeks();
  std::uint64_t mark_changed(PartitionState& state);
  [[nodiscard]] bool active() const {
    return mode_ == Mode::kSubscribed || mode_ == Mode::kAssigned;
  }
  template <typename T>
  [[nodiscard]] bool refused(const std::function<void(core::Result<T>)>& done, bool needs_group);
  [[nodiscard]] std::weak_ptr<void> owner() const { return alive_; }

  core::ConsumerOptions options_;
  core::ConsumerHandler& handler_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::unique_ptr<Hooks> hooks_;
  Mode mode_ = Mode::kIdle;
  std::map<core::TopicPartition, PartitionState> partitions_;
  bool seek_retry_scheduled_ = false;
};

}  // namespace orderflow::adapters::kafka
