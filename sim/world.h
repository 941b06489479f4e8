// `World`: one simulated run — kernel, network, Kafka cluster and processes —
// and the fault API that scenarios drive.
//
// Everything in a world derives from its seed: the kernel's PRNG seeds the network,
// every process and every workload stream through `Prng::fork`, so adding a process
// does not change the numbers another one draws. Every fault is recorded as a
// `fault_injected` trace event.
//
//   World world({.seed = 42});
//   Process& p = world.add_process("orders-1");
//   core::Broker& broker = world.broker(p);
//   world.crash("orders-1");
//
// Ownership: the world owns everything in it; destroy it to end the run.
// Threading: the simulator's one thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/sim_broker/cluster.h"
#include "adapters/sim_broker/sim_broker.h"
#include "sim/kernel.h"
#include "sim/network.h"
#include "sim/process.h"

namespace orderflow::sim {

struct WorldConfig {
  std::uint64_t seed = 1;
  adapters::ClusterConfig cluster;
  LatencyModel latency;
};

class World {
 public:
  explicit World(WorldConfig config);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  [[nodiscard]] Kernel& kernel() { return kernel_; }
  [[nodiscard]] Network& network() { return network_; }
  [[nodiscard]] adapters::SimCluster& cluster() { return cluster_; }

  // Adds a process (not started) with its own network node and broker client.
  Process& add_process(const std::string& name);
  [[nodiscard]] Process& process(const std::string& name);
  [[nodiscard]] core::Broker& broker(const Process& process);
  [[nodiscard]] NodeId node(const std::string& name) const;

  // Process faults.
  void crash(const std::string& name);
  void restart(const std::string& name);
  void pause(const std::string& name);
  void resume(const std::string& name);
  void wipe_disk(const std::string& name);
  void skew_clock(const std::string& name, core::Duration skew);

  // Network faults between any two named nodes (processes or "broker-N").
  void partition(const std::string& a, const std::string& b);
  void partition_one_way(const std::string& from, const std::string& to);
  void isolate(const std::string& name);
  void heal(const std::string& a, const std::string& b);
  void heal_all();
  void drop(const std::string& from, const std::string& to, double probability);
  void duplicate(const std::string& from, const std::string& to, double probability);
  void clog(const std::string& from, const std::string& to, core::Duration for_how_long);
  // Replies from every broker to `name` are lost with `probability`: the broker
  // acts on a request, the client never hears and retries.
  void lose_acks(const std::string& name, double probability);

  // Cluster faults.
  void broker_down(int broker);
  void broker_up(int broker);
  void move_leader(const core::TopicPartition& tp, int broker = -1);
  // Every member of `group` has to rejoin, as when a member joins or leaves.
  void force_rebalance(const std::string& group);

 private:
  struct Member {
    std::unique_ptr<Process> process;
    NodeId node;
    std::unique_ptr<adapters::SimBroker> broker;
  };
  void fault(std::string_view kind, core::Fields fields);

  Kernel kernel_;
  Network network_;
  adapters::SimCluster cluster_;
  std::map<std::string, Member> members_;
};

}  // namespace orderflow::sim
