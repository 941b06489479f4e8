#include "adapters/host/service_host.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <iostream>
#include <map>
#include <system_error>

#include <stdlib.h>

#include "adapters/asio/clock.h"
#include "adapters/asio/event_loop.h"
#include "adapters/asio/scheduler.h"
#include "adapters/host/host_handler.h"
#include "adapters/http/server.h"
#include "adapters/kafka/embedded_cluster.h"
#include "adapters/kafka/kafka_broker.h"
#include "adapters/observability/json_line_log.h"
#include "adapters/observability/metrics_registry.h"
#include "adapters/rocksdb/rocksdb_state_store.h"
#include "core/domain/order.h"
#include "services/instances.h"
#include "services/query/projections.h"

namespace orderflow::adapters::host {
namespace {

using namespace std::chrono_literals;

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// The stores of one service: a RocksDB database, a column family per store and
// partition, opened on first use.
class StoreSet {
 public:
  explicit StoreSet(std::unique_ptr<rocksdb::RocksDbEnvironment> env) : env_(std::move(env)) {}

  core::StateStore& get(const std::string& name, core::Partition partition) {
    auto& store = stores_[key(name, partition)];
    if (!store) store = env_->open_store(key(name, partition));
    return *store;
  }
  [[nodiscard]] const core::StateStore* find(const std::string& name, int partition) const {
    const auto it = stores_.find(key(name, core::Partition{partition}));
    return it == stores_.end() ? nullptr : it->second.get();
  }

 private:
  static std::string key(const std::string& name, core::Partition partition) {
    return name + "." + std::to_string(partition.value());
  }

  std::unique_ptr<rocksdb::RocksDbEnvironment> env_;
  std::map<std::string, std::unique_ptr<rocksdb::RocksDbStateStore>> stores_;
};

constexpr std::array<core::OrderStatus, 6> kStatuses = {
    core::OrderStatus::kPlaced,           core::OrderStatus::kConfirmed,
    core::OrderStatus::kDispatchApproved, core::OrderStatus::kShipped,
    core::OrderStatus::kDelivered,        core::OrderStatus::kCancelled};

}  // namespace

std::optional<ServiceKind> parse_service_kind(std::string_view name) {
  if (name == "orders") return ServiceKind::kOrders;
  if (name == "shipping") return ServiceKind::kShipping;
  if (name == "query") return ServiceKind::kQuery;
  if (name == "all") return ServiceKind::kAll;
  return std::nullopt;
}

std::string_view to_string(ServiceKind kind) {
  switch (kind) {
    case ServiceKind::kOrders: return "orders";
    case ServiceKind::kShipping: return "shipping";
    case ServiceKind::kQuery: return "query";
    case ServiceKind::kAll: return "all";
  }
  return "unknown";
}

core::Result<KafkaProperties> load_kafka_properties(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    return core::make_error(core::ErrorKind::kFatal, "config_unreadable",
                            "cannot read " + file.string());
  }
  KafkaProperties properties;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const auto equals = text.find('=');
    if (equals == std::string_view::npos || trim(text.substr(0, equals)).empty()) {
      return core::make_error(
          core::ErrorKind::kFatal, "config_bad_line",
          file.string() + ":" + std::to_string(number) + ": expected key=value");
    }
    properties.emplace_back(std::string(trim(text.substr(0, equals))),
                            std::string(trim(text.substr(equals + 1))));
  }
  return properties;
}

struct ServiceHost::Impl {
  explicit Impl(ServiceHostOptions o)
      : options(std::move(o)),
        log(std::cerr, clock, options.min_severity),
        scheduler(std::make_unique<asio::AsioScheduler>(loop.executor())) {
    if (options.instance_id.empty())
      options.instance_id = std::string(to_string(options.service)) + "-1";
  }

  [[nodiscard]] bool runs(ServiceKind kind) const {
    return options.service == kind || options.service == ServiceKind::kAll;
  }

  core::Result<> prepare() {
    if (options.state_dir.empty()) {
      std::string pattern = (std::filesystem::temp_directory_path() / "orderflow-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) {
        return core::make_error(core::ErrorKind::kFatal, "state_dir_failed", "mkdtemp failed");
      }
      state_dir = pattern;
      owns_state_dir = true;
    } else {
      state_dir = options.state_dir;
    }
    cluster = options.cluster;
    if (cluster == nullptr && options.bootstrap_servers.empty()) {
      own_cluster = std::make_unique<kafka::EmbeddedCluster>(options.embedded_brokers);
      cluster = own_cluster.get();
    }
    bootstrap = cluster != nullptr ? cluster->bootstrap_servers() : options.bootstrap_servers;
    broker = std::make_unique<kafka::KafkaBroker>(
        kafka::KafkaBrokerConfig{.bootstrap_servers = bootstrap,
                                 .properties = options.properties,
                                 .executor = scheduler.get(),
                                 .log = &log,
                                 .embedded = cluster,
                                 .client_id = options.instance_id + "-admin"});
    return {};
  }

  void fail(std::string_view code, const std::string& message) {
    log.event(core::Severity::kError, "host_failed", {{"code", code}, {"message", message}});
    exit_code = 1;
    loop.stop();
  }

  void create_topics() {
    auto topics = services::service_topics(options.partitions);
    if (cluster != nullptr) {
      for (auto& t : topics)
        t.replication_factor = std::min(t.replication_factor, cluster->broker_count());
    }
    broker->create_topics(std::move(topics), [this](core::Result<> created) {
      if (stopping) return;
      if (!created) return fail(created.error().code, created.error().message);
      produce_initial_records();
    });
  }

  void produce_initial_records() {
    if (options.initial_records.empty()) return start_services();
    seed_producer = broker->make_producer({.client_id = options.instance_id + "-seed"});
    for (auto& record : options.initial_records) {
      seed_producer->send(std::move(record), [](core::Result<core::RecordMetadata>) {});
    }
    options.initial_records.clear();
    seed_producer->flush([this](core::Result<> flushed) {
      if (stopping) return;
      if (!flushed) return fail(flushed.error().code, flushed.error().message);
      start_services();
    });
  }

  core::Result<core::StoreProvider> stores_for(const std::string& service) {
    auto env = rocksdb::RocksDbEnvironment::open(state_dir / (service + "-" + options.instance_id));
    if (!env) return std::unexpected(env.error());
    auto [it, inserted] = stores.emplace(service, StoreSet(std::move(*env)));
    StoreSet* set = &it->second;
    return [set](const std::string& name, core::Partition p) -> core::StateStore& {
      return set->get(name, p);
    };
  }

  core::Result<> build_instances() {
    const auto env_for = [this](const std::string& service) -> core::Result<services::InstanceEnv> {
      auto provider = stores_for(service);
      if (!provider) return std::unexpected(provider.error());
      return services::InstanceEnv{.broker = *broker,
                                   .scheduler = *scheduler,
                                   .clock = clock,
                                   .log = log,
                                   .stores = std::move(*provider),
                                   .instance_id = options.instance_id,
                                   .metrics = &metrics};
    };
    if (runs(ServiceKind::kOrders)) {
      auto env = env_for("orders");
      if (!env) return std::unexpected(env.error());
      orders = std::make_unique<services::OrdersInstance>(*env);
      runtimes.emplace_back("orders", &orders->runtime());
    }
    if (runs(ServiceKind::kShipping)) {
      auto env = env_for("shipping");
      if (!env) return std::unexpected(env.error());
      shipping = std::make_unique<services::ShippingInstance>(*env);
      runtimes.emplace_back("shipping", &shipping->runtime());
    }
    if (runs(ServiceKind::kQuery)) {
      auto env = env_for("query");
      if (!env) return std::unexpected(env.error());
      query = std::make_unique<services::QueryInstance>(*env, options.partitions);
      runtimes.emplace_back("query", &query->runtime());
    }
    return {};
  }

  void start_services() {
    if (auto built = build_instances(); !built) {
      return fail(built.error().code, built.error().message);
    }
    handler = std::make_unique<HostHandler>(
        metrics,
        HostHandler::Apis{.orders = orders ? &orders->http() : nullptr,
                          .query = query ? &query->http() : nullptr},
        [this] { return not_ready_reason(); }, [this] { update_metrics(); });
    server = std::make_unique<http::HttpServer>(
        loop.executor(), *handler,
        http::HttpServerOptions{.bind_address = options.http_address,
                                .port = options.http_port,
                                .log = options.access_log ? &log : nullptr});
    if (auto started = server->start(); !started) {
      return fail(started.error().code, started.error().message);
    }
    const Serving serving{options.http_address + ":" + std::to_string(server->port()),
                          server->port(), bootstrap};
    log.event(core::Severity::kInfo, "serving",
              {{"service", to_string(options.service)},
               {"instance_id", options.instance_id},
               {"http", serving.http_address},
               {"bootstrap_servers", bootstrap},
               {"state_dir", state_dir.string()},
               {"partitions", options.partitions}});
    describe_metrics();
    schedule_metrics();
    if (on_serving) on_serving(serving);
  }

  [[nodiscard]] std::optional<std::string> not_ready_reason() const {
    if (stopping) return "shutting down";
    if (runtimes.empty()) return "starting";
    for (const auto& [name, runtime] : runtimes) {
      if (!runtime->ready()) return name + " is not ready: partitions not assigned or restoring";
    }
    return std::nullopt;
  }

  void describe_metrics() {
    metrics.describe("orderflow_records_processed_total", "Input records processed.");
    metrics.describe("orderflow_records_dead_lettered_total", "Poison records dead-lettered.");
    metrics.describe("orderflow_txn_commits_total", "Transactions (units of work) committed.");
    metrics.describe("orderflow_txn_aborts_total", "Transactions aborted.");
    metrics.describe("orderflow_restored_records_total", "Changelog records restored.");
    metrics.describe("orderflow_streams_ready", "1 when every task is assigned and restored.");
    metrics.describe("orderflow_orders", "Orders in the query read model, by state.");
  }

  void schedule_metrics() {
    metrics_timer = scheduler->schedule_after(1s, [this] {
      update_metrics();
      schedule_metrics();
    });
  }

  void update_metrics() {
    for (const auto& [name, runtime] : runtimes) report(name, runtime->stats(), runtime->ready());
    if (query) report_orders_by_state();
  }

  void report(const std::string& name, const core::StreamsStats& now, bool ready) {
    core::StreamsStats& last = reported[name];
    const core::Labels labels{{"service", name}};
    const auto add = [&](std::string_view metric, std::uint64_t current, std::uint64_t& before) {
      auto& counter = metrics.counter(metric, labels);
      if (current > before) counter.add(static_cast<double>(current - before));
      before = current;
    };
    add("orderflow_records_processed_total", now.processed, last.processed);
    add("orderflow_records_dead_lettered_total", now.dead_lettered, last.dead_lettered);
    add("orderflow_txn_commits_total", now.commits, last.commits);
    add("orderflow_txn_aborts_total", now.aborts, last.aborts);
    add("orderflow_restored_records_total", now.restored_records, last.restored_records);
    metrics.gauge("orderflow_streams_ready", labels).set(ready ? 1 : 0);
  }

  // A scan of every customer-orders store: cheap at demo sizes, linear in orders.
  void report_orders_by_state() {
    std::map<std::string, int, std::less<>> counts;
    for (const auto status : kStatuses) counts[std::string(core::to_string(status))] = 0;
    const StoreSet& set = stores.at("query");
    for (int p = 0; p < options.partitions; ++p) {
      const core::StateStore* store = set.find(services::kCustomerOrdersStore, p);
      if (store == nullptr) continue;
      store->scan("", "", [&](std::string_view, std::string_view value) {
        ++counts[std::string(value.substr(0, value.find(',')))];
        return true;
      });
    }
    for (const auto& [state, n] : counts) {
      metrics.gauge("orderflow_orders", {{"state", state}}).set(n);
    }
  }

  void begin_shutdown() {
    if (stopping) {
      log.event(core::Severity::kWarn, "shutdown_forced", {});
      exit_code = 1;
      return loop.stop();
    }
    stopping = true;
    log.event(core::Severity::kInfo, "shutdown_started", {});
    scheduler->cancel(metrics_timer);
    scheduler->schedule_after(options.shutdown_timeout, [this] {
      log.event(core::Severity::kError, "shutdown_timed_out", {});
      exit_code = 1;
      loop.stop();
    });
    if (server) {
      server->shutdown([this] { close_runtimes(); });
    } else {
      close_runtimes();
    }
  }

  void close_runtimes() {
    auto pending = std::make_shared<std::size_t>(runtimes.size());
    if (*pending == 0) return finish_shutdown();
    for (const auto& [name, runtime] : runtimes) {
      runtime->close([this, pending, name](core::Result<> closed) {
        if (!closed) {
          log.event(core::Severity::kWarn, "runtime_close_failed",
                    {{"service", name}, {"code", closed.error().code}});
        }
        if (--*pending == 0) finish_shutdown();
      });
    }
  }

  void finish_shutdown() {
    log.event(core::Severity::kInfo, "shutdown_complete", {});
    loop.stop();
  }

  void teardown() {
    server.reset();
    runtimes.clear();
    orders.reset();
    shipping.reset();
    query.reset();
    handler.reset();
    seed_producer.reset();
    stores.clear();
    broker.reset();
    own_cluster.reset();
    if (owns_state_dir) {
      std::error_code ignored;
      std::filesystem::remove_all(state_dir, ignored);
    }
  }

  ServiceHostOptions options;
  asio::EventLoop loop;
  asio::SystemClock clock;
  observability::JsonLineLog log;
  observability::MetricsRegistry metrics;
  std::unique_ptr<asio::AsioScheduler> scheduler;

  std::filesystem::path state_dir;
  bool owns_state_dir = false;
  std::unique_ptr<kafka::EmbeddedCluster> own_cluster;
  kafka::EmbeddedCluster* cluster = nullptr;
  std::string bootstrap;
  std::unique_ptr<kafka::KafkaBroker> broker;
  std::map<std::string, StoreSet> stores;
  std::unique_ptr<core::Producer> seed_producer;
  std::unique_ptr<services::OrdersInstance> orders;
  std::unique_ptr<services::ShippingInstance> shipping;
  std::unique_ptr<services::QueryInstance> query;
  std::vector<std::pair<std::string, core::StreamsRuntime*>> runtimes;
  std::unique_ptr<HostHandler> handler;
  std::unique_ptr<http::HttpServer> server;
  std::map<std::string, core::StreamsStats> reported;
  core::TimerId metrics_timer;
  std::function<void(const Serving&)> on_serving;
  bool stopping = false;
  int exit_code = 0;
};

ServiceHost::ServiceHost(ServiceHostOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ServiceHost::~ServiceHost() = default;

int ServiceHost::run(std::function<void(const Serving&)> on_serving) {
  Impl& impl = *impl_;
  impl.on_serving = std::move(on_serving);
  // Before anything is announced: a SIGTERM right after "serving" must find it.
  if (impl.options.handle_signals) {
    impl.loop.handle_signals([&impl](int) { impl.begin_shutdown(); });
  }
  if (auto prepared = impl.prepare(); !prepared) {
    impl.log.event(core::Severity::kError, "host_failed",
                   {{"code", prepared.error().code}, {"message", prepared.error().message}});
    return 1;
  }
  impl.scheduler->post([&impl] { impl.create_topics(); });
  impl.loop.run();
  impl.teardown();
  return impl.exit_code;
}

void ServiceHost::request_stop() {
  impl_->scheduler->post([impl = impl_.get()] { impl->begin_shutdown(); });
}

}  // namespace orderflow::adapters::host
