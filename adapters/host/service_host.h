// `ServiceHost`: one production process running orders, shipping, query or all
// three, on one event-loop thread.
//
// It wires the ports to real adapters — `SystemClock`, `AsioScheduler`,
// `JsonLineLog` on stderr, `MetricsRegistry`, `KafkaBroker`, a RocksDB database per
// service under the state directory (one column family per store and partition)
// — creates the service topics, builds the service instances and serves them with
// an `HttpServer` behind a `HostHandler` (probes, /metrics, routing).
//
//   ServiceHost host({.service = ServiceKind::kAll, .handle_signals = true});
//   return host.run();  // until SIGTERM or SIGINT
//
// Without bootstrap servers and without a shared `cluster`, the host runs an
// `EmbeddedCluster` of its own. Metrics (`orderflow_*`) are refreshed every
// second and before each scrape from each runtime's stats and the query read
// model. A graceful shutdown (a signal or `request_stop`) stops HTTP gracefully,
// closes every streams runtime (each commits or aborts and leaves its group), then
// stops the loop; `run` returns 0. It returns 1 when startup failed or the
// shutdown did not finish within `shutdown_timeout`.
//
// Ownership: owns everything it builds; borrows `cluster`, which must outlive it.
// Threading: `run` is called once and blocks; `request_stop` is safe from any
// thread, also before `run`. Every callback runs on the loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ports/broker.h"
#include "core/ports/error.h"
#include "core/ports/log.h"
#include "core/time.h"

namespace orderflow::adapters::kafka {
class EmbeddedCluster;
}

namespace orderflow::adapters::host {

enum class ServiceKind { kOrders, kShipping, kQuery, kAll };

[[nodiscard]] std::optional<ServiceKind> parse_service_kind(std::string_view name);
[[nodiscard]] std::string_view to_string(ServiceKind kind);

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// `key=value` lines; blank lines and lines starting with `#` are skipped, and
// whitespace around keys and values is trimmed. Fails with kFatal "config_unreadable"
// or "config_bad_line" (naming the file and line).
[[nodiscard]] core::Result<KafkaProperties> load_kafka_properties(
    const std::filesystem::path& file);

struct ServiceHostOptions {
  ServiceKind service = ServiceKind::kAll;
  std::string bootstrap_servers;  // empty: `cluster`, or an embedded cluster of the host's own
  KafkaProperties properties;     // librdkafka properties for every client
  kafka::EmbeddedCluster* cluster = nullptr;
  int embedded_brokers = 3;
  std::string http_address = "127.0.0.1";
  std::uint16_t http_port = 0;      // 0: an ephemeral port
  std::filesystem::path state_dir;  // empty: a temporary directory, removed by `run`
  std::string instance_id;          // empty: "<service>-1"
  int partitions = 3;
  // Records produced once the topics exist, before the services start (the
  // demo's restocks).
  std::vector<core::ProducerRecord> initial_records;
  bool handle_signals = false;  // SIGINT and SIGTERM start the graceful shutdown
  core::Severity min_severity = core::Severity::kInfo;
  bool access_log = true;  // one `http_request` line per request
  core::Duration shutdown_timeout = std::chrono::seconds(30);
};

// Where a host serves, once it does.
struct Serving {
  std::string http_address;  // "127.0.0.1:8080"
  std::uint16_t http_port = 0;
  std::string bootstrap_servers;
};

class ServiceHost {
 public:
  explicit ServiceHost(ServiceHostOptions options);
  ~ServiceHost();
  ServiceHost(const ServiceHost&) = delete;
  ServiceHost& operator=(const ServiceHost&) = delete;

  // Runs until the graceful shutdown completes. `on_serving` runs on the loop
  // thread once HTTP listens, after the "serving" log line.
  int run(std::function<void(const Serving&)> on_serving = {});

  // Starts the graceful shutdown. Any thread.
  void request_stop();

 private:
  struct Impl;

  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::adapters::host
