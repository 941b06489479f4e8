#include "services/instances.h"

#include <map>

#include "core/sim_hooks.h"
#include "services/orders/command_processor.h"
#include "services/topics.h"

namespace orderflow::services {
namespace {

std::unique_ptr<core::StreamsRuntime> make_runtime(const InstanceEnv& env, std::string application,
                                                   std::vector<core::SubTopology> topologies) {
  core::StreamsConfig config{.application_id = std::move(application),
                             .instance_id = env.instance_id,
                             .topologies = std::move(topologies),
                             .guarantee = env.guarantee,
                             .wall_clock_punctuation = std::chrono::milliseconds{100},
                             .session_timeout = env.session_timeout,
                             .heartbeat_interval = env.session_timeout / 3,
                             .metrics = env.metrics};
  auto runtime = std::make_unique<core::StreamsRuntime>(env.broker, env.scheduler, env.clock,
                                                        env.log, env.stores, config);
  runtime->start();
  return runtime;
}

}  // namespace

std::vector<core::TopicSpec> service_topics(int partitions) {
  std::vector<core::TopicSpec> topics;
  for (const char* name : {kOrderCommands, kOrderEvents, kOrderOutcomes, kShipmentEvents,
                           kShippingCommands, kStockEvents}) {
    topics.push_back({name, partitions, 3, false});
    topics.push_back({std::string(name) + ".dlq", 1, 3, false});
  }
  for (const char* name : {kStockRequests, kStockCommands}) {
    topics.push_back({name, 1, 3, false});
    topics.push_back({std::string(name) + ".dlq", 1, 3, false});
  }
  return topics;
}

// The canary kNonIdempotentRetries drops idempotence from the command producer, which
// still retries: a lost acknowledgement then stores a command twice.
std::vector<core::TopicSpec> changelog_topics(int partitions,
                                              const std::vector<std::string>& query_instances) {
  std::map<std::string, int> partitions_of;
  for (const auto& t : service_topics(partitions)) partitions_of[t.name] = t.partitions;
  std::vector<core::TopicSpec> topics;
  const auto add = [&](const std::string& application, const core::SubTopology& topology) {
    for (const auto& store : topology.stores) {
      topics.push_back({application + "-" + store + "-changelog",
                        partitions_of[topology.source_topics.front()], 3, true});
    }
  };
  add("orders", order_command_topology());
  add("shipping", shipment_topology());
  add("shipping", stock_topology());
  ProjectionWatch watch;
  for (const auto& instance : query_instances) add("query-" + instance, projection_topology(watch));
  return topics;
}

OrdersInstance::OrdersInstance(const InstanceEnv& env)
    : producer_(env.broker.make_producer(
          {.client_id = env.instance_id + "-api",
           .idempotent = !core::hooks::canary(core::hooks::Canary::kNonIdempotentRetries)})) {
  outcomes_.start(env.broker);
  api_ = std::make_unique<OrdersApi>(*producer_, outcomes_, env.clock, env.log);
  runtime_ = make_runtime(env, "orders", {order_command_topology()});
}

ShippingInstance::ShippingInstance(const InstanceEnv& env, ShippingTimings timings)
    : runtime_(make_runtime(env, "shipping", {shipment_topology(timings), stock_topology()})) {}

QueryInstance::QueryInstance(const InstanceEnv& env, int partitions) {
  auto stores = env.stores;
  api_ = std::make_unique<QueryApi>(
      [stores](const std::string& name, int p) -> const core::StateStore& {
        return stores(name, core::Partition{p});
      },
      partitions, watch_, env.scheduler);
  // Every query instance keeps the whole model: a group of its own.
  runtime_ = make_runtime(env, "query-" + env.instance_id, {projection_topology(watch_)});
}

}  // namespace orderflow::services
