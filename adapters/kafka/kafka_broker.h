// `KafkaBroker`: the `core::Broker` port on librdkafka, for one service instance.
//
// It makes `KafkaProducer`s and `KafkaConsumer`s (see producer.h, consumer.h)
// connected to `bootstrap_servers`, creates topics with the admin API and reads
// partition counts from metadata.
//
//   asio::AsioScheduler scheduler(executor);  // post() is thread-safe
//   KafkaBroker broker({.bootstrap_servers = "kafka-1:9092,kafka-2:9092",
//                       .properties = {{"security.protocol", "SSL"}},
//                       .executor = &scheduler,
//                       .log = &log});
//
// Threading model: the port's users are single-threaded on `executor`. librdkafka
// runs threads of its own, and every client adds a poll thread and a worker for
// blocking calls; whatever those learn is posted to `executor`, so every callback
// into a port user runs there, never inside the call that caused it. Hence the one
// requirement on the executor: its `post` must be safe to call from any thread
// (`asio::AsioScheduler` guarantees it). Every method of the broker and of the
// clients it makes is called on the executor.
//
// Ownership: owned by the service graph; `executor`, `log` and `embedded` must
// outlive it and every client it made. Destroying it cancels pending callbacks of
// its own calls; the clients live on.
#pragma once

#include <memory>
#include <string>

#include "adapters/kafka/client.h"
#include "core/ports/broker.h"
#include "core/ports/log.h"
#include "core/ports/scheduler.h"

namespace orderflow::adapters::kafka {

class EmbeddedCluster;

struct KafkaBrokerConfig {
  std::string bootstrap_servers;
  // librdkafka properties passed through to every client (TLS, SASL, tuning),
  // applied after those the port's options map to, so they win.
  Properties properties;
  core::Scheduler* executor = nullptr;  // required; see the threading model above
  core::Log* log = nullptr;             // optional: librdkafka's log lines and client errors
  // When set, topics are created on this cluster directly: librdkafka's mock
  // cluster answers no CreateTopics request.
  EmbeddedCluster* embedded = nullptr;
  std::string client_id = "orderflow-admin";  // of the admin client
};

class KafkaBroker final : public core::Broker {
 public:
  explicit KafkaBroker(KafkaBrokerConfig config);
  ~KafkaBroker() override;
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;

  [[nodiscard]] std::unique_ptr<core::Producer> make_producer(
      core::ProducerOptions options) override;
  [[nodiscard]] std::unique_ptr<core::Consumer> make_consumer(
      core::ConsumerOptions options, core::ConsumerHandler& handler) override;
  void create_topics(std::vector<core::TopicSpec> topics, core::Completion done) override;
  void partition_count(std::string topic, std::function<void(core::Result<int>)> done) override;

 private:
  class Admin;

  [[nodiscard]] Env env(const std::string& client_id) const;

  KafkaBrokerConfig config_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::unique_ptr<Admin> admin_;
};

}  // namespace orderflow::adapters::kafka
