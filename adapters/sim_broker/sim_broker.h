// `SimBroker`: the `core::Broker` port for one simulated process.
//
// Each service instance gets its own `SimBroker`, bound to the process it runs in
// and that process's network node; the producers and consumers it makes talk to
// the shared `SimCluster` over the simulated network.
//
// Ownership: owned by the process's service graph; the cluster outlives it.
// Threading: the process's executor.
#pragma once

#include "adapters/sim_broker/cluster.h"
#include "adapters/sim_broker/rpc.h"
#include "core/ports/broker.h"

namespace orderflow::adapters {

class SimBroker final : public core::Broker {
 public:
  SimBroker(SimCluster& cluster, ClientEndpoint client) : cluster_(cluster), client_(client) {}

  [[nodiscard]] std::unique_ptr<core::Producer> make_producer(
      core::ProducerOptions options) override;
  [[nodiscard]] std::unique_ptr<core::Consumer> make_consumer(
      core::ConsumerOptions options, core::ConsumerHandler& handler) override;
  void create_topics(std::vector<core::TopicSpec> topics, core::Completion done) override;
  void partition_count(std::string topic, std::function<void(core::Result<int>)> done) override;

 private:
  // Admin requests go to the controller: the first live broker of a fixed order.
  [[nodiscard]] int controller() const { return cluster_.coordinator_of("__controller"); }

  SimCluster& cluster_;
  ClientEndpoint client_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace orderflow::adapters
