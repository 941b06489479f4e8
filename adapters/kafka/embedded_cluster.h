// `EmbeddedCluster`: librdkafka's mock Kafka cluster, in this process.
//
// N brokers (ids 1..N) listen on localhost and speak enough of the Kafka protocol
// for idempotent and transactional producers, consumer groups and offset commits,
// with hooks to inject faults: brokers down and up, request errors, partition
// leaders, round-trip times.
//
//   EmbeddedCluster cluster(3);
//   KafkaBroker broker({.bootstrap_servers = cluster.bootstrap_servers(),
//                       .executor = &scheduler, .embedded = &cluster});
//
// Where the mock departs from Kafka (librdkafka 2.0.2), and what it means here:
// - It has no CreateTopics API: topics are made by `create_topic`, which a
//   `KafkaBroker` given this cluster calls for `create_topics`.
// - InitProducerId hands out a new producer id every time instead of bumping the
//   epoch of the transactional id, so a newer producer never fences an older one.
// - Transactions write no markers: read_committed consumers see aborted records;
//   offsets sent within a transaction are not stored; OffsetFetch never answers
//   unstable_offset_commit; TxnOffsetCommit does not check the member's
//   generation.
// - Producer sequence numbers are checked only for transactional producers.
// - A group's first rebalance waits 3 s (Kafka's group.initial.rebalance.delay.ms);
//   later ones wait up to the session timeout for members to rejoin.
// - Each partition keeps only a few MB.
//
// Ownership: owns the mock cluster and the client handle that hosts it, and must
// outlive every client connected to it. Threading: every method may be called from
// any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/ports/broker.h"
#include "core/ports/error.h"
#include "core/time.h"

namespace orderflow::adapters::kafka {

class EmbeddedCluster {
 public:
  // Kafka protocol API keys, for `push_request_errors`.
  static constexpr std::int16_t kProduce = 0;
  static constexpr std::int16_t kFetch = 1;
  static constexpr std::int16_t kOffsetCommit = 8;
  static constexpr std::int16_t kOffsetFetch = 9;
  static constexpr std::int16_t kJoinGroup = 11;
  static constexpr std::int16_t kHeartbeat = 12;
  static constexpr std::int16_t kInitProducerId = 22;
  static constexpr std::int16_t kAddPartitionsToTxn = 24;
  static constexpr std::int16_t kTxnOffsetCommit = 28;
  static constexpr std::int16_t kEndTxn = 26;

  explicit EmbeddedCluster(int brokers = 3);
  ~EmbeddedCluster();
  EmbeddedCluster(const EmbeddedCluster&) = delete;
  EmbeddedCluster& operator=(const EmbeddedCluster&) = delete;

  [[nodiscard]] const std::string& bootstrap_servers() const { return bootstrap_; }
  [[nodiscard]] int broker_count() const { return brokers_; }

  // Succeeds for a topic that exists with the same partition count, as
  // `core::Broker::create_topics` does.
  core::Result<> create_topic(const std::string& name, int partitions, int replication_factor = 1);
  [[nodiscard]] core::Result<std::optional<int>> partition_count(const std::string& topic);
  // The partition's leader as the cluster's metadata tells it.
  [[nodiscard]] core::Result<int> leader_of(const core::TopicPartition& tp);

  core::Result<> set_partition_leader(const core::TopicPartition& tp, int broker_id);
  core::Result<> broker_down(int broker_id);
  core::Result<> broker_up(int broker_id);
  core::Result<> set_rtt(int broker_id, core::Duration rtt);
  // The next `errors.size()` requests of `api_key`, to any broker, fail with these
  // Kafka error codes in order (0 lets one through; librdkafka's -195, transport,
  // makes the broker drop the connection).
  void push_request_errors(std::int16_t api_key, const std::vector<int>& errors);
  void clear_request_errors(std::int16_t api_key);

 private:
  struct Mock;

  int brokers_;
  std::unique_ptr<Mock> mock_;
  std::string bootstrap_;
  std::mutex create_mutex_;  // makes "exists?" and "create" one step
};

}  // namespace orderflow::adapters::kafka
