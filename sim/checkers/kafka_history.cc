#include "sim/checkers/kafka_history.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace orderflow::sim {
namespace {

using adapters::Append;
using adapters::ClientIndex;
using adapters::ConsumerEvent;
using adapters::FinalRecord;
using adapters::KafkaHistory;
using adapters::kNoSend;
using adapters::LogPosition;
using adapters::SendEvent;
using adapters::SendId;
using adapters::SendStatus;
using adapters::TpIndex;
using adapters::TxnStatus;
using core::Timestamp;

constexpr const char* kChecker = "kafka";

// The first delivery of an offset, which later ones must agree with.
struct FirstDelivery {
  SendId send = kNoSend;
  ClientIndex consumer = 0;
};

// One partition: its final log, when its offsets were appended, and what
// consumers were handed from it.
struct PartitionView {
  std::int64_t start = 0;
  std::vector<FinalRecord> records;  // records[i].offset == start + i
  std::vector<Append> appends;       // in offset order
  std::map<std::int64_t, FirstDelivery> delivered;
  // The offsets delivered to members of consumer groups span [group_low, group_high].
  std::int64_t group_low = std::numeric_limits<std::int64_t>::max();
  std::int64_t group_high = std::numeric_limits<std::int64_t>::min();

  [[nodiscard]] std::int64_t end() const {
    return start + static_cast<std::int64_t>(records.size());
  }
  [[nodiscard]] const FinalRecord* at(std::int64_t offset) const {
    if (offset < start || offset >= end()) return nullptr;
    return &records[static_cast<std::size_t>(offset - start)];
  }
  [[nodiscard]] std::optional<Timestamp> appended_at(std::int64_t offset) const {
    auto after =
        std::upper_bound(appends.begin(), appends.end(), offset,
                         [](std::int64_t o, const Append& a) { return o < a.first.value(); });
    if (after == appends.begin()) return std::nullopt;
    const Append& a = *std::prev(after);
    if (offset >= a.first.value() + a.count) return std::nullopt;
    return a.at;
  }
  [[nodiscard]] bool group_read() const { return group_low <= group_high; }
};

// A record a consumer at `isolation` must not jump over.
bool must_see(const FinalRecord& r, core::IsolationLevel isolation) {
  if (r.control) return false;
  if (isolation == core::IsolationLevel::kReadUncommitted || !r.transactional) return true;
  return r.status == TxnStatus::kCommitted;
}

class KafkaChecker {
 public:
  explicit KafkaChecker(const adapters::SimCluster& cluster)
      : cluster_(cluster), history_(cluster.history()) {}

  Violations run() {
    load_logs();
    index_transactions();
    check_sends();
    check_consumer_events();
    check_unseen();
    return std::move(out_);
  }

 private:
  void load_logs();
  void index_transactions();
  void check_sends();
  void check_acknowledged(const SendEvent& s);
  void check_consumer_events();
  void check_delivery(const ConsumerEvent& e, std::optional<std::int64_t> previous);
  void check_read_committed(const ConsumerEvent& e, const FinalRecord& r);
  void check_unseen();

  void report(std::string kind, std::string detail, Timestamp at) {
    out_.push_back(Violation{kChecker, std::move(kind), std::move(detail), at});
  }
  [[nodiscard]] bool stored_anywhere(SendId id) const {
    return id < first_copy_.size() && first_copy_[id].has_value();
  }
  // Whether a send must survive: not transactional, or its producer was told
  // its transaction committed (and when).
  [[nodiscard]] std::optional<Timestamp> must_survive(const SendEvent& s) const;

  [[nodiscard]] std::string where(TpIndex tp, std::int64_t offset) const;
  [[nodiscard]] std::string send_name(SendId id) const;
  [[nodiscard]] std::string consumer_name(ClientIndex consumer) const;

  const adapters::SimCluster& cluster_;
  const KafkaHistory& history_;
  std::vector<PartitionView> views_;  // by TpIndex
  // By send id: where the final log first holds it, not aborted.
  std::vector<std::optional<LogPosition>> first_copy_;
  std::vector<bool> delivered_send_;
  std::map<std::pair<TpIndex, std::int64_t>, std::uint32_t> outcome_at_;
  std::map<std::pair<ClientIndex, std::uint32_t>, Timestamp> committed_;
  Violations out_;
};

std::string KafkaChecker::where(TpIndex tp, std::int64_t offset) const {
  const core::TopicPartition& p = history_.partition(tp);
  return p.topic + "/" + std::to_string(p.partition.value()) + "@" + std::to_string(offset);
}

std::string KafkaChecker::send_name(SendId id) const {
  std::string out = "send " + std::to_string(id);
  if (const SendEvent* s = history_.send(id); s != nullptr) {
    const adapters::ProducerInfo& p = history_.producers()[s->producer];
    out += " (" + p.client_id + "#" + std::to_string(p.incarnation) + ")";
  }
  return out;
}

std::string KafkaChecker::consumer_name(ClientIndex consumer) const {
  const adapters::ConsumerInfo& c = history_.consumers()[consumer];
  return "consumer " + c.client_id + "#" + std::to_string(c.incarnation) +
         (c.group.empty() ? std::string{} : " of group " + c.group);
}

// The final logs, and `duplicate` on the way.
void KafkaChecker::load_logs() {
  const auto& partitions = history_.partitions();
  views_.resize(partitions.size());
  first_copy_.resize(history_.sends().size() + 1);
  delivered_send_.resize(history_.sends().size() + 1);
  for (const Append& a : history_.appends()) {
    if (a.tp < views_.size()) views_[a.tp].appends.push_back(a);
  }
  for (TpIndex tp = 0; tp < partitions.size(); ++tp) {
    PartitionView& view = views_[tp];
    if (const adapters::PartitionLog* log = cluster_.log(partitions[tp]); log != nullptr) {
      view.start = log->log_start.value();
      view.records = adapters::final_records(*log);
    }
    for (const FinalRecord& r : view.records) {
      if (r.control || r.send == kNoSend || r.status == TxnStatus::kAborted) continue;
      if (r.send >= first_copy_.size()) first_copy_.resize(r.send + 1);
      auto& first = first_copy_[r.send];
      if (!first) {
        first = LogPosition{tp, r.offset};
        continue;
      }
      report("duplicate",
             send_name(r.send) + " is stored at " + where(first->tp, first->offset.value()) +
                 " and again at " + where(tp, r.offset.value()),
             view.appended_at(r.offset.value()).value_or(cluster_.kernel().now()));
    }
  }
}

void KafkaChecker::index_transactions() {
  const auto& outcomes = history_.txn_outcomes();
  for (std::uint32_t i = 0; i < outcomes.size(); ++i) {
    for (const LogPosition& p : history_.covered(outcomes[i])) {
      outcome_at_.try_emplace({p.tp, p.offset.value()}, i);
    }
  }
  for (const auto& end : history_.txn_ends()) {
    if (end.commit && end.ok) committed_.try_emplace({end.producer, end.txn}, end.at);
  }
}

std::optional<Timestamp> KafkaChecker::must_survive(const SendEvent& s) const {
  if (s.txn == 0) return s.reported_at;
  auto committed = committed_.find({s.producer, s.txn});
  if (committed == committed_.end()) return std::nullopt;
  return std::max(s.reported_at, committed->second);
}

// `nonmonotonic_send`, then each acknowledgement against the final log.
void KafkaChecker::check_sends() {
  // Per producer and partition: the send acknowledged with the highest offset so far.
  std::map<std::pair<ClientIndex, TpIndex>, const SendEvent*> highest;
  for (const SendEvent& s : history_.sends()) {
    if (s.status != SendStatus::kAcked || s.tp >= views_.size()) continue;
    const SendEvent*& top = highest[{s.producer, s.tp}];
    if (top != nullptr && s.offset <= top->offset) {
      report("nonmonotonic_send",
             send_name(s.id) + " was acknowledged at " + where(s.tp, s.offset.value()) +
                 ", not after " + send_name(top->id) + " sent before it at " +
                 where(s.tp, top->offset.value()),
             std::max(s.reported_at, top->reported_at));
    }
    if (top == nullptr || s.offset > top->offset) top = &s;
    check_acknowledged(s);
  }
}

// `lost_write` and `inconsistent_offsets` for one acknowledged send.
void KafkaChecker::check_acknowledged(const SendEvent& s) {
  const PartitionView& view = views_[s.tp];
  const std::int64_t offset = s.offset.value();
  if (offset < view.start) return;  // deleted by retention
  const auto survive = must_survive(s);
  auto what = [&] { return send_name(s.id) + " acknowledged at " + where(s.tp, offset); };
  const FinalRecord* r = view.at(offset);
  if (r == nullptr) {
    if (survive) {
      report("lost_write",
             what() + " is not in the log, which ends at " + std::to_string(view.end()), *survive);
    }
    return;
  }
  if (r->control) {
    if (survive) report("lost_write", what() + " is not there: a transaction marker is", *survive);
    return;
  }
  if (r->send == kNoSend) return;  // stored while history was off
  if (r->send != s.id) {
    report("inconsistent_offsets", what() + " but the log holds " + send_name(r->send) + " there",
           s.reported_at);
    if (survive && !stored_anywhere(s.id)) {
      report("lost_write", what() + " is nowhere in the log", *survive);
    }
    return;
  }
  if (survive && r->status == TxnStatus::kAborted) {
    report("lost_write", what() + " is there in an aborted transaction", *survive);
  } else if (survive && r->status == TxnStatus::kOpen) {
    report("lost_write", what() + " is there in a transaction never committed", *survive);
  }
}

void KafkaChecker::check_consumer_events() {
  // Per consumer and partition: the last offset delivered since the last reset.
  std::map<std::pair<ClientIndex, TpIndex>, std::int64_t> last;
  for (const ConsumerEvent& e : history_.consumer_events()) {
    if (e.tp >= views_.size() || e.consumer >= history_.consumers().size()) continue;
    const std::pair key{e.consumer, e.tp};
    if (adapters::is_position_reset(e.kind)) {
      last.erase(key);
      continue;
    }
    auto previous = last.find(key);
    check_delivery(
        e, previous == last.end() ? std::nullopt : std::optional<std::int64_t>{previous->second});
    last[key] = e.offset.value();
  }
}

// One delivery: against earlier deliveries of its offset, the final log and
// the consumer's previous delivery of its partition.
void KafkaChecker::check_delivery(const ConsumerEvent& e, std::optional<std::int64_t> previous) {
  PartitionView& view = views_[e.tp];
  const adapters::ConsumerInfo& consumer = history_.consumers()[e.consumer];
  const std::int64_t offset = e.offset.value();
  const FinalRecord* r = view.at(offset);
  auto who = [&] { return consumer_name(e.consumer); };

  auto [first, fresh] = view.delivered.try_emplace(offset, FirstDelivery{e.send, e.consumer});
  if (!fresh && first->second.send != e.send && e.send != kNoSend &&
      first->second.send != kNoSend) {
    report("inconsistent_offsets",
           where(e.tp, offset) + " was delivered to " + consumer_name(first->second.consumer) +
               " as " + send_name(first->second.send) + " and to " + who() + " as " +
               send_name(e.send),
           e.at);
  } else if (fresh && r != nullptr && e.send != kNoSend &&
             (r->control || (r->send != kNoSend && r->send != e.send))) {
    report("inconsistent_offsets",
           where(e.tp, offset) + " was delivered to " + who() + " as " + send_name(e.send) +
               " but the log holds " +
               (r->control ? std::string{"a transaction marker"} : send_name(r->send)) + " there",
           e.at);
  }
  if (e.send < delivered_send_.size()) delivered_send_[e.send] = true;
  if (consumer.subscribed) {
    view.group_low = std::min(view.group_low, offset);
    view.group_high = std::max(view.group_high, offset);
  }

  if (consumer.isolation == core::IsolationLevel::kReadCommitted && r != nullptr &&
      r->transactional && !r->control) {
    check_read_committed(e, *r);
  }

  if (!previous) return;
  if (offset <= *previous) {
    report("nonmonotonic_poll",
           who() + " was handed " + where(e.tp, offset) + " after " + where(e.tp, *previous) +
               " with no position reset in between",
           e.at);
    return;
  }
  std::int64_t skipped = 0;
  std::optional<std::int64_t> first_skipped;
  for (std::int64_t o = std::max(*previous + 1, view.start); o < std::min(offset, view.end());
       ++o) {
    if (!must_see(*view.at(o), consumer.isolation)) continue;
    ++skipped;
    if (!first_skipped) first_skipped = o;
  }
  if (skipped > 0) {
    report("poll_skip",
           who() + " jumped from " + where(e.tp, *previous) + " to " + where(e.tp, offset) +
               " over " + std::to_string(skipped) + " record(s), the first " +
               where(e.tp, *first_skipped) + " holding " + send_name(view.at(*first_skipped)->send),
           e.at);
  }
}

// `aborted_read` and `precommitted_read` for a transactional record handed to a
// read_committed consumer. The cluster's recorded outcome decides; the final
// log's markers stand in for transactions that ended before history was on.
void KafkaChecker::check_read_committed(const ConsumerEvent& e, const FinalRecord& r) {
  const std::int64_t offset = e.offset.value();
  auto what = [&] {
    return consumer_name(e.consumer) + " (read_committed) was handed " + where(e.tp, offset);
  };
  if (auto found = outcome_at_.find({e.tp, offset}); found != outcome_at_.end()) {
    const adapters::TxnOutcome& outcome = history_.txn_outcomes()[found->second];
    auto txn = [&] { return " of transactional id " + history_.string(outcome.transactional_id); };
    if (!outcome.commit) {
      report("aborted_read", what() + txn() + ", which aborted", std::max(e.at, outcome.at));
    } else if (outcome.at > e.at) {
      report("precommitted_read",
             what() + txn() + " " + std::to_string((outcome.at - e.at).count()) +
                 "us before its commit marker was written",
             e.at);
    }
    return;
  }
  if (r.status == TxnStatus::kAborted) {
    report("aborted_read", what() + ", whose transaction aborted", e.at);
  } else if (r.status == TxnStatus::kOpen) {
    report("precommitted_read", what() + ", whose transaction never committed", e.at);
  }
}

void KafkaChecker::check_unseen() {
  const Timestamp end = cluster_.kernel().now();
  for (const SendEvent& s : history_.sends()) {
    if (s.status != SendStatus::kAcked || s.tp >= views_.size()) continue;
    const PartitionView& view = views_[s.tp];
    const std::int64_t offset = s.offset.value();
    if (!view.group_read() || offset < view.group_low || offset > view.group_high) continue;
    const FinalRecord* r = view.at(offset);
    if (r == nullptr || r->control || r->send != s.id) continue;  // lost or inconsistent
    if (r->transactional && r->status != TxnStatus::kCommitted) continue;
    if (view.delivered.contains(offset) || delivered_send_[s.id]) continue;
    report("unseen",
           send_name(s.id) + " acknowledged at " + where(s.tp, offset) +
               " was never delivered, though group members read " + where(s.tp, view.group_low) +
               " to " + std::to_string(view.group_high),
           end);
  }
}

}  // namespace

Violations check_kafka_history(const adapters::SimCluster& cluster) {
  return KafkaChecker(cluster).run();
}

}  // namespace orderflow::sim
