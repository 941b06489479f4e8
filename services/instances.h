// The service instances: each service's runtime, producer, tables and HTTP API
// wired to the ports of the host they run in — a simulated process or a real one.
//
//   OrdersInstance orders({.broker = b, .scheduler = s, .clock = c, .log = l,
//                          .stores = provider, .instance_id = "orders-1"});
//   host.serve_http(&orders.http());
//
// Topics are created beforehand (`service_topics`). Ownership: an instance owns
// what it builds and borrows the environment; destroying it stops everything.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/ports/broker.h"
#include "core/streams/streams.h"
#include "services/orders/http_api.h"
#include "services/query/http_api.h"
#include "services/query/projections.h"
#include "services/shipping/shipping.h"

namespace orderflow::services {

struct InstanceEnv {
  core::Broker& broker;
  core::Scheduler& scheduler;
  core::Clock& clock;
  core::Log& log;
  core::StoreProvider stores;
  std::string instance_id;
  core::Guarantee guarantee = core::Guarantee::kExactlyOnce;
  core::Duration session_timeout = std::chrono::seconds{6};
  core::Metrics* metrics = nullptr;  // a deployment's registry; none in simulation
};

// Every topic the services use, with `partitions` partitions (the stock keeper's
// topics have one).
[[nodiscard]] std::vector<core::TopicSpec> service_topics(int partitions);

// The changelog topics the services' runtimes create, for clusters where topics are
// made beforehand: orders and shipping, and query for each of `query_instances`.
[[nodiscard]] std::vector<core::TopicSpec> changelog_topics(
    int partitions, const std::vector<std::string>& query_instances);

class OrdersInstance {
 public:
  explicit OrdersInstance(const InstanceEnv& env);
  [[nodiscard]] core::HttpHandler& http() { return *api_; }
  [[nodiscard]] const core::StreamsRuntime& runtime() const { return *runtime_; }
  [[nodiscard]] core::StreamsRuntime& runtime() { return *runtime_; }

 private:
  std::unique_ptr<core::Producer> producer_;
  OutcomeTable outcomes_;
  std::unique_ptr<OrdersApi> api_;
  std::unique_ptr<core::StreamsRuntime> runtime_;
};

class ShippingInstance {
 public:
  explicit ShippingInstance(const InstanceEnv& env, ShippingTimings timings = {});
  [[nodiscard]] const core::StreamsRuntime& runtime() const { return *runtime_; }
  [[nodiscard]] core::StreamsRuntime& runtime() { return *runtime_; }

 private:
  std::unique_ptr<core::StreamsRuntime> runtime_;
};

class QueryInstance {
 public:
  QueryInstance(const InstanceEnv& env, int partitions);
  [[nodiscard]] core::HttpHandler& http() { return *api_; }
  [[nodiscard]] const ProjectionWatch& watch() const { return watch_; }
  [[nodiscard]] const core::StreamsRuntime& runtime() const { return *runtime_; }
  [[nodiscard]] core::StreamsRuntime& runtime() { return *runtime_; }

 private:
  ProjectionWatch watch_;
  std::unique_ptr<QueryApi> api_;
  std::unique_ptr<core::StreamsRuntime> runtime_;
};

}  // namespace orderflow::services
