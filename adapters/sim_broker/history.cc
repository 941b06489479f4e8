#include "adapters/sim_broker/history.h"

#include "adapters/sim_broker/cluster.h"
#include "core/check.h"

namespace orderflow::adapters {

std::vector<FinalRecord> final_records(const PartitionLog& log) {
  std::vector<FinalRecord> out(log.records.size());
  // Backwards, so that each producer's next marker is known when its records come.
  std::map<core::ProducerId, TxnStatus> next_marker;
  for (std::size_t i = log.records.size(); i-- > 0;) {
    const StoredRecord& r = log.records[i];
    FinalRecord& f = out[i];
    f.offset = r.offset;
    f.send = r.send_id;
    f.producer_id = r.producer_id;
    f.control = r.control;
    f.transactional = r.transactional;
    if (r.control) {
      f.status = r.commit ? TxnStatus::kCommitted : TxnStatus::kAborted;
      next_marker[r.producer_id] = f.status;
    } else if (r.transactional) {
      auto marker = next_marker.find(r.producer_id);
      f.status = marker == next_marker.end() ? TxnStatus::kOpen : marker->second;
    }
  }
  return out;
}

TpIndex KafkaHistory::intern(const core::TopicPartition& tp) {
  auto [it, fresh] = tp_index_.try_emplace(tp, static_cast<TpIndex>(tps_.size()));
  if (fresh) tps_.push_back(tp);
  return it->second;
}

std::optional<TpIndex> KafkaHistory::find(const core::TopicPartition& tp) const {
  auto it = tp_index_.find(tp);
  if (it == tp_index_.end()) return std::nullopt;
  return it->second;
}

std::uint32_t KafkaHistory::intern_string(std::string_view s) {
  if (auto it = string_index_.find(s); it != string_index_.end()) return it->second;
  const auto index = static_cast<std::uint32_t>(strings_.size());
  strings_.emplace_back(s);
  string_index_.emplace(std::string{s}, index);
  return index;
}

ClientIndex KafkaHistory::add_producer(const core::ProducerOptions& options) {
  auto& incarnations = producer_incarnations_[options.client_id];
  producers_.push_back(ProducerInfo{options.client_id, options.transactional_id, incarnations++,
                                    options.idempotent || options.transactional_id.has_value()});
  return static_cast<ClientIndex>(producers_.size() - 1);
}

SendId KafkaHistory::record_send(ClientIndex producer, TpIndex tp, std::uint32_t txn) {
  const SendId id = sends_.size() + 1;
  sends_.push_back(
      SendEvent{.id = id, .producer = producer, .tp = tp, .txn = txn, .sent_at = now()});
  return id;
}

void KafkaHistory::record_reported(SendId id, const core::Result<core::RecordMetadata>& result) {
  OF_CHECK(id != kNoSend && id <= sends_.size(), "unknown send id");
  SendEvent& send = sends_[id - 1];
  send.reported_at = now();
  if (result) {
    send.status = SendStatus::kAcked;
    send.offset = result->offset;
  } else {
    send.status = SendStatus::kFailed;
    send.error = intern_string(result.error().code);
  }
}

const SendEvent* KafkaHistory::send(SendId id) const {
  if (id == kNoSend || id > sends_.size()) return nullptr;
  return &sends_[id - 1];
}

void KafkaHistory::record_txn_end(ClientIndex producer, std::uint32_t txn, bool commit, bool ok) {
  txn_ends_.push_back(TxnEnd{producer, txn, commit, ok, now()});
}

void KafkaHistory::record_append(TpIndex tp, core::Offset first, std::size_t count) {
  appends_.push_back(Append{tp, first, static_cast<std::uint32_t>(count), now()});
}

void KafkaHistory::record_txn_outcome(std::string_view transactional_id,
                                      core::ProducerId producer_id, core::ProducerEpoch epoch,
                                      bool commit, std::span<const LogPosition> covered) {
  txn_outcomes_.push_back(TxnOutcome{intern_string(transactional_id), producer_id, epoch, commit,
                                     now(), static_cast<std::uint32_t>(covered_.size()),
                                     static_cast<std::uint32_t>(covered.size())});
  covered_.insert(covered_.end(), covered.begin(), covered.end());
}

std::span<const LogPosition> KafkaHistory::covered(const TxnOutcome& outcome) const {
  return std::span<const LogPosition>(covered_).subspan(outcome.first_covered,
                                                        outcome.covered_count);
}

ClientIndex KafkaHistory::add_consumer(const core::ConsumerOptions& options, bool subscribed) {
  auto& incarnations = consumer_incarnations_[options.client_id];
  consumers_.push_back(ConsumerInfo{options.client_id, options.group_id, incarnations++,
                                    options.isolation, subscribed});
  return static_cast<ClientIndex>(consumers_.size() - 1);
}

void KafkaHistory::record_delivery(ClientIndex consumer, TpIndex tp, core::Offset offset,
                                   SendId send) {
  consumer_events_.push_back(
      ConsumerEvent{consumer, tp, ConsumerEventKind::kDelivered, offset, send, now()});
}

void KafkaHistory::record_reset(ClientIndex consumer, TpIndex tp, ConsumerEventKind kind,
                                core::Offset offset) {
  OF_CHECK(is_position_reset(kind), "a reset is not a delivery");
  consumer_events_.push_back(ConsumerEvent{consumer, tp, kind, offset, kNoSend, now()});
}

bool KafkaHistory::empty() const {
  return sends_.empty() && appends_.empty() && txn_ends_.empty() && txn_outcomes_.empty() &&
         consumer_events_.empty() && producers_.empty() && consumers_.empty();
}

PartitionLog& KafkaHistoryTamper::log(SimCluster& cluster, const core::TopicPartition& tp) {
  auto it = cluster.topics_.find(tp.topic);
  OF_CHECK(it != cluster.topics_.end() && tp.partition.value() >= 0 &&
               tp.partition.value() < static_cast<std::int32_t>(it->second.size()),
           "tampering with a partition that does not exist");
  return it->second[static_cast<std::size_t>(tp.partition.value())];
}

}  // namespace orderflow::adapters
