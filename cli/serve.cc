#include "cli/serve.h"

#include <charconv>
#include <iostream>

#include <CLI/CLI.hpp>

#include "adapters/asio/event_loop.h"
#include "adapters/host/service_host.h"
#include "adapters/kafka/embedded_cluster.h"
#include "services/instances.h"

namespace orderflow::cli {
namespace {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

std::optional<HostPort> parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  HostPort out{text.substr(0, colon)};
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  if (std::from_chars(first, last, out.port).ptr != last || first == last) return std::nullopt;
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  return out;
}

}  // namespace

ServeCommands add_serve_commands(CLI::App& app, ServeOptions& options) {
  ServeCommands commands;
  commands.serve = app.add_subcommand("serve", "Run orders, shipping, query or all of them");
  commands.serve->add_option("service", options.service, "orders, shipping, query or all")
      ->required()
      ->check(CLI::IsMember({"orders", "shipping", "query", "all"}));
  commands.serve->add_option("--brokers", options.brokers,
                             "Kafka bootstrap servers (default: an embedded cluster)");
  commands.serve
      ->add_option("--config", options.config, "librdkafka properties, key=value lines, # comments")
      ->check(CLI::ExistingFile);
  commands.serve->add_option("--http", options.http, "HTTP listen address ADDR:PORT");
  commands.serve->add_option("--state-dir", options.state_dir,
                             "RocksDB state directory (default: a temporary one)");
  commands.serve->add_option("--instance-id", options.instance_id,
                             "Stable id of this instance (default: <service>-1)");
  commands.serve->add_option("--partitions", options.partitions, "Partitions per topic")
      ->check(CLI::Range(1, 64));

  commands.dev_cluster =
      app.add_subcommand("dev-cluster", "Run an embedded Kafka cluster with the service topics");
  commands.dev_cluster->add_option("--brokers", options.cluster_brokers, "Brokers")
      ->check(CLI::Range(1, 9));
  commands.dev_cluster->add_option("--partitions", options.partitions, "Partitions per topic")
      ->check(CLI::Range(1, 64));
  return commands;
}

int run_serve(const ServeOptions& options) {
  adapters::host::ServiceHostOptions host{
      .service = *adapters::host::parse_service_kind(options.service),
      .bootstrap_servers = options.brokers,
      .state_dir = options.state_dir,
      .instance_id = options.instance_id,
      .partitions = options.partitions,
      .handle_signals = true};
  const auto address = parse_host_port(options.http);
  if (!address) {
    std::cerr << "error: --http wants ADDR:PORT, got " << options.http << "\n";
    return 2;
  }
  host.http_address = address->host;
  host.http_port = address->port;
  if (!options.config.empty()) {
    auto properties = adapters::host::load_kafka_properties(options.config);
    if (!properties) {
      std::cerr << "error: " << properties.error().message << "\n";
      return 2;
    }
    for (const auto& [key, value] : *properties) {
      if (key == "bootstrap.servers" && host.bootstrap_servers.empty()) {
        host.bootstrap_servers = value;
      }
    }
    host.properties = std::move(*properties);
  }
  adapters::host::ServiceHost service_host(std::move(host));
  return service_host.run();
}

int run_dev_cluster(const ServeOptions& options) {
  adapters::kafka::EmbeddedCluster cluster(options.cluster_brokers);
  // The mock cluster has no CreateTopics: every topic the services use, changelogs
  // included, is made here (query instances query-1 to query-3).
  auto topics = services::service_topics(options.partitions);
  for (auto& changelog :
       services::changelog_topics(options.partitions, {"query-1", "query-2", "query-3"})) {
    topics.push_back(std::move(changelog));
  }
  for (const auto& topic : topics) {
    const int replication = std::min(topic.replication_factor, cluster.broker_count());
    if (auto created = cluster.create_topic(topic.name, topic.partitions, replication); !created) {
      std::cerr << "error: creating " << topic.name << ": " << created.error().message << "\n";
      return 1;
    }
  }
  std::cout << "bootstrap.servers=" << cluster.bootstrap_servers() << std::endl;
  adapters::asio::EventLoop loop;
  loop.handle_signals([&loop](int) { loop.stop(); });
  loop.run();
  return 0;
}

}  // namespace orderflow::cli
