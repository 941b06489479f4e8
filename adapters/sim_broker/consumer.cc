#include "adapters/sim_broker/consumer.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "core/check.h"

namespace orderflow::adapters {
namespace {

using core::ErrorKind;
using core::TopicPartition;

// `a` without `b`; both sorted.
std::vector<TopicPartition> minus(const std::vector<TopicPartition>& a,
                                  const std::vector<TopicPartition>& b) {
  std::vector<TopicPartition> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

core::Error consumer_closed() {
  return {ErrorKind::kFatal, "consumer_closed", "the consumer was closed"};
}

core::Error no_group() {
  return {ErrorKind::kFatal, "no_group", "the consumer was made without a group id"};
}

}  // namespace

SimConsumer::SimConsumer(SimCluster& cluster, ClientEndpoint client, core::ConsumerOptions options,
                         core::ConsumerHandler& handler)
    : cluster_(cluster), client_(client), options_(std::move(options)), handler_(handler) {
  OF_CHECK(client_.process != nullptr, "a consumer lives in a process");
}

// --- Plumbing ----------------------------------------------------------------

// Runs a handler callback; false when the consumer was destroyed, closed or
// stopped meanwhile, in which case the caller must return without touching it.
template <typename Call>
bool SimConsumer::notify(Call&& call) {
  const std::weak_ptr<int> alive = alive_;
  std::forward<Call>(call)();
  return !alive.expired() && active();
}

void SimConsumer::after(core::Duration delay, std::function<void()> task) {
  client_.process->scheduler().schedule_after(
      delay, [alive = std::weak_ptr<int>(alive_), task = std::move(task)] {
        if (!alive.expired()) task();
      });
}

void SimConsumer::log(std::string_view name, core::Fields fields) {
  client_.process->log().event(core::Severity::kInfo, name, fields);
}

KafkaHistory* SimConsumer::history() {
  KafkaHistory* h = cluster_.recording();
  if (h != nullptr && !history_id_) {
    history_id_ = h->add_consumer(options_, mode_ == Mode::kSubscribed);
  }
  return h;
}

void SimConsumer::record_reset(const TopicPartition& tp, ConsumerEventKind kind,
                               core::Offset offset) {
  if (KafkaHistory* h = history()) h->record_reset(*history_id_, h->intern(tp), kind, offset);
}

void SimConsumer::record_resets(const std::vector<TopicPartition>& partitions,
                                ConsumerEventKind kind) {
  for (const auto& tp : partitions) record_reset(tp, kind);
}

void SimConsumer::record_deliveries(const FetchResult& fetched) {
  KafkaHistory* h = history();
  if (h == nullptr || fetched.records.empty()) return;
  const TpIndex tp = h->intern(fetched.records.front().tp);
  const bool with_ids = fetched.send_ids.size() == fetched.records.size();
  for (std::size_t i = 0; i < fetched.records.size(); ++i) {
    h->record_delivery(*history_id_, tp, fetched.records[i].offset,
                       with_ids ? fetched.send_ids[i] : kNoSend);
  }
}

void SimConsumer::stop() {
  mode_ = Mode::kClosed;
  joining_ = false;
  heartbeat_token_ = ++next_token_;
  record_resets(owned(), ConsumerEventKind::kRevoked);
  partitions_.clear();
  alive_ = std::make_shared<int>(0);
}

void SimConsumer::fail(core::Error error) {
  log("consumer_failed", {{"group", options_.group_id}, {"code", error.code}});
  stop();
  handler_.on_error(error);
}

core::Duration SimConsumer::rebalance_timeout() const {
  return std::min(options_.max_poll_interval, kMaxRebalanceTimeout);
}

std::vector<TopicPartition> SimConsumer::owned() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, state] : partitions_) out.push_back(tp);
  return out;
}

// Answers `done` with why the request cannot be sent, if it cannot.
template <typename T>
bool SimConsumer::refused(const std::function<void(core::Result<T>)>& done, bool needs_group) {
  const bool closed = mode_ == Mode::kClosed;
  if (!closed && (!needs_group || !options_.group_id.empty())) return false;
  after(core::Duration{0},
        [done, error = closed ? consumer_closed() : no_group()] { done(std::unexpected(error)); });
  return true;
}

std::optional<core::Offset> SimConsumer::position(const core::TopicPartition& partition) const {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return std::nullopt;
  return it->second.position;
}

core::GroupMetadata SimConsumer::group_metadata() const {
  return {options_.group_id, generation_, member_id_, options_.group_instance_id};
}

// --- Group membership ----------------------------------------------------------

void SimConsumer::subscribe(std::vector<std::string> topics) {
  if (mode_ == Mode::kClosing || mode_ == Mode::kClosed) return;
  OF_CHECK(mode_ != Mode::kAssigned, "subscribe after assign: a consumer reads one way");
  OF_CHECK(!options_.group_id.empty(), "subscribe needs a group id");
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  topics_ = std::move(topics);
  mode_ = Mode::kSubscribed;
  if (KafkaHistory* h = history()) h->mark_subscribed(*history_id_);
  after(core::Duration{0}, [this] { rejoin("subscribed"); });
}

void SimConsumer::rejoin(std::string_view reason) {
  if (mode_ != Mode::kSubscribed || joining_) return;
  joining_ = true;
  heartbeat_token_ = ++next_token_;
  log("consumer_rejoining",
      {{"group", options_.group_id}, {"member", member_id_}, {"reason", reason}});
  // Eager: everything goes back before the join, while commits are still accepted.
  if (options_.strategy == core::AssignmentStrategy::kEagerRange && !revoke(owned())) return;
  // The join waits until the handler has finished with what it gave up.
  if (revocations_pending_ > 0) {
    join_waiting_ = true;
    return;
  }
  send_join();
}

void SimConsumer::send_join() {
  JoinGroupRequest request{options_.group_id,
                           member_id_,
                           options_.client_id,
                           options_.group_instance_id,
                           topics_,
                           options_.strategy,
                           options_.session_timeout,
                           rebalance_timeout(),
                           owned()};
  const int broker = coordinator();
  call_async<JoinGroupResponse>(
      cluster_, client_, broker, rebalance_timeout() + kJoinTimeoutSlack, owner(),
      [&cluster = cluster_, broker, request](Responder<JoinGroupResponse> respond) {
        cluster.groups().join(broker, request, std::move(respond));
      },
      [this, topics = topics_](core::Result<JoinGroupResponse> reply) {
        on_join(std::move(reply), topics);
      });
}

void SimConsumer::on_join(core::Result<JoinGroupResponse> reply, std::vector<std::string> topics) {
  if (mode_ != Mode::kSubscribed || !joining_) return;
  if (!reply) {
    on_join_failed(reply.error());
    return;
  }
  joining_ = false;
  member_id_ = reply->member_id;
  generation_ = reply->generation;
  const auto before = owned();
  if (!apply_assignment(*reply)) return;
  const bool revoked = !minus(before, owned()).empty();
  if (topics != topics_) {
    rejoin("subscription_changed");
  } else if (revoked && options_.strategy == core::AssignmentStrategy::kCooperativeSticky) {
    rejoin("cooperative_revocation");  // lets the follow-up rebalance complete sooner
  }
}

bool SimConsumer::apply_assignment(const JoinGroupResponse& reply) {
  std::vector<TopicPartition> assignment = reply.assignment;
  std::sort(assignment.begin(), assignment.end());
  const auto current = owned();
  const auto revoked = minus(current, assignment);
  const auto added = minus(assignment, current);
  log("consumer_joined", {{"group", options_.group_id},
                          {"member", member_id_},
                          {"generation", generation_.value()},
                          {"assigned", added.size()},
                          {"revoked", revoked.size()}});
  if (!revoke(revoked)) return false;
  for (const auto& tp : added) partitions_[tp] = PartitionState{++next_token_, 0, {}, false};
  record_resets(added, ConsumerEventKind::kRebalanceAssigned);
  if (!added.empty() && !notify([&] { handler_.on_assigned(added); })) return false;
  start_heartbeats();
  resolve_positions(added);
  return true;
}

void SimConsumer::on_join_failed(const core::Error& error) {
  if (error.kind == ErrorKind::kFenced || error.kind == ErrorKind::kFatal) {
    log("consumer_fenced",
        {{"group", options_.group_id}, {"member", member_id_}, {"code", error.code}});
    member_id_.clear();
    generation_ = core::Generation{-1};
    const core::Error copy = error;
    if (!lose_all()) return;
    if (copy.kind == ErrorKind::kFatal) {
      fail(copy);
      return;
    }
  }
  after(kRetryBackoff, [this] {
    if (mode_ == Mode::kSubscribed && joining_) send_join();
  });
}

void SimConsumer::start_heartbeats() {
  heartbeat_token_ = ++next_token_;
  after(options_.heartbeat_interval, [this, token = heartbeat_token_] { send_heartbeat(token); });
}

void SimConsumer::send_heartbeat(std::uint64_t token) {
  if (mode_ != Mode::kSubscribed || joining_ || token != heartbeat_token_) return;
  const int broker = coordinator();
  call<void>(
      cluster_, client_, broker, kRequestTimeout, owner(),
      [&groups = cluster_.groups(), broker, group = options_.group_id, member = member_id_,
       generation = generation_] { return groups.heartbeat(broker, group, member, generation); },
      [this, token](core::Result<> reply) { on_heartbeat(token, reply); });
}

void SimConsumer::on_heartbeat(std::uint64_t token, const core::Result<>& reply) {
  if (mode_ != Mode::kSubscribed || joining_ || token != heartbeat_token_) return;
  if (reply) {
    after(options_.heartbeat_interval, [this, token] { send_heartbeat(token); });
    return;
  }
  const core::Error error = reply.error();
  if (error.code == "rebalance_in_progress") {
    rejoin("rebalance_in_progress");
    return;
  }
  if (error.kind == ErrorKind::kRetriable) {
    after(kRetryBackoff, [this, token] { send_heartbeat(token); });
    return;
  }
  // Evicted or fenced: what it owned may already be someone else's.
  log("consumer_fenced",
      {{"group", options_.group_id}, {"member", member_id_}, {"code", error.code}});
  member_id_.clear();
  generation_ = core::Generation{-1};
  if (!lose_all()) return;
  if (error.kind == ErrorKind::kFatal) {
    fail(error);
    return;
  }
  rejoin(error.code);
}

void SimConsumer::close(core::Completion done) {
  if (mode_ == Mode::kClosing || mode_ == Mode::kClosed) {
    after(core::Duration{0}, [done = std::move(done)] { done({}); });
    return;
  }
  const bool member = mode_ == Mode::kSubscribed;
  mode_ = Mode::kClosing;  // no fetch, heartbeat or join goes on from here
  heartbeat_token_ = ++next_token_;
  after(core::Duration{0}, [this, member, done = std::move(done)] {
    const auto revoked = owned();
    record_resets(revoked, ConsumerEventKind::kRevoked);
    partitions_.clear();
    if (member && !revoked.empty()) {
      const std::weak_ptr<int> alive = alive_;
      handler_.on_revoked(revoked);
      if (alive.expired()) return;
    }
    log("consumer_closed", {{"group", options_.group_id}, {"member", member_id_}});
    // A static member stays in the group so that its next incarnation takes its place.
    if (member && !member_id_.empty() && !options_.group_instance_id) {
      leave_group(done);
      return;
    }
    stop();
    done({});
  });
}

void SimConsumer::leave_group(core::Completion done) {
  const int broker = coordinator();
  call<void>(
      cluster_, client_, broker, kRequestTimeout, owner(),
      [&groups = cluster_.groups(), broker, group = options_.group_id, member = member_id_] {
        return groups.leave(broker, group, member);
      },
      // Whatever the answer, the member is gone: evicted later if the leave was lost.
      [this, done = std::move(done)](core::Result<>) {
        stop();
        done({});
      });
}

// --- Ownership -----------------------------------------------------------------

bool SimConsumer::revoke(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return true;
  for (const auto& tp : partitions) partitions_.erase(tp);
  record_resets(partitions, ConsumerEventKind::kRevoked);
  ++revocations_pending_;
  return notify([&] {
    handler_.on_revoked_async(partitions, [this, alive = std::weak_ptr<int>(alive_)] {
      if (alive.expired()) return;
      --revocations_pending_;
      if (revocations_pending_ > 0 || !join_waiting_) return;
      join_waiting_ = false;
      if (mode_ == Mode::kSubscribed && joining_) send_join();
    });
  });
}

bool SimConsumer::lose_all() {
  const auto lost = owned();
  record_resets(lost, ConsumerEventKind::kLost);
  partitions_.clear();
  if (lost.empty()) return true;
  return notify([&] { handler_.on_lost(lost); });
}

SimConsumer::PartitionState* SimConsumer::find(const TopicPartition& tp, std::uint64_t assignment) {
  auto it = partitions_.find(tp);
  if (!active() || it == partitions_.end() || it->second.assignment != assignment) return nullptr;
  return &it->second;
}

SimConsumer::PartitionState* SimConsumer::find_loop(const TopicPartition& tp, std::uint64_t loop) {
  auto it = partitions_.find(tp);
  if (!active() || it == partitions_.end() || it->second.loop != loop) return nullptr;
  return &it->second;
}

void SimConsumer::assign(std::vector<core::TopicPartitionOffset> partitions) {
  if (mode_ == Mode::kClosing || mode_ == Mode::kClosed) return;
  OF_CHECK(mode_ != Mode::kSubscribed, "assign after subscribe: a consumer reads one way");
  mode_ = Mode::kAssigned;
  std::map<TopicPartition, core::Offset> wanted;
  for (const auto& p : partitions) wanted[p.tp] = p.offset;
  std::erase_if(partitions_, [&](const auto& entry) {
    if (wanted.contains(entry.first)) return false;
    record_reset(entry.first, ConsumerEventKind::kRevoked);
    return true;
  });
  for (const auto& [tp, offset] : wanted) {
    auto [it, created] = partitions_.try_emplace(tp);
    if (created) it->second.assignment = ++next_token_;
    it->second.position = offset;
    record_reset(tp, ConsumerEventKind::kAssigned, offset);
    start_loop(tp, it->second);
  }
}

void SimConsumer::seek(const core::TopicPartitionOffset& position) {
  auto it = partitions_.find(position.tp);
  if (!active() || it == partitions_.end()) return;
  it->second.position = position.offset;
  record_reset(position.tp, ConsumerEventKind::kSought, position.offset);
  start_loop(position.tp, it->second);
}

void SimConsumer::pause(const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) {
    auto it = partitions_.find(tp);
    if (it == partitions_.end()) continue;
    it->second.paused = true;
    it->second.loop = ++next_token_;  // an answer already on its way is dropped
  }
}

void SimConsumer::resume(const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) {
    auto it = partitions_.find(tp);
    if (!active() || it == partitions_.end() || !it->second.paused) continue;
    it->second.paused = false;
    start_loop(tp, it->second);
  }
}

// --- Positions and fetching ----------------------------------------------------

void SimConsumer::resolve_positions(const std::vector<TopicPartition>& partitions) {
  std::vector<std::pair<TopicPartition, std::uint64_t>> wanted;
  std::vector<TopicPartition> unresolved;
  for (const auto& tp : partitions) {
    auto it = partitions_.find(tp);
    if (it == partitions_.end() || it->second.position) continue;  // gone, or sought already
    wanted.emplace_back(tp, it->second.assignment);
    unresolved.push_back(tp);
  }
  if (wanted.empty()) return;
  const int broker = coordinator();
  call<std::vector<core::TopicPartitionOffset>>(
      cluster_, client_, broker, kRequestTimeout, owner(),
      [&groups = cluster_.groups(), broker, group = options_.group_id, unresolved] {
        return groups.fetch_offsets(broker, group, unresolved);
      },
      [this, wanted](core::Result<std::vector<core::TopicPartitionOffset>> reply) {
        on_committed_positions(wanted, reply);
      });
}

void SimConsumer::on_committed_positions(
    const std::vector<std::pair<TopicPartition, std::uint64_t>>& wanted,
    const core::Result<std::vector<core::TopicPartitionOffset>>& reply) {
  if (!reply) {
    after(kRetryBackoff, [this, wanted] {
      std::vector<TopicPartition> again;
      for (const auto& [tp, assignment] : wanted) {
        if (find(tp, assignment) != nullptr) again.push_back(tp);
      }
      resolve_positions(again);
    });
    return;
  }
  for (const auto& [tp, assignment] : wanted) {
    PartitionState* state = find(tp, assignment);
    if (state == nullptr || state->position) continue;
    auto committed =
        std::find_if(reply->begin(), reply->end(), [&tp](const auto& o) { return o.tp == tp; });
    if (committed == reply->end()) {
      reset_position(tp, assignment);
      continue;
    }
    state->position = committed->offset;
    start_loop(tp, *state);
  }
}

void SimConsumer::reset_position(const TopicPartition& tp, std::uint64_t assignment) {
  PartitionState* state = find(tp, assignment);
  if (state == nullptr || state->position) return;
  if (options_.auto_offset_reset == core::OffsetReset::kNone) {
    after(core::Duration{0}, [this, tp] {
      fail({ErrorKind::kFatal, "no_offset",
            "no valid position for " + tp.topic + "/" + std::to_string(tp.partition.value()) +
                " and auto_offset_reset is none"});
    });
    return;
  }
  const int leader = cluster_.leader_of(tp);
  call<core::Watermarks>(
      cluster_, client_, leader, kRequestTimeout, owner(),
      [&cluster = cluster_, leader, tp] { return cluster.watermarks(leader, tp); },
      [this, tp, assignment](core::Result<core::Watermarks> reply) {
        PartitionState* s = find(tp, assignment);
        if (s == nullptr || s->position) return;
        if (!reply) {
          after(kErrorBackoff, [this, tp, assignment] { reset_position(tp, assignment); });
          return;
        }
        const bool earliest = options_.auto_offset_reset == core::OffsetReset::kEarliest;
        s->position = earliest ? reply->low : reply->high;
        start_loop(tp, *s);
      });
}

void SimConsumer::start_loop(const TopicPartition& tp, PartitionState& state) {
  state.loop = ++next_token_;
  if (!state.paused && state.position) send_fetch(tp, state.loop);
}

void SimConsumer::send_fetch(const TopicPartition& tp, std::uint64_t loop) {
  PartitionState* state = find_loop(tp, loop);
  if (state == nullptr || state->paused || !state->position) return;
  const int leader = cluster_.leader_of(tp);
  call<FetchResult>(
      cluster_, client_, leader, kRequestTimeout, owner(),
      [&cluster = cluster_, leader, tp, from = *state->position, isolation = options_.isolation,
       max = options_.max_records_per_batch] {
        return cluster.fetch(leader, tp, from, isolation, max);
      },
      [this, tp, loop](core::Result<FetchResult> reply) { on_fetch(tp, loop, std::move(reply)); });
}

void SimConsumer::on_fetch(const TopicPartition& tp, std::uint64_t loop,
                           core::Result<FetchResult> reply) {
  PartitionState* state = find_loop(tp, loop);
  if (state == nullptr) return;
  if (!reply) {
    if (reply.error().code == "offset_out_of_range") {
      record_reset(tp, ConsumerEventKind::kOffsetReset);
      state->position.reset();
      state->loop = ++next_token_;
      reset_position(tp, state->assignment);
      return;
    }
    after(kErrorBackoff, [this, tp, loop] { send_fetch(tp, loop); });
    return;
  }
  state->position = reply->next_offset;
  if (reply->records.empty()) {
    after(kEmptyFetchBackoff, [this, tp, loop] { send_fetch(tp, loop); });
    return;
  }
  record_deliveries(*reply);
  if (!notify([&] { handler_.on_records(reply->records); })) return;
  send_fetch(tp, loop);  // a no-op if the handler paused, sought or gave the partition up
}

// --- Offsets and metadata --------------------------------------------------------

void SimConsumer::commit(std::vector<core::TopicPartitionOffset> offsets, core::Completion done) {
  if (refused(done, /*needs_group=*/true)) return;
  const int broker = coordinator();
  call<void>(
      cluster_, client_, broker, kRequestTimeout, owner(),
      [&groups = cluster_.groups(), broker, member = group_metadata(),
       offsets = std::move(offsets)] { return groups.commit_offsets(broker, member, offsets); },
      std::move(done));
}

void SimConsumer::committed(
    std::vector<TopicPartition> partitions,
    std::function<void(core::Result<std::vector<core::TopicPartitionOffset>>)> done) {
  if (refused(done, /*needs_group=*/true)) return;
  const int broker = coordinator();
  call<std::vector<core::TopicPartitionOffset>>(
      cluster_, client_, broker, kRequestTimeout, owner(),
      [&groups = cluster_.groups(), broker, group = options_.group_id,
       partitions = std::move(partitions)] {
        return groups.fetch_offsets(broker, group, partitions);
      },
      std::move(done));
}

void SimConsumer::watermarks(TopicPartition partition,
                             std::function<void(core::Result<core::Watermarks>)> done) {
  if (refused(done, /*needs_group=*/false)) return;
  const int leader = cluster_.leader_of(partition);
  call<core::Watermarks>(
      cluster_, client_, leader, kRequestTimeout, owner(),
      [&cluster = cluster_, leader, tp = std::move(partition)] {
        return cluster.watermarks(leader, tp);
      },
      std::move(done));
}

}  // namespace orderflow::adapters
