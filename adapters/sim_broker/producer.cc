#include "adapters/sim_broker/producer.h"

#include <algorithm>

#include "core/murmur2.h"

namespace orderflow::adapters {
namespace {

using core::ErrorKind;
using core::make_error;

constexpr std::size_t kMaxBatchRecords = 500;
constexpr core::Duration kRequestTimeout = std::chrono::seconds{1};
constexpr core::Duration kRetryBackoff = std::chrono::milliseconds{50};

core::Error error_of(ErrorKind kind, std::string code, std::string message) {
  return core::Error{kind, std::move(code), std::move(message)};
}

}  // namespace

SimProducer::SimProducer(SimCluster& cluster, ClientEndpoint client, core::ProducerOptions options)
    : cluster_(cluster), client_(client), options_(std::move(options)) {}

SimProducer::~SimProducer() = default;

// --- sending ---------------------------------------------------------------

std::optional<core::Partition> SimProducer::choose_partition(const core::ProducerRecord& record) {
  const auto count = cluster_.partition_count(record.topic);
  if (!count) return std::nullopt;
  if (record.partition) {
    if (record.partition->value() < 0 || record.partition->value() >= *count) return std::nullopt;
    return record.partition;
  }
  if (record.key) return core::partition_for_key(*record.key, *count);
  // Keyless records stick to one random partition per topic, as the default
  // partitioner's sticky mode does.
  auto [it, fresh] = sticky_.try_emplace(record.topic, 0);
  if (fresh) {
    it->second = static_cast<std::int32_t>(
        client_.process->random().uniform(static_cast<std::uint64_t>(*count)));
  }
  return core::Partition{it->second};
}

SendId SimProducer::note_send(TpIndex tp) {
  KafkaHistory* history = cluster_.recording();
  if (history == nullptr) return kNoSend;
  if (!history_id_) history_id_ = history->add_producer(options_);
  return history->record_send(*history_id_, tp, transactional() ? txn_serial_ : 0);
}

void SimProducer::deliver(const core::DeliveryReport& report, SendId id,
                          core::Result<core::RecordMetadata> result) {
  if (id != kNoSend) cluster_.recording()->record_reported(id, result);
  report(std::move(result));
}

void SimProducer::send(core::ProducerRecord record, core::DeliveryReport on_delivery) {
  auto refuse = [&](core::Error error) {
    const SendId id = note_send(kNoTp);
    scheduler().post([this, report = std::move(on_delivery), id, error, token = owner()] {
      if (!token.expired()) deliver(report, id, std::unexpected(error));
    });
  };
  if (state_ == State::kFenced) {
    return refuse(error_of(ErrorKind::kFenced, "producer_fenced", "this producer was fenced"));
  }
  if (transactional() && state_ != State::kInTransaction) {
    return refuse(error_of(ErrorKind::kFatal, "invalid_txn_state",
                           "send outside a transaction on a transactional producer"));
  }
  const auto partition = choose_partition(record);
  if (!partition) {
    return refuse(error_of(ErrorKind::kFatal, "unknown_topic_or_partition",
                           "no such topic or partition: " + record.topic));
  }
  core::TopicPartition tp{record.topic, *partition};
  record.partition = partition;
  Queue& q = queues_[tp];
  SendId send_id = kNoSend;
  if (KafkaHistory* history = cluster_.recording()) {
    if (q.history_tp == kNoTp) q.history_tp = history->intern(tp);
    send_id = note_send(q.history_tp);
  }
  q.waiting.push_back({std::move(record), std::move(on_delivery), send_id});
  ++outstanding_;
  post_drain(tp);
}

void SimProducer::post_drain(const core::TopicPartition& tp) {
  Queue& q = queues_[tp];
  if (q.drain_posted) return;
  q.drain_posted = true;
  // Records sent within the linger go out together; a full batch goes at once.
  auto go = [this, tp, token = owner()] {
    if (token.expired()) return;
    queues_[tp].drain_posted = false;
    drain(tp);
  };
  if (options_.linger.count() == 0 || q.waiting.size() >= kMaxBatchRecords) {
    scheduler().post(std::move(go));
  } else {
    scheduler().schedule_after(options_.linger, std::move(go));
  }
}

bool SimProducer::ready_to_send(const core::TopicPartition& tp) {
  if (state_ == State::kFenced) return false;
  if (idempotent() && !identity_) {
    if (!transactional()) acquire_identity();
    return false;
  }
  if (transactional() && !txn_partitions_.contains(tp)) {
    add_partition(tp);
    return false;
  }
  return true;
}

void SimProducer::drain(const core::TopicPartition& tp) {
  Queue& q = queues_[tp];
  if (q.waiting.empty() || !ready_to_send(tp)) return;
  const auto in_flight =
      std::count_if(q.unacked.begin(), q.unacked.end(), [](const auto& b) { return b->in_flight; });
  for (auto slots = options_.max_in_flight - in_flight; slots > 0 && !q.waiting.empty(); --slots) {
    auto batch = std::make_shared<Batch>();
    batch->tp = tp;
    batch->deadline = now() + options_.delivery_timeout;
    if (q.waiting.front().send_id != kNoSend) {
      batch->send_ids = std::make_shared<std::vector<SendId>>();
    }
    while (!q.waiting.empty() && batch->records->size() < kMaxBatchRecords) {
      Waiting& next = q.waiting.front();
      batch->records->push_back(std::move(next.record));
      batch->reports.push_back(std::move(next.report));
      if (batch->send_ids) batch->send_ids->push_back(next.send_id);
      q.waiting.pop_front();
    }
    if (idempotent()) {
      batch->first_sequence = q.next_sequence;
      q.next_sequence += static_cast<std::int32_t>(batch->records->size());
    }
    q.unacked.push_back(batch);
    send_batch(batch);
  }
}

void SimProducer::send_batch(const std::shared_ptr<Batch>& batch) {
  batch->in_flight = true;
  ProduceBatch request{batch->tp,
                       identity_ ? identity_->id : core::ProducerId{-1},
                       identity_ ? identity_->epoch : core::ProducerEpoch{-1},
                       batch->first_sequence,
                       transactional(),
                       batch->records,
                       now(),
                       batch->send_ids};
  const int leader = cluster_.leader_of(batch->tp);
  call<core::Offset>(
      cluster_, client_, leader, kRequestTimeout, owner(),
      [&cluster = cluster_, leader, request = std::move(request)] {
        return cluster.produce(leader, request);
      },
      [this, batch](core::Result<core::Offset> result) { on_produce_reply(batch, result); });
}

void SimProducer::on_produce_reply(const std::shared_ptr<Batch>& batch,
                                   core::Result<core::Offset> result) {
  batch->in_flight = false;
  if (batch->done) return;
  const core::TopicPartition tp = batch->tp;
  if (result) {
    complete(*batch, *result);
  } else if (result.error().kind == ErrorKind::kFenced) {
    enter_fenced(result.error());
    return;
  } else if (result.error().kind == ErrorKind::kRetriable && now() < batch->deadline) {
    if (idempotent()) {
      schedule_resend(tp);
    } else {
      scheduler().schedule_after(kRetryBackoff, [this, batch, token = owner()] {
        if (!token.expired() && !batch->done) send_batch(batch);
      });
    }
    return;
  } else {
    fail(*batch, result.error());
  }
  Queue& q = queues_[tp];
  std::erase_if(q.unacked, [](const auto& b) { return b->done; });
  drain(tp);
}

void SimProducer::schedule_resend(const core::TopicPartition& tp) {
  Queue& q = queues_[tp];
  if (q.resend_scheduled) return;
  q.resend_scheduled = true;
  scheduler().schedule_after(kRetryBackoff, [this, tp, token = owner()] {
    if (!token.expired()) resend_unacked(tp);
  });
}

// An idempotent producer resends a partition's unacknowledged batches in sequence
// order, so the broker sees the sequence without gaps.
void SimProducer::resend_unacked(const core::TopicPartition& tp) {
  Queue& q = queues_[tp];
  q.resend_scheduled = false;
  if (state_ == State::kFenced) return;
  for (const auto& batch : q.unacked) {
    if (batch->done || batch->in_flight) continue;
    if (now() >= batch->deadline) {
      fail(*batch, error_of(ErrorKind::kRetriable, "delivery_timed_out",
                            "not acknowledged within the delivery timeout"));
      continue;
    }
    send_batch(batch);
  }
  std::erase_if(q.unacked, [](const auto& b) { return b->done; });
}

void SimProducer::complete(Batch& batch, core::Offset base) {
  batch.done = true;
  for (std::size_t i = 0; i < batch.reports.size(); ++i) {
    const core::Offset offset{base.value() + static_cast<std::int64_t>(i)};
    deliver(batch.reports[i], send_id_of(batch, i), core::RecordMetadata{batch.tp, offset});
  }
  record_reported(batch.reports.size());
}

void SimProducer::fail(Batch& batch, const core::Error& error) {
  batch.done = true;
  core::Error reported = error;
  if (transactional() && reported.kind == ErrorKind::kRetriable)
    reported.kind = ErrorKind::kAbortable;
  if (transactional() && !txn_error_) txn_error_ = reported;
  for (std::size_t i = 0; i < batch.reports.size(); ++i) {
    deliver(batch.reports[i], send_id_of(batch, i), std::unexpected(reported));
  }
  record_reported(batch.reports.size());
  if (idempotent() && !transactional()) {
    // The sequence now has a gap the broker would never accept: start over with
    // a fresh producer id, as the Java client bumps its epoch. Batches still
    // unacknowledged were sent under the old id and may be stored already; sent
    // again under the new one they could be stored twice, so their outcome is
    // unknown and they fail too.
    identity_.reset();
    identity_requested_ = false;
    for (auto& [tp, q] : queues_) {
      q.next_sequence = 0;
      for (auto& other : q.unacked) {
        if (other->done) continue;
        other->done = true;
        for (std::size_t i = 0; i < other->reports.size(); ++i) {
          deliver(other->reports[i], send_id_of(*other, i), std::unexpected(reported));
        }
        record_reported(other->reports.size());
      }
    }
  }
}

void SimProducer::fail_everything(const core::Error& error) {
  for (auto& [tp, q] : queues_) {
    for (auto& batch : q.unacked) {
      if (!batch->done) fail(*batch, error);
    }
    q.unacked.clear();
    std::size_t waiting = q.waiting.size();
    for (auto& w : q.waiting) deliver(w.report, w.send_id, std::unexpected(error));
    q.waiting.clear();
    record_reported(waiting);
  }
}

void SimProducer::record_reported(std::size_t count) {
  outstanding_ -= count;
  if (outstanding_ != 0 || flush_waiters_.empty()) return;
  auto waiters = std::move(flush_waiters_);
  flush_waiters_.clear();
  for (auto& then : waiters) then();
}

void SimProducer::after_flush(std::function<void()> then) {
  if (outstanding_ == 0) {
    scheduler().post([then = std::move(then), token = owner()] {
      if (!token.expired()) then();
    });
    return;
  }
  flush_waiters_.push_back(std::move(then));
}

void SimProducer::flush(core::Completion done) {
  after_flush([done = std::move(done)] { done({}); });
}

void SimProducer::enter_fenced(const core::Error& error) {
  if (state_ == State::kFenced) return;
  state_ = State::kFenced;
  cluster_.kernel().record(client_.process->name(), core::Severity::kWarn, "producer_fenced",
                           {{"client_id", options_.client_id}, {"reason", error.message}});
  fail_everything(error);
}

// --- producer identity and transactions --------------------------------------

// `handle` runs at the broker, possibly after this producer is gone: it captures
// the cluster and values, never `this`.
template <typename T>
void SimProducer::coordinator_call(std::function<core::Result<T>(int broker)> handle,
                                   core::Timestamp deadline,
                                   std::function<void(core::Result<T>)> done) {
  const std::string key = options_.transactional_id.value_or(options_.client_id);
  const int broker = cluster_.coordinator_of(key);
  call<T>(
      cluster_, client_, broker, kRequestTimeout, owner(),
      [handle, broker] { return handle(broker); },
      [this, handle, deadline, done](core::Result<T> result) {
        if (!result && result.error().kind == ErrorKind::kRetriable && now() < deadline) {
          scheduler().schedule_after(kRetryBackoff,
                                     [this, handle, deadline, done, token = owner()] {
                                       if (!token.expired())
                                         coordinator_call<T>(handle, deadline, done);
                                     });
          return;
        }
        done(std::move(result));
      });
}

void SimProducer::acquire_identity() {
  if (identity_requested_) return;
  identity_requested_ = true;
  coordinator_call<SimCluster::ProducerIdentity>(
      [&cluster = cluster_, timeout = options_.transaction_timeout](int broker) {
        return cluster.init_producer_id(broker, std::nullopt, timeout);
      },
      now() + options_.delivery_timeout,
      [this](core::Result<SimCluster::ProducerIdentity> result) {
        identity_requested_ = false;
        if (!result) {
          fail_everything(result.error());
          return;
        }
        identity_ = *result;
        for (auto& [tp, q] : queues_) drain(tp);
      });
}

void SimProducer::init_transactions(core::Completion done) {
  if (!transactional() || state_ != State::kUninitialized) {
    scheduler().post([done = std::move(done)] {
      done(make_error(ErrorKind::kFatal, "invalid_txn_state",
                      "init_transactions needs a new transactional producer"));
    });
    return;
  }
  state_ = State::kInitializing;
  coordinator_call<SimCluster::ProducerIdentity>(
      [&cluster = cluster_, id = options_.transactional_id, timeout = options_.transaction_timeout](
          int broker) { return cluster.init_producer_id(broker, id, timeout); },
      now() + options_.delivery_timeout,
      [this, done = std::move(done)](core::Result<SimCluster::ProducerIdentity> result) {
        if (!result) {
          state_ = State::kUninitialized;
          done(std::unexpected(result.error()));
          return;
        }
        identity_ = *result;
        state_ = State::kReady;
        done({});
      });
}

core::Result<> SimProducer::begin_transaction() {
  if (state_ == State::kFenced) {
    return make_error(ErrorKind::kFenced, "producer_fenced", "this producer was fenced");
  }
  if (state_ != State::kReady) {
    return make_error(ErrorKind::kFatal, "invalid_txn_state",
                      "begin_transaction needs an initialised producer with no open transaction");
  }
  state_ = State::kInTransaction;
  ++txn_serial_;
  txn_error_.reset();
  txn_partitions_.clear();
  return {};
}

void SimProducer::add_partition(const core::TopicPartition& tp) {
  if (adding_.contains(tp)) return;
  adding_.insert(tp);
  const auto who = *identity_;
  coordinator_call<void>(
      [&cluster = cluster_, id = *options_.transactional_id, who, tp](int broker) {
        return cluster.add_partitions_to_txn(broker, id, who, {tp});
      },
      now() + options_.delivery_timeout,
      [this, tp](core::Result<> result) {
        adding_.erase(tp);
        if (!result) {
          if (result.error().kind == ErrorKind::kFenced) return enter_fenced(result.error());
          core::Error error = result.error();
          error.kind = ErrorKind::kAbortable;
          Queue& q = queues_[tp];
          const std::size_t waiting = q.waiting.size();
          for (auto& w : q.waiting) deliver(w.report, w.send_id, std::unexpected(error));
          q.waiting.clear();
          if (!txn_error_) txn_error_ = error;
          record_reported(waiting);
          return;
        }
        txn_partitions_.insert(tp);
        drain(tp);
      });
}

void SimProducer::send_offsets_to_transaction(std::vector<core::TopicPartitionOffset> offsets,
                                              core::GroupMetadata group, core::Completion done) {
  if (state_ != State::kInTransaction) {
    scheduler().post([done = std::move(done), fenced = state_ == State::kFenced] {
      done(fenced ? make_error(ErrorKind::kFenced, "producer_fenced", "this producer was fenced")
                  : make_error(ErrorKind::kFatal, "invalid_txn_state", "no open transaction"));
    });
    return;
  }
  const auto who = *identity_;
  coordinator_call<void>(
      [&cluster = cluster_, id = *options_.transactional_id, who, offsets = std::move(offsets),
       group = std::move(group)](int broker) {
        return cluster.txn_offset_commit(broker, id, who, group, offsets);
      },
      now() + options_.delivery_timeout,
      [this, done = std::move(done)](core::Result<> result) {
        if (!result && result.error().kind == ErrorKind::kFenced) {
          // Either this producer or the consumer-group member it speaks for is a
          // zombie; either way the transaction must not commit.
          if (!txn_error_) txn_error_ = result.error();
          if (result.error().code == "producer_fenced") enter_fenced(result.error());
        }
        done(result);
      });
}

void SimProducer::commit_transaction(core::Completion done) {
  if (state_ != State::kInTransaction) {
    scheduler().post([done = std::move(done), fenced = state_ == State::kFenced] {
      done(fenced ? make_error(ErrorKind::kFenced, "producer_fenced", "this producer was fenced")
                  : make_error(ErrorKind::kFatal, "invalid_txn_state", "no open transaction"));
    });
    return;
  }
  state_ = State::kCommitting;
  after_flush([this, done = std::move(done)]() mutable {
    if (state_ == State::kFenced) {
      return done(make_error(ErrorKind::kFenced, "producer_fenced", "this producer was fenced"));
    }
    if (state_ != State::kCommitting) {
      // `abort_transaction` came while the commit waited for deliveries: the
      // records it failed are not in the transaction, which must not commit.
      return done(make_error(ErrorKind::kAbortable, "transaction_aborted",
                             "the transaction was aborted before its commit was sent"));
    }
    if (txn_error_) {
      state_ = State::kAbortableError;
      core::Error error = *txn_error_;
      if (error.kind != ErrorKind::kFenced) error.kind = ErrorKind::kAbortable;
      return done(std::unexpected(error));
    }
    end_transaction(true, std::move(done));
  });
}

void SimProducer::abort_transaction(core::Completion done) {
  const bool open = state_ == State::kInTransaction || state_ == State::kAbortableError ||
                    state_ == State::kCommitting;
  if (!open) {
    scheduler().post([done = std::move(done), fenced = state_ == State::kFenced] {
      done(fenced ? make_error(ErrorKind::kFenced, "producer_fenced", "this producer was fenced")
                  : make_error(ErrorKind::kFatal, "invalid_txn_state", "no open transaction"));
    });
    return;
  }
  state_ = State::kAborting;
  // Records not yet sent will never be: they fail now. Batches in flight finish
  // first, so that their markers land after them.
  for (auto& [tp, q] : queues_) {
    const std::size_t waiting = q.waiting.size();
    for (auto& w : q.waiting) {
      deliver(w.report, w.send_id,
              make_error(ErrorKind::kAbortable, "transaction_aborted", "the transaction aborted"));
    }
    q.waiting.clear();
    record_reported(waiting);
  }
  after_flush(
      [this, done = std::move(done)]() mutable { end_transaction(false, std::move(done)); });
}

void SimProducer::end_transaction(bool commit, core::Completion done) {
  const auto who = *identity_;
  coordinator_call<void>([&cluster = cluster_, id = *options_.transactional_id, who,
                          commit](int broker) { return cluster.end_txn(broker, id, who, commit); },
                         now() + options_.delivery_timeout,
                         [this, commit, done = std::move(done)](core::Result<> result) {
                           if (auto* history = cluster_.recording(); history && history_id_) {
                             history->record_txn_end(*history_id_, txn_serial_, commit,
                                                     result.has_value());
                           }
                           if (!result) {
                             if (result.error().kind == ErrorKind::kFenced) {
                               enter_fenced(result.error());
                             } else {
                               state_ = State::kAbortableError;
                             }
                             return done(result);
                           }
                           state_ = State::kReady;
                           txn_partitions_.clear();
                           txn_error_.reset();
                           cluster_.kernel().record(client_.process->name(), core::Severity::kDebug,
                                                    commit ? "txn_commit_acked" : "txn_abort_acked",
                                                    {{"client_id", options_.client_id}});
                           done({});
                         });
}

}  // namespace orderflow::adapters
