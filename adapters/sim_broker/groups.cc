#include "adapters/sim_broker/groups.h"

#include <algorithm>
#include <utility>

#include "adapters/sim_broker/cluster.h"

namespace orderflow::adapters {
namespace {

using core::ErrorKind;
using core::make_error;
using core::TopicPartition;

template <typename T>
void sort_unique(std::vector<T>& items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
}

bool contains(const std::vector<TopicPartition>& sorted, const TopicPartition& tp) {
  return std::binary_search(sorted.begin(), sorted.end(), tp);
}

bool subscribes(const JoinGroupRequest& join, const std::string& topic) {
  return std::binary_search(join.topics.begin(), join.topics.end(), topic);
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

core::Error unknown_member(const std::string& member) {
  return {ErrorKind::kFenced, "unknown_member_id", "member " + member + " is not in the group"};
}

}  // namespace

GroupCoordinator::GroupCoordinator(SimCluster& cluster) : cluster_(cluster) {}

GroupCoordinator::~GroupCoordinator() {
  for (auto& [id, g] : groups_) {
    cancel_timers(g);
    for (auto& [member, m] : g.members) cluster_.kernel().cancel(m.session_timer);
  }
}

void GroupCoordinator::trace(std::string_view name, core::Fields fields) {
  cluster_.kernel().record("cluster", core::Severity::kInfo, name, fields);
}

const GroupCoordinator::Group* GroupCoordinator::find(const std::string& group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : &it->second;
}

GroupCoordinator::Group* GroupCoordinator::find(const std::string& group) {
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : &it->second;
}

core::Result<> GroupCoordinator::check_coordinator(int at, const std::string& group) const {
  if (cluster_.coordinator_of(group) != at) {
    return make_error(ErrorKind::kRetriable, "not_coordinator",
                      "broker " + std::to_string(at) + " is not the coordinator of " + group);
  }
  return {};
}

core::Result<> GroupCoordinator::check_member(const Group& g, const std::string& member,
                                              core::Generation generation) const {
  if (!g.members.contains(member)) return std::unexpected(unknown_member(member));
  if (generation != g.generation) {
    return make_error(ErrorKind::kFenced, "illegal_generation",
                      "generation " + std::to_string(generation.value()) + " is not the current " +
                          std::to_string(g.generation.value()) + " of group " + g.id);
  }
  return {};
}

// --- Joining -----------------------------------------------------------------

void GroupCoordinator::join(int at, JoinGroupRequest request, JoinResponder respond) {
  if (auto ok = check_coordinator(at, request.group_id); !ok) {
    respond(std::unexpected(ok.error()));
    return;
  }
  sort_unique(request.topics);
  sort_unique(request.owned);
  auto [it, created] = groups_.try_emplace(request.group_id);
  Group& g = it->second;
  if (created) g.id = request.group_id;
  if (!g.members.empty() && g.members.begin()->second.join.strategy != request.strategy) {
    respond(make_error(ErrorKind::kFatal, "inconsistent_group_protocol",
                       "group " + g.id + " uses another assignment strategy"));
    return;
  }

  if (!request.member_id.empty()) {
    if (g.fenced.contains(request.member_id)) {
      respond(make_error(ErrorKind::kFatal, "fenced_instance_id",
                         "a newer instance took the place of member " + request.member_id));
      return;
    }
    auto member = g.members.find(request.member_id);
    if (member == g.members.end()) {
      respond(std::unexpected(unknown_member(request.member_id)));
      return;
    }
    join_known(g, member->second, std::move(request), std::move(respond));
    return;
  }
  if (request.group_instance_id) {
    for (auto& [id, m] : g.members) {
      if (m.join.group_instance_id == request.group_instance_id) {
        replace_static(g, m, std::move(request), std::move(respond));
        return;
      }
    }
  }
  join_new(g, std::move(request), std::move(respond));
}

std::string GroupCoordinator::new_member_id(Group& g, const std::string& client_id) {
  return (client_id.empty() ? std::string{"consumer"} : client_id) + "-" +
         std::to_string(++g.next_member);
}

void GroupCoordinator::join_known(Group& g, Member& m, JoinGroupRequest request,
                                  JoinResponder respond) {
  const bool same_subscription = m.join.topics == request.topics;
  m.join = std::move(request);
  // A retried join whose answer was lost: nothing changed, hand the answer out again.
  if (g.state == State::kStable && same_subscription) {
    arm_session(g, m);
    respond(JoinGroupResponse{m.id, g.generation, m.assignment});
    return;
  }
  begin_rebalance(g, same_subscription ? "member_rejoined" : "subscription_changed");
  wait_for_rebalance(g, m, std::move(respond));
}

void GroupCoordinator::join_new(Group& g, JoinGroupRequest request, JoinResponder respond) {
  const std::string id = new_member_id(g, request.client_id);
  request.member_id = id;
  request.owned.clear();  // a new member owns nothing, whatever it says
  begin_rebalance(g, "member_joined");
  Member& m = g.members[id];
  m.id = id;
  m.join = std::move(request);
  trace("group_member_joined", {{"group", g.id}, {"member", id}});
  wait_for_rebalance(g, m, std::move(respond));
}

void GroupCoordinator::replace_static(Group& g, Member& old, JoinGroupRequest request,
                                      JoinResponder respond) {
  const bool same_subscription = old.join.topics == request.topics;
  const std::string old_id = old.id;
  std::vector<TopicPartition> assignment = old.assignment;
  if (g.state == State::kStable && same_subscription) {
    // Takes the place of the old instance without a rebalance, as a restarted
    // static member does in Kafka.
    Member replaced = std::move(old);
    g.members.erase(old_id);
    cluster_.kernel().cancel(replaced.session_timer);
    g.fenced.insert(old_id);
    const std::string id = new_member_id(g, request.client_id);
    request.member_id = id;
    request.owned.clear();
    Member& m = g.members[id];
    m.id = id;
    m.join = std::move(request);
    m.assignment = std::move(assignment);
    trace("group_static_member_replaced", {{"group", g.id}, {"old", old_id}, {"member", id}});
    arm_session(g, m);
    respond(JoinGroupResponse{id, g.generation, m.assignment});
    return;
  }
  g.fenced.insert(old_id);
  remove_member(g, old_id, "replaced_by_static_member");
  join_new(g, std::move(request), std::move(respond));
}

void GroupCoordinator::wait_for_rebalance(Group& g, Member& m, JoinResponder respond) {
  if (m.pending) {
    // A join the member gave up on and retried: its answer would be dropped anyway.
    std::exchange(m.pending, nullptr)(make_error(ErrorKind::kRetriable, "rebalance_in_progress",
                                                 "superseded by a newer join of the member"));
  }
  m.pending = std::move(respond);
  m.rejoined = true;
  // A member waiting in a join is kept alive by the rebalance deadline instead.
  cluster_.kernel().cancel(m.session_timer);
  maybe_complete(g);
}

// --- Rebalancing -------------------------------------------------------------

void GroupCoordinator::begin_rebalance(Group& g, std::string_view reason) {
  if (g.state == State::kPreparingRebalance) return;
  g.state = State::kPreparingRebalance;
  for (auto& [id, m] : g.members) m.rejoined = false;

  core::Duration timeout{0};
  for (const auto& [id, m] : g.members) {
    timeout = std::max(timeout, std::min(m.join.rebalance_timeout, kMaxRebalanceTimeout));
  }
  if (g.members.empty()) timeout = kMaxRebalanceTimeout;
  timeout = std::max(timeout, kInitialRebalanceDelay);

  sim::Kernel& kernel = cluster_.kernel();
  g.earliest_completion = kernel.now() + kInitialRebalanceDelay;
  g.delay_timer = kernel.after(kInitialRebalanceDelay, [this, id = g.id] {
    if (Group* group = find(id)) maybe_complete(*group);
  });
  g.deadline_timer = kernel.after(timeout, [this, id = g.id] { rebalance_deadline(id); });
  trace("group_rebalance_started",
        {{"group", g.id}, {"generation", g.generation.value()}, {"reason", reason}});
}

bool GroupCoordinator::force_rebalance(const std::string& group) {
  Group* g = find(group);
  if (g == nullptr || g->members.empty()) return false;
  begin_rebalance(*g, "forced");
  return true;
}

void GroupCoordinator::maybe_complete(Group& g) {
  if (g.state != State::kPreparingRebalance || g.members.empty()) return;
  if (cluster_.kernel().now() < g.earliest_completion) return;
  const bool all_rejoined = std::all_of(g.members.begin(), g.members.end(),
                                        [](const auto& entry) { return entry.second.rejoined; });
  if (all_rejoined) complete_rebalance(g);
}

void GroupCoordinator::rebalance_deadline(const std::string& group) {
  Group* g = find(group);
  if (g == nullptr || g->state != State::kPreparingRebalance) return;
  std::vector<std::string> late;
  for (const auto& [id, m] : g->members) {
    if (!m.rejoined) late.push_back(id);
  }
  // Removing the last laggard completes the rebalance.
  for (const auto& id : late) remove_member(*g, id, "rebalance_timeout");
  maybe_complete(*g);
}

void GroupCoordinator::complete_rebalance(Group& g) {
  cancel_timers(g);
  g.generation = g.generation.next();
  g.state = State::kStable;
  g.partitions = subscribed_partitions(g);
  Assignment assignment = assign(g);

  std::vector<std::string> ids;
  for (auto& [id, m] : g.members) {
    ids.push_back(id);
    m.assignment = std::move(assignment.members[id]);
    m.rejoined = false;
    arm_session(g, m);
    if (m.pending) {
      std::exchange(m.pending, nullptr)(JoinGroupResponse{id, g.generation, m.assignment});
    }
  }
  trace("group_rebalanced", {{"group", g.id},
                             {"generation", g.generation.value()},
                             {"members", static_cast<std::int64_t>(ids.size())},
                             {"member_ids", join_names(ids)},
                             {"withheld", static_cast<std::int64_t>(assignment.withheld.size())}});
  // Partitions taken from their owners get their new owners in a follow-up.
  if (!assignment.withheld.empty()) begin_rebalance(g, "cooperative_follow_up");
}

std::vector<TopicPartition> GroupCoordinator::subscribed_partitions(const Group& g) const {
  std::set<std::string> topics;
  for (const auto& [id, m] : g.members) topics.insert(m.join.topics.begin(), m.join.topics.end());
  std::vector<TopicPartition> all;
  for (const auto& topic : topics) {
    auto partitions = cluster_.partitions(topic);
    all.insert(all.end(), partitions.begin(), partitions.end());
  }
  return all;  // sorted: topics in order, partitions in order within each
}

GroupCoordinator::Assignment GroupCoordinator::assign(const Group& g) const {
  // Every member uses the same strategy: `join` turns away any other.
  const bool cooperative =
      g.members.begin()->second.join.strategy == core::AssignmentStrategy::kCooperativeSticky;
  return cooperative ? assign_sticky(g) : assign_range(g);
}

GroupCoordinator::Assignment GroupCoordinator::assign_range(const Group& g) const {
  Assignment out;
  std::set<std::string> topics;
  for (const auto& [id, m] : g.members) topics.insert(m.join.topics.begin(), m.join.topics.end());
  for (const auto& topic : topics) {
    std::vector<std::string> subscribers;
    for (const auto& [id, m] : g.members) {
      if (subscribes(m.join, topic)) subscribers.push_back(id);
    }
    const auto partitions = cluster_.partitions(topic);
    const std::size_t share = partitions.size() / subscribers.size();
    const std::size_t extra = partitions.size() % subscribers.size();
    std::size_t next = 0;
    for (std::size_t i = 0; i < subscribers.size(); ++i) {
      const std::size_t count = share + (i < extra ? 1 : 0);
      auto& mine = out.members[subscribers[i]];
      mine.insert(mine.end(), partitions.begin() + static_cast<std::ptrdiff_t>(next),
                  partitions.begin() + static_cast<std::ptrdiff_t>(next + count));
      next += count;
    }
  }
  for (auto& [id, mine] : out.members) std::sort(mine.begin(), mine.end());
  return out;
}

// Cooperative-sticky: plan as if partitions could move freely — keep what each
// member owns, give free partitions to the least loaded subscriber, then move
// partitions from the most to the least loaded eligible member until no move
// narrows the gap — and hand out the plan except for partitions that would
// change owner: those are withheld (the owner is told to give them up) and a
// follow-up rebalance, planning again, gives them to their new owner.
GroupCoordinator::Assignment GroupCoordinator::assign_sticky(const Group& g) const {
  const std::vector<TopicPartition> all = subscribed_partitions(g);
  std::set<TopicPartition> withheld;
  const auto owner = claims(g, all, withheld);

  Plan plan;
  for (const auto& [id, m] : g.members) plan[id];
  for (const auto& [tp, id] : owner) plan[id].push_back(tp);
  for (const auto& tp : all) {
    if (owner.contains(tp) || withheld.contains(tp)) continue;
    if (const std::string* to = least_loaded(g, plan, tp.topic, "")) plan[*to].push_back(tp);
  }
  while (move_one(g, plan)) {
  }

  Assignment out;
  for (auto& [id, planned] : plan) {
    auto& mine = out.members[id];
    for (const auto& tp : planned) {
      auto claimed = owner.find(tp);
      if (claimed == owner.end() || claimed->second == id) {
        mine.push_back(tp);
      } else {
        withheld.insert(tp);
      }
    }
    std::sort(mine.begin(), mine.end());
  }
  out.withheld = std::move(withheld);
  return out;
}

// Who owns what, from what members reported when they rejoined. A partition
// claimed twice goes to the member that held it in the last generation, else to
// the first claimant; one claimed by a member that no longer subscribes to it
// is withheld.
std::map<TopicPartition, std::string> GroupCoordinator::claims(
    const Group& g, const std::vector<TopicPartition>& all,
    std::set<TopicPartition>& withheld) const {
  std::map<TopicPartition, std::string> owner;
  for (const auto& [id, m] : g.members) {
    for (const auto& tp : m.join.owned) {
      if (!contains(all, tp)) continue;
      if (!subscribes(m.join, tp.topic)) {
        withheld.insert(tp);
        continue;
      }
      auto [it, inserted] = owner.try_emplace(tp, id);
      if (!inserted && contains(m.assignment, tp) &&
          !contains(g.members.at(it->second).assignment, tp)) {
        it->second = id;
      }
    }
  }
  for (const auto& [tp, id] : owner) withheld.erase(tp);
  return owner;
}

// The subscriber of `topic` with the fewest planned partitions (ties: lowest id),
// other than `except`.
const std::string* GroupCoordinator::least_loaded(const Group& g, const Plan& plan,
                                                  const std::string& topic,
                                                  const std::string& except) {
  const std::string* best = nullptr;
  for (const auto& [id, m] : g.members) {
    if (id == except || !subscribes(m.join, topic)) continue;
    if (best == nullptr || plan.at(id).size() < plan.at(*best).size()) best = &id;
  }
  return best;
}

// Moves one partition from a most loaded member to an eligible member with at
// least two fewer; false when there is none. Each move lowers the sum of squared
// loads, so repeating it ends.
bool GroupCoordinator::move_one(const Group& g, Plan& plan) {
  std::vector<std::string> order;
  for (const auto& [id, planned] : plan) order.push_back(id);
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return plan.at(a).size() > plan.at(b).size();
  });
  for (const auto& from : order) {
    auto& mine = plan.at(from);
    std::sort(mine.begin(), mine.end());
    for (auto tp = mine.rbegin(); tp != mine.rend(); ++tp) {
      const std::string* to = least_loaded(g, plan, tp->topic, from);
      if (to == nullptr || plan.at(*to).size() + 1 >= mine.size()) continue;
      plan.at(*to).push_back(*tp);
      mine.erase(std::next(tp).base());
      return true;
    }
  }
  return false;
}

// --- Liveness ----------------------------------------------------------------

void GroupCoordinator::arm_session(Group& g, Member& m) {
  sim::Kernel& kernel = cluster_.kernel();
  kernel.cancel(m.session_timer);
  m.session_timer = kernel.after(m.join.session_timeout, [this, group = g.id, member = m.id] {
    session_expired(group, member);
  });
}

void GroupCoordinator::session_expired(const std::string& group, const std::string& member) {
  Group* g = find(group);
  if (g == nullptr) return;
  auto it = g->members.find(member);
  if (it == g->members.end() || it->second.pending) return;
  remove_member(*g, member, "session_timeout");
}

void GroupCoordinator::remove_member(Group& g, const std::string& member, std::string_view reason) {
  auto it = g.members.find(member);
  if (it == g.members.end()) return;
  Member gone = std::move(it->second);
  g.members.erase(it);
  cluster_.kernel().cancel(gone.session_timer);
  trace(reason == "left" ? "group_member_left" : "group_member_evicted",
        {{"group", g.id}, {"member", member}, {"reason", reason}});
  if (gone.pending) std::exchange(gone.pending, nullptr)(std::unexpected(unknown_member(member)));

  if (g.members.empty()) {
    cancel_timers(g);
    g.state = State::kEmpty;
    g.generation = g.generation.next();
    trace("group_rebalanced", {{"group", g.id},
                               {"generation", g.generation.value()},
                               {"members", std::int64_t{0}},
                               {"member_ids", ""},
                               {"withheld", std::int64_t{0}}});
    return;
  }
  if (g.state == State::kPreparingRebalance) {
    maybe_complete(g);
  } else {
    begin_rebalance(g, reason);
  }
}

void GroupCoordinator::cancel_timers(Group& g) {
  sim::Kernel& kernel = cluster_.kernel();
  kernel.cancel(g.delay_timer);
  kernel.cancel(g.deadline_timer);
}

core::Result<> GroupCoordinator::heartbeat(int at, const std::string& group,
                                           const std::string& member, core::Generation generation) {
  if (auto ok = check_coordinator(at, group); !ok) return ok;
  Group* g = find(group);
  if (g == nullptr) return std::unexpected(unknown_member(member));
  if (g->fenced.contains(member)) {
    return make_error(ErrorKind::kFatal, "fenced_instance_id",
                      "a newer instance took the place of member " + member);
  }
  if (auto ok = check_member(*g, member, generation); !ok) return ok;
  Member& m = g->members.at(member);
  if (!m.pending) arm_session(*g, m);
  // A topic created or grown after the last assignment (Kafka notices through metadata).
  if (g->state == State::kStable && subscribed_partitions(*g) != g->partitions) {
    begin_rebalance(*g, "partitions_changed");
  }
  if (g->state == State::kPreparingRebalance) {
    return make_error(ErrorKind::kRetriable, "rebalance_in_progress",
                      "group " + group + " is rebalancing: rejoin");
  }
  return {};
}

core::Result<> GroupCoordinator::leave(int at, const std::string& group,
                                       const std::string& member) {
  if (auto ok = check_coordinator(at, group); !ok) return ok;
  Group* g = find(group);
  if (g == nullptr || !g->members.contains(member)) return std::unexpected(unknown_member(member));
  remove_member(*g, member, "left");
  return {};
}

// --- Offsets -----------------------------------------------------------------

core::Result<> GroupCoordinator::validate_member(const core::GroupMetadata& member) const {
  const Group* g = find(member.group_id);
  const bool group_less = member.member_id.empty() && member.generation.value() < 0;
  if (group_less) {
    if (g == nullptr || g->members.empty()) return {};
    return std::unexpected(unknown_member(member.member_id));
  }
  if (g == nullptr) return std::unexpected(unknown_member(member.member_id));
  return check_member(*g, member.member_id, member.generation);
}

core::Result<> GroupCoordinator::commit_offsets(
    int at, const core::GroupMetadata& member,
    const std::vector<core::TopicPartitionOffset>& offsets) {
  if (auto ok = check_coordinator(at, member.group_id); !ok) return ok;
  if (auto ok = validate_member(member); !ok) return ok;
  commit(member.group_id, offsets);
  return {};
}

void GroupCoordinator::commit(const std::string& group,
                              const std::vector<core::TopicPartitionOffset>& offsets) {
  auto& stored = offsets_[group];
  for (const auto& o : offsets) stored[o.tp] = o.offset;
}

std::optional<core::Offset> GroupCoordinator::committed(const std::string& group,
                                                        const TopicPartition& tp) const {
  auto g = offsets_.find(group);
  if (g == offsets_.end()) return std::nullopt;
  auto it = g->second.find(tp);
  if (it == g->second.end()) return std::nullopt;
  return it->second;
}

core::Result<std::vector<core::TopicPartitionOffset>> GroupCoordinator::fetch_offsets(
    int at, const std::string& group, const std::vector<TopicPartition>& partitions) const {
  if (auto ok = check_coordinator(at, group); !ok) return std::unexpected(ok.error());
  std::vector<core::TopicPartitionOffset> out;
  for (const auto& tp : partitions) {
    // KIP-447: while a transaction holds offsets for the partition, its committed
    // offset is about to change; a new owner must wait rather than reprocess.
    if (cluster_.has_pending_txn_offsets(group, tp)) {
      return core::make_error(core::ErrorKind::kRetriable, "unstable_offset_commit",
                              "a transaction holds offsets of " + group + " for " + tp.topic);
    }
    if (auto offset = committed(group, tp)) out.push_back({tp, *offset});
  }
  return out;
}

std::optional<GroupSnapshot> GroupCoordinator::describe(const std::string& group) const {
  const Group* g = find(group);
  if (g == nullptr) return std::nullopt;
  GroupSnapshot snapshot{g->generation, g->state == State::kPreparingRebalance, {}};
  for (const auto& [id, m] : g->members) snapshot.assignment[id] = m.assignment;
  return snapshot;
}

}  // namespace orderflow::adapters
