#include "adapters/sim_broker/sim_broker.h"

#include "adapters/sim_broker/consumer.h"
#include "adapters/sim_broker/producer.h"

namespace orderflow::adapters {
namespace {

constexpr core::Duration kAdminTimeout = std::chrono::seconds{1};

}  // namespace

std::unique_ptr<core::Producer> SimBroker::make_producer(core::ProducerOptions options) {
  return std::make_unique<SimProducer>(cluster_, client_, std::move(options));
}

std::unique_ptr<core::Consumer> SimBroker::make_consumer(core::ConsumerOptions options,
                                                         core::ConsumerHandler& handler) {
  return std::make_unique<SimConsumer>(cluster_, client_, std::move(options), handler);
}

void SimBroker::create_topics(std::vector<core::TopicSpec> topics, core::Completion done) {
  call<void>(
      cluster_, client_, controller(), kAdminTimeout, alive_,
      [&cluster = cluster_, topics = std::move(topics)]() -> core::Result<> {
        for (const auto& spec : topics) {
          if (auto created = cluster.create_topic(spec); !created) return created;
        }
        return {};
      },
      std::move(done));
}

void SimBroker::partition_count(std::string topic, std::function<void(core::Result<int>)> done) {
  call<int>(
      cluster_, client_, controller(), kAdminTimeout, alive_,
      [&cluster = cluster_, topic = std::move(topic)]() -> core::Result<int> {
        if (auto count = cluster.partition_count(topic)) return *count;
        return core::make_error(core::ErrorKind::kFatal, "unknown_topic_or_partition",
                                "no topic " + topic);
      },
      std::move(done));
}

}  // namespace orderflow::adapters
