// `orderflow serve` and `orderflow dev-cluster`: the services for real.
//
//   orderflow serve all --http 127.0.0.1:8080            # on an embedded cluster
//   orderflow serve orders --brokers kafka-1:9092 --config client.properties
//                          --state-dir /var/lib/orderflow --instance-id orders-1
//   orderflow dev-cluster --brokers 3                    # prints bootstrap.servers=...
//
// Both run until SIGTERM or SIGINT and exit 0 after a graceful shutdown; 1 when
// startup or shutdown failed; 2 on bad usage.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace orderflow::cli {

struct ServeOptions {
  std::string service;
  std::string brokers;
  std::string config;
  std::string http = "127.0.0.1:8080";
  std::string state_dir;
  std::string instance_id;
  int partitions = 3;
  int cluster_brokers = 3;  // dev-cluster only
};

struct ServeCommands {
  CLI::App* serve = nullptr;
  CLI::App* dev_cluster = nullptr;
};

ServeCommands add_serve_commands(CLI::App& app, ServeOptions& options);
int run_serve(const ServeOptions& options);
int run_dev_cluster(const ServeOptions& options);

}  // namespace orderflow::cli
