// `Network`: the simulated network between processes and brokers.
//
// Each ordered pair of nodes is a link with its own latency and faults. A link is
// FIFO like the TCP connection it stands for: a message is never delivered before
// one sent earlier on the same link, whatever latency each drew. Faults:
// - loss: a message is dropped with probability p (the sender sees a time-out);
// - duplication: a message is delivered twice with probability p;
// - cut: a one-way partition; `partition(a, b)` cuts both ways;
// - clog: messages are held until a point in time, then delivered in order.
//
// Threading: the simulator's one thread.
#pragma once

#include <string>
#include <vector>

#include "sim/kernel.h"

namespace orderflow::sim {

using NodeId = int;

struct LatencyModel {
  core::Duration base{std::chrono::microseconds{100}};
  double jitter_mean_us = 200;  // exponential jitter added to `base`
};

struct LinkFaults {
  double loss = 0;
  double duplicate = 0;
  bool cut = false;
  core::Timestamp clogged_until{};
};

class Network {
 public:
  Network(Kernel& kernel, Prng random, LatencyModel latency = {});

  NodeId add_node(std::string name);
  [[nodiscard]] const std::string& name(NodeId node) const { return names_[node]; }
  [[nodiscard]] std::size_t size() const { return names_.size(); }

  // Delivers `deliver` at `to` after the link's latency, unless the link drops it.
  // Returns false when it was dropped at once (cut link or loss).
  bool send(NodeId from, NodeId to, Kernel::Action deliver);

  void partition(NodeId a, NodeId b);        // both directions
  void cut_one_way(NodeId from, NodeId to);  // only from -> to
  void isolate(NodeId node);                 // from and to every other node
  void heal(NodeId a, NodeId b);             // both directions, all faults
  void heal_all();
  void set_loss(NodeId from, NodeId to, double probability);
  void set_duplicate(NodeId from, NodeId to, double probability);
  void clog(NodeId from, NodeId to, core::Timestamp until);

  [[nodiscard]] const LinkFaults& faults(NodeId from, NodeId to) const;
  [[nodiscard]] std::uint64_t delivered() const { return delivered_; }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

 private:
  struct Link {
    LinkFaults faults;
    core::Timestamp last_delivery{};
  };
  Link& link(NodeId from, NodeId to);
  core::Timestamp delivery_time(Link& l);

  Kernel& kernel_;
  Prng random_;
  LatencyModel latency_;
  std::vector<std::string> names_;
  std::vector<std::vector<Link>> links_;  // [from][to]
  std::uint64_t delivered_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace orderflow::sim
