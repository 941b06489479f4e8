// `GroupCoordinator`: consumer groups of the simulated cluster.
//
// Membership, generations, heartbeats and session time-outs, rebalances (eager
// and cooperative-sticky), and committed offsets. Requests reach it through the
// coordinator broker of the group (`SimCluster::coordinator_of`); a request that
// reached another broker is answered with a retriable `not_coordinator`.
//
// The protocol, and where it is simpler than Kafka's:
// - JoinGroup and SyncGroup are one request. A join starts (or joins) a
//   rebalance and is answered when the rebalance completes, with the member id,
//   the new generation and the member's assignment.
// - A rebalance completes no earlier than `kInitialRebalanceDelay` after it
//   started, once every member has rejoined, or at the rebalance deadline (the
//   largest member rebalance timeout, which is the member's `max_poll_interval`
//   capped at `kMaxRebalanceTimeout`); members that did not rejoin by then are
//   evicted. Session timers keep running for members that have not rejoined, so
//   a dead member is usually evicted by its session time-out first.
// - The assignment is computed here rather than by a group leader's assignor.
//   Every member of a group must use the same strategy; a join asking for
//   another one fails with kFatal `inconsistent_group_protocol`.
//   Eager is Kafka's range assignor: per topic, sorted partitions are split
//   into contiguous ranges over the sorted subscribed members. Cooperative-
//   sticky keeps each member's owned partitions (as it reported them when it
//   rejoined), gives free partitions to the least loaded subscribed member, and
//   moves partitions from the most to the least loaded until balanced; it never
//   hands a partition to a new owner in the generation in which another member
//   still owns it: such a partition is taken from its owner and stays
//   unassigned, and a follow-up rebalance starts at once to assign it (Kafka's
//   incremental cooperative protocol).
// - A known member that rejoins a stable group with an unchanged subscription
//   gets the current generation and assignment back without a rebalance (a
//   retried join whose answer was lost). A new member with the
//   `group_instance_id` of an existing static member takes its place: without a
//   rebalance when the group is stable and the subscription unchanged; the
//   replaced member id is fenced for good (`fenced_instance_id`, kFatal).
// - Group state is not lost when the coordinator broker changes; only where
//   requests must be sent moves.
//
// Threading: the simulator's one thread. Owned by `SimCluster`; its timers are
// kernel events that the destructor cancels.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/ports/broker.h"
#include "sim/kernel.h"

namespace orderflow::adapters {

class SimCluster;

// The earliest a rebalance completes after it started (group.initial.rebalance.delay).
inline constexpr core::Duration kInitialRebalanceDelay{std::chrono::milliseconds{100}};
// The longest the coordinator waits for members to rejoin.
inline constexpr core::Duration kMaxRebalanceTimeout{std::chrono::seconds{30}};

// What a member sends to join (or rejoin) its group.
struct JoinGroupRequest {
  std::string group_id;
  std::string member_id;  // empty for a member joining for the first time
  std::string client_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::string> topics;  // the subscription
  core::AssignmentStrategy strategy = core::AssignmentStrategy::kCooperativeSticky;
  core::Duration session_timeout{};
  core::Duration rebalance_timeout{};
  std::vector<core::TopicPartition> owned;  // what the member still owns
};

// What the coordinator answers once the rebalance completed.
struct JoinGroupResponse {
  std::string member_id;
  core::Generation generation{-1};
  std::vector<core::TopicPartition> assignment;  // sorted
};

using JoinResponder = std::function<void(core::Result<JoinGroupResponse>)>;

// A view of one group for tests and checkers.
struct GroupSnapshot {
  core::Generation generation{0};
  bool rebalancing = false;
  std::map<std::string, std::vector<core::TopicPartition>> assignment;  // by member id
};

class GroupCoordinator {
 public:
  explicit GroupCoordinator(SimCluster& cluster);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // Request handlers, run at broker `at` when a request arrives there.

  // Calls `respond` exactly once: at once for errors, else when the rebalance
  // completes.
  void join(int at, JoinGroupRequest request, JoinResponder respond);
  // Ok; `rebalance_in_progress` (kRetriable) asks the member to rejoin;
  // `unknown_member_id` / `illegal_generation` (kFenced) say it was evicted.
  core::Result<> heartbeat(int at, const std::string& group, const std::string& member,
                           core::Generation generation);
  core::Result<> leave(int at, const std::string& group, const std::string& member);
  // Accepted from the current generation's members; from a group-less client
  // (empty member id, generation -1) only while the group has no members.
  core::Result<> commit_offsets(int at, const core::GroupMetadata& member,
                                const std::vector<core::TopicPartitionOffset>& offsets);
  // The committed offsets of those of `partitions` that have one.
  core::Result<std::vector<core::TopicPartitionOffset>> fetch_offsets(
      int at, const std::string& group, const std::vector<core::TopicPartition>& partitions) const;

  // Used by the transaction coordinator (KIP-447): offsets sent within a
  // transaction are accepted only from the group's current generation and member;
  // otherwise a kFenced error (`illegal_generation` / `unknown_member_id`).
  [[nodiscard]] core::Result<> validate_member(const core::GroupMetadata& member) const;
  // A fault: starts a rebalance of `group` as if a member had joined; every member
  // learns of it through its next heartbeat. False when the group has no members.
  bool force_rebalance(const std::string& group);
  // Stores committed offsets without membership checks (a committed transaction).
  void commit(const std::string& group, const std::vector<core::TopicPartitionOffset>& offsets);
  [[nodiscard]] std::optional<core::Offset> committed(const std::string& group,
                                                      const core::TopicPartition& tp) const;

  [[nodiscard]] std::optional<GroupSnapshot> describe(const std::string& group) const;

 private:
  struct Member {
    std::string id;
    JoinGroupRequest join;  // the latest join: subscription, timeouts, owned partitions
    std::vector<core::TopicPartition> assignment;  // of the current generation
    JoinResponder pending;                         // set while the member waits for the rebalance
    bool rejoined = false;
    sim::EventHandle session_timer;
  };

  enum class State { kEmpty, kPreparingRebalance, kStable };

  struct Group {
    std::string id;
    State state = State::kEmpty;
    core::Generation generation{0};
    std::map<std::string, Member> members;
    std::set<std::string> fenced;                  // member ids replaced by a static member
    std::vector<core::TopicPartition> partitions;  // what the current generation divided
    std::uint64_t next_member = 0;
    core::Timestamp earliest_completion{};
    sim::EventHandle delay_timer;
    sim::EventHandle deadline_timer;
  };

  struct Assignment {
    std::map<std::string, std::vector<core::TopicPartition>> members;
    std::set<core::TopicPartition> withheld;  // still owned elsewhere: a follow-up assigns them
  };

  [[nodiscard]] core::Result<> check_coordinator(int at, const std::string& group) const;
  [[nodiscard]] core::Result<> check_member(const Group& g, const std::string& member,
                                            core::Generation generation) const;
  [[nodiscard]] const Group* find(const std::string& group) const;
  Group* find(const std::string& group);

  static std::string new_member_id(Group& g, const std::string& client_id);
  void join_known(Group& g, Member& m, JoinGroupRequest request, JoinResponder respond);
  void join_new(Group& g, JoinGroupRequest request, JoinResponder respond);
  void replace_static(Group& g, Member& old, JoinGroupRequest request, JoinResponder respond);
  void wait_for_rebalance(Group& g, Member& m, JoinResponder respond);

  void begin_rebalance(Group& g, std::string_view reason);
  void maybe_complete(Group& g);
  void rebalance_deadline(const std::string& group);
  void complete_rebalance(Group& g);
  [[nodiscard]] Assignment assign(const Group& g) const;
  [[nodiscard]] Assignment assign_range(const Group& g) const;
  [[nodiscard]] Assignment assign_sticky(const Group& g) const;
  using Plan = std::map<std::string, std::vector<core::TopicPartition>>;  // by member id
  [[nodiscard]] std::map<core::TopicPartition, std::string> claims(
      const Group& g, const std::vector<core::TopicPartition>& all,
      std::set<core::TopicPartition>& withheld) const;
  [[nodiscard]] static const std::string* least_loaded(const Group& g, const Plan& plan,
                                                       const std::string& topic,
                                                       const std::string& except);
  static bool move_one(const Group& g, Plan& plan);
  [[nodiscard]] std::vector<core::TopicPartition> subscribed_partitions(const Group& g) const;

  void arm_session(Group& g, Member& m);
  void session_expired(const std::string& group, const std::string& member);
  void remove_member(Group& g, const std::string& member, std::string_view reason);
  void cancel_timers(Group& g);
  void trace(std::string_view name, core::Fields fields);

  SimCluster& cluster_;
  std::map<std::string, Group> groups_;
  std::map<std::string, std::map<core::TopicPartition, core::Offset>> offsets_;
};

}  // namespace orderflow::adapters
