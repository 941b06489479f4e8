#include "adapters/sim_broker/groups.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/sim_broker/cluster.h"
#include "adapters/sim_broker/consumer.h"
#include "sim/kernel.h"
#include "sim/network.h"
#include "sim/process.h"

namespace orderflow::adapters {
namespace {

using core::AssignmentStrategy;
using core::ConsumerRecord;
using core::ErrorKind;
using core::Offset;
using core::Partition;
using core::TopicPartition;
using namespace std::chrono_literals;

using Partitions = std::vector<TopicPartition>;

TopicPartition tp(const std::string& topic, int partition) { return {topic, Partition{partition}}; }

// Records what a consumer tells its owner, and checks the handler contract as it
// goes: no record of a partition it does not own, none twice or out of order
// within one assignment.
class RecordingHandler final : public core::ConsumerHandler {
 public:
  void on_assigned(const Partitions& partitions) override {
    assigned.push_back(partitions);
    for (const auto& p : partitions) {
      EXPECT_TRUE(owned.insert(p).second) << "assigned twice: " << p.topic;
      last_in_assignment.erase(p);
    }
  }
  void on_revoked(const Partitions& partitions) override {
    revoked.push_back(partitions);
    for (const auto& p : partitions) EXPECT_EQ(owned.erase(p), 1u) << "revoked unowned";
    if (on_revoke) on_revoke(partitions);
  }
  void on_lost(const Partitions& partitions) override {
    lost.push_back(partitions);
    for (const auto& p : partitions) EXPECT_EQ(owned.erase(p), 1u) << "lost unowned";
  }
  void on_records(const std::vector<ConsumerRecord>& batch) override {
    for (const auto& r : batch) {
      EXPECT_TRUE(owned.contains(r.tp) || reader) << "record of an unowned partition";
      auto last = last_in_assignment.find(r.tp);
      if (last != last_in_assignment.end()) {
        EXPECT_GT(r.offset, last->second) << "duplicate or reordered record";
      }
      last_in_assignment[r.tp] = r.offset;
      records.push_back(r);
    }
  }
  void on_error(const core::Error& error) override { errors.push_back(error); }

  [[nodiscard]] std::vector<std::int64_t> offsets(const TopicPartition& p) const {
    std::vector<std::int64_t> out;
    for (const auto& r : records) {
      if (r.tp == p) out.push_back(r.offset.value());
    }
    return out;
  }
  [[nodiscard]] std::size_t revoked_count() const {
    std::size_t n = 0;
    for (const auto& r : revoked) n += r.size();
    return n;
  }

  bool reader = false;  // group-less: records arrive without on_assigned
  std::set<TopicPartition> owned;
  std::map<TopicPartition, Offset> last_in_assignment;
  std::vector<Partitions> assigned;
  std::vector<Partitions> revoked;
  std::vector<Partitions> lost;
  std::vector<ConsumerRecord> records;
  std::vector<core::Error> errors;
  std::function<void(const Partitions&)> on_revoke;
};

// One consumer in its own simulated process.
struct Member {
  Member(sim::Kernel& kernel, sim::Network& network, SimCluster& cluster, const std::string& name,
         core::ConsumerOptions options)
      : process(kernel, name, kernel.random().fork(name)), node(network.add_node(name)) {
    process.start();
    consumer = std::make_unique<SimConsumer>(cluster, ClientEndpoint{&process, node},
                                             std::move(options), handler);
  }

  sim::Process process;
  sim::NodeId node;
  RecordingHandler handler;
  std::unique_ptr<SimConsumer> consumer;
};

core::ConsumerOptions options(const std::string& client,
                              AssignmentStrategy strategy = AssignmentStrategy::kCooperativeSticky,
                              std::string group = "g") {
  core::ConsumerOptions o;
  o.group_id = std::move(group);
  o.client_id = client;
  o.strategy = strategy;
  o.session_timeout = 6s;
  o.heartbeat_interval = 1s;
  o.max_poll_interval = 20s;
  o.max_records_per_batch = 7;
  return o;
}

core::ProducerRecord record(const std::string& topic, std::string value) {
  core::ProducerRecord r;
  r.topic = topic;
  r.value = std::move(value);
  return r;
}

ProduceBatch batch_for(const TopicPartition& p, core::Timestamp now, int count) {
  ProduceBatch batch;
  batch.tp = p;
  batch.timestamp = now;
  auto records = std::make_shared<std::vector<core::ProducerRecord>>();
  for (int i = 0; i < count; ++i) records->push_back(record(p.topic, "v" + std::to_string(i)));
  batch.records = std::move(records);
  return batch;
}

class GroupsTest : public testing::Test {
 protected:
  GroupsTest() {
    EXPECT_TRUE(cluster_.create_topic({.name = "orders", .partitions = 6}));
    EXPECT_TRUE(cluster_.create_topic({.name = "single", .partitions = 1}));
  }

  // GROUPS_TEST_TRACE=1 prints the end of each test's trace.
  void TearDown() override {
    if (std::getenv("GROUPS_TEST_TRACE") == nullptr) return;
    for (const auto& e : kernel_.trace().recent()) {
      if (e.name.find("fetch") == std::string::npos) {
        std::cerr << sim::to_text(e, kernel_.start()) << "\n";
      }
    }
  }

  Member& add(const std::string& name, core::ConsumerOptions opts) {
    members_.push_back(
        std::make_unique<Member>(kernel_, network_, cluster_, name, std::move(opts)));
    return *members_.back();
  }
  Member& join(const std::string& name,
               AssignmentStrategy strategy = AssignmentStrategy::kCooperativeSticky) {
    Member& m = add(name, options(name, strategy));
    m.consumer->subscribe({"orders"});
    return m;
  }

  void run_for(core::Duration d) { kernel_.run_until(kernel_.now() + d); }
  // Runs for `d`, checking after every event that no two live members own a partition.
  void run_checked(core::Duration d) {
    kernel_.run_until(
        [&] {
          expect_no_overlap();
          return false;
        },
        kernel_.now() + d);
  }

  void expect_no_overlap() {
    std::set<TopicPartition> seen;
    for (const auto& m : members_) {
      for (const auto& p : m->handler.owned) {
        EXPECT_TRUE(seen.insert(p).second)
            << "two members own " << p.topic << "/" << p.partition.value() << " at "
            << (kernel_.now() - kernel_.start()).count() << "us";
      }
    }
  }

  [[nodiscard]] std::set<TopicPartition> owned_by_all() const {
    std::set<TopicPartition> all;
    for (const auto& m : members_) all.insert(m->handler.owned.begin(), m->handler.owned.end());
    return all;
  }

  [[nodiscard]] std::set<TopicPartition> all_orders() const {
    auto parts = cluster_.partitions("orders");
    return {parts.begin(), parts.end()};
  }

  void produce(const TopicPartition& p, int count) {
    ASSERT_TRUE(cluster_.produce(cluster_.leader_of(p), batch_for(p, kernel_.now(), count)));
  }

  void expect_two_members_split(AssignmentStrategy strategy) {
    Member& a = join("a", strategy);
    Member& b = join("b", strategy);
    for (int p = 0; p < 6; ++p) produce(tp("orders", p), 5);
    run_checked(3s);

    EXPECT_EQ(a.handler.owned.size(), 3u);
    EXPECT_EQ(b.handler.owned.size(), 3u);
    EXPECT_EQ(owned_by_all(), all_orders());
    // One generation, so every record was delivered exactly once between them.
    EXPECT_EQ(a.consumer->group_metadata().generation, core::Generation{1});
    EXPECT_EQ(a.handler.records.size() + b.handler.records.size(), 30u);
  }

  // The process dies, and the consumer with it, without leaving the group.
  static void crash(Member& m) {
    m.process.crash();
    m.consumer.reset();
    m.handler.owned.clear();
  }

  [[nodiscard]] int coordinator() const { return cluster_.coordinator_of("g"); }

  [[nodiscard]] bool traced(std::string_view name) {
    const auto& recent = kernel_.trace().recent();
    return std::any_of(recent.begin(), recent.end(),
                       [&](const sim::TraceEvent& e) { return e.name == name; });
  }

  sim::Kernel kernel_{7};
  sim::Network network_{kernel_, kernel_.random().fork("network")};
  SimCluster cluster_{kernel_, network_, ClusterConfig{}};
  std::vector<std::unique_ptr<Member>> members_;
};

TEST_F(GroupsTest, SingleMemberGetsAllPartitions) {
  Member& a = join("a");
  run_for(2s);

  EXPECT_EQ(a.handler.owned, all_orders());
  ASSERT_EQ(a.handler.assigned.size(), 1u);
  const auto meta = a.consumer->group_metadata();
  EXPECT_EQ(meta.group_id, "g");
  EXPECT_EQ(meta.generation, core::Generation{1});
  EXPECT_FALSE(meta.member_id.empty());
  auto group = cluster_.groups().describe("g");
  ASSERT_TRUE(group);
  EXPECT_EQ(group->generation, core::Generation{1});
  EXPECT_FALSE(group->rebalancing);
}

TEST_F(GroupsTest, TwoCooperativeMembersSplitPartitionsWithoutOverlap) {
  expect_two_members_split(AssignmentStrategy::kCooperativeSticky);
}

TEST_F(GroupsTest, TwoEagerMembersSplitPartitionsWithoutOverlap) {
  expect_two_members_split(AssignmentStrategy::kEagerRange);
}

TEST_F(GroupsTest, LeavingMemberPartitionsMove) {
  Member& a = join("a");
  Member& b = join("b");
  run_for(3s);
  const auto b_owned = b.handler.owned;
  ASSERT_EQ(b_owned.size(), 3u);

  bool closed = false;
  b.consumer->close([&](core::Result<> r) {
    EXPECT_TRUE(r);
    closed = true;
  });
  run_checked(3s);

  EXPECT_TRUE(closed);
  std::optional<core::Result<>> after_close;
  b.consumer->commit({}, [&](core::Result<> r) { after_close = r; });
  run_for(100ms);
  ASSERT_TRUE(after_close && !*after_close);
  EXPECT_EQ(after_close->error().code, "consumer_closed");
  EXPECT_TRUE(b.handler.owned.empty());
  EXPECT_EQ(b.handler.revoked_count(), 3u);
  EXPECT_EQ(a.handler.owned, all_orders());
  EXPECT_TRUE(traced("group_member_left"));
  EXPECT_EQ(cluster_.groups().describe("g")->assignment.size(), 1u);
}

TEST_F(GroupsTest, ForcedRebalanceBumpsTheGenerationAndKeepsEveryPartitionOwned) {
  Member& a = join("a");
  Member& b = join("b");
  run_for(3s);
  const auto before = cluster_.groups().describe("g")->generation;

  ASSERT_TRUE(cluster_.groups().force_rebalance("g"));
  run_checked(5s);

  EXPECT_GT(cluster_.groups().describe("g")->generation, before);
  EXPECT_FALSE(cluster_.groups().describe("g")->rebalancing);
  auto owned = a.handler.owned;
  owned.insert(b.handler.owned.begin(), b.handler.owned.end());
  EXPECT_EQ(owned, all_orders());
  EXPECT_EQ(a.handler.owned.size() + b.handler.owned.size(), all_orders().size());
  EXPECT_FALSE(cluster_.groups().force_rebalance("no-such-group"));
}

TEST_F(GroupsTest, PausedMemberIsEvictedThenLosesItsPartitionsAndRejoins) {
  Member& a = join("a");
  Member& b = join("b");
  run_for(3s);
  const std::string old_member = b.consumer->group_metadata().member_id;

  b.process.pause();
  run_for(10s);  // past b's 6 s session timeout and the rebalance after it
  EXPECT_TRUE(traced("group_member_evicted"));
  EXPECT_EQ(a.handler.owned, all_orders());
  EXPECT_EQ(b.handler.owned.size(), 3u);  // the zombie does not know yet
  EXPECT_FALSE(cluster_.groups().describe("g")->assignment.contains(old_member));

  b.process.resume();
  run_for(5s);
  ASSERT_EQ(b.handler.lost.size(), 1u);
  EXPECT_EQ(b.handler.lost[0].size(), 3u);
  EXPECT_NE(b.consumer->group_metadata().member_id, old_member);
  EXPECT_EQ(b.handler.owned.size(), 3u);  // rejoined as a new member and got a share back
  EXPECT_EQ(a.handler.owned.size(), 3u);
  EXPECT_EQ(owned_by_all(), all_orders());
}

TEST_F(GroupsTest, CooperativeJoinRevokesOnlyPartitionsThatMove) {
  Member& a = join("a");
  Member& b = join("b");
  run_for(3s);
  const auto a_before = a.handler.owned;
  const auto b_before = b.handler.owned;

  Member& c = join("c");
  run_checked(10s);

  EXPECT_EQ(a.handler.revoked_count(), 1u);
  EXPECT_EQ(b.handler.revoked_count(), 1u);
  EXPECT_EQ(c.handler.owned.size(), 2u);
  EXPECT_EQ(owned_by_all(), all_orders());
  // What stayed was never revoked: the kept partitions are the ones owned before.
  for (const auto& p : a.handler.owned) EXPECT_TRUE(a_before.contains(p));
  for (const auto& p : b.handler.owned) EXPECT_TRUE(b_before.contains(p));
  EXPECT_TRUE(a.handler.lost.empty());
  EXPECT_FALSE(cluster_.groups().describe("g")->rebalancing);
}

TEST_F(GroupsTest, EagerJoinRevokesEverything) {
  Member& a = join("a", AssignmentStrategy::kEagerRange);
  Member& b = join("b", AssignmentStrategy::kEagerRange);
  run_for(3s);
  Member& c = join("c", AssignmentStrategy::kEagerRange);
  run_checked(5s);

  EXPECT_EQ(a.handler.revoked_count(), 3u);
  EXPECT_EQ(b.handler.revoked_count(), 3u);
  // Range: contiguous pieces over the sorted members.
  EXPECT_EQ(a.handler.owned, (std::set{tp("orders", 0), tp("orders", 1)}));
  EXPECT_EQ(b.handler.owned, (std::set{tp("orders", 2), tp("orders", 3)}));
  EXPECT_EQ(c.handler.owned, (std::set{tp("orders", 4), tp("orders", 5)}));
}

TEST_F(GroupsTest, CommittedOffsetsSurviveAConsumerRestart) {
  const auto p = tp("single", 0);
  produce(p, 10);
  Member& a = add("a", options("a"));
  a.consumer->subscribe({"single"});
  run_for(2s);
  ASSERT_EQ(a.handler.records.size(), 10u);

  std::optional<core::Result<>> commit;
  a.consumer->commit({{p, Offset{6}}}, [&](core::Result<> r) { commit = r; });
  run_for(1s);
  ASSERT_TRUE(commit && *commit);
  std::optional<core::Result<std::vector<core::TopicPartitionOffset>>> read;
  a.consumer->committed({p, tp("orders", 0)}, [&](auto r) { read = std::move(r); });
  run_for(1s);
  ASSERT_TRUE(read && *read);
  EXPECT_EQ(**read, (std::vector<core::TopicPartitionOffset>{{p, Offset{6}}}));

  crash(a);
  Member& again = add("a2", options("a2"));
  again.consumer->subscribe({"single"});
  run_for(10s);  // the crashed member's session expires first
  EXPECT_EQ(again.handler.offsets(p), (std::vector<std::int64_t>{6, 7, 8, 9}));
}

TEST_F(GroupsTest, StaleGenerationCommitIsFenced) {
  Member& a = join("a");
  run_for(2s);
  const core::GroupMetadata stale = a.consumer->group_metadata();
  join("b");
  run_for(4s);
  const core::GroupMetadata current = a.consumer->group_metadata();
  ASSERT_GT(current.generation, stale.generation);

  const std::vector<core::TopicPartitionOffset> offsets{{tp("orders", 0), Offset{1}}};
  auto fenced = cluster_.groups().commit_offsets(coordinator(), stale, offsets);
  ASSERT_FALSE(fenced);
  EXPECT_EQ(fenced.error().kind, ErrorKind::kFenced);
  EXPECT_EQ(fenced.error().code, "illegal_generation");
  EXPECT_FALSE(cluster_.groups().validate_member(stale));
  EXPECT_TRUE(cluster_.groups().validate_member(current));
  auto elsewhere = cluster_.groups().commit_offsets((coordinator() + 1) % 3, current, offsets);
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error().code, "not_coordinator");

  // A zombie's commit through the client is fenced too.
  a.process.pause();
  run_for(10s);
  a.process.resume();
  std::optional<core::Result<>> zombie;
  a.consumer->commit(offsets, [&](core::Result<> r) { zombie = r; });
  run_for(1s);
  ASSERT_TRUE(zombie);
  ASSERT_FALSE(*zombie);
  EXPECT_EQ(zombie->error().kind, ErrorKind::kFenced);
  EXPECT_EQ(cluster_.groups().committed("g", tp("orders", 0)), std::nullopt);
}

TEST_F(GroupsTest, EagerMemberCommitsInOnRevoked) {
  Member& a = join("a", AssignmentStrategy::kEagerRange);
  run_for(2s);
  std::vector<core::Result<>> commits;
  a.handler.on_revoke = [&](const Partitions& revoked) {
    std::vector<core::TopicPartitionOffset> offsets;
    for (const auto& p : revoked) offsets.push_back({p, Offset{3}});
    a.consumer->commit(offsets, [&](core::Result<> r) { commits.push_back(r); });
  };
  join("b", AssignmentStrategy::kEagerRange);
  run_for(4s);
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_TRUE(commits[0]);
  EXPECT_EQ(cluster_.groups().committed("g", tp("orders", 5)), Offset{3});
}

TEST_F(GroupsTest, RecordsArriveInOffsetOrderWithoutDuplicatesDespiteFaults) {
  Member& a = join("a");
  run_for(2s);
  for (int round = 0; round < 10; ++round) {
    for (int p = 0; p < 6; ++p) produce(tp("orders", p), 3 + round % 4);
    if (round == 3) cluster_.move_leader(tp("orders", 2));
    if (round == 5) {
      for (int b = 0; b < cluster_.broker_count(); ++b) {
        network_.set_loss(a.node, cluster_.broker_node(b), 0.05);
        network_.set_loss(cluster_.broker_node(b), a.node, 0.05);
      }
    }
    run_for(300ms);
  }
  network_.heal_all();
  run_for(5s);

  ASSERT_TRUE(a.handler.lost.empty());  // one assignment throughout
  for (int p = 0; p < 6; ++p) {
    const auto got = a.handler.offsets(tp("orders", p));
    std::vector<std::int64_t> want(
        static_cast<std::size_t>(cluster_.log(tp("orders", p))->end().value()));
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = static_cast<std::int64_t>(i);
    EXPECT_EQ(got, want) << "partition " << p;
  }
}

TEST_F(GroupsTest, PausedPartitionDeliversNothingUntilResumed) {
  const auto p = tp("single", 0);
  Member& a = add("a", options("a"));
  a.consumer->subscribe({"single"});
  run_for(2s);
  a.consumer->pause({p});
  produce(p, 4);
  run_for(2s);
  EXPECT_TRUE(a.handler.records.empty());
  a.consumer->resume({p});
  run_for(1s);
  EXPECT_EQ(a.handler.offsets(p), (std::vector<std::int64_t>{0, 1, 2, 3}));
  a.handler.last_in_assignment.clear();  // a seek back delivers again, by request
  a.consumer->seek({p, Offset{2}});
  run_for(1s);
  EXPECT_EQ(a.handler.offsets(p), (std::vector<std::int64_t>{0, 1, 2, 3, 2, 3}));
}

TEST_F(GroupsTest, AssignedReaderCommitsOnlyWhileTheGroupIsEmpty) {
  const auto p = tp("single", 0);
  auto opts = options("r", AssignmentStrategy::kCooperativeSticky, "readers");
  Member& r = add("r", opts);
  r.handler.reader = true;
  r.consumer->assign({{p, Offset{0}}});
  std::vector<core::Result<>> commits;
  r.consumer->commit({{p, Offset{4}}}, [&](core::Result<> c) { commits.push_back(c); });
  run_for(1s);
  Member& m = add("m", opts);
  m.consumer->subscribe({"single"});
  run_for(2s);
  r.consumer->commit({{p, Offset{5}}}, [&](core::Result<> c) { commits.push_back(c); });
  run_for(1s);

  ASSERT_EQ(commits.size(), 2u);
  EXPECT_TRUE(commits[0]);
  ASSERT_FALSE(commits[1]);
  EXPECT_EQ(commits[1].error().kind, ErrorKind::kFenced);
  EXPECT_EQ(cluster_.groups().committed("readers", p), Offset{4});
  EXPECT_EQ(r.consumer->group_metadata().generation, core::Generation{-1});
}

TEST_F(GroupsTest, NoOffsetResetReportsFatalError) {
  auto opts = options("a");
  opts.auto_offset_reset = core::OffsetReset::kNone;
  Member& a = add("a", opts);
  a.consumer->subscribe({"single"});
  run_for(2s);
  ASSERT_EQ(a.handler.errors.size(), 1u);
  EXPECT_EQ(a.handler.errors[0].kind, ErrorKind::kFatal);
  EXPECT_EQ(a.handler.errors[0].code, "no_offset");
}

TEST_F(GroupsTest, LatestResetSkipsExistingRecords) {
  const auto p = tp("single", 0);
  produce(p, 5);
  auto opts = options("a");
  opts.auto_offset_reset = core::OffsetReset::kLatest;
  Member& a = add("a", opts);
  a.consumer->subscribe({"single"});
  run_for(2s);
  produce(p, 2);
  run_for(1s);
  EXPECT_EQ(a.handler.offsets(p), (std::vector<std::int64_t>{5, 6}));
}

TEST_F(GroupsTest, StaticMemberTakesItsPlaceWithoutRebalance) {
  auto opts = options("s");
  opts.group_instance_id = "s-0";
  Member& first = add("s1", opts);
  first.consumer->subscribe({"orders"});
  run_for(2s);
  const auto before = first.consumer->group_metadata();

  crash(first);
  Member& second = add("s2", opts);
  second.consumer->subscribe({"orders"});
  run_for(2s);
  EXPECT_EQ(second.handler.owned, all_orders());
  EXPECT_EQ(second.consumer->group_metadata().generation, before.generation);
  auto old = cluster_.groups().heartbeat(coordinator(), "g", before.member_id, before.generation);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, "fenced_instance_id");
}

TEST_F(GroupsTest, DifferingSubscriptionsSettleWithoutEndlessRebalances) {
  Member& a = add("a", options("a"));
  a.consumer->subscribe({"orders", "single"});
  run_for(2s);
  Member& b = add("b", options("b"));
  b.consumer->subscribe({"single"});
  run_checked(10s);

  EXPECT_EQ(a.handler.owned, all_orders());
  EXPECT_EQ(b.handler.owned, (std::set{tp("single", 0)}));
  const auto settled = cluster_.groups().describe("g");
  ASSERT_TRUE(settled);
  EXPECT_FALSE(settled->rebalancing);
  run_for(10s);
  EXPECT_EQ(cluster_.groups().describe("g")->generation, settled->generation);
}

TEST_F(GroupsTest, TopicCreatedAfterSubscribeIsAssigned) {
  Member& a = add("a", options("a"));
  a.consumer->subscribe({"later"});
  run_for(2s);
  EXPECT_TRUE(a.handler.owned.empty());
  ASSERT_TRUE(cluster_.create_topic({.name = "later", .partitions = 2}));
  run_for(3s);
  EXPECT_EQ(a.handler.owned, (std::set{tp("later", 0), tp("later", 1)}));
}

TEST_F(GroupsTest, MemberWithAnotherStrategyIsTurnedAway) {
  join("a", AssignmentStrategy::kCooperativeSticky);
  run_for(2s);
  Member& b = join("b", AssignmentStrategy::kEagerRange);
  run_for(2s);
  ASSERT_EQ(b.handler.errors.size(), 1u);
  EXPECT_EQ(b.handler.errors[0].code, "inconsistent_group_protocol");
  EXPECT_EQ(cluster_.groups().describe("g")->assignment.size(), 1u);
}

TEST_F(GroupsTest, GroupSurvivesCoordinatorBrokerFailure) {
  Member& a = join("a");
  Member& b = join("b");
  for (int p = 0; p < 6; ++p) produce(tp("orders", p), 4);
  run_for(3s);
  const auto generation = cluster_.groups().describe("g")->generation;

  cluster_.broker_down(coordinator());
  run_checked(1s);  // past the leaders' failover window
  for (int p = 0; p < 6; ++p) produce(tp("orders", p), 4);
  run_checked(9s);

  EXPECT_EQ(cluster_.groups().describe("g")->generation, generation);  // nobody was evicted
  EXPECT_TRUE(a.handler.lost.empty());
  EXPECT_TRUE(b.handler.lost.empty());
  EXPECT_EQ(a.handler.records.size() + b.handler.records.size(), 48u);
}

// Two runs of one seed take the same steps.
TEST(GroupsDeterminismTest, SameSeedSameTrace) {
  auto run = [] {
    sim::Kernel kernel(11);
    sim::Network network(kernel, kernel.random().fork("network"));
    SimCluster cluster(kernel, network, ClusterConfig{});
    EXPECT_TRUE(cluster.create_topic({.name = "orders", .partitions = 6}));
    std::vector<std::unique_ptr<Member>> members;
    for (const char* name : {"a", "b", "c"}) {
      members.push_back(std::make_unique<Member>(kernel, network, cluster, name, options(name)));
      members.back()->consumer->subscribe({"orders"});
      for (int p = 0; p < 6; ++p) {
        EXPECT_TRUE(cluster.produce(cluster.leader_of(tp("orders", p)),
                                    batch_for(tp("orders", p), kernel.now(), 3)));
      }
      kernel.run_until(kernel.now() + 2s);
    }
    network.set_loss(members[0]->node, cluster.broker_node(0), 0.2);
    members[1]->process.pause();
    kernel.run_until(kernel.now() + 10s);
    members[1]->process.resume();
    kernel.run_until(kernel.now() + 10s);
    return kernel.trace().hash();
  };
  EXPECT_EQ(run(), run());
}

// --- Transactions and isolation ----------------------------------------------

class IsolationTest : public GroupsTest {
 protected:
  // Writes one transaction of `count` records to `p` and ends it as asked.
  void transaction(const std::string& txn_id, const TopicPartition& p, int count,
                   std::optional<bool> commit) {
    const int coord = cluster_.coordinator_of(txn_id);
    auto who = cluster_.init_producer_id(coord, txn_id, 60s);
    ASSERT_TRUE(who);
    ASSERT_TRUE(cluster_.add_partitions_to_txn(coord, txn_id, *who, {p}));
    ProduceBatch batch = batch_for(p, kernel_.now(), count);
    batch.producer_id = who->id;
    batch.epoch = who->epoch;
    batch.first_sequence = 0;
    batch.transactional = true;
    ASSERT_TRUE(cluster_.produce(cluster_.leader_of(p), batch));
    if (commit) {
      ASSERT_TRUE(cluster_.end_txn(coord, txn_id, *who, *commit));
    }
  }
};

TEST_F(IsolationTest, ReadCommittedSkipsAbortedAndStopsAtOpenTransactions) {
  const auto p = tp("single", 0);
  produce(p, 1);                            // 0
  transaction("tx-a", p, 2, false);         // 1, 2, abort marker 3
  transaction("tx-b", p, 2, true);          // 4, 5, commit marker 6
  produce(p, 1);                            // 7
  transaction("tx-c", p, 1, std::nullopt);  // 8, still open
  produce(p, 1);                            // 9, behind the open transaction

  Member& committed = add("rc", options("rc"));
  committed.consumer->subscribe({"single"});
  auto uncommitted_opts = options("ru");
  uncommitted_opts.isolation = core::IsolationLevel::kReadUncommitted;
  Member& uncommitted = add("ru", uncommitted_opts);
  uncommitted.handler.reader = true;
  uncommitted.consumer->assign({{p, Offset{0}}});
  run_for(2s);

  EXPECT_EQ(committed.handler.offsets(p), (std::vector<std::int64_t>{0, 4, 5, 7}));
  EXPECT_EQ(uncommitted.handler.offsets(p), (std::vector<std::int64_t>{0, 1, 2, 4, 5, 7, 8, 9}));
  EXPECT_TRUE(uncommitted.handler.assigned.empty());  // no group callbacks when assigned
}

TEST_F(IsolationTest, ReadCommittedDeliversAnOpenTransactionOnceCommitted) {
  const auto p = tp("single", 0);
  const int coord = cluster_.coordinator_of("tx");
  auto who = cluster_.init_producer_id(coord, "tx", 60s);
  ASSERT_TRUE(who);
  ASSERT_TRUE(cluster_.add_partitions_to_txn(coord, "tx", *who, {p}));
  ProduceBatch batch = batch_for(p, kernel_.now(), 1);
  batch.producer_id = who->id;
  batch.epoch = who->epoch;
  batch.first_sequence = 0;
  batch.transactional = true;
  ASSERT_TRUE(cluster_.produce(cluster_.leader_of(p), batch));

  Member& reader = add("rc", options("rc"));
  reader.consumer->subscribe({"single"});
  run_for(2s);
  EXPECT_TRUE(reader.handler.records.empty());
  ASSERT_TRUE(cluster_.end_txn(coord, "tx", *who, true));
  run_for(1s);
  EXPECT_EQ(reader.handler.offsets(p), (std::vector<std::int64_t>{0}));
}

}  // namespace
}  // namespace orderflow::adapters
