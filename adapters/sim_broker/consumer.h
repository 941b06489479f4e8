// `SimConsumer`: the `core::Consumer` port on the simulated cluster.
//
// A group member (after `subscribe`) or a group-less reader of explicit
// partitions (after `assign`). It talks to the `SimCluster` only through
// requests over the simulated network (see rpc.h), so it meets lost requests,
// time-outs, leader moves and coordinator moves as a real client does.
//
// Group protocol, as the client side of groups.h:
// - A join is answered when the rebalance completes, with the generation and
//   this member's assignment. Partitions owned but no longer assigned are
//   revoked (`on_revoked`), new ones announced (`on_assigned`), then heartbeats
//   and fetching start. Eager members revoke everything before they rejoin;
//   cooperative members keep fetching what they own while rejoining, and rejoin
//   at once after a revocation so that the follow-up rebalance is quick.
// - `rebalance_in_progress` from a heartbeat makes the member rejoin;
//   `unknown_member_id` / `illegal_generation` (from a heartbeat or a join) mean
//   it was evicted: `on_lost` for everything it owned, then it rejoins as a new
//   member. A paused process sends no heartbeats, so after a long pause it
//   learns at its next heartbeat that it was evicted; until then it may still
//   deliver records (a zombie), whose offsets the coordinator then fences.
// - Handler callbacks come only for non-empty partition lists.
// - A static member (`group_instance_id`) does not leave the group on `close`,
//   so that its next incarnation takes its place without a rebalance.
//
// Positions: a newly assigned partition starts at the group's committed
// offset, else at `auto_offset_reset` (earliest: the log start; latest: the high
// watermark; none: `on_error` with kFatal `no_offset` and the consumer stops).
// `offset_out_of_range` on a fetch applies `auto_offset_reset` too.
//
// Fetching: one fetch loop per partition; a non-empty result is delivered as one
// `on_records` batch (one partition per batch), the position moving past it;
// an empty one is polled again after `kEmptyFetchBackoff`, an error after
// `kErrorBackoff`. Each loop carries a token; revoking, losing, pausing,
// seeking or resuming a partition retires the token, so an answer to a fetch
// sent before is dropped rather than delivered.
//
// Time-outs: every request times out after `kRequestTimeout` except a join,
// which waits for the rebalance: the rebalance timeout (`max_poll_interval`
// capped at `kMaxRebalanceTimeout`) plus `kJoinTimeoutSlack`.
//
// Ownership: owned by the service that made it; `handler` and `cluster` must
// outlive it. Destroying it (or `close` completing) cancels every pending
// callback. Threading: the executor of `client.process`; every handler callback
// runs there from a timer or a reply, never inside a call to the consumer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/sim_broker/cluster.h"
#include "adapters/sim_broker/groups.h"
#include "adapters/sim_broker/rpc.h"
#include "core/ports/broker.h"

namespace orderflow::adapters {

inline constexpr core::Duration kRequestTimeout{std::chrono::seconds{1}};
inline constexpr core::Duration kJoinTimeoutSlack{std::chrono::seconds{5}};
inline constexpr core::Duration kEmptyFetchBackoff{std::chrono::milliseconds{20}};
inline constexpr core::Duration kErrorBackoff{std::chrono::milliseconds{50}};
inline constexpr core::Duration kRetryBackoff{std::chrono::milliseconds{100}};

class SimConsumer final : public core::Consumer {
 public:
  SimConsumer(SimCluster& cluster, ClientEndpoint client, core::ConsumerOptions options,
              core::ConsumerHandler& handler);
  ~SimConsumer() override = default;
  SimConsumer(const SimConsumer&) = delete;
  SimConsumer& operator=(const SimConsumer&) = delete;

  void subscribe(std::vector<std::string> topics) override;
  // Replaces the assigned set; no rebalance callbacks in this mode, as in Kafka.
  void assign(std::vector<core::TopicPartitionOffset> partitions) override;
  // Ignored for a partition this consumer does not own.
  void seek(const core::TopicPartitionOffset& position) override;
  void pause(const std::vector<core::TopicPartition>& partitions) override;
  void resume(const std::vector<core::TopicPartition>& partitions) override;

  // Sent with this member's identity (group-less after `assign`); fenced
  // (kFenced) when it is not the group's current generation.
  void commit(std::vector<core::TopicPartitionOffset> offsets, core::Completion done) override;
  void committed(
      std::vector<core::TopicPartition> partitions,
      std::function<void(core::Result<std::vector<core::TopicPartitionOffset>>)> done) override;
  void watermarks(core::TopicPartition partition,
                  std::function<void(core::Result<core::Watermarks>)> done) override;

  [[nodiscard]] std::optional<core::Offset> position(
      const core::TopicPartition& partition) const override;
  [[nodiscard]] core::GroupMetadata group_metadata() const override;

  void close(core::Completion done) override;

 private:
  enum class Mode { kIdle, kSubscribed, kAssigned, kClosing, kClosed };

  struct PartitionState {
    std::uint64_t assignment = 0;  // which assignment of the partition this is
    std::uint64_t loop = 0;        // the one fetch loop allowed to run
    std::optional<core::Offset> position;
    bool paused = false;
  };

  // Group membership.
  void rejoin(std::string_view reason);
  void send_join();
  void on_join(core::Result<JoinGroupResponse> reply, std::vector<std::string> topics);
  void on_join_failed(const core::Error& error);
  [[nodiscard]] bool apply_assignment(const JoinGroupResponse& reply);
  void start_heartbeats();
  void send_heartbeat(std::uint64_t token);
  void on_heartbeat(std::uint64_t token, const core::Result<>& reply);
  void leave_group(core::Completion done);
  [[nodiscard]] core::Duration rebalance_timeout() const;

  // Partition ownership; each returns false when the consumer stopped meanwhile
  // (the handler may close or destroy it).
  [[nodiscard]] bool revoke(const std::vector<core::TopicPartition>& partitions);
  [[nodiscard]] bool lose_all();
  [[nodiscard]] std::vector<core::TopicPartition> owned() const;

  // Positions and fetching.
  void resolve_positions(const std::vector<core::TopicPartition>& partitions);
  void on_committed_positions(
      const std::vector<std::pair<core::TopicPartition, std::uint64_t>>& wanted,
      const core::Result<std::vector<core::TopicPartitionOffset>>& reply);
  void reset_position(const core::TopicPartition& tp, std::uint64_t assignment);
  void start_loop(const core::TopicPartition& tp, PartitionState& state);
  void send_fetch(const core::TopicPartition& tp, std::uint64_t loop);
  void on_fetch(const core::TopicPartition& tp, std::uint64_t loop,
                core::Result<FetchResult> reply);
  PartitionState* find(const core::TopicPartition& tp, std::uint64_t assignment);
  PartitionState* find_loop(const core::TopicPartition& tp, std::uint64_t loop);

  // Plumbing.
  template <typename Call>
  [[nodiscard]] bool notify(Call&& call);
  void after(core::Duration delay, std::function<void()> task);
  void fail(core::Error error);
  template <typename T>
  [[nodiscard]] bool refused(const std::function<void(core::Result<T>)>& done, bool needs_group);
  void stop();
  [[nodiscard]] bool active() const {
    return mode_ == Mode::kSubscribed || mode_ == Mode::kAssigned;
  }
  [[nodiscard]] std::weak_ptr<void> owner() const { return alive_; }
  [[nodiscard]] int coordinator() const { return cluster_.coordinator_of(options_.group_id); }
  void log(std::string_view name, core::Fields fields);

  // History (see history.h); each a no-op while the cluster records none.
  [[nodiscard]] KafkaHistory* history();
  void record_reset(const core::TopicPartition& tp, ConsumerEventKind kind,
                    core::Offset offset = core::Offset{-1});
  void record_resets(const std::vector<core::TopicPartition>& partitions, ConsumerEventKind kind);
  void record_deliveries(const FetchResult& fetched);

  SimCluster& cluster_;
  ClientEndpoint client_;
  core::ConsumerOptions options_;
  core::ConsumerHandler& handler_;
  // Replaced when the consumer stops, which cancels every pending callback.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);

  Mode mode_ = Mode::kIdle;
  std::vector<std::string> topics_;
  std::string member_id_;
  core::Generation generation_{-1};
  bool joining_ = false;
  std::uint64_t heartbeat_token_ = 0;
  std::uint64_t next_token_ = 0;
  // Revocations whose handler has not said it is done; a rejoin waits for them.
  std::size_t revocations_pending_ = 0;
  bool join_waiting_ = false;
  std::map<core::TopicPartition, PartitionState> partitions_;
  std::optional<ClientIndex> history_id_;  // once it recorded anything
};

}  // namespace orderflow::adapters
