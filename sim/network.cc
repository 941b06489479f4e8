#include "sim/network.h"

#include <algorithm>

#include "core/check.h"

namespace orderflow::sim {

Network::Network(Kernel& kernel, Prng random, LatencyModel latency)
    : kernel_(kernel), random_(std::move(random)), latency_(latency) {}

NodeId Network::add_node(std::string name) {
  names_.push_back(std::move(name));
  for (auto& row : links_) row.emplace_back();
  links_.emplace_back(names_.size());
  return static_cast<NodeId>(names_.size() - 1);
}

Network::Link& Network::link(NodeId from, NodeId to) {
  OF_CHECK(from >= 0 && to >= 0 && static_cast<std::size_t>(from) < links_.size() &&
               static_cast<std::size_t>(to) < links_.size(),
           "unknown network node");
  return links_[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)];
}

const LinkFaults& Network::faults(NodeId from, NodeId to) const {
  return links_[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)].faults;
}

core::Timestamp Network::delivery_time(Link& l) {
  const auto jitter = core::Duration{
      static_cast<core::Duration::rep>(random_.exponential(latency_.jitter_mean_us))};
  core::Timestamp when = kernel_.now() + latency_.base + jitter;
  when = std::max({when, l.last_delivery, l.faults.clogged_until});
  l.last_delivery = when;
  return when;
}

bool Network::send(NodeId from, NodeId to, Kernel::Action deliver) {
  Link& l = link(from, to);
  if (l.faults.cut || (l.faults.loss > 0 && random_.bernoulli(l.faults.loss))) {
    ++dropped_;
    return false;
  }
  ++delivered_;
  const core::Timestamp when = delivery_time(l);
  if (l.faults.duplicate > 0 && random_.bernoulli(l.faults.duplicate)) {
    kernel_.at(when, deliver);
    kernel_.at(delivery_time(l), std::move(deliver));
    return true;
  }
  kernel_.at(when, std::move(deliver));
  return true;
}

void Network::partition(NodeId a, NodeId b) {
  link(a, b).faults.cut = true;
  link(b, a).faults.cut = true;
}

void Network::cut_one_way(NodeId from, NodeId to) { link(from, to).faults.cut = true; }

void Network::isolate(NodeId node) {
  for (NodeId other = 0; other < static_cast<NodeId>(names_.size()); ++other) {
    if (other != node) partition(node, other);
  }
}

void Network::heal(NodeId a, NodeId b) {
  link(a, b).faults = {};
  link(b, a).faults = {};
}

void Network::heal_all() {
  for (auto& row : links_) {
    for (auto& l : row) l.faults = {};
  }
}

void Network::set_loss(NodeId from, NodeId to, double probability) {
  link(from, to).faults.loss = probability;
}

void Network::set_duplicate(NodeId from, NodeId to, double probability) {
  link(from, to).faults.duplicate = probability;
}

void Network::clog(NodeId from, NodeId to, core::Timestamp until) {
  link(from, to).faults.clogged_until = until;
}

}  // namespace orderflow::sim
