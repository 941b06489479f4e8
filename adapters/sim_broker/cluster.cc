#include "adapters/sim_broker/cluster.h"

#include <algorithm>

#include "adapters/sim_broker/groups.h"
#include "core/check.h"
#include "core/hash.h"

namespace orderflow::adapters {
namespace {

using core::ErrorKind;
using core::make_error;
using core::Offset;

constexpr std::size_t kRememberedBatches = 5;  // as Kafka keeps per producer

Offset plus(Offset o, std::int64_t n) { return Offset{o.value() + n}; }

}  // namespace

core::Offset PartitionLog::last_stable() const {
  Offset lso = end();
  for (const auto& [pid, first] : open_transactions) lso = std::min(lso, first);
  return lso;
}

SimCluster::SimCluster(sim::Kernel& kernel, sim::Network& network, ClusterConfig config)
    : kernel_(kernel), network_(network), config_(config) {
  OF_CHECK(config_.brokers > 0, "a cluster needs a broker");
  for (int b = 0; b < config_.brokers; ++b) {
    broker_nodes_.push_back(network_.add_node("broker-" + std::to_string(b)));
    broker_up_.push_back(true);
  }
  groups_ = std::make_unique<GroupCoordinator>(*this);
}

SimCluster::~SimCluster() = default;

void SimCluster::trace(std::string_view name, core::Fields fields) {
  kernel_.record("cluster", core::Severity::kInfo, name, fields);
}

void SimCluster::broker_down(int broker) {
  if (!broker_up_[broker]) return;
  broker_up_[broker] = false;
  trace("broker_down", {{"broker", broker}});
  for (auto& [topic, partitions] : topics_) {
    for (std::size_t p = 0; p < partitions.size(); ++p) {
      if (partitions[p].leader == broker) {
        move_leader({topic, core::Partition{static_cast<std::int32_t>(p)}});
      }
    }
  }
}

void SimCluster::broker_up_again(int broker) {
  if (broker_up_[broker]) return;
  broker_up_[broker] = true;
  trace("broker_up", {{"broker", broker}});
}

void SimCluster::move_leader(const core::TopicPartition& tp, int broker) {
  auto it = topics_.find(tp.topic);
  OF_CHECK(it != topics_.end(), "move_leader on an unknown topic");
  PartitionLog& log = it->second[static_cast<std::size_t>(tp.partition.value())];
  int next = broker;
  if (next < 0) {
    next = log.leader;
    for (int i = 1; i <= broker_count(); ++i) {
      const int candidate = (log.leader + i) % broker_count();
      if (broker_up_[candidate]) {
        next = candidate;
        break;
      }
    }
  }
  log.leader = next;
  log.unavailable_until = kernel_.now() + config_.failover_window;
  trace("leader_moved", {{"topic", tp.topic}, {"partition", tp.partition.value()}, {"to", next}});
}

core::Result<> SimCluster::create_topic(const core::TopicSpec& spec) {
  if (spec.partitions <= 0) {
    return make_error(ErrorKind::kFatal, "invalid_partitions", "partitions must be positive");
  }
  if (auto it = topics_.find(spec.name); it != topics_.end()) {
    if (static_cast<int>(it->second.size()) == spec.partitions) return {};
    return make_error(ErrorKind::kFatal, "topic_already_exists",
                      "topic " + spec.name + " exists with another partition count");
  }
  std::vector<PartitionLog> partitions(static_cast<std::size_t>(spec.partitions));
  const int first =
      static_cast<int>(core::fnv1a(spec.name) % static_cast<std::uint64_t>(broker_count()));
  for (std::size_t p = 0; p < partitions.size(); ++p) {
    partitions[p].leader = (first + static_cast<int>(p)) % broker_count();
  }
  topics_.emplace(spec.name, std::move(partitions));
  trace("topic_created", {{"topic", spec.name}, {"partitions", spec.partitions}});
  return {};
}

std::optional<int> SimCluster::partition_count(const std::string& topic) const {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return std::nullopt;
  return static_cast<int>(it->second.size());
}

const PartitionLog* SimCluster::log(const core::TopicPartition& tp) const {
  auto it = topics_.find(tp.topic);
  if (it == topics_.end() || tp.partition.value() < 0 ||
      tp.partition.value() >= static_cast<std::int32_t>(it->second.size())) {
    return nullptr;
  }
  return &it->second[static_cast<std::size_t>(tp.partition.value())];
}

std::vector<core::TopicPartition> SimCluster::partitions(const std::string& topic) const {
  std::vector<core::TopicPartition> out;
  if (auto count = partition_count(topic)) {
    for (int p = 0; p < *count; ++p) out.push_back({topic, core::Partition{p}});
  }
  return out;
}

int SimCluster::leader_of(const core::TopicPartition& tp) const {
  const PartitionLog* l = log(tp);
  return l == nullptr ? 0 : l->leader;
}

int SimCluster::coordinator_of(const std::string& key) const {
  const int base = static_cast<int>(core::fnv1a(key) % static_cast<std::uint64_t>(broker_count()));
  for (int i = 0; i < broker_count(); ++i) {
    const int candidate = (base + i) % broker_count();
    if (broker_up_[candidate]) return candidate;
  }
  return base;
}

core::Result<> SimCluster::check_leader(int at, const core::TopicPartition& tp) const {
  const PartitionLog* l = log(tp);
  if (l == nullptr) {
    return make_error(ErrorKind::kFatal, "unknown_topic_or_partition",
                      tp.topic + "/" + std::to_string(tp.partition.value()) + " does not exist");
  }
  if (l->leader != at || kernel_.now() < l->unavailable_until) {
    return make_error(ErrorKind::kRetriable, "not_leader_for_partition",
                      "broker " + std::to_string(at) + " does not lead " + tp.topic + "/" +
                          std::to_string(tp.partition.value()) + " now");
  }
  return {};
}

core::Result<> SimCluster::check_coordinator(int at, const std::string& key) const {
  if (coordinator_of(key) != at) {
    return make_error(ErrorKind::kRetriable, "not_coordinator",
                      "broker " + std::to_string(at) + " is not the coordinator of " + key);
  }
  return {};
}

core::Result<PartitionLog*> SimCluster::writable(int at, const core::TopicPartition& tp) {
  if (auto ok = check_leader(at, tp); !ok) return std::unexpected(ok.error());
  return &topics_.find(tp.topic)->second[static_cast<std::size_t>(tp.partition.value())];
}

core::Result<core::Offset> SimCluster::produce(int at, const ProduceBatch& batch) {
  auto target = writable(at, batch.tp);
  if (!target) return std::unexpected(target.error());
  PartitionLog& log = **target;
  const bool idempotent = batch.producer_id.value() >= 0;

  if (idempotent) {
    auto& state = log.producers[batch.producer_id];
    if (batch.epoch < state.epoch) {
      return make_error(ErrorKind::kFenced, "producer_fenced",
                        "epoch " + std::to_string(batch.epoch.value()) + " is older than " +
                            std::to_string(state.epoch.value()));
    }
    if (batch.epoch > state.epoch) {
      state = PartitionLog::ProducerState{batch.epoch, -1, {}};
    }
    if (auto seen = state.batch_offsets.find(batch.first_sequence);
        seen != state.batch_offsets.end()) {
      return seen->second;  // a retried batch: answer with where it already is
    }
    if (batch.first_sequence != state.last_sequence + 1) {
      return make_error(ErrorKind::kRetriable, "out_of_order_sequence",
                        "expected sequence " + std::to_string(state.last_sequence + 1) + ", got " +
                            std::to_string(batch.first_sequence));
    }
  }

  const Offset base = log.end();
  const std::size_t count = batch.records->size();
  const bool with_ids = batch.send_ids != nullptr && batch.send_ids->size() == count;
  for (std::size_t i = 0; i < count; ++i) {
    const core::ProducerRecord& r = (*batch.records)[i];
    log.records.push_back(StoredRecord{log.end(), r.key, r.value, r.headers, batch.timestamp,
                                       batch.producer_id, batch.epoch, batch.transactional});
    if (with_ids) log.records.back().send_id = (*batch.send_ids)[i];
  }
  records_appended_ += count;
  if (recording_) history_.record_append(history_.intern(batch.tp), base, count);
  if (batch.transactional) log.open_transactions.try_emplace(batch.producer_id, base);

  if (idempotent) {
    auto& state = log.producers[batch.producer_id];
    state.last_sequence =
        batch.first_sequence + static_cast<std::int32_t>(batch.records->size()) - 1;
    state.batch_offsets[batch.first_sequence] = base;
    while (state.batch_offsets.size() > kRememberedBatches) {
      state.batch_offsets.erase(state.batch_offsets.begin());
    }
  }

  if (config_.retention_records > 0 && log.records.size() > config_.retention_records) {
    const auto drop = log.records.size() - config_.retention_records;
    log.records.erase(log.records.begin(), log.records.begin() + static_cast<std::ptrdiff_t>(drop));
    log.log_start = plus(log.log_start, static_cast<std::int64_t>(drop));
  }
  return base;
}

core::Result<FetchResult> SimCluster::fetch(int at, const core::TopicPartition& tp, Offset from,
                                            core::IsolationLevel isolation, int max_records) {
  if (auto ok = check_leader(at, tp); !ok) return std::unexpected(ok.error());
  const PartitionLog& l = *log(tp);
  if (from < l.log_start || from > l.end()) {
    return make_error(ErrorKind::kRetriable, "offset_out_of_range",
                      "offset " + std::to_string(from.value()) + " is outside [" +
                          std::to_string(l.log_start.value()) + ", " +
                          std::to_string(l.end().value()) + "]");
  }
  const bool committed_only = isolation == core::IsolationLevel::kReadCommitted;
  const Offset lso = l.last_stable();
  const Offset limit = committed_only ? lso : l.end();

  FetchResult result{{}, from, l.end(), lso};
  Offset next = from;
  for (; next < limit && static_cast<int>(result.records.size()) < max_records;
       next = next.next()) {
    const StoredRecord& r = l.records[static_cast<std::size_t>(next.value() - l.log_start.value())];
    if (r.control) continue;
    if (committed_only && r.transactional) {
      const bool aborted = std::any_of(l.aborted.begin(), l.aborted.end(), [&](const auto& a) {
        return a.producer_id == r.producer_id && a.first <= r.offset && r.offset < a.last;
      });
      if (aborted) continue;
    }
    result.records.push_back(
        core::ConsumerRecord{tp, r.offset, r.key, r.value, r.headers, r.timestamp});
    if (recording_) result.send_ids.push_back(r.send_id);
  }
  result.next_offset = next;
  return result;
}

core::Result<core::Watermarks> SimCluster::watermarks(int at, const core::TopicPartition& tp) {
  if (auto ok = check_leader(at, tp); !ok) return std::unexpected(ok.error());
  const PartitionLog& l = *log(tp);
  return core::Watermarks{l.log_start, l.end()};
}

core::Result<SimCluster::ProducerIdentity> SimCluster::init_producer_id(
    int at, const std::optional<std::string>& txn_id, core::Duration txn_timeout) {
  if (!txn_id)
    return ProducerIdentity{core::ProducerId{next_producer_id_++}, core::ProducerEpoch{0}};
  if (auto ok = check_coordinator(at, *txn_id); !ok) return std::unexpected(ok.error());

  auto [it, created] = transactions_.try_emplace(*txn_id);
  Transaction& txn = it->second;
  if (created) {
    txn.producer = {core::ProducerId{next_producer_id_++}, core::ProducerEpoch{0}};
  } else {
    // The epoch moves first, so that the abort markers carry the new epoch and
    // every partition of the old transaction fences the old producer.
    txn.producer.epoch = txn.producer.epoch.next();
    if (txn.open) complete_transaction(*txn_id, false, "fenced_by_new_producer");
  }
  txn.timeout = txn_timeout;
  trace("producer_initialized", {{"transactional_id", *txn_id},
                                 {"producer_id", txn.producer.id.value()},
                                 {"epoch", txn.producer.epoch.value()}});
  return txn.producer;
}

core::Result<> SimCluster::check_transaction(const std::string& txn_id,
                                             ProducerIdentity who) const {
  auto it = transactions_.find(txn_id);
  if (it == transactions_.end()) {
    return make_error(ErrorKind::kFatal, "invalid_txn_state", "unknown transactional id " + txn_id);
  }
  const ProducerIdentity& current = it->second.producer;
  if (who.id != current.id || who.epoch < current.epoch) {
    return make_error(ErrorKind::kFenced, "producer_fenced",
                      "a newer producer owns transactional id " + txn_id);
  }
  if (who.epoch > current.epoch) {
    return make_error(ErrorKind::kFatal, "invalid_producer_epoch", "epoch from the future");
  }
  return {};
}

core::Result<> SimCluster::add_partitions_to_txn(
    int at, const std::string& txn_id, ProducerIdentity who,
    const std::vector<core::TopicPartition>& partitions) {
  if (auto ok = check_coordinator(at, txn_id); !ok) return ok;
  if (auto ok = check_transaction(txn_id, who); !ok) return ok;
  Transaction& txn = transactions_[txn_id];
  for (const auto& tp : partitions) {
    if (log(tp) == nullptr) {
      return make_error(ErrorKind::kAbortable, "unknown_topic_or_partition",
                        tp.topic + " cannot join the transaction");
    }
  }
  if (!txn.open) {
    txn.open = true;
    arm_expiry(txn_id);
  }
  txn.partitions.insert(partitions.begin(), partitions.end());
  return {};
}

core::Result<> SimCluster::txn_offset_commit(
    int at, const std::string& txn_id, ProducerIdentity who, const core::GroupMetadata& group,
    const std::vector<core::TopicPartitionOffset>& offsets) {
  if (auto ok = check_coordinator(at, txn_id); !ok) return ok;
  if (auto ok = check_transaction(txn_id, who); !ok) return ok;
  if (auto ok = groups_->validate_member(group); !ok) return ok;
  Transaction& txn = transactions_[txn_id];
  if (!txn.open) {
    txn.open = true;
    arm_expiry(txn_id);
  }
  auto& pending = txn.pending_offsets[group.group_id];
  for (const auto& o : offsets) {
    auto same = std::find_if(pending.begin(), pending.end(), [&](auto& p) { return p.tp == o.tp; });
    if (same != pending.end()) {
      same->offset = o.offset;
    } else {
      pending.push_back(o);
    }
  }
  return {};
}

core::Result<> SimCluster::end_txn(int at, const std::string& txn_id, ProducerIdentity who,
                                   bool commit) {
  if (auto ok = check_coordinator(at, txn_id); !ok) return ok;
  if (auto ok = check_transaction(txn_id, who); !ok) return ok;
  complete_transaction(txn_id, commit, commit ? "committed" : "aborted");
  return {};
}

void SimCluster::complete_transaction(const std::string& txn_id, bool commit,
                                      std::string_view why) {
  Transaction& txn = transactions_[txn_id];
  if (!txn.open) return;
  std::vector<LogPosition> covered;
  for (const auto& tp : txn.partitions) {
    if (recording_) collect_covered(tp, txn.producer.id, covered);
    write_marker(tp, txn.producer.id, txn.producer.epoch, commit);
  }
  if (recording_) {
    history_.record_txn_outcome(txn_id, txn.producer.id, txn.producer.epoch, commit, covered);
  }
  if (commit) {
    for (const auto& [group, offsets] : txn.pending_offsets) groups_->commit(group, offsets);
  }
  trace(commit ? "txn_committed" : "txn_aborted",
        {{"transactional_id", txn_id},
         {"epoch", txn.producer.epoch.value()},
         {"partitions", static_cast<std::int64_t>(txn.partitions.size())},
         {"why", why}});
  kernel_.cancel(txn.expiry);
  txn.open = false;
  txn.partitions.clear();
  txn.pending_offsets.clear();
}

bool SimCluster::has_pending_txn_offsets(const std::string& group,
                                         const core::TopicPartition& tp) const {
  for (const auto& [id, txn] : transactions_) {
    if (!txn.open) continue;
    auto offsets = txn.pending_offsets.find(group);
    if (offsets == txn.pending_offsets.end()) continue;
    for (const auto& o : offsets->second) {
      if (o.tp == tp) return true;
    }
  }
  return false;
}

void SimCluster::write_marker(const core::TopicPartition& tp, core::ProducerId pid,
                              core::ProducerEpoch epoch, bool commit) {
  PartitionLog& l = topics_.find(tp.topic)->second[static_cast<std::size_t>(tp.partition.value())];
  const Offset marker = l.end();
  StoredRecord control{marker, std::nullopt, std::nullopt, {}, kernel_.now(), pid, epoch, true};
  control.control = true;
  control.commit = commit;
  l.records.push_back(std::move(control));
  if (recording_) history_.record_append(history_.intern(tp), marker, 1);
  // A marker with a newer epoch fences older ones on this partition too.
  auto& producer = l.producers[pid];
  if (epoch > producer.epoch) producer = PartitionLog::ProducerState{epoch, -1, {}};
  auto open = l.open_transactions.find(pid);
  if (open == l.open_transactions.end()) return;
  if (!commit) l.aborted.push_back(AbortedRange{pid, open->second, marker});
  l.open_transactions.erase(open);
}

// The records of `pid`'s open transaction on `tp`, before its marker is written.
void SimCluster::collect_covered(const core::TopicPartition& tp, core::ProducerId pid,
                                 std::vector<LogPosition>& out) {
  const PartitionLog& l = *log(tp);
  auto open = l.open_transactions.find(pid);
  if (open == l.open_transactions.end()) return;
  const TpIndex index = history_.intern(tp);
  for (Offset o = std::max(open->second, l.log_start); o < l.end(); o = o.next()) {
    const StoredRecord& r = l.records[static_cast<std::size_t>(o.value() - l.log_start.value())];
    if (r.producer_id == pid && r.transactional && !r.control) out.push_back({index, o});
  }
}

void SimCluster::arm_expiry(const std::string& txn_id) {
  Transaction& txn = transactions_[txn_id];
  const ProducerIdentity owner = txn.producer;
  txn.expiry = kernel_.after(txn.timeout, [this, txn_id, owner] {
    Transaction& t = transactions_[txn_id];
    if (!t.open || t.producer.id != owner.id || t.producer.epoch != owner.epoch) return;
    // Kafka bumps the epoch when it aborts a timed-out transaction, and writes the
    // markers with it, so the producer that abandoned it is fenced everywhere.
    t.producer.epoch = t.producer.epoch.next();
    complete_transaction(txn_id, false, "transaction_timed_out");
  });
}

}  // namespace orderflow::adapters
