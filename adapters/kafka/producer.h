// `KafkaProducer`: the `core::Producer` port on a librdkafka producer.
//
// Options map onto librdkafka's properties: `acks`,
// `max.in.flight.requests.per.connection`, `linger.ms`, `message.timeout.ms`
// (delivery timeout), `transaction.timeout.ms`, `client.id`, `transactional.id`,
// and `enable.idempotence` (implied by a transactional id). Keyed records go
// through `partitioner=murmur2_random`, which places a key where
// `core::partition_for_key` and the Java client do.
//
// Threads: a poll thread serves librdkafka's main queue, where delivery reports
// and client errors arrive as events (so that librdkafka's own flush inside
// `commit_transaction` waits for this thread instead of serving reports itself,
// and reports of a partition keep their order), and posts every report to the
// executor. A `SerialWorker` runs the blocking transactional calls (init, send
// offsets, commit, abort) one at a time and posts their completions. `send` and
// `begin_transaction` run on the executor without blocking.
//
// Ownership: owned by the service instance that made it; the executor and the log
// outlive it. Destroying it cancels every pending callback; it waits for a
// transactional call in progress to return (bounded by the delivery timeout).
// Threading: every method is called on the executor; every callback runs there.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/kafka/client.h"
#include "adapters/kafka/serial_worker.h"
#include "core/ports/broker.h"

namespace orderflow::adapters::kafka {

class KafkaProducer final : public core::Producer {
 public:
  // `properties` are applied after those the options map to, so they win.
  KafkaProducer(Env env, const std::string& bootstrap_servers, const Properties& properties,
                core::ProducerOptions options);
  ~KafkaProducer() override;
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  void send(core::ProducerRecord record, core::DeliveryReport on_delivery) override;
  void flush(core::Completion done) override;

  void init_transactions(core::Completion done) override;
  core::Result<> begin_transaction() override;
  void send_offsets_to_transaction(std::vector<core::TopicPartitionOffset> offsets,
                                   core::GroupMetadata group, core::Completion done) override;
  void commit_transaction(core::Completion done) override;
  void abort_transaction(core::Completion done) override;

 private:
  class Hooks;
  using TxnCall = std::function<rd_kafka_error_t*(rd_kafka_t*, int timeout_ms)>;

  [[nodiscard]] bool transactional() const { return options_.transactional_id.has_value(); }
  [[nodiscard]] std::weak_ptr<void> owner() const { return alive_; }
  // A failure reported to `done` on the executor, never inside the call.
  void refuse(core::Completion done, core::Error error);
  // Runs `call` on the worker and posts its outcome to `done`.
  void run_txn(TxnCall call, core::Completion done);
  // Delivery reports, from the poll thread by way of the executor.
  void report(std::uint64_t id, core::Result<core::RecordMetadata> result);
  void settle_flushes();

  core::ProducerOptions options_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::unique_ptr<Hooks> hooks_;
  // Reports not yet run, by send id; the id travels with the record as its opaque.
  std::map<std::uint64_t, core::DeliveryReport> reports_;
  std::uint64_t next_id_ = 1;
  // Flushes waiting for every report up to their id.
  std::vector<std::pair<std::uint64_t, core::Completion>> flushes_;
};

}  // namespace orderflow::adapters::kafka
