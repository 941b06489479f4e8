#include "sim/network.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include <gtest/gtest.h>

namespace orderflow::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

struct Arrival {
  int id;
  core::Timestamp at;
};

// A kernel, a network of three nodes and a log of what arrived where.
struct Net {
  explicit Net(LatencyModel latency = {}, std::uint64_t seed = 5)
      : kernel(seed), net(kernel, kernel.random().fork("network"), latency) {
    a = net.add_node("a");
    b = net.add_node("b");
    c = net.add_node("c");
  }

  bool send(NodeId from, NodeId to, int id) {
    return net.send(from, to, [this, to, id] { arrival_log(to).push_back({id, kernel.now()}); });
  }
  // Whether a message from `from` to `to` arrives, with everything else delivered.
  bool reaches(NodeId from, NodeId to) {
    const std::size_t before = arrival_log(to).size();
    const bool sent = send(from, to, -1);
    run_for(std::chrono::seconds{1});
    const bool arrived = arrival_log(to).size() > before;
    EXPECT_EQ(sent, arrived);
    return arrived;
  }
  std::vector<int> ids(NodeId to) const {
    std::vector<int> out;
    for (const Arrival& arrival : arrivals.at(static_cast<std::size_t>(to))) {
      out.push_back(arrival.id);
    }
    return out;
  }
  void run_for(core::Duration span) { kernel.run_until(kernel.now() + span); }
  std::vector<Arrival>& arrival_log(NodeId to) { return arrivals.at(static_cast<std::size_t>(to)); }

  Kernel kernel;
  Network net;
  NodeId a = 0;
  NodeId b = 0;
  NodeId c = 0;
  std::array<std::vector<Arrival>, 4> arrivals;  // by destination; room for one more node
};

std::vector<int> iota(int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(i);
  return out;
}

TEST(Network, AddNodeNumbersNodesAndKeepsNames) {
  Net n;
  EXPECT_EQ(n.net.size(), 3u);
  EXPECT_EQ(n.a, 0);
  EXPECT_EQ(n.c, 2);
  EXPECT_EQ(n.net.name(n.b), "b");
  EXPECT_EQ(n.net.add_node("d"), 3);
  EXPECT_TRUE(n.reaches(n.a, 3));
}

TEST(Network, LinkIsFifoDespiteJitter) {
  // Jitter far above the spacing between sends, so independent latencies would reorder.
  Net n(LatencyModel{.base = microseconds{50}, .jitter_mean_us = 5000});
  constexpr int kMessages = 500;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(n.send(n.a, n.b, i));
    if (i % 3 == 0) n.run_for(microseconds{20});
  }
  n.run_for(std::chrono::seconds{10});
  EXPECT_EQ(n.ids(n.b), iota(kMessages));
  const auto& arrivals = n.arrival_log(n.b);
  EXPECT_TRUE(std::is_sorted(arrivals.begin(), arrivals.end(),
                             [](const Arrival& x, const Arrival& y) { return x.at < y.at; }));
}

TEST(Network, LinksAreIndependentOfEachOther) {
  // FIFO holds per link: a slow message on a->b must not hold back c->b.
  Net n(LatencyModel{.base = microseconds{100}, .jitter_mean_us = 0});
  n.net.clog(n.a, n.b, n.kernel.now() + milliseconds{50});
  ASSERT_TRUE(n.send(n.a, n.b, 1));
  ASSERT_TRUE(n.send(n.c, n.b, 2));
  n.run_for(milliseconds{1});
  EXPECT_EQ(n.ids(n.b), (std::vector<int>{2}));
  n.run_for(milliseconds{50});
  EXPECT_EQ(n.ids(n.b), (std::vector<int>{2, 1}));
}

TEST(Network, LatencyIsAtLeastTheBase) {
  Net n(LatencyModel{.base = milliseconds{2}, .jitter_mean_us = 300});
  std::vector<core::Timestamp> sent;
  for (int i = 0; i < 200; ++i) {
    sent.push_back(n.kernel.now());
    ASSERT_TRUE(n.send(n.a, n.b, i));
    n.run_for(microseconds{n.kernel.random().uniform(5000)});
  }
  n.run_for(std::chrono::seconds{1});
  const auto& arrivals = n.arrival_log(n.b);
  ASSERT_EQ(arrivals.size(), sent.size());
  bool jittered = false;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_GE(arrivals[i].at - sent[i], milliseconds{2}) << "message " << i;
    jittered |= arrivals[i].at - sent[i] > milliseconds{2};
  }
  EXPECT_TRUE(jittered);
}

TEST(Network, WithoutJitterLatencyIsExactlyTheBase) {
  Net n(LatencyModel{.base = microseconds{750}, .jitter_mean_us = 0});
  n.run_for(milliseconds{3});
  const core::Timestamp sent = n.kernel.now();
  ASSERT_TRUE(n.send(n.a, n.b, 0));
  n.run_for(milliseconds{5});
  ASSERT_EQ(n.arrival_log(n.b).size(), 1u);
  EXPECT_EQ(n.arrival_log(n.b)[0].at, sent + microseconds{750});
}

TEST(Network, CutLinkDropsAndHealRestores) {
  Net n;
  n.net.cut_one_way(n.a, n.b);
  EXPECT_TRUE(n.net.faults(n.a, n.b).cut);
  EXPECT_FALSE(n.send(n.a, n.b, 1));
  n.run_for(milliseconds{100});
  EXPECT_TRUE(n.arrival_log(n.b).empty());

  n.net.heal(n.a, n.b);
  EXPECT_FALSE(n.net.faults(n.a, n.b).cut);
  EXPECT_TRUE(n.send(n.a, n.b, 2));
  n.run_for(milliseconds{100});
  EXPECT_EQ(n.ids(n.b), (std::vector<int>{2}));
}

TEST(Network, CutOneWayCutsOnlyThatDirection) {
  Net n;
  n.net.cut_one_way(n.a, n.b);
  EXPECT_FALSE(n.reaches(n.a, n.b));
  EXPECT_TRUE(n.reaches(n.b, n.a));
  EXPECT_TRUE(n.reaches(n.a, n.c));
}

TEST(Network, PartitionCutsBothWays) {
  Net n;
  n.net.partition(n.a, n.b);
  EXPECT_FALSE(n.reaches(n.a, n.b));
  EXPECT_FALSE(n.reaches(n.b, n.a));
  EXPECT_TRUE(n.reaches(n.a, n.c));
  EXPECT_TRUE(n.reaches(n.c, n.b));
  n.net.heal(n.b, n.a);
  EXPECT_TRUE(n.reaches(n.a, n.b));
  EXPECT_TRUE(n.reaches(n.b, n.a));
}

TEST(Network, IsolateCutsEveryLinkOfTheNodeOnly) {
  Net n;
  n.net.isolate(n.a);
  EXPECT_FALSE(n.reaches(n.a, n.b));
  EXPECT_FALSE(n.reaches(n.b, n.a));
  EXPECT_FALSE(n.reaches(n.a, n.c));
  EXPECT_FALSE(n.reaches(n.c, n.a));
  EXPECT_TRUE(n.reaches(n.b, n.c));
  EXPECT_TRUE(n.reaches(n.c, n.b));
  EXPECT_TRUE(n.reaches(n.a, n.a));
}

TEST(Network, HealAllClearsEveryFault) {
  Net n;
  n.net.isolate(n.b);
  n.net.set_loss(n.a, n.c, 1.0);
  n.net.set_duplicate(n.c, n.a, 1.0);
  n.net.clog(n.c, n.b, n.kernel.now() + std::chrono::seconds{30});
  n.net.heal_all();
  for (NodeId from : {n.a, n.b, n.c}) {
    for (NodeId to : {n.a, n.b, n.c}) {
      const LinkFaults& f = n.net.faults(from, to);
      EXPECT_FALSE(f.cut);
      EXPECT_EQ(f.loss, 0);
      EXPECT_EQ(f.duplicate, 0);
      EXPECT_EQ(f.clogged_until, core::Timestamp{});
    }
  }
  EXPECT_TRUE(n.reaches(n.a, n.b));
  EXPECT_TRUE(n.reaches(n.c, n.b));
}

TEST(Network, LossOneDropsEverything) {
  Net n;
  n.net.set_loss(n.a, n.b, 1.0);
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(n.send(n.a, n.b, i));
  n.run_for(std::chrono::seconds{1});
  EXPECT_TRUE(n.arrival_log(n.b).empty());
  EXPECT_EQ(n.net.dropped(), 200u);
  EXPECT_EQ(n.net.delivered(), 0u);
}

TEST(Network, LossZeroDropsNothing) {
  Net n;
  n.net.set_loss(n.a, n.b, 0.0);
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(n.send(n.a, n.b, i));
  n.run_for(std::chrono::seconds{1});
  EXPECT_EQ(n.ids(n.b), iota(200));
  EXPECT_EQ(n.net.dropped(), 0u);
}

TEST(Network, PartialLossDropsAboutThatShareAndKeepsTheRestInOrder) {
  Net n;
  n.net.set_loss(n.a, n.b, 0.3);
  std::vector<int> accepted;
  for (int i = 0; i < 2000; ++i) {
    if (n.send(n.a, n.b, i)) accepted.push_back(i);
  }
  n.run_for(std::chrono::seconds{1});
  EXPECT_EQ(n.ids(n.b), accepted);
  // Standard deviation about 20.
  EXPECT_NEAR(static_cast<double>(n.net.dropped()), 600, 120);
}

TEST(Network, DuplicateOneDeliversEachMessageTwiceInOrder) {
  Net n;
  n.net.set_duplicate(n.a, n.b, 1.0);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(n.send(n.a, n.b, i));
  n.run_for(std::chrono::seconds{1});
  std::vector<int> expected;
  for (int i = 0; i < 50; ++i) expected.insert(expected.end(), {i, i});
  EXPECT_EQ(n.ids(n.b), expected);
}

TEST(Network, DuplicateZeroDeliversEachMessageOnce) {
  Net n;
  n.net.set_duplicate(n.a, n.b, 0.0);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(n.send(n.a, n.b, i));
  n.run_for(std::chrono::seconds{1});
  EXPECT_EQ(n.ids(n.b), iota(50));
}

TEST(Network, ClogHoldsMessagesUntilTheGivenTimeThenDeliversThemInOrder) {
  Net n;
  const core::Timestamp until = n.kernel.now() + milliseconds{50};
  n.net.clog(n.a, n.b, until);
  EXPECT_EQ(n.net.faults(n.a, n.b).clogged_until, until);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(n.send(n.a, n.b, i));
    n.run_for(microseconds{500});
  }
  ASSERT_TRUE(n.send(n.b, n.a, 99));

  n.kernel.run_until(until - microseconds{1});
  EXPECT_TRUE(n.arrival_log(n.b).empty());
  EXPECT_EQ(n.ids(n.a), (std::vector<int>{99}));

  n.kernel.run_until(until);
  EXPECT_EQ(n.ids(n.b), iota(20));
  for (const Arrival& arrival : n.arrival_log(n.b)) EXPECT_EQ(arrival.at, until);
}

TEST(Network, AfterTheClogLatencyIsNormalAgain) {
  Net n(LatencyModel{.base = microseconds{100}, .jitter_mean_us = 0});
  const core::Timestamp until = n.kernel.now() + milliseconds{10};
  n.net.clog(n.a, n.b, until);
  n.kernel.run_until(until + milliseconds{1});
  ASSERT_TRUE(n.send(n.a, n.b, 1));
  n.run_for(milliseconds{1});
  ASSERT_EQ(n.arrival_log(n.b).size(), 1u);
  EXPECT_EQ(n.arrival_log(n.b)[0].at, until + milliseconds{1} + microseconds{100});
}

TEST(Network, CountersAddUpToTheSends) {
  Net n;
  n.net.cut_one_way(n.a, n.c);
  int sends = 0;
  for (int i = 0; i < 30; ++i) {
    n.send(n.a, n.b, i);
    n.send(n.a, n.c, i);
    sends += 2;
  }
  n.run_for(std::chrono::seconds{1});
  EXPECT_EQ(n.net.delivered(), 30u);
  EXPECT_EQ(n.net.dropped(), 30u);
  EXPECT_EQ(n.net.delivered() + n.net.dropped(), static_cast<std::uint64_t>(sends));
  EXPECT_EQ(n.arrival_log(n.b).size(), 30u);
}

TEST(Network, SameSeedSameArrivalTimes) {
  auto arrival_times = [](std::uint64_t seed) {
    Net n({}, seed);
    for (int i = 0; i < 50; ++i) {
      n.send(n.a, n.b, i);
      n.send(n.b, n.c, i);
      n.run_for(microseconds{100});
    }
    n.run_for(std::chrono::seconds{1});
    std::vector<core::Timestamp> out;
    for (const auto& arrivals : n.arrivals) {
      for (const Arrival& arrival : arrivals) out.push_back(arrival.at);
    }
    return out;
  };
  EXPECT_EQ(arrival_times(3), arrival_times(3));
  EXPECT_NE(arrival_times(3), arrival_times(4));
}

TEST(NetworkDeathTest, SendToAnUnknownNodeAborts) {
  Net n;
  EXPECT_DEATH(n.send(n.a, 7, 0), "unknown network node");
}

}  // namespace
}  // namespace orderflow::sim
