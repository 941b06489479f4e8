// Model-based test of the simulated cluster's partition logs.
//
// Random sequences of broker-side requests — plain, idempotent (with retries and
// sequence gaps) and transactional produce requests, transaction commits, aborts,
// re-inits and time-outs, leader moves, broker failures, and fetches at both isolation
// levels — run against `SimCluster` and against a small model that keeps each
// partition's log as a plain vector. After every request the stored log, the
// watermarks, the last stable offset and what each isolation level reads must match
// the model.
//
// Requests are handed to `SimCluster` directly, as if they had reached the broker:
// a request sent to a broker that is down is not delivered and does nothing.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include "adapters/sim_broker/cluster.h"
#include "sim/kernel.h"
#include "sim/network.h"

namespace orderflow::adapters {
namespace {

using namespace std::chrono_literals;
using core::Duration;
using core::Timestamp;

constexpr int kBrokers = 3;
constexpr int kIdempotentProducers = 2;
constexpr Duration kFailoverWindow = 300ms;
constexpr Duration kTxnTimeout = 1s;
constexpr int kMaxRecords = 1000;
constexpr const char* kTopic = "orders";
constexpr const char* kTxnId = "orders-txn";

core::TopicPartition partition(int p) { return {kTopic, core::Partition{p}}; }

// ---------------------------------------------------------------------------------------
// The model.

enum class TxnState { kNone, kOpen, kCommitted, kAborted };

struct Entry {
  std::int64_t offset = 0;
  std::string value;  // empty for a marker
  std::int64_t producer = -1;
  bool transactional = false;
  TxnState txn = TxnState::kNone;
  bool marker = false;
  bool commit = false;  // markers only
};

struct PartitionModel {
  int leader = 0;
  Timestamp unavailable_until{};
  std::int64_t log_start = 0;
  std::vector<Entry> entries;  // entries[i].offset == log_start + i
  // Where the open transaction's first record went, if it wrote one here.
  std::optional<std::int64_t> open_txn_first;

  [[nodiscard]] std::int64_t end() const {
    return log_start + static_cast<std::int64_t>(entries.size());
  }
  [[nodiscard]] std::int64_t last_stable() const { return open_txn_first.value_or(end()); }
};

struct SentBatch {
  std::int32_t first_sequence = 0;
  int count = 0;
  std::int64_t base = 0;
};

// Sequence numbers are per partition.
struct IdempotentProducer {
  std::int64_t id = -1;
  std::map<int, std::int32_t> next_sequence;
  std::map<int, SentBatch> last_batch;
};

// One instance of the transactional producer, as it sees itself.
struct TxnInstance {
  std::int16_t epoch = 0;
  std::set<int> partitions;  // added to the transaction it believes open
  std::map<int, std::int32_t> next_sequence;
};

// The coordinator's view of the transactional id.
struct TxnCoordinator {
  std::int64_t id = -1;
  std::int16_t epoch = 0;
  bool open = false;
  std::set<int> partitions;
  Timestamp deadline{};
};

struct ClusterModel {
  Timestamp now{};
  std::size_t retention = 0;
  std::array<bool, kBrokers> up{true, true, true};
  std::vector<PartitionModel> partitions;
  std::array<IdempotentProducer, kIdempotentProducers> idempotent;
  TxnCoordinator coordinator;
  TxnInstance current;
  std::optional<TxnInstance> stale;  // the instance the last re-init replaced
  int serial = 0;                    // names the records of plain produce requests
  // Whether a fenced instance may try to produce to a partition of its transaction.
  bool stale_produces = false;
};

// ---------------------------------------------------------------------------------------
// Operations, naming partitions, brokers and producers by index.

// A partition request goes to the broker `route` places after the leader (0: the leader).
struct PlainProduce {
  int partition = 0;
  int count = 1;
  int route = 0;
};
enum class Sequencing { kNext, kRetry, kGap };
struct IdempotentProduce {
  int producer = 0;
  int partition = 0;
  int count = 1;  // kRetry resends the last batch whatever its size
  Sequencing sequencing = Sequencing::kNext;
  int gap = 1;
  int route = 0;
};
struct TxnInit {};
enum class Instance { kCurrent, kStale };
struct TxnAdd {
  Instance who = Instance::kCurrent;
  int partition = 0;
};
struct TxnProduce {
  Instance who = Instance::kCurrent;
  int partition = 0;
  int count = 1;
  int route = 0;
};
struct TxnEnd {
  Instance who = Instance::kCurrent;
  bool commit = true;
};
struct Advance {
  Duration by{};
};
struct MoveLeader {
  int partition = 0;
  int to = -1;  // -1: the next live broker
};
struct BrokerDown {
  int broker = 0;
};
struct BrokerUp {
  int broker = 0;
};
// Fetches from `permille` of the way from log start to end; -1 and 1001 fall outside.
struct Fetch {
  int partition = 0;
  int permille = 0;
  bool committed = false;
  int route = 0;
};
using Op = std::variant<PlainProduce, IdempotentProduce, TxnInit, TxnAdd, TxnProduce, TxnEnd,
                        Advance, MoveLeader, BrokerDown, BrokerUp, Fetch>;

std::string name(Instance who) { return who == Instance::kStale ? "stale" : "current"; }
std::string name(Sequencing s) {
  switch (s) {
    case Sequencing::kNext: return "next";
    case Sequencing::kRetry: return "retry";
    case Sequencing::kGap: return "gap";
  }
  return "?";
}
std::string via(int route) { return route == 0 ? "" : " via leader+" + std::to_string(route); }

std::string describe(const PlainProduce& op) {
  return "PlainProduce{p" + std::to_string(op.partition) + " x" + std::to_string(op.count) + "}" +
         via(op.route);
}
std::string describe(const IdempotentProduce& op) {
  return "IdempotentProduce{i" + std::to_string(op.producer) + " p" + std::to_string(op.partition) +
         " x" + std::to_string(op.count) + " " + name(op.sequencing) +
         (op.sequencing == Sequencing::kGap ? std::to_string(op.gap) : "") + "}" + via(op.route);
}
std::string describe(const TxnInit&) { return "TxnInit{}"; }
std::string describe(const TxnAdd& op) {
  return "TxnAdd{" + name(op.who) + " p" + std::to_string(op.partition) + "}";
}
std::string describe(const TxnProduce& op) {
  return "TxnProduce{" + name(op.who) + " p" + std::to_string(op.partition) + " x" +
         std::to_string(op.count) + "}" + via(op.route);
}
std::string describe(const TxnEnd& op) {
  return "TxnEnd{" + name(op.who) + (op.commit ? " commit}" : " abort}");
}
std::string describe(const Advance& op) {
  return "Advance{" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(op.by).count()) +
         "ms}";
}
std::string describe(const MoveLeader& op) {
  return "MoveLeader{p" + std::to_string(op.partition) + " to " + std::to_string(op.to) + "}";
}
std::string describe(const BrokerDown& op) {
  return "BrokerDown{" + std::to_string(op.broker) + "}";
}
std::string describe(const BrokerUp& op) { return "BrokerUp{" + std::to_string(op.broker) + "}"; }
std::string describe(const Fetch& op) {
  return "Fetch{p" + std::to_string(op.partition) + " at " + std::to_string(op.permille) + "/1000" +
         (op.committed ? " committed}" : " uncommitted}") + via(op.route);
}

// ---------------------------------------------------------------------------------------
// Request contents, shared by the model and the requests sent to the cluster.

std::int32_t next_sequence(const std::map<int, std::int32_t>& sequences, int p) {
  auto it = sequences.find(p);
  return it == sequences.end() ? 0 : it->second;
}

std::vector<std::string> sequenced_values(const std::string& prefix, std::int32_t first,
                                          int count) {
  std::vector<std::string> values;
  for (int i = 0; i < count; ++i) values.push_back(prefix + std::to_string(first + i));
  return values;
}

std::vector<std::string> values_of(const ClusterModel& m, const PlainProduce& op) {
  return sequenced_values("n" + std::to_string(m.serial) + ".", 0, op.count);
}

std::int32_t first_sequence(const ClusterModel& m, const IdempotentProduce& op) {
  const IdempotentProducer& producer = m.idempotent[op.producer];
  switch (op.sequencing) {
    case Sequencing::kRetry: return producer.last_batch.at(op.partition).first_sequence;
    case Sequencing::kGap: return next_sequence(producer.next_sequence, op.partition) + op.gap;
    case Sequencing::kNext: break;
  }
  return next_sequence(producer.next_sequence, op.partition);
}

int count_of(const ClusterModel& m, const IdempotentProduce& op) {
  if (op.sequencing != Sequencing::kRetry) return op.count;
  return m.idempotent[op.producer].last_batch.at(op.partition).count;
}

std::vector<std::string> values_of(const ClusterModel& m, const IdempotentProduce& op) {
  return sequenced_values("i" + std::to_string(op.producer) + ".", first_sequence(m, op),
                          count_of(m, op));
}

const TxnInstance& instance(const ClusterModel& m, Instance who) {
  return who == Instance::kStale ? *m.stale : m.current;
}
TxnInstance& instance(ClusterModel& m, Instance who) {
  return who == Instance::kStale ? *m.stale : m.current;
}

std::vector<std::string> values_of(const ClusterModel& m, const TxnProduce& op) {
  const TxnInstance& sender = instance(m, op.who);
  return sequenced_values("t" + std::to_string(sender.epoch) + ".",
                          next_sequence(sender.next_sequence, op.partition), op.count);
}

std::int64_t fetch_offset(const PartitionModel& part, int permille) {
  if (permille < 0) return part.log_start - 1;
  if (permille > 1000) return part.end() + 1;
  return part.log_start + (part.end() - part.log_start) * permille / 1000;
}

// ---------------------------------------------------------------------------------------
// What the model predicts: the answer, as text, and the model afterwards.

struct Prediction {
  std::string verdict;
  ClusterModel next;
};

const std::string kNotDelivered = "not delivered";
const std::string kNotLeader = "retriable not_leader_for_partition";
const std::string kFenced = "fenced producer_fenced";

std::string offset_verdict(std::int64_t offset) { return "offset " + std::to_string(offset); }

// Why a partition request is refused before the partition looks at it, if it is.
std::optional<std::string> refusal(const ClusterModel& m, int p, int route) {
  const PartitionModel& part = m.partitions[static_cast<std::size_t>(p)];
  if (!m.up[static_cast<std::size_t>((part.leader + route) % kBrokers)]) return kNotDelivered;
  if (route != 0 || m.now < part.unavailable_until) return kNotLeader;
  return std::nullopt;
}

bool fenced(const ClusterModel& m, Instance who) {
  return instance(m, who).epoch < m.coordinator.epoch;
}

void apply_retention(ClusterModel& m, PartitionModel& part) {
  if (m.retention == 0 || part.entries.size() <= m.retention) return;
  const auto drop = static_cast<std::ptrdiff_t>(part.entries.size() - m.retention);
  part.entries.erase(part.entries.begin(), part.entries.begin() + drop);
  part.log_start += drop;
}

// Appends a produce request's records; returns the base offset.
std::int64_t append(ClusterModel& m, int p, const std::vector<std::string>& values,
                    std::int64_t producer, bool transactional) {
  PartitionModel& part = m.partitions[static_cast<std::size_t>(p)];
  const std::int64_t base = part.end();
  for (const auto& value : values) {
    part.entries.push_back({part.end(), value, producer, transactional,
                            transactional ? TxnState::kOpen : TxnState::kNone});
  }
  if (transactional && !part.open_txn_first) part.open_txn_first = base;
  apply_retention(m, part);
  return base;
}

// Writes the coordinator's markers and settles the open transaction's records.
void complete_transaction(ClusterModel& m, bool commit) {
  TxnCoordinator& c = m.coordinator;
  if (!c.open) return;
  for (int p : c.partitions) {
    PartitionModel& part = m.partitions[static_cast<std::size_t>(p)];
    for (Entry& e : part.entries) {
      if (e.producer == c.id && e.txn == TxnState::kOpen) {
        e.txn = commit ? TxnState::kCommitted : TxnState::kAborted;
      }
    }
    part.entries.push_back({part.end(), "", c.id, true, TxnState::kNone, true, commit});
    part.open_txn_first.reset();
  }
  c.open = false;
  c.partitions.clear();
}

Prediction predict(const ClusterModel& m, const PlainProduce& op) {
  if (auto refused = refusal(m, op.partition, op.route)) return {*refused, m};
  ClusterModel next = m;
  const std::int64_t base = append(next, op.partition, values_of(m, op), -1, false);
  ++next.serial;
  return {offset_verdict(base), next};
}

Prediction predict(const ClusterModel& m, const IdempotentProduce& op) {
  if (auto refused = refusal(m, op.partition, op.route)) return {*refused, m};
  const IdempotentProducer& producer = m.idempotent[op.producer];
  if (op.sequencing == Sequencing::kRetry) {
    return {offset_verdict(producer.last_batch.at(op.partition).base), m};
  }
  if (op.sequencing == Sequencing::kGap) return {"retriable out_of_order_sequence", m};
  ClusterModel next = m;
  const std::int32_t first = first_sequence(m, op);
  const std::int64_t base = append(next, op.partition, values_of(m, op), producer.id, false);
  IdempotentProducer& after = next.idempotent[op.producer];
  after.next_sequence[op.partition] = first + op.count;
  after.last_batch[op.partition] = {first, op.count, base};
  return {offset_verdict(base), next};
}

Prediction predict(const ClusterModel& m, const TxnInit&) {
  ClusterModel next = m;
  complete_transaction(next, false);
  ++next.coordinator.epoch;
  next.stale = next.current;
  next.current = TxnInstance{next.coordinator.epoch, {}, {}};
  return {"producer " + std::to_string(next.coordinator.id) + " epoch " +
              std::to_string(next.coordinator.epoch),
          next};
}

Prediction predict(const ClusterModel& m, const TxnAdd& op) {
  if (fenced(m, op.who)) return {kFenced, m};
  ClusterModel next = m;
  TxnCoordinator& c = next.coordinator;
  if (!c.open) {
    c.open = true;
    c.deadline = m.now + kTxnTimeout;
  }
  c.partitions.insert(op.partition);
  instance(next, op.who).partitions.insert(op.partition);
  return {"ok", next};
}

// A fenced instance's produce request must be fenced, whether or not the partition has
// seen the newer epoch yet: it was part of the transaction that the newer epoch aborted.
Prediction predict(const ClusterModel& m, const TxnProduce& op) {
  if (auto refused = refusal(m, op.partition, op.route)) return {*refused, m};
  if (fenced(m, op.who)) return {kFenced, m};
  ClusterModel next = m;
  const std::int64_t base =
      append(next, op.partition, values_of(m, op), m.coordinator.id, /*transactional=*/true);
  TxnInstance& sender = instance(next, op.who);
  sender.next_sequence[op.partition] = next_sequence(sender.next_sequence, op.partition) + op.count;
  return {offset_verdict(base), next};
}

Prediction predict(const ClusterModel& m, const TxnEnd& op) {
  if (fenced(m, op.who)) return {kFenced, m};
  ClusterModel next = m;
  complete_transaction(next, op.commit);
  instance(next, op.who).partitions.clear();
  return {"ok", next};
}

// A transaction open for longer than its time-out is aborted, and the epoch bumped.
Prediction predict(const ClusterModel& m, const Advance& op) {
  ClusterModel next = m;
  next.now += op.by;
  if (next.coordinator.open && next.coordinator.deadline <= next.now) {
    complete_transaction(next, false);
    ++next.coordinator.epoch;
  }
  return {"ok", next};
}

void move(ClusterModel& m, int p, int to) {
  PartitionModel& part = m.partitions[static_cast<std::size_t>(p)];
  if (to < 0) {
    to = part.leader;
    for (int i = 1; i <= kBrokers; ++i) {
      const int candidate = (part.leader + i) % kBrokers;
      if (m.up[static_cast<std::size_t>(candidate)]) {
        to = candidate;
        break;
      }
    }
  }
  part.leader = to;
  part.unavailable_until = m.now + kFailoverWindow;
}

Prediction predict(const ClusterModel& m, const MoveLeader& op) {
  ClusterModel next = m;
  move(next, op.partition, op.to);
  return {"ok", next};
}

Prediction predict(const ClusterModel& m, const BrokerDown& op) {
  ClusterModel next = m;
  next.up[static_cast<std::size_t>(op.broker)] = false;
  for (std::size_t p = 0; p < next.partitions.size(); ++p) {
    if (next.partitions[p].leader == op.broker) move(next, static_cast<int>(p), -1);
  }
  return {"ok", next};
}

Prediction predict(const ClusterModel& m, const BrokerUp& op) {
  ClusterModel next = m;
  next.up[static_cast<std::size_t>(op.broker)] = true;
  return {"ok", next};
}

std::string render_fetch(const std::vector<std::pair<std::int64_t, std::string>>& records,
                         std::int64_t next, std::int64_t high, std::int64_t stable) {
  std::string out = "[";
  for (const auto& [offset, value] : records) {
    out += (out.size() > 1 ? " " : "") + std::to_string(offset) + ":" + value;
  }
  return out + "] next " + std::to_string(next) + " high " + std::to_string(high) + " stable " +
         std::to_string(stable);
}

// Read committed: below the last stable offset, and no record of an aborted transaction.
bool readable(const Entry& e, std::int64_t from, std::int64_t limit, bool committed) {
  if (e.marker || e.offset < from || e.offset >= limit) return false;
  return !committed || !e.transactional || e.txn == TxnState::kCommitted;
}

std::string expected_fetch(const PartitionModel& part, std::int64_t from, bool committed) {
  if (from < part.log_start || from > part.end()) return "retriable offset_out_of_range";
  const std::int64_t limit = committed ? part.last_stable() : part.end();
  std::vector<std::pair<std::int64_t, std::string>> records;
  for (const Entry& e : part.entries) {
    if (readable(e, from, limit, committed)) records.emplace_back(e.offset, e.value);
  }
  return render_fetch(records, std::max(from, limit), part.end(), part.last_stable());
}

Prediction predict(const ClusterModel& m, const Fetch& op) {
  if (auto refused = refusal(m, op.partition, op.route)) return {*refused, m};
  const PartitionModel& part = m.partitions[static_cast<std::size_t>(op.partition)];
  return {expected_fetch(part, fetch_offset(part, op.permille), op.committed), m};
}

Prediction predict(const ClusterModel& m, const Op& op) {
  return std::visit([&](const auto& o) { return predict(m, o); }, op);
}

// Whether `op` makes sense in `m`: shrinking can remove what an operation relied on.
bool valid(const ClusterModel&, const PlainProduce&) { return true; }
bool valid(const ClusterModel& m, const IdempotentProduce& op) {
  return op.sequencing != Sequencing::kRetry ||
         m.idempotent[op.producer].last_batch.contains(op.partition);
}
bool valid(const ClusterModel&, const TxnInit&) { return true; }
bool valid(const ClusterModel& m, const TxnAdd& op) {
  return op.who == Instance::kCurrent || m.stale.has_value();
}
bool valid(const ClusterModel& m, const TxnProduce& op) {
  if (op.who == Instance::kStale && !m.stale) return false;
  if (!m.stale_produces && fenced(m, op.who)) return false;
  return instance(m, op.who).partitions.contains(op.partition);
}
bool valid(const ClusterModel& m, const TxnEnd& op) {
  return op.who == Instance::kCurrent || m.stale.has_value();
}
bool valid(const ClusterModel&, const Advance&) { return true; }
bool valid(const ClusterModel& m, const MoveLeader& op) {
  return op.to < 0 || m.up[static_cast<std::size_t>(op.to)];
}
// At least one broker stays up, so that every partition keeps a live leader.
bool valid(const ClusterModel& m, const BrokerDown& op) {
  return m.up[static_cast<std::size_t>(op.broker)] && std::ranges::count(m.up, true) >= 2;
}
bool valid(const ClusterModel& m, const BrokerUp& op) {
  return !m.up[static_cast<std::size_t>(op.broker)];
}
bool valid(const ClusterModel&, const Fetch&) { return true; }

// ---------------------------------------------------------------------------------------
// The system under test.

struct ClusterSut {
  ClusterSut(int partition_count, std::size_t retention)
      : cluster(kernel, network,
                ClusterConfig{.brokers = kBrokers,
                              .default_partitions = partition_count,
                              .failover_window = kFailoverWindow,
                              .retention_records = retention}) {}

  sim::Kernel kernel{1};
  sim::Network network{kernel, kernel.random().fork("network")};
  SimCluster cluster;
  std::array<std::int64_t, kIdempotentProducers> idempotent_ids{};
  SimCluster::ProducerIdentity txn{core::ProducerId{-1}, core::ProducerEpoch{-1}};
  std::set<std::string> verdicts;  // every answer seen, for classification
};

void set_up(ClusterSut& sut, int partition_count) {
  RC_ASSERT(sut.cluster.create_topic({.name = kTopic, .partitions = partition_count}));
  for (auto& id : sut.idempotent_ids) {
    auto identity = sut.cluster.init_producer_id(0, std::nullopt, kTxnTimeout);
    RC_ASSERT(identity.has_value());
    id = identity->id.value();
  }
  auto txn = sut.cluster.init_producer_id(sut.cluster.coordinator_of(kTxnId), kTxnId, kTxnTimeout);
  RC_ASSERT(txn.has_value());
  sut.txn = *txn;
}

// Leaders and producer ids are the cluster's to choose; the model starts from its choice.
ClusterModel initial_model(const ClusterSut& sut, int partition_count, bool stale_produces) {
  ClusterModel m;
  m.now = sut.kernel.now();
  m.retention = sut.cluster.config().retention_records;
  m.stale_produces = stale_produces;
  for (int p = 0; p < partition_count; ++p) {
    m.partitions.push_back(PartitionModel{.leader = sut.cluster.leader_of(partition(p))});
  }
  for (int i = 0; i < kIdempotentProducers; ++i) {
    m.idempotent[static_cast<std::size_t>(i)].id = sut.idempotent_ids[static_cast<std::size_t>(i)];
  }
  m.coordinator.id = sut.txn.id.value();
  m.coordinator.epoch = sut.txn.epoch.value();
  m.current.epoch = sut.txn.epoch.value();
  return m;
}

std::string verdict_of(const core::Error& e) {
  return std::string(core::to_string(e.kind)) + " " + e.code;
}
std::string verdict_of(const core::Result<>& r) { return r ? "ok" : verdict_of(r.error()); }
std::string verdict_of(const core::Result<core::Offset>& r) {
  return r ? offset_verdict(r->value()) : verdict_of(r.error());
}
std::string verdict_of(const core::Result<SimCluster::ProducerIdentity>& r) {
  if (!r) return verdict_of(r.error());
  return "producer " + std::to_string(r->id.value()) + " epoch " + std::to_string(r->epoch.value());
}
std::string verdict_of(const core::Result<FetchResult>& r) {
  if (!r) return verdict_of(r.error());
  std::vector<std::pair<std::int64_t, std::string>> records;
  for (const auto& record : r->records) {
    records.emplace_back(record.offset.value(), record.value.value_or("<none>"));
  }
  return render_fetch(records, r->next_offset.value(), r->high_watermark.value(),
                      r->last_stable.value());
}

// The broker `route` places after the partition's leader, or nullopt when it is down.
std::optional<int> target(const ClusterSut& sut, int p, int route) {
  const int broker = (sut.cluster.leader_of(partition(p)) + route) % kBrokers;
  if (!sut.cluster.broker_up(broker)) return std::nullopt;
  return broker;
}

std::string produce(ClusterSut& sut, int p, int route, ProduceBatch batch,
                    const std::vector<std::string>& values) {
  const auto broker = target(sut, p, route);
  if (!broker) return kNotDelivered;
  auto records = std::make_shared<std::vector<core::ProducerRecord>>();
  for (const auto& value : values) {
    records->push_back(core::ProducerRecord{.topic = kTopic, .value = value});
  }
  batch.tp = partition(p);
  batch.records = std::move(records);
  batch.timestamp = sut.kernel.now();
  return verdict_of(sut.cluster.produce(*broker, batch));
}

SimCluster::ProducerIdentity identity(const ClusterModel& m, Instance who) {
  return {core::ProducerId{m.coordinator.id}, core::ProducerEpoch{instance(m, who).epoch}};
}

std::string execute(const ClusterModel& m, ClusterSut& sut, const PlainProduce& op) {
  return produce(sut, op.partition, op.route, ProduceBatch{}, values_of(m, op));
}

std::string execute(const ClusterModel& m, ClusterSut& sut, const IdempotentProduce& op) {
  ProduceBatch batch;
  batch.producer_id = core::ProducerId{m.idempotent[op.producer].id};
  batch.epoch = core::ProducerEpoch{0};
  batch.first_sequence = first_sequence(m, op);
  return produce(sut, op.partition, op.route, batch, values_of(m, op));
}

std::string execute(const ClusterModel&, ClusterSut& sut, const TxnInit&) {
  return verdict_of(
      sut.cluster.init_producer_id(sut.cluster.coordinator_of(kTxnId), kTxnId, kTxnTimeout));
}

std::string execute(const ClusterModel& m, ClusterSut& sut, const TxnAdd& op) {
  return verdict_of(sut.cluster.add_partitions_to_txn(
      sut.cluster.coordinator_of(kTxnId), kTxnId, identity(m, op.who), {partition(op.partition)}));
}

std::string execute(const ClusterModel& m, ClusterSut& sut, const TxnProduce& op) {
  const SimCluster::ProducerIdentity who = identity(m, op.who);
  ProduceBatch batch;
  batch.producer_id = who.id;
  batch.epoch = who.epoch;
  batch.first_sequence = next_sequence(instance(m, op.who).next_sequence, op.partition);
  batch.transactional = true;
  return produce(sut, op.partition, op.route, batch, values_of(m, op));
}

std::string execute(const ClusterModel& m, ClusterSut& sut, const TxnEnd& op) {
  return verdict_of(sut.cluster.end_txn(sut.cluster.coordinator_of(kTxnId), kTxnId,
                                        identity(m, op.who), op.commit));
}

std::string execute(const ClusterModel&, ClusterSut& sut, const Advance& op) {
  sut.kernel.run_until(sut.kernel.now() + op.by);
  return "ok";
}

std::string execute(const ClusterModel&, ClusterSut& sut, const MoveLeader& op) {
  sut.cluster.move_leader(partition(op.partition), op.to);
  return "ok";
}

std::string execute(const ClusterModel&, ClusterSut& sut, const BrokerDown& op) {
  sut.cluster.broker_down(op.broker);
  return "ok";
}

std::string execute(const ClusterModel&, ClusterSut& sut, const BrokerUp& op) {
  sut.cluster.broker_up_again(op.broker);
  return "ok";
}

std::string execute(const ClusterModel& m, ClusterSut& sut, const Fetch& op) {
  const auto broker = target(sut, op.partition, op.route);
  if (!broker) return kNotDelivered;
  const PartitionModel& part = m.partitions[static_cast<std::size_t>(op.partition)];
  const auto isolation =
      op.committed ? core::IsolationLevel::kReadCommitted : core::IsolationLevel::kReadUncommitted;
  return verdict_of(sut.cluster.fetch(*broker, partition(op.partition),
                                      core::Offset{fetch_offset(part, op.permille)}, isolation,
                                      kMaxRecords));
}

// ---------------------------------------------------------------------------------------
// Checks after every operation.

std::string render_entry(std::int64_t offset, const std::string& value, std::int64_t producer,
                         bool transactional, bool marker, bool commit) {
  std::string out = std::to_string(offset) + ":";
  out += marker ? (commit ? "COMMIT" : "ABORT") : value;
  out += "@" + std::to_string(producer);
  return out + (transactional ? "T" : "");
}

std::string render_log(const PartitionModel& part) {
  std::string out = "start " + std::to_string(part.log_start) + ":";
  for (const Entry& e : part.entries) {
    out += " " + render_entry(e.offset, e.value, e.producer, e.transactional, e.marker, e.commit);
  }
  return out;
}

std::string render_log(const PartitionLog& log) {
  std::string out = "start " + std::to_string(log.log_start.value()) + ":";
  for (const StoredRecord& r : log.records) {
    out += " " + render_entry(r.offset.value(), r.value.value_or(""), r.producer_id.value(),
                              r.transactional, r.control, r.commit);
  }
  return out;
}

// Offsets run contiguously from the log start, and no (producer, sequence) is stored
// twice: values name them, so they are unique.
void check_stored(const PartitionModel& part, const PartitionLog& log) {
  std::set<std::string> values;
  for (std::size_t i = 0; i < log.records.size(); ++i) {
    const StoredRecord& r = log.records[i];
    RC_ASSERT(r.offset.value() == log.log_start.value() + static_cast<std::int64_t>(i));
    if (!r.control) RC_ASSERT(values.insert(r.value.value_or("")).second);
  }
  RC_ASSERT(render_log(log) == render_log(part));
}

std::string fetch_from_start(ClusterSut& sut, int p, const PartitionModel& part, bool committed) {
  const auto isolation =
      committed ? core::IsolationLevel::kReadCommitted : core::IsolationLevel::kReadUncommitted;
  return verdict_of(sut.cluster.fetch(part.leader, partition(p), core::Offset{part.log_start},
                                      isolation, kMaxRecords));
}

// The watermarks and what each isolation level reads from the log start.
void check_reads(ClusterSut& sut, const ClusterModel& m, int p) {
  const PartitionModel& part = m.partitions[static_cast<std::size_t>(p)];
  auto marks = sut.cluster.watermarks(part.leader, partition(p));
  if (m.now < part.unavailable_until) {
    RC_ASSERT(!marks.has_value());
    RC_ASSERT(verdict_of(marks.error()) == kNotLeader);
    return;
  }
  RC_ASSERT(marks.has_value());
  RC_ASSERT(marks->low.value() == part.log_start);
  RC_ASSERT(marks->high.value() == part.end());
  RC_ASSERT(fetch_from_start(sut, p, part, false) ==
            expected_fetch(part, part.log_start, /*committed=*/false));
  RC_ASSERT(fetch_from_start(sut, p, part, true) ==
            expected_fetch(part, part.log_start, /*committed=*/true));
}

void check_cluster(ClusterSut& sut, const ClusterModel& m) {
  RC_ASSERT(sut.kernel.now() == m.now);
  for (int b = 0; b < kBrokers; ++b) {
    RC_ASSERT(sut.cluster.broker_up(b) == m.up[static_cast<std::size_t>(b)]);
  }
  for (int p = 0; p < static_cast<int>(m.partitions.size()); ++p) {
    const PartitionModel& part = m.partitions[static_cast<std::size_t>(p)];
    const PartitionLog* log = sut.cluster.log(partition(p));
    RC_ASSERT(log != nullptr);
    RC_ASSERT(sut.cluster.leader_of(partition(p)) == part.leader);
    check_stored(part, *log);
    check_reads(sut, m, p);
  }
}

std::vector<std::size_t> log_sizes(const ClusterSut& sut) {
  std::vector<std::size_t> sizes;
  for (const auto& log : sut.cluster.topics().at(kTopic)) sizes.push_back(log.records.size());
  return sizes;
}

bool refused(const std::string& verdict) {
  return verdict.starts_with("retriable") || verdict.starts_with("fenced") ||
         verdict == kNotDelivered;
}

// ---------------------------------------------------------------------------------------
// Generation.

rc::Gen<int> gen_route() { return rc::gen::weightedElement<int>({{8, 0}, {1, 1}, {1, 2}}); }
rc::Gen<int> gen_count() { return rc::gen::inRange(1, 5); }

int draw_partition(const ClusterModel& m) {
  return *rc::gen::inRange(0, static_cast<int>(m.partitions.size()));
}

Instance draw_instance(const ClusterModel& m) {
  if (!m.stale) return Instance::kCurrent;
  return *rc::gen::weightedElement<Instance>({{3, Instance::kCurrent}, {1, Instance::kStale}});
}

IdempotentProduce draw_idempotent(const ClusterModel& m) {
  IdempotentProduce op{*rc::gen::inRange(0, kIdempotentProducers), draw_partition(m), *gen_count()};
  const bool sent = m.idempotent[op.producer].last_batch.contains(op.partition);
  op.sequencing = *rc::gen::weightedElement<Sequencing>(
      {{4, Sequencing::kNext}, {sent ? 2u : 0u, Sequencing::kRetry}, {1, Sequencing::kGap}});
  op.gap = *rc::gen::inRange(1, 4);
  op.route = *gen_route();
  return op;
}

// Produces to a partition of the instance's transaction, or adds one when it has none.
Op draw_txn_produce(const ClusterModel& m) {
  const Instance who = draw_instance(m);
  const TxnInstance& sender = instance(m, who);
  if (sender.partitions.empty() || (!m.stale_produces && fenced(m, who))) {
    return TxnAdd{who, draw_partition(m)};
  }
  const std::vector<int> added(sender.partitions.begin(), sender.partitions.end());
  return TxnProduce{who, *rc::gen::elementOf(added), *gen_count(), *gen_route()};
}

// Mostly short steps, within the failover window; now and then past the txn time-out,
// or exactly to the open transaction's deadline.
Advance draw_advance(const ClusterModel& m) {
  const TxnCoordinator& c = m.coordinator;
  if (c.open && c.deadline > m.now && *rc::gen::weightedElement<bool>({{4, false}, {1, true}})) {
    return Advance{c.deadline - m.now};
  }
  const int ms = *rc::gen::weightedOneOf<int>(
      {{4, rc::gen::inRange(1, 400)}, {1, rc::gen::inRange(400, 2500)}});
  return Advance{std::chrono::milliseconds{ms}};
}

Op draw_broker_fault(const ClusterModel& m) {
  const int broker = *rc::gen::inRange(0, kBrokers);
  if (valid(m, BrokerDown{broker})) return BrokerDown{broker};
  if (valid(m, BrokerUp{broker})) return BrokerUp{broker};
  return draw_advance(m);
}

MoveLeader draw_move(const ClusterModel& m) {
  std::vector<int> live{-1};
  for (int b = 0; b < kBrokers; ++b) {
    if (m.up[static_cast<std::size_t>(b)]) live.push_back(b);
  }
  return MoveLeader{draw_partition(m), *rc::gen::elementOf(live)};
}

Fetch draw_fetch(const ClusterModel& m) {
  const int permille = *rc::gen::weightedOneOf<int>(
      {{8, rc::gen::inRange(0, 1001)}, {1, rc::gen::element(-1, 1001)}});
  return Fetch{draw_partition(m), permille, *rc::gen::arbitrary<bool>(), *gen_route()};
}

Op draw_op(const ClusterModel& m) {
  switch (*rc::gen::weightedElement<int>(
      {{3, 0}, {6, 1}, {1, 2}, {2, 3}, {5, 4}, {2, 5}, {3, 6}, {1, 7}, {1, 8}, {3, 9}})) {
    case 0: return PlainProduce{draw_partition(m), *gen_count(), *gen_route()};
    case 1: return draw_idempotent(m);
    case 2: return TxnInit{};
    case 3: return TxnAdd{draw_instance(m), draw_partition(m)};
    case 4: return draw_txn_produce(m);
    case 5:
      return TxnEnd{draw_instance(m), *rc::gen::weightedElement<bool>({{2, true}, {1, false}})};
    case 6: return draw_advance(m);
    case 7: return draw_move(m);
    case 8: return draw_broker_fault(m);
    default: return draw_fetch(m);
  }
}

// Remembers which answers and paths a sequence reached, for classification.
void record_coverage(const ClusterModel& before, const ClusterModel& after,
                     const std::string& verdict, ClusterSut& sut) {
  if (verdict.starts_with("offset") || verdict.starts_with("[")) return;
  sut.verdicts.insert(verdict);
  if (after.coordinator.epoch > before.coordinator.epoch && after.now > before.now) {
    sut.verdicts.insert("txn timed out");
  }
}

class Step final : public rc::state::Command<ClusterModel, ClusterSut> {
 public:
  explicit Step(const ClusterModel& model) : op_(draw_op(model)) {}

  void checkPreconditions(const ClusterModel& model) const override {
    RC_PRE(std::visit([&](const auto& o) { return valid(model, o); }, op_));
  }

  void apply(ClusterModel& model) const override { model = predict(model, op_).next; }

  void run(const ClusterModel& model, ClusterSut& sut) const override {
    const Prediction expected = predict(model, op_);
    const std::vector<std::size_t> before = log_sizes(sut);
    const std::string verdict =
        std::visit([&](const auto& o) { return execute(model, sut, o); }, op_);
    record_coverage(model, expected.next, verdict, sut);
    // Refused requests and retries leave every log as it was, whatever the model says.
    if (refused(verdict) || is_retry()) RC_ASSERT(log_sizes(sut) == before);
    if (is_retry() && verdict.starts_with("offset")) sut.verdicts.insert("retry answered");
    RC_ASSERT(verdict == expected.verdict);
    check_cluster(sut, expected.next);
  }

  void show(std::ostream& os) const override {
    os << std::visit([](const auto& o) { return describe(o); }, op_);
  }

 private:
  [[nodiscard]] bool is_retry() const {
    const auto* produce = std::get_if<IdempotentProduce>(&op_);
    return produce != nullptr && produce->sequencing == Sequencing::kRetry;
  }

  Op op_;
};

void classify(const ClusterSut& sut) {
  const auto seen = [&](const std::string& verdict) { return sut.verdicts.contains(verdict); };
  RC_CLASSIFY(seen(kFenced), "fenced");
  RC_CLASSIFY(seen("retriable out_of_order_sequence"), "sequence gap");
  RC_CLASSIFY(seen(kNotLeader), "not leader");
  RC_CLASSIFY(seen("retry answered"), "retry answered");
  RC_CLASSIFY(seen("txn timed out"), "txn timed out");
  bool committed = false;
  bool aborted = false;
  bool trimmed = false;
  for (const auto& log : sut.cluster.topics().at(kTopic)) {
    committed = committed || std::ranges::any_of(log.records, [](const StoredRecord& r) {
                  return r.control && r.commit;
                });
    aborted = aborted || !log.aborted.empty();
    trimmed = trimmed || log.log_start.value() > 0;
  }
  RC_CLASSIFY(committed, "committed a transaction");
  RC_CLASSIFY(aborted, "aborted a transaction");
  RC_CLASSIFY(trimmed, "retention trimmed");
}

void run_sequence(bool stale_produces) {
  const int partition_count = *rc::gen::inRange(1, 3);
  const auto retention = *rc::gen::weightedElement<std::size_t>({{2, 0}, {1, 12}});
  ClusterSut sut(partition_count, retention);
  set_up(sut, partition_count);
  rc::state::check(initial_model(sut, partition_count, stale_produces), sut,
                   rc::state::gen::execOneOfWithArgs<Step>());
  classify(sut);
}

RC_GTEST_PROP(SimPartitionLogModel, AgreesWithTheModel, ()) { run_sequence(false); }

// A producer fenced by a re-init or a transaction time-out keeps producing to a
// partition of the transaction it believes open: the partition must fence it, as a
// Kafka partition does because the coordinator writes the abort markers under the
// bumped epoch. Otherwise the stale records open a transaction that no coordinator
// will end, and the partition's last stable offset stops moving.
RC_GTEST_PROP(SimPartitionLogModel, FencesAProducerWhoseTransactionWasAborted, ()) {
  run_sequence(true);
}

}  // namespace
}  // namespace orderflow::adapters
