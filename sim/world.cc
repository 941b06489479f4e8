#include "sim/world.h"

#include "adapters/sim_broker/groups.h"
#include "core/check.h"

namespace orderflow::sim {

World::World(WorldConfig config)
    : kernel_(config.seed),
      network_(kernel_, kernel_.random().fork("network"), config.latency),
      cluster_(kernel_, network_, config.cluster) {}

World::~World() {
  // Services first: their destructors may still talk to the cluster.
  for (auto& [name, member] : members_) member.process->crash();
}

Process& World::add_process(const std::string& name) {
  OF_CHECK(!members_.contains(name), "process names are unique");
  Member member;
  member.process = std::make_unique<Process>(kernel_, name, kernel_.random().fork(name));
  member.node = network_.add_node(name);
  member.broker = std::make_unique<adapters::SimBroker>(
      cluster_, adapters::ClientEndpoint{member.process.get(), member.node});
  Process& p = *member.process;
  members_.emplace(name, std::move(member));
  return p;
}

Process& World::process(const std::string& name) {
  auto it = members_.find(name);
  OF_CHECK(it != members_.end(), "unknown process");
  return *it->second.process;
}

core::Broker& World::broker(const Process& process) { return *members_.at(process.name()).broker; }

NodeId World::node(const std::string& name) const {
  if (auto it = members_.find(name); it != members_.end()) return it->second.node;
  for (int b = 0; b < cluster_.broker_count(); ++b) {
    if (name == "broker-" + std::to_string(b)) return cluster_.broker_node(b);
  }
  OF_CHECK(false, "unknown node name");
  return -1;
}

void World::fault(std::string_view kind, core::Fields fields) {
  std::vector<core::Field> all{{"kind", kind}};
  all.insert(all.end(), fields.begin(), fields.end());
  kernel_.trace().record(kernel_.now(), "faults", core::Severity::kInfo, "fault_injected", all);
}

void World::crash(const std::string& name) {
  fault("crash", {{"process", name}});
  process(name).crash();
}

void World::restart(const std::string& name) {
  fault("restart", {{"process", name}});
  process(name).restart();
}

void World::pause(const std::string& name) {
  fault("pause", {{"process", name}});
  process(name).pause();
}

void World::resume(const std::string& name) {
  fault("resume", {{"process", name}});
  process(name).resume();
}

void World::wipe_disk(const std::string& name) {
  fault("wipe_disk", {{"process", name}});
  process(name).wipe_disk();
}

void World::skew_clock(const std::string& name, core::Duration skew) {
  fault("skew_clock", {{"process", name}, {"skew_us", skew.count()}});
  process(name).set_clock_skew(skew);
}

void World::partition(const std::string& a, const std::string& b) {
  fault("partition", {{"a", a}, {"b", b}});
  network_.partition(node(a), node(b));
}

void World::partition_one_way(const std::string& from, const std::string& to) {
  fault("partition_one_way", {{"from", from}, {"to", to}});
  network_.cut_one_way(node(from), node(to));
}

void World::isolate(const std::string& name) {
  fault("isolate", {{"node", name}});
  network_.isolate(node(name));
}

void World::heal(const std::string& a, const std::string& b) {
  fault("heal", {{"a", a}, {"b", b}});
  network_.heal(node(a), node(b));
}

void World::heal_all() {
  fault("heal_all", {});
  network_.heal_all();
}

void World::drop(const std::string& from, const std::string& to, double probability) {
  fault("drop", {{"from", from}, {"to", to}, {"probability", probability}});
  network_.set_loss(node(from), node(to), probability);
}

void World::duplicate(const std::string& from, const std::string& to, double probability) {
  fault("duplicate", {{"from", from}, {"to", to}, {"probability", probability}});
  network_.set_duplicate(node(from), node(to), probability);
}

void World::clog(const std::string& from, const std::string& to, core::Duration for_how_long) {
  fault("clog", {{"from", from}, {"to", to}, {"for_us", for_how_long.count()}});
  network_.clog(node(from), node(to), kernel_.now() + for_how_long);
}

void World::lose_acks(const std::string& name, double probability) {
  fault("lose_acks", {{"process", name}, {"probability", probability}});
  for (int b = 0; b < cluster_.broker_count(); ++b) {
    network_.set_loss(cluster_.broker_node(b), node(name), probability);
  }
}

void World::broker_down(int broker) {
  fault("broker_down", {{"broker", broker}});
  cluster_.broker_down(broker);
}

void World::broker_up(int broker) {
  fault("broker_up", {{"broker", broker}});
  cluster_.broker_up_again(broker);
}

void World::move_leader(const core::TopicPartition& tp, int broker) {
  fault("move_leader", {{"topic", tp.topic}, {"partition", tp.partition.value()}, {"to", broker}});
  cluster_.move_leader(tp, broker);
}

void World::force_rebalance(const std::string& group) {
  fault("force_rebalance", {{"group", group}});
  cluster_.groups().force_rebalance(group);
}

}  // namespace orderflow::sim
