#include "sim/runner/swarm.h"

#include <algorithm>
#include <string>

#include "services/topics.h"

namespace orderflow::sim {
namespace {

std::string pick_process(const Scenario& s, Prng& random) {
  auto names = process_names(s);
  names.pop_back();  // not the clients: they are the observers
  return names[random.uniform(names.size())];
}

std::string pick_peer(const Scenario& s, const std::string& target, Prng& random) {
  std::vector<std::string> nodes = process_names(s);
  for (int b = 0; b < s.topology().brokers(); ++b) nodes.push_back("broker-" + std::to_string(b));
  std::erase(nodes, target);
  return nodes[random.uniform(nodes.size())];
}

std::string pick_group(const Scenario& s, Prng& random) {
  std::vector<std::string> groups = {"orders", "shipping"};
  for (int i = 1; i <= s.topology().query(); ++i)
    groups.push_back("query-query-" + std::to_string(i));
  return groups[random.uniform(groups.size())];
}

v1::Fault draw_fault(const Scenario& s, v1::FaultKind kind, core::Duration at, Prng& random) {
  const auto max_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(duration_of(s.swarm().max_duration()));
  v1::Fault f;
  f.set_at(format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(at)));
  f.set_kind(kind);
  f.set_duration(format_duration(std::chrono::milliseconds{
      random.uniform_between(100, std::max<std::int64_t>(100, max_ms.count()))}));
  switch (kind) {
    case v1::CRASH:
    case v1::PAUSE:
    case v1::WIPE_DISK:
    case v1::ISOLATE: f.set_target(pick_process(s, random)); break;
    case v1::SKEW_CLOCK:
      f.set_target(pick_process(s, random));
      f.set_skew(format_duration(std::chrono::milliseconds{random.uniform_between(-5000, 5000)}));
      break;
    case v1::PARTITION:
    case v1::CLOG:
      f.set_target(pick_process(s, random));
      f.set_peer(pick_peer(s, f.target(), random));
      break;
    case v1::DROP:
    case v1::DUPLICATE:
      f.set_target(pick_process(s, random));
      f.set_peer(pick_peer(s, f.target(), random));
      f.set_probability(0.05 + 0.45 * random.unit());
      break;
    case v1::LOSE_ACKS:
      f.set_target(pick_process(s, random));
      f.set_probability(0.05 + 0.45 * random.unit());
      break;
    case v1::BROKER_DOWN:
      f.set_broker(static_cast<int>(random.uniform(s.topology().brokers())));
      break;
    case v1::MOVE_LEADER: {
      static constexpr const char* kTopics[] = {services::kOrderCommands, services::kOrderEvents,
                                                services::kShipmentEvents,
                                                services::kOrderOutcomes};
      f.set_topic(kTopics[random.uniform(std::size(kTopics))]);
      f.set_partition(static_cast<int>(random.uniform(s.topology().partitions())));
      f.clear_duration();
      break;
    }
    case v1::REBALANCE:
      f.set_group(pick_group(s, random));
      f.clear_duration();
      break;
    default: break;
  }
  return f;
}

}  // namespace

SwarmDraw draw_swarm(const Scenario& scenario, Prng& random) {
  SwarmDraw draw;
  const auto& swarm = scenario.swarm();
  const double load_s = std::chrono::duration<double>(duration_of(scenario.duration())).count();
  for (int k : swarm.kinds()) {
    const auto kind = static_cast<v1::FaultKind>(k);
    const bool on = random.bernoulli(0.5);
    const double per_minute = swarm.max_per_minute() * (0.05 + 0.95 * random.unit());
    if (!on) continue;
    for (double t = random.exponential(60.0 / per_minute); t < load_s;
         t += random.exponential(60.0 / per_minute)) {
      draw.faults.push_back(draw_fault(
          scenario, kind,
          std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(t)), random));
    }
  }
  std::stable_sort(draw.faults.begin(), draw.faults.end(), [](const auto& a, const auto& b) {
    return duration_of(a.at()) < duration_of(b.at());
  });
  for (const auto& name : swarm.fault_points()) {
    const bool on = random.bernoulli(0.5);
    const double p = swarm.max_fault_point_probability() * (0.05 + 0.95 * random.unit());
    if (!on) continue;
    v1::FaultPoint point;
    point.set_name(name);
    point.set_probability(p);
    draw.fault_points.push_back(point);
  }
  return draw;
}

}  // namespace orderflow::sim
