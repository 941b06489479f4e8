#include <algorithm>
#include <deque>

#include "core/check.h"
#include "core/sim_hooks.h"
#include "core/streams/streams.h"

// Simulation hooks of the runtime (see core/sim_hooks.h).
//   Fault points:
//     streams.commit_fails         the last step of a commit (`commit_transaction`, or the
//                                  consumer's offset commit) times out before reaching the
//                                  coordinator: a retriable error, retried.
//     streams.abort_before_commit  the open transaction is aborted instead of committed, as
//                                  after an abortable error.
//   Canaries: kCommitBeforeProduce, kNoTransactions, kSkipStoreRestore.
//   Probes: streams.instance_fenced, streams.revoked_mid_transaction,
//     streams.lost_mid_transaction, streams.store_restored, streams.transaction_aborted,
//     streams.commit_retried, streams.dead_lettered.

namespace orderflow::core {
namespace {

using hooks::Canary;

constexpr std::size_t kRecordsPerTurn = 200;  // per task, before other work may run
constexpr Duration kRestorePoll = std::chrono::milliseconds{20};
constexpr int kCommitAttempts = 5;  // of the last step of a commit, on retriable errors
constexpr Duration kCommitRetryBackoff = std::chrono::milliseconds{50};

}  // namespace

// Applies changelog records to the stores of the task being restored.
class StreamsRuntime::RestoreHandler final : public ConsumerHandler {
 public:
  RestoreHandler(StreamsRuntime& runtime, TaskId task, std::uint64_t restore)
      : runtime_(runtime), task_(task), restore_(restore) {}
  void on_assigned(const std::vector<TopicPartition>&) override {}
  void on_revoked(const std::vector<TopicPartition>&) override {}
  void on_lost(const std::vector<TopicPartition>&) override {}
  void on_records(const std::vector<ConsumerRecord>& records) override;
  void on_error(const Error& error) override {
    runtime_.log_.event(Severity::kWarn, "restore_error", {{"code", error.code}});
  }

 private:
  StreamsRuntime& runtime_;
  TaskId task_;
  std::uint64_t restore_;
};

// A task: the processor and stores of one sub-topology's input partition number.
class StreamsRuntime::Task final : public TaskContext {
 public:
  Task(StreamsRuntime& runtime, TaskId id)
      : runtime_(runtime),
        id_(id),
        topology_(runtime.config_.topologies[id.topology]),
        processor_(topology_.make_processor(id.partition)) {
    for (const auto& name : topology_.stores) {
      stores_.emplace(name, &runtime.stores_(name, id.partition));
    }
  }

  [[nodiscard]] TaskId id() const { return id_; }
  [[nodiscard]] Partition partition() const override { return id_.partition; }
  [[nodiscard]] Timestamp now() const override { return runtime_.clock_.now(); }
  [[nodiscard]] Timestamp stream_time() const override { return stream_time_; }
  [[nodiscard]] StateStore& store(const std::string& name) override {
    auto it = stores_.find(name);
    OF_CHECK(it != stores_.end(), "a processor asked for a store its topology does not declare");
    return *it->second;
  }
  void send(ProducerRecord record) override { runtime_.send_in_round(std::move(record)); }
  [[nodiscard]] Log& log() override { return runtime_.log_; }

  [[nodiscard]] std::vector<TopicPartition> inputs() const {
    std::vector<TopicPartition> out;
    for (const auto& topic : topology_.source_topics) out.push_back({topic, id_.partition});
    return out;
  }
  [[nodiscard]] Processor& processor() { return *processor_; }

  // Advances stream time to `t`; true when it crossed a punctuation boundary.
  bool advance_stream_time(Timestamp t, Duration every) {
    if (t <= stream_time_) return false;
    const bool crossed = every.count() > 0 &&
                         t.time_since_epoch() / every != stream_time_.time_since_epoch() / every;
    stream_time_ = t;
    return crossed;
  }
  [[nodiscard]] const std::map<std::string, StateStore*>& stores() const { return stores_; }

  std::deque<ConsumerRecord> pending;
  std::map<TopicPartition, Offset> consumed;  // next offset to read, per input partition
  std::map<std::string, Offset> restore_end;  // changelog end per store being restored
  std::uint64_t restored_records = 0;         // replayed by the restore in progress
  std::uint64_t restore = 0;  // the restore in progress (none: 0); older ones' callbacks are stale
  std::uint64_t positioning = 0;  // the fetch of input positions it waits for (none: 0)
  std::unique_ptr<RestoreHandler> restore_handler;
  std::unique_ptr<Consumer> restorer;
  bool restored = false;
  bool closing = false;  // revoked: no more processing, removed after the next commit

 private:
  StreamsRuntime& runtime_;
  TaskId id_;
  const SubTopology& topology_;
  std::unique_ptr<Processor> processor_;
  std::map<std::string, StateStore*> stores_;
  Timestamp stream_time_{};
};

void StreamsRuntime::RestoreHandler::on_records(const std::vector<ConsumerRecord>& records) {
  Task* restoring = runtime_.restoring(task_, restore_);
  if (restoring == nullptr) return;
  Task& task = *restoring;
  for (const auto& r : records) {
    for (const auto& [name, store] : task.stores()) {
      if (runtime_.changelog_topic(name) != r.tp.topic) continue;
      store->apply(ChangelogEntry{r.key.value_or(""), r.value});
      ++runtime_.stats_.restored_records;
      ++task.restored_records;
    }
  }
}

StreamsRuntime::StreamsRuntime(Broker& broker, Scheduler& scheduler, Clock& clock, Log& log,
                               StoreProvider stores, StreamsConfig config)
    : broker_(broker),
      scheduler_(scheduler),
      clock_(clock),
      log_(log),
      stores_(std::move(stores)),
      config_(std::move(config)) {
  if (hooks::canary(Canary::kNoTransactions)) config_.guarantee = Guarantee::kAtLeastOnce;
}

StreamsRuntime::~StreamsRuntime() = default;

bool StreamsRuntime::ready() const {
  return state_ == State::kRunning && producer_ready_ && !tasks_.empty() &&
         std::all_of(tasks_.begin(), tasks_.end(),
                     [](const auto& t) { return t.second->restored; });
}

std::weak_ptr<int> StreamsRuntime::token() const { return alive_; }

// --- lifecycle ---------------------------------------------------------------

void StreamsRuntime::start() {
  OF_CHECK(state_ == State::kCreated, "a streams runtime starts once");
  for (const auto& t : config_.topologies) {
    OF_CHECK(!t.source_topics.empty(), "every sub-topology needs a source topic");
  }
  state_ = State::kRunning;
  create_changelogs(0, std::make_shared<std::vector<TopicSpec>>());
}

// Changelogs are partitioned like their sub-topology's input; creating them again
// is harmless. Sub-topologies are looked at one after the other.
void StreamsRuntime::create_changelogs(std::size_t topology,
                                       std::shared_ptr<std::vector<TopicSpec>> specs) {
  if (topology == config_.topologies.size()) {
    broker_.create_topics(*specs, [this, specs, alive = token()](Result<> created) {
      if (alive.expired()) return;
      if (!created) {
        if (retry_start(created.error(), "streams_changelogs_failed", specs)) return;
        log_.event(Severity::kError, "streams_changelogs_failed", {{"code", created.error().code}});
        return;
      }
      join();
    });
    return;
  }
  const SubTopology& t = config_.topologies[topology];
  broker_.partition_count(
      t.source_topics.front(), [this, topology, specs, alive = token()](Result<int> n) {
        if (alive.expired()) return;
        if (!n) {
          if (retry_start(n.error(), "streams_source_unreachable", specs, topology)) return;
          log_.event(Severity::kError, "streams_source_missing", {{"code", n.error().code}});
          return;
        }
        for (const auto& store : config_.topologies[topology].stores) {
          specs->push_back({changelog_topic(store), *n, 3, true});
        }
        create_changelogs(topology + 1, specs);
      });
}

// A retriable failure while starting (a time-out: the broker is down or the link
// slow) is tried again after a pause, as the start would be by hand; true if so.
bool StreamsRuntime::retry_start(const Error& error, const char* event,
                                 std::shared_ptr<std::vector<TopicSpec>> specs,
                                 std::optional<std::size_t> topology) {
  if (error.kind != ErrorKind::kRetriable) return false;
  log_.event(Severity::kWarn, event, {{"code", error.code}});
  const std::size_t at = topology.value_or(config_.topologies.size());
  scheduler_.schedule_after(kRestorePoll * 5, [this, at, specs, alive = token()] {
    if (!alive.expired() && state_ == State::kRunning) create_changelogs(at, specs);
  });
  return true;
}

std::optional<std::size_t> StreamsRuntime::topology_of(const std::string& topic) const {
  for (std::size_t i = 0; i < config_.topologies.size(); ++i) {
    const auto& sources = config_.topologies[i].source_topics;
    if (std::find(sources.begin(), sources.end(), topic) != sources.end()) return i;
  }
  return std::nullopt;
}

void StreamsRuntime::join() {
  if (state_ != State::kRunning) return;  // closed while its topics were created
  create_producer();
  ConsumerOptions options;
  options.group_id = config_.application_id;
  options.client_id = config_.application_id + "-" + config_.instance_id;
  options.isolation = IsolationLevel::kReadCommitted;
  // A task needs partition p of every source topic of its sub-topology. The range
  // assignor hands each member the same partition numbers of topics with equal
  // partition counts; a per-partition sticky assignment would split tasks.
  options.strategy = AssignmentStrategy::kEagerRange;
  options.session_timeout = config_.session_timeout;
  options.heartbeat_interval = config_.heartbeat_interval;
  consumer_ = broker_.make_consumer(options, *this);
  std::vector<std::string> sources;
  for (const auto& t : config_.topologies) {
    sources.insert(sources.end(), t.source_topics.begin(), t.source_topics.end());
  }
  consumer_->subscribe(sources);
  schedule_commit();
  schedule_wall_clock();
  schedule_lag_report();
}

void StreamsRuntime::create_producer() {
  ProducerOptions options;
  options.client_id = config_.application_id + "-" + config_.instance_id;
  if (exactly_once()) options.transactional_id = options.client_id;
  options.transaction_timeout = config_.transaction_timeout;
  // Kafka requires a transactional producer to give up on a record before its
  // transaction would time out.
  if (exactly_once()) {
    options.delivery_timeout = std::min(options.delivery_timeout, config_.transaction_timeout);
  }
  producer_ = broker_.make_producer(options);
  producer_ready_ = !exactly_once();
  if (!exactly_once()) return;
  init_producer();
}

void StreamsRuntime::init_producer() {
  producer_->init_transactions([this, alive = token()](Result<> r) {
    if (alive.expired()) return;
    if (!r) {
      log_.event(Severity::kWarn, "streams_init_failed", {{"code", r.error().code}});
      // The coordinator may be moving or unreachable: try again.
      scheduler_.schedule_after(kRestorePoll * 5, [this, alive] {
        if (!alive.expired()) init_producer();
      });
      return;
    }
    producer_ready_ = true;
    schedule_processing();
  });
}

void StreamsRuntime::close(Completion done) {
  if (state_ != State::kRunning) {
    scheduler_.post([done = std::move(done)] { done({}); });
    return;
  }
  commit([this, done = std::move(done)]() mutable {
    state_ = State::kClosed;
    if (!consumer_) {  // closed while still starting: nothing joined yet
      scheduler_.post([done = std::move(done)] { done({}); });
      return;
    }
    consumer_->close([this, done = std::move(done)](Result<> r) {
      tasks_.clear();
      done(r);
    });
  });
}

void StreamsRuntime::on_error(const Error& error) {
  log_.event(error.kind == ErrorKind::kFatal ? Severity::kError : Severity::kWarn,
             "streams_consumer_error", {{"code", error.code}, {"message", error.message}});
}

// --- assignment and restore ------------------------------------------------

void StreamsRuntime::on_assigned(const std::vector<TopicPartition>& partitions) {
  // Nothing is processed before the task's stores are restored.
  consumer_->pause(partitions);
  std::vector<TaskId> created;
  for (const auto& tp : partitions) {
    const auto topology = topology_of(tp.topic);
    if (!topology) continue;
    const TaskId id{*topology, tp.partition};
    auto it = tasks_.find(id);
    if (it == tasks_.end() || it->second->closing) {
      // A revoked or lost task still waits for the commit or abort that removes it;
      // given back, it must outlive that removal and start again from what is committed.
      if (it != tasks_.end()) drop_restorer(*it->second);
      create_task(id);
      created.push_back(id);
    } else if (it->second->restored) {
      consumer_->resume({tp});
    }
  }
  reposition(created);
}

void StreamsRuntime::create_task(TaskId id) {
  tasks_[id] = std::make_unique<Task>(*this, id);
  log_.event(
      Severity::kInfo, "task_created",
      {{"topology", static_cast<std::int64_t>(id.topology)}, {"partition", id.partition.value()}});
}

void StreamsRuntime::start_restore(Task& task) {
  drop_restorer(task);
  task.restored = false;
  task.restored_records = 0;
  task.pending.clear();
  task.consumed.clear();
  if (task.stores().empty()) return finish_restore(task);

  for (const auto& [name, store] : task.stores()) {
    store->discard_changes();  // what an earlier incarnation never committed
    if (!store->checkpoint()) store->clear();
  }
  if (hooks::canary(Canary::kSkipStoreRestore)) return finish_restore(task);
  task.restore = ++restores_;
  task.restore_handler = std::make_unique<RestoreHandler>(*this, task.id(), task.restore);
  task.restorer = broker_.make_consumer(
      {.group_id = "", .client_id = config_.instance_id + "-restore"}, *task.restore_handler);
  // The stores must reach the end each changelog has now.
  auto remaining = std::make_shared<std::size_t>(task.stores().size());
  for (const auto& [name, store] : task.stores()) fetch_restore_end(task, name, remaining);
}

// Asks for the end of the changelog of the task's store `name`; the restore reads
// from the checkpoints once every end is known. A failed request is asked again:
// an end taken as 0 would call the store restored without its contents.
void StreamsRuntime::fetch_restore_end(Task& task, const std::string& name,
                                       std::shared_ptr<std::size_t> remaining) {
  const TopicPartition changelog{changelog_topic(name), task.partition()};
  task.restorer->watermarks(changelog, [this, id = task.id(), restore = task.restore, name,
                                        remaining, alive = token()](Result<Watermarks> w) {
    if (alive.expired()) return;
    Task* restoring = this->restoring(id, restore);
    if (restoring == nullptr) return;
    if (!w) {
      log_.event(Severity::kWarn, "restore_watermarks_failed", {{"code", w.error().code}});
      scheduler_.schedule_after(kRestorePoll, [this, id, restore, name, remaining, alive] {
        if (alive.expired()) return;
        if (Task* again = this->restoring(id, restore)) fetch_restore_end(*again, name, remaining);
      });
      return;
    }
    Task& t = *restoring;
    t.restore_end[name] = w->high;
    if (--*remaining > 0) return;
    std::vector<TopicPartitionOffset> from;
    for (const auto& [store_name, s] : t.stores()) {
      from.push_back(
          {{changelog_topic(store_name), id.partition}, s->checkpoint().value_or(Offset{0})});
    }
    t.restorer->assign(from);
    check_restored(t);
  });
}

void StreamsRuntime::check_restored(Task& task) {
  for (const auto& [name, end] : task.restore_end) {
    const auto at = task.restorer->position({changelog_topic(name), task.partition()});
    if (!at || *at < end) {
      scheduler_.schedule_after(kRestorePoll,
                                [this, id = task.id(), restore = task.restore, alive = token()] {
                                  if (alive.expired()) return;
                                  if (Task* restoring = this->restoring(id, restore))
                                    check_restored(*restoring);
                                });
      return;
    }
  }
  for (const auto& [name, end] : task.restore_end) task.store(name).set_checkpoint(end);
  if (task.restored_records > 0) hooks::probe("streams.store_restored");
  finish_restore(task);
}

void StreamsRuntime::finish_restore(Task& task) {
  drop_restorer(task);
  task.restored = true;
  log_.event(Severity::kInfo, "task_restored",
             {{"topology", static_cast<std::int64_t>(task.id().topology)},
              {"partition", task.partition().value()}});
  consumer_->resume(task.inputs());
}

// The task `id` if restore number `restore` is still in progress on it.
StreamsRuntime::Task* StreamsRuntime::restoring(TaskId id, std::uint64_t restore) {
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second->restore != restore || !it->second->restorer) return nullptr;
  return it->second.get();
}

// Stops the task's restore, if one runs, so that none of its callbacks acts any more;
// the restore consumer goes away outside its own callbacks.
void StreamsRuntime::drop_restorer(Task& task) {
  task.restore = 0;
  task.restore_end.clear();
  if (!task.restorer) return;
  auto gone =
      std::make_shared<std::pair<std::unique_ptr<Consumer>, std::unique_ptr<RestoreHandler>>>(
          std::move(task.restorer), std::move(task.restore_handler));
  scheduler_.post([gone] {});
}

void StreamsRuntime::on_revoked(const std::vector<TopicPartition>& partitions) {
  on_revoked_async(partitions, [] {});
}

void StreamsRuntime::on_revoked_async(const std::vector<TopicPartition>& partitions,
                                      std::function<void()> done) {
  for (const auto& tp : partitions) {
    const auto topology = topology_of(tp.topic);
    if (!topology) continue;
    if (auto it = tasks_.find({*topology, tp.partition}); it != tasks_.end()) {
      it->second->closing = true;
    }
  }
  if (in_transaction_) hooks::probe("streams.revoked_mid_transaction");
  // What the revoked tasks did is committed before they go, and the consumer
  // waits for it: the new owner starts from the offsets committed here.
  commit(std::move(done));
}

void StreamsRuntime::on_lost(const std::vector<TopicPartition>& partitions) {
  // The partitions already belong to someone else: what this instance did with
  // them since its last commit must not survive. The open transaction is doomed
  // anyway (its offsets carry the old generation), so it aborts with everything.
  for (const auto& tp : partitions) {
    const auto topology = topology_of(tp.topic);
    if (!topology) continue;
    if (auto it = tasks_.find({*topology, tp.partition}); it != tasks_.end()) {
      it->second->closing = true;
    }
  }
  if (in_transaction_) hooks::probe("streams.lost_mid_transaction");
  fail_round(Error{ErrorKind::kAbortable, "partitions_lost", "the group moved our partitions"});
}

// --- processing ----------------------------------------------------------

void StreamsRuntime::on_records(const std::vector<ConsumerRecord>& records) {
  for (const auto& r : records) {
    const auto topology = topology_of(r.tp.topic);
    if (!topology) continue;
    auto it = tasks_.find({*topology, r.tp.partition});
    if (it == tasks_.end() || !it->second->restored || it->second->closing) continue;
    it->second->pending.push_back(r);
  }
  schedule_processing();
}

void StreamsRuntime::schedule_processing() {
  if (processing_posted_ || state_ != State::kRunning) return;
  processing_posted_ = true;
  scheduler_.post([this, alive = token()] {
    if (alive.expired()) return;
    processing_posted_ = false;
    process_some();
  });
}

bool StreamsRuntime::ensure_transaction() {
  if (!exactly_once() || in_transaction_) return true;
  if (auto begun = producer_->begin_transaction(); !begun) {
    fail_round(begun.error());
    return false;
  }
  in_transaction_ = true;
  return true;
}

void StreamsRuntime::process_some() {
  if (state_ != State::kRunning || committing_ || !producer_ready_) return;
  bool more = false;
  for (auto& [id, task] : tasks_) {
    if (!task->restored || task->closing || task->pending.empty()) continue;
    if (!ensure_transaction()) return;
    for (std::size_t n = 0; n < kRecordsPerTurn && !task->pending.empty(); ++n) {
      const ConsumerRecord record = std::move(task->pending.front());
      task->pending.pop_front();
      if (auto done = task->processor().process(record, *task); !done) {
        dead_letter(record, done.error());
      }
      task->consumed[record.tp] = record.offset.next();
      ++stats_.processed;
      if (task->advance_stream_time(record.timestamp, config_.stream_time_punctuation)) {
        task->processor().on_stream_time(*task, task->stream_time());
      }
    }
    if (hooks::canary(Canary::kCommitBeforeProduce)) commit_inputs_early(*task);
    more = more || !task->pending.empty();
  }
  if (more) schedule_processing();
}

// The canary kCommitBeforeProduce: the task's input offsets are committed as soon
// as its records are processed, before their outputs are, so a crash in between
// loses those records.
void StreamsRuntime::commit_inputs_early(const Task& task) {
  std::vector<TopicPartitionOffset> offsets;
  for (const auto& [tp, next] : task.consumed) offsets.push_back({tp, next});
  if (offsets.empty()) return;
  consumer_->commit(std::move(offsets), [](Result<>) {});
}

// Consumer lag per source partition (high watermark minus position), for a
// deployment's metrics: asked of the brokers every `lag_report_interval`.
void StreamsRuntime::schedule_lag_report() {
  if (config_.metrics == nullptr || config_.lag_report_interval.count() <= 0) return;
  scheduler_.schedule_after(config_.lag_report_interval, [this, alive = token()] {
    if (alive.expired() || state_ != State::kRunning) return;
    schedule_lag_report();
    for (const auto& [id, task] : tasks_) {
      for (const auto& topic : config_.topologies[id.topology].source_topics) {
        const TopicPartition tp{topic, id.partition};
        consumer_->watermarks(tp, [this, tp, alive](Result<Watermarks> w) {
          if (alive.expired() || !w || !consumer_) return;
          const auto position = consumer_->position(tp);
          if (!position) return;
          config_.metrics
              ->gauge("orderflow_consumer_lag",
                      {{"application", config_.application_id},
                       {"topic", tp.topic},
                       {"partition", std::to_string(tp.partition.value())}})
              .set(static_cast<double>(
                  std::max<std::int64_t>(0, w->high.value() - position->value())));
        });
      }
    }
  });
}

void StreamsRuntime::schedule_wall_clock() {
  if (config_.wall_clock_punctuation.count() <= 0) return;
  scheduler_.schedule_after(config_.wall_clock_punctuation, [this, alive = token()] {
    if (alive.expired() || state_ != State::kRunning) return;
    schedule_wall_clock();
    if (committing_ || !producer_ready_) return;  // skipped, as a busy thread would
    for (auto& [id, task] : tasks_) {
      if (!task->restored || task->closing) continue;
      if (!ensure_transaction()) return;
      task->processor().on_wall_clock(*task);
    }
  });
}

void StreamsRuntime::send_in_round(ProducerRecord record) {
  ++round_pending_;
  producer_->send(std::move(record),
                  [this, round = round_, alive = token()](Result<RecordMetadata> r) {
                    if (alive.expired()) return;
                    if (round == round_) --round_pending_;
                    if (!r && round == round_ && !round_error_) round_error_ = r.error();
                  });
}

void StreamsRuntime::dead_letter(const ConsumerRecord& record, const Poison& poison) {
  ++stats_.dead_lettered;
  hooks::probe("streams.dead_lettered");
  log_.event(Severity::kWarn, "record_dead_lettered",
             {{"topic", record.tp.topic},
              {"partition", record.tp.partition.value()},
              {"offset", record.offset.value()},
              {"reason", poison.reason}});
  std::vector<Header> headers = record.headers;
  headers.push_back({"dlq.reason", poison.reason});
  headers.push_back({"dlq.source.topic", record.tp.topic});
  headers.push_back({"dlq.source.partition", std::to_string(record.tp.partition.value())});
  headers.push_back({"dlq.source.offset", std::to_string(record.offset.value())});
  send_in_round(
      {record.tp.topic + ".dlq", record.key, record.value, std::move(headers), std::nullopt});
}

// --- committing ------------------------------------------------------------

void StreamsRuntime::schedule_commit() {
  scheduler_.schedule_after(config_.commit_interval, [this, alive = token()] {
    if (alive.expired() || state_ != State::kRunning) return;
    commit([this] { schedule_commit(); });
  });
}

void StreamsRuntime::commit(std::function<void()> then) {
  if (committing_) {
    after_commit_.push_back(std::move(then));  // nothing is processed meanwhile
    return;
  }
  if (state_ != State::kRunning || !producer_ready_) {
    scheduler_.post([then = std::move(then)] { then(); });
    return;
  }
  committing_ = true;
  const std::uint64_t round = round_;

  // Store changes go to the changelogs in the same unit of work.
  auto ends = std::make_shared<std::map<TaskId, std::map<std::string, Offset>>>();
  std::vector<TopicPartitionOffset> offsets;
  for (auto& [id, task] : tasks_) {
    for (const auto& [name, store] : task->stores()) {
      auto changes = store->take_changes();
      if (changes.empty()) continue;
      store->set_checkpoint(std::nullopt);
      for (auto& change : changes) {
        ++round_pending_;
        producer_->send(
            {changelog_topic(name),
             std::move(change.key),
             std::move(change.value),
             {},
             id.partition},
            [this, ends, id = id, name, round, alive = token()](Result<RecordMetadata> r) {
              if (alive.expired()) return;
              if (round == round_) --round_pending_;
              if (!r) {
                if (round == round_ && !round_error_) round_error_ = r.error();
                return;
              }
              auto& end = (*ends)[id][name];
              end = std::max(end, r->offset.next());
            });
      }
    }
    for (const auto& [tp, next] : task->consumed) offsets.push_back({tp, next});
  }

  auto finish = [this, ends, round, then, started = clock_.now()](Result<> r) {
    if (round != round_) return then();  // the round was already failed
    if (!r) {
      fail_round(r.error());
      return then();
    }
    if (config_.metrics != nullptr) {
      static constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,   0.25,   0.5,   1,    2.5,   5};
      config_.metrics
          ->histogram("orderflow_commit_seconds", kBuckets,
                      {{"application", config_.application_id}})
          .observe(std::chrono::duration<double>(clock_.now() - started).count());
    }
    finish_commit(*ends);
    then();
  };
  if (!exactly_once()) {
    producer_->flush([this, offsets, finish](Result<> flushed) {
      if (!flushed || round_error_)
        return finish(flushed ? std::unexpected(*round_error_) : flushed);
      if (offsets.empty()) return finish({});
      run_commit_step([this, offsets](Completion done) { consumer_->commit(offsets, done); },
                      finish, 1);
    });
    return;
  }
  if (!in_transaction_) return finish({});
  if (hooks::fault_point("streams.abort_before_commit")) {
    // As after an abortable error (a send or the coordinator refused): the round fails.
    return finish(make_error(ErrorKind::kAbortable, "injected_abort",
                             "fault point streams.abort_before_commit"));
  }
  auto end_transaction = [this, finish](Result<> sent) {
    if (!sent) return finish(sent);
    run_commit_step([this](Completion done) { producer_->commit_transaction(done); }, finish, 1);
  };
  if (offsets.empty()) return end_transaction({});
  producer_->send_offsets_to_transaction(offsets, consumer_->group_metadata(), end_transaction);
}

// Runs the last step of a commit. A retriable failure (a timeout, the coordinator
// moving) runs it again after a pause, a few times, before the round fails; a round
// failed meanwhile (partitions lost, fenced) is not committed again.
void StreamsRuntime::run_commit_step(std::function<void(Completion)> step, Completion finish,
                                     int attempt) {
  auto report = [this, step, finish, attempt, round = round_, alive = token()](Result<> r) {
    if (alive.expired()) return;
    const bool retry = !r && r.error().kind == ErrorKind::kRetriable && attempt < kCommitAttempts;
    if (!retry || round != round_) return finish(r);
    hooks::probe("streams.commit_retried");
    log_.event(Severity::kWarn, "streams_commit_retried",
               {{"code", r.error().code}, {"attempt", static_cast<std::int64_t>(attempt)}});
    scheduler_.schedule_after(kCommitRetryBackoff, [this, step, finish, attempt, round, alive] {
      if (alive.expired()) return;
      if (round != round_) return finish({});  // `finish` ignores a failed round
      run_commit_step(step, finish, attempt + 1);
    });
  };
  if (hooks::fault_point("streams.commit_fails")) {
    // The request timed out before it reached the coordinator: nothing changed there.
    scheduler_.post([report] {
      report(make_error(ErrorKind::kRetriable, "request_timed_out",
                        "fault point streams.commit_fails"));
    });
    return;
  }
  step(report);
}

void StreamsRuntime::finish_commit(const std::map<TaskId, std::map<std::string, Offset>>& ends) {
  for (const auto& [id, stores] : ends) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;
    for (const auto& [name, end] : stores) it->second->store(name).set_checkpoint(end);
  }
  ++stats_.commits;
  ++round_;
  round_pending_ = 0;
  round_error_.reset();
  in_transaction_ = false;
  committing_ = false;
  std::erase_if(tasks_, [](const auto& t) { return t.second->closing; });
  run_after_commit();
  schedule_processing();
}

void StreamsRuntime::run_after_commit() {
  auto waiting = std::move(after_commit_);
  after_commit_.clear();
  for (auto& then : waiting) then();
}

// A unit of work failed: abort it, and rebuild every task from its changelog and
// the committed input offsets, so that nothing of the failed work survives.
void StreamsRuntime::fail_round(const Error& error) {
  ++stats_.aborts;
  ++round_;
  round_pending_ = 0;
  round_error_.reset();
  log_.event(Severity::kWarn, "streams_round_failed",
             {{"code", error.code}, {"kind", to_string(error.kind)}});
  if (error.kind == ErrorKind::kFenced && error.code == "producer_fenced") {
    // A newer epoch of our transactional id exists: our transaction timed out (a
    // long pause), or a newer incarnation took over. Either way this producer and
    // everything the tasks did since the last commit are dead; a new producer
    // fences whatever holds the id now, and the tasks start again.
    log_.event(Severity::kWarn, "instance_fenced", {{"instance", config_.instance_id}});
    hooks::probe("streams.instance_fenced");
    in_transaction_ = false;
    committing_ = false;
    std::erase_if(tasks_, [](const auto& t) { return t.second->closing; });
    run_after_commit();
    scheduler_.post([old = std::shared_ptr<Producer>(std::move(producer_))] {});
    create_producer();
    reset_tasks();
    return;
  }
  const bool was_in_transaction = in_transaction_;
  in_transaction_ = false;
  committing_ = true;
  auto rebuild = [this](Result<>) {
    committing_ = false;
    std::erase_if(tasks_, [](const auto& t) { return t.second->closing; });
    run_after_commit();
    reset_tasks();
  };
  if (exactly_once() && was_in_transaction) {
    hooks::probe("streams.transaction_aborted");
    producer_->abort_transaction(rebuild);
  } else {
    rebuild({});
  }
}

void StreamsRuntime::reset_tasks() {
  std::vector<TopicPartition> inputs;
  std::vector<TaskId> ids;
  for (auto& [id, task] : tasks_) {
    for (const auto& [name, store] : task->stores()) {
      store->clear();  // its changes since the checkpoint may belong to the failed work
    }
    // A restore in progress would go on from where it was and call the emptied
    // store complete.
    drop_restorer(*task);
    // Nothing runs on an emptied store until it is restored again.
    task->restored = false;
    task->pending.clear();
    for (const auto& tp : task->inputs()) inputs.push_back(tp);
    ids.push_back(id);
  }
  if (inputs.empty()) return;
  consumer_->pause(inputs);
  reposition(ids);
}

// Seeks the tasks' inputs to their committed offsets (the start when none was
// committed), then restores the tasks. The offsets must be stable first (KIP-447): while
// a transaction of an earlier owner holds offsets of an input, that transaction may
// still add records to the task's changelogs, and a restore now would miss them.
void StreamsRuntime::reposition(const std::vector<TaskId>& ids) {
  std::map<TaskId, std::uint64_t> waiting;
  for (const auto& id : ids) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;
    it->second->positioning = ++restores_;
    waiting.emplace(id, it->second->positioning);
  }
  fetch_positions(std::move(waiting));
}

void StreamsRuntime::fetch_positions(std::map<TaskId, std::uint64_t> waiting) {
  std::erase_if(waiting,
                [this](const auto& w) { return positioning(w.first, w.second) == nullptr; });
  if (waiting.empty()) return;
  std::vector<TopicPartition> inputs;
  for (const auto& [id, serial] : waiting) {
    for (const auto& tp : tasks_.at(id)->inputs()) inputs.push_back(tp);
  }
  auto positioned = [this, waiting,
                     alive = token()](Result<std::vector<TopicPartitionOffset>> committed) {
    if (alive.expired()) return;
    if (!committed) {  // unstable while a transaction holds offsets, or unreachable
      scheduler_.schedule_after(kRestorePoll, [this, waiting, alive] {
        if (!alive.expired()) fetch_positions(waiting);
      });
      return;
    }
    for (const auto& [id, serial] : waiting) {
      Task* task = positioning(id, serial);
      if (task == nullptr) continue;
      task->positioning = 0;
      for (const auto& tp : task->inputs()) {
        Offset from{0};
        for (const auto& c : *committed) {
          if (c.tp == tp) from = c.offset;
        }
        consumer_->seek({tp, from});
      }
      start_restore(*task);
    }
  };
  consumer_->committed(std::move(inputs), std::move(positioned));
}

// The task `id` if it still waits for the input positions fetch number `serial`.
StreamsRuntime::Task* StreamsRuntime::positioning(TaskId id, std::uint64_t serial) {
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second->positioning != serial) return nullptr;
  return it->second.get();
}

}  // namespace orderflow::core
