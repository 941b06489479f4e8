#include "adapters/kafka/consumer.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>

#include "adapters/kafka/errors.h"
#include "adapters/kafka/serial_worker.h"
#include "core/check.h"

namespace orderflow::adapters::kafka {
namespace {

using core::ErrorKind;
using core::TopicPartition;

constexpr int kPollMillis = 100;
constexpr int kSeekMillis = 1000;
constexpr int kRequestMillis = 10'000;
constexpr std::chrono::milliseconds kIdleTick{500};
constexpr core::Duration kSeekRetry = std::chrono::milliseconds{50};

core::Error consumer_closed() {
  return {ErrorKind::kFatal, "consumer_closed", "the consumer was closed"};
}

core::Error no_group() {
  return {ErrorKind::kFatal, "no_group", "the consumer was made without a group id"};
}

core::Error invalid_config(const std::string& why) {
  return {ErrorKind::kFatal, "invalid_config", why};
}

// A group for a consumer that only reads assigned partitions: librdkafka's consumer
// needs one, and this one is never joined or committed to.
std::string private_group(const std::string& client_id) {
  static std::atomic<std::uint64_t> next{0};
  return "orderflow-reader-" + client_id + "-" + std::to_string(next++);
}

std::string_view offset_reset(core::OffsetReset reset) {
  switch (reset) {
    case core::OffsetReset::kEarliest: return "earliest";
    case core::OffsetReset::kLatest: return "latest";
    case core::OffsetReset::kNone: return "error";
  }
  return "earliest";
}

core::ConsumerRecord record_of(const rd_kafka_message_t& m) {
  core::ConsumerRecord r;
  r.tp = {rd_kafka_topic_name(m.rkt), core::Partition{m.partition}};
  r.offset = core::Offset{m.offset};
  if (m.key != nullptr) r.key = std::string(static_cast<const char*>(m.key), m.key_len);
  if (m.payload != nullptr) r.value = std::string(static_cast<const char*>(m.payload), m.len);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      r.headers.push_back({name, value != nullptr
                                     ? std::string(static_cast<const char*>(value), size)
                                     : std::string()});
    }
  }
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  const std::int64_t millis = rd_kafka_message_timestamp(&m, &type);
  if (millis >= 0) r.timestamp = core::from_unix_millis(millis);
  return r;
}

// The first per-partition error of a list, if any.
std::optional<core::Error> partition_error(const rd_kafka_topic_partition_list_t& list) {
  for (int i = 0; i < list.cnt; ++i) {
    if (list.elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return to_error(list.elems[i].err, rd_kafka_err2str(list.elems[i].err), Origin::kCall);
    }
  }
  return std::nullopt;
}

}  // namespace

struct KafkaConsumer::Batch {
  std::vector<core::ConsumerRecord> records;
  std::uint64_t stamp = 0;  // the change counter before the first record was polled
};

struct KafkaConsumer::Positions {
  std::uint64_t stamp = 0;  // the change counter before the positions were read
  std::vector<core::TopicPartitionOffset> offsets;
};

// The consumer's librdkafka-facing half: owns the handle, the poll thread and the
// worker, and outlives the handle, so librdkafka's callbacks may reach it.
class KafkaConsumer::Hooks final : public ClientHooks {
 public:
  Hooks(Env env, std::weak_ptr<void> alive, KafkaConsumer* owner, int max_batch)
      : env_(std::move(env)),
        alive_(std::move(alive)),
        owner_(owner),
        max_batch_(std::max(1, max_batch)) {}
  ~Hooks() override { stop(); }
  Hooks(const Hooks&) = delete;
  Hooks& operator=(const Hooks&) = delete;

  [[nodiscard]] const Env& env() const override { return env_; }
  [[nodiscard]] rd_kafka_t* handle() const { return handle_.get(); }
  [[nodiscard]] const std::string& broken() const { return broken_; }
  [[nodiscard]] SerialWorker& worker() { return worker_; }
  [[nodiscard]] std::uint64_t change() { return ++changes_; }
  void set_subscribed() { subscribed_ = true; }

  static void on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    static_cast<Hooks*>(opaque)->rebalance(err, *partitions);
  }
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<Hooks*>(opaque)->client_error(static_cast<rd_kafka_resp_err_t>(err), reason);
  }

  bool start(std::expected<Handle, std::string> handle) {
    if (!handle) {
      broken_ = handle.error();
      return false;
    }
    handle_ = std::move(*handle);
    rd_kafka_poll_set_consumer(handle_.get());
    poller_ = std::thread([this] { poll(); });
    return true;
  }

  // The poll thread closes the consumer (which revokes through the rebalance
  // callback) and posts the outcome to `done` on the executor.
  void request_close(std::function<void(core::Result<>)> done) {
    {
      std::lock_guard lock(sync_->mutex);
      close_done_ = std::move(done);
    }
    sync_->wake.notify_all();
    if (handle_) rd_kafka_yield(handle_.get());
  }

  void stop() {
    {
      std::lock_guard lock(sync_->mutex);
      sync_->stopping = true;
    }
    sync_->wake.notify_all();
    if (handle_) rd_kafka_yield(handle_.get());
    if (poller_.joinable()) poller_.join();
    worker_.stop();
    if (!handle_) return;
    // Leaving the group is `close`'s job; going away without it is a crash.
    rd_kafka_destroy_flags(handle_.release(), closed_ ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }

 private:
  struct Sync {
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
  };

  void poll() {
    last_tick_ = std::chrono::steady_clock::now();
    while (true) {
      std::function<void(core::Result<>)> close_done;
      {
        std::unique_lock lock(sync_->mutex);
        // A failed consumer polls no more; it waits to be destroyed.
        sync_->wake.wait(lock, [&] { return sync_->stopping || close_done_ || !failed_; });
        if (sync_->stopping) return;
        close_done = std::move(close_done_);
      }
      if (close_done) return close(std::move(close_done));
      poll_once();
    }
  }

  void poll_once() {
    stamp_ = changes_.load();
    rd_kafka_message_t* message = rd_kafka_consumer_poll(handle(), kPollMillis);
    if (message == nullptr) return idle();
    take(message);
    while (static_cast<int>(pending_.records.size()) < max_batch_ && !failed_) {
      message = rd_kafka_consumer_poll(handle(), 0);
      if (message == nullptr) break;
      take(message);
    }
    deliver_pending();
  }

  void take(rd_kafka_message_t* message) {
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      poll_error(message->err, rd_kafka_message_errstr(message));
    } else {
      if (pending_.records.empty()) pending_.stamp = stamp_;
      pending_.records.push_back(record_of(*message));
    }
    rd_kafka_message_destroy(message);
  }

  // Posts `task` and blocks until it has called the `done` it is given, or the
  // consumer stops; returns whether it was done.
  bool hand_over(std::function<void(std::function<void()>)> task) {
    auto finished = std::make_shared<bool>(false);
    auto done = [sync = sync_, finished] {
      {
        std::lock_guard lock(sync->mutex);
        *finished = true;
      }
      sync->wake.notify_all();
    };
    env_.post(alive_, [task = std::move(task), done] { task(done); });
    std::unique_lock lock(sync_->mutex);
    sync_->wake.wait(lock, [&] { return *finished || sync_->stopping; });
    return *finished;
  }

  [[nodiscard]] bool stopping() {
    std::lock_guard lock(sync_->mutex);
    return sync_->stopping;
  }

  void deliver_pending() {
    if (pending_.records.empty()) return;
    auto batch = std::make_shared<Batch>(std::move(pending_));
    pending_ = Batch{};
    hand_over([owner = owner_, batch](const std::function<void()>& done) {
      owner->deliver(*batch);
      done();
    });
  }

  // Runs only when the consumer is idle: every record polled so far has been
  // delivered, so librdkafka's positions skip nothing the handler has not seen.
  // Handed over and waited for when they changed, and at least every
  // `kIdleTick` regardless: an executor that runs no more tasks stops the
  // polling even when there are no records.
  void idle() {
    Positions positions{changes_.load(), {}};
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(handle(), &raw) == RD_KAFKA_RESP_ERR_NO_ERROR && raw != nullptr) {
      const PartitionList assigned(raw);
      if (rd_kafka_position(handle(), assigned.get()) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < assigned->cnt; ++i) {
          const auto& p = assigned->elems[i];
          if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR || p.offset < 0) continue;
          positions.offsets.push_back(
              {{p.topic, core::Partition{p.partition}}, core::Offset{p.offset}});
        }
      }
    }
    // A snapshot refused for a change made meanwhile goes again with the next tick.
    const bool changed = positions.offsets != last_positions_.offsets;
    const auto now = std::chrono::steady_clock::now();
    if (!changed && now - last_tick_ < kIdleTick) return;
    last_tick_ = now;
    last_positions_ = positions;
    hand_over([owner = owner_, positions](const std::function<void()>& done) {
      owner->take_positions(positions);
      done();
    });
  }

  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t& list) {
    deliver_pending();  // records polled before the rebalance go first
    const bool cooperative =
        std::string_view(rd_kafka_rebalance_protocol(handle())) == "COOPERATIVE";
    const auto partitions = partitions_of(list);
    const bool tell = subscribed_ && !stopping();
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      assign(list, cooperative);
      if (tell) {
        hand_over([owner = owner_, partitions](const std::function<void()>& done) {
          owner->on_assigned(partitions);
          done();
        });
      }
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      const bool lost = rd_kafka_assignment_lost(handle()) != 0;
      if (tell && lost) {
        hand_over([owner = owner_, partitions](const std::function<void()>& done) {
          owner->on_lost(partitions);
          done();
        });
      } else if (tell) {
        hand_over([owner = owner_, partitions](std::function<void()> done) {
          owner->on_revoked(partitions, std::move(done));
        });
      }
      unassign(list, cooperative);
    } else {
      rd_kafka_assign(handle(), nullptr);
      poll_error(err, "rebalance failed");
    }
    stamp_ = changes_.load();
  }

  void assign(rd_kafka_topic_partition_list_t& list, bool cooperative) {
    if (cooperative) {
      if (rd_kafka_error_t* error = rd_kafka_incremental_assign(handle(), &list)) {
        poll_error(rd_kafka_error_code(error), rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
      }
    } else if (auto err = rd_kafka_assign(handle(), &list)) {
      poll_error(err, "assign failed");
    }
  }

  void unassign(rd_kafka_topic_partition_list_t& list, bool cooperative) {
    if (cooperative) {
      if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(handle(), &list)) {
        rd_kafka_error_destroy(error);
      }
    } else {
      rd_kafka_assign(handle(), nullptr);
    }
  }

  void close(std::function<void(core::Result<>)> done) {
    pending_ = Batch{};  // a closing consumer delivers no more records
    const rd_kafka_resp_err_t err = rd_kafka_consumer_close(handle());
    closed_ = true;
    core::Result<> result;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = std::unexpected(to_error(err, rd_kafka_err2str(err), Origin::kCall));
    }
    env_.post(alive_, [done = std::move(done), result] { done(result); });
  }

  // Errors librdkafka raises for the client as a whole, on the poll thread.
  void client_error(rd_kafka_resp_err_t err, const char* reason) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) return poll_error(err, reason);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      env_.post(alive_, [owner = owner_, error = to_error(err, reason, Origin::kCall)] {
        owner->fail_softly(error);
      });
      return;
    }
    env_.log_event(core::Severity::kWarn, "kafka_client_error", error_code(err), reason);
  }

  // Errors of one poll; a fatal one, or a partition without an offset to start
  // from when `auto.offset.reset` is none, stops the consumer.
  void poll_error(rd_kafka_resp_err_t err, const char* reason) {
    if (err == RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED) {
      // The revocation that follows says the partitions were lost.
      env_.log_event(core::Severity::kWarn, "kafka_consumer_evicted", error_code(err), reason);
      return;
    }
    core::Error error = to_error(err, reason, Origin::kCall);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      std::array<char, 512> why{};
      const auto cause = rd_kafka_fatal_error(handle(), why.data(), why.size());
      error = to_error(cause, why.data(), Origin::kCall, /*fatal=*/true);
    }
    const bool stops =
        err == RD_KAFKA_RESP_ERR__FATAL || err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET;
    if (!stops) {
      env_.post(alive_, [owner = owner_, error] { owner->fail_softly(error); });
      return;
    }
    error.kind = ErrorKind::kFatal;
    {
      std::lock_guard lock(sync_->mutex);
      failed_ = true;
    }
    pending_ = Batch{};
    env_.post(alive_, [owner = owner_, error] { owner->fail(error); });
  }

  Env env_;
  std::weak_ptr<void> alive_;
  KafkaConsumer* owner_;  // dereferenced on the executor only, while `alive_` holds
  const int max_batch_;
  Handle handle_;
  std::string broken_;
  std::thread poller_;
  SerialWorker worker_;
  std::atomic<std::uint64_t> changes_{0};
  std::atomic<bool> subscribed_{false};
  std::shared_ptr<Sync> sync_ = std::make_shared<Sync>();
  // Under `sync_->mutex`.
  std::function<void(core::Result<>)> close_done_;
  bool failed_ = false;
  // The poll thread's own.
  Batch pending_;
  std::uint64_t stamp_ = 0;
  Positions last_positions_;
  std::chrono::steady_clock::time_point last_tick_{};
  bool closed_ = false;  // read by `stop` after the poll thread has ended
};

KafkaConsumer::KafkaConsumer(Env env, const std::string& bootstrap_servers,
                             const Properties& properties, core::ConsumerOptions options,
                             core::ConsumerHandler& handler)
    : options_(std::move(options)), handler_(handler) {
  env.client_id = options_.client_id;
  hooks_ = std::make_unique<Hooks>(env, owner(), this, options_.max_records_per_batch);
  Config config(hooks_.get());
  config.set("bootstrap.servers", bootstrap_servers)
      .set("client.id", options_.client_id)
      .set("group.id",
           options_.group_id.empty() ? private_group(options_.client_id) : options_.group_id)
      .set("enable.auto.commit", "false")
      .set("enable.auto.offset.store", "false")
      .set("enable.partition.eof", "false")
      .set("auto.offset.reset", std::string(offset_reset(options_.auto_offset_reset)))
      .set("isolation.level", options_.isolation == core::IsolationLevel::kReadCommitted
                                  ? "read_committed"
                                  : "read_uncommitted")
      .set("partition.assignment.strategy",
           options_.strategy == core::AssignmentStrategy::kCooperativeSticky ? "cooperative-sticky"
                                                                             : "range")
      .set("session.timeout.ms", std::to_string(to_millis(options_.session_timeout)))
      .set("heartbeat.interval.ms", std::to_string(to_millis(options_.heartbeat_interval)))
      .set("max.poll.interval.ms", std::to_string(to_millis(options_.max_poll_interval)));
  if (options_.group_instance_id) config.set("group.instance.id", *options_.group_instance_id);
  config.set(properties);
  rd_kafka_conf_set_rebalance_cb(config.raw(), &Hooks::on_rebalance);
  rd_kafka_conf_set_error_cb(config.raw(), &Hooks::on_error);
  if (!hooks_->start(config.make(RD_KAFKA_CONSUMER))) {
    mode_ = Mode::kClosed;
    env.log_event(core::Severity::kError, "kafka_consumer_rejected", "invalid_config",
                  hooks_->broken());
    env.post(owner(),
             [this, error = invalid_config(hooks_->broken())] { handler_.on_error(error); });
  }
}

KafkaConsumer::~KafkaConsumer() {
  alive_.reset();
  hooks_->stop();
}

std::uint64_t KafkaConsumer::mark_changed(PartitionState& state) {
  return state.changed_at = hooks_->change();
}

template <typename T>
bool KafkaConsumer::refused(const std::function<void(core::Result<T>)>& done, bool needs_group) {
  std::optional<core::Error> error;
  if (hooks_->handle() == nullptr) {
    error = invalid_config(hooks_->broken());
  } else if (mode_ == Mode::kClosed) {
    error = consumer_closed();
  } else if (needs_group && options_.group_id.empty()) {
    error = no_group();
  }
  if (!error) return false;
  hooks_->env().post(owner(), [done, error = *error] { done(std::unexpected(error)); });
  return true;
}

// --- Membership and assignment -------------------------------------------------

void KafkaConsumer::subscribe(std::vector<std::string> topics) {
  if (mode_ == Mode::kClosing || mode_ == Mode::kClosed) return;
  OF_CHECK(mode_ != Mode::kAssigned, "subscribe after assign: a consumer reads one way");
  OF_CHECK(!options_.group_id.empty(), "subscribe needs a group id");
  mode_ = Mode::kSubscribed;
  hooks_->set_subscribed();
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& topic : topics) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (auto err = rd_kafka_subscribe(hooks_->handle(), list.get())) {
    fail(to_error(err, rd_kafka_err2str(err), Origin::kCall));
  }
}

void KafkaConsumer::assign(std::vector<core::TopicPartitionOffset> partitions) {
  if (mode_ == Mode::kClosing || mode_ == Mode::kClosed) return;
  OF_CHECK(mode_ != Mode::kSubscribed, "assign after subscribe: a consumer reads one way");
  mode_ = Mode::kAssigned;
  const PartitionList list = make_list(partitions);
  if (auto err = rd_kafka_assign(hooks_->handle(), list.get())) {
    return fail(to_error(err, rd_kafka_err2str(err), Origin::kCall));
  }
  partitions_.clear();
  for (const auto& p : partitions) {
    PartitionState& state = partitions_[p.tp];
    state.next = p.offset;
    mark_changed(state);
  }
}

void KafkaConsumer::on_assigned(const std::vector<TopicPartition>& partitions) {
  if (mode_ != Mode::kSubscribed) return;
  for (const auto& tp : partitions) mark_changed(partitions_[tp] = PartitionState{});
  if (!partitions.empty()) handler_.on_assigned(partitions);
}

void KafkaConsumer::on_revoked(const std::vector<TopicPartition>& partitions,
                               std::function<void()> done) {
  for (const auto& tp : partitions) partitions_.erase(tp);
  const bool member = mode_ == Mode::kSubscribed || mode_ == Mode::kClosing;
  if (partitions.empty() || !member) return done();
  handler_.on_revoked_async(partitions, std::move(done));
}

void KafkaConsumer::on_lost(const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) partitions_.erase(tp);
  const bool member = mode_ == Mode::kSubscribed || mode_ == Mode::kClosing;
  if (!partitions.empty() && member) handler_.on_lost(partitions);
}

// --- Records and positions ---------------------------------------------------------

void KafkaConsumer::deliver(Batch& batch) {
  if (!active()) return;
  std::vector<core::ConsumerRecord> records;
  std::vector<TopicPartition> refetch;
  for (auto& r : batch.records) {
    auto it = partitions_.find(r.tp);
    if (it == partitions_.end()) continue;  // no longer ours
    PartitionState& state = it->second;
    if (state.paused || state.seek_pending || state.changed_at > batch.stamp) {
      // Polled before a pause or seek took effect: fetched again from the position.
      if (!state.next) state.next = r.offset;
      if (!state.paused && std::find(refetch.begin(), refetch.end(), r.tp) == refetch.end()) {
        refetch.push_back(r.tp);
      }
      continue;
    }
    if (state.next && r.offset < *state.next) continue;
    state.next = r.offset.next();
    records.push_back(std::move(r));
  }
  for (const auto& tp : refetch) {
    PartitionState& state = partitions_[tp];
    state.seek_pending = !seek_to(tp, *state.next);
  }
  retry_seeks();
  if (!records.empty()) handler_.on_records(records);
}

void KafkaConsumer::take_positions(const Positions& positions) {
  for (const auto& p : positions.offsets) {
    auto it = partitions_.find(p.tp);
    if (it == partitions_.end()) continue;
    PartitionState& state = it->second;
    if (state.paused || state.seek_pending || state.changed_at > positions.stamp) continue;
    if (!state.next || p.offset > *state.next) state.next = p.offset;
  }
}

std::optional<core::Offset> KafkaConsumer::position(const TopicPartition& partition) const {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return std::nullopt;
  return it->second.next;
}

bool KafkaConsumer::seek_to(const TopicPartition& tp, core::Offset next) {
  const PartitionList list = make_list(std::vector<core::TopicPartitionOffset>{{tp, next}});
  if (rd_kafka_error_t* error =
          rd_kafka_seek_partitions(hooks_->handle(), list.get(), kSeekMillis)) {
    hooks_->env().log_event(core::Severity::kWarn, "kafka_seek_refused",
                            error_code(rd_kafka_error_code(error)), rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return false;
  }
  return list->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

// librdkafka refuses to seek a partition whose fetcher has not started yet (just
// assigned); such seeks are retried until it accepts.
void KafkaConsumer::retry_seeks() {
  bool pending = false;
  for (auto& [tp, state] : partitions_) {
    if (!state.seek_pending || state.paused || !state.next) continue;
    state.seek_pending = !seek_to(tp, *state.next);
    mark_changed(state);
    pending = pending || state.seek_pending;
  }
  if (!pending || seek_retry_scheduled_) return;
  seek_retry_scheduled_ = true;
  hooks_->env().executor->schedule_after(kSeekRetry, [this, alive = owner()] {
    if (alive.expired()) return;
    seek_retry_scheduled_ = false;
    if (active()) retry_seeks();
  });
}

void KafkaConsumer::seek(const core::TopicPartitionOffset& position) {
  auto it = partitions_.find(position.tp);
  if (!active() || it == partitions_.end()) return;
  PartitionState& state = it->second;
  state.next = position.offset;
  state.seek_pending = !seek_to(position.tp, position.offset);
  mark_changed(state);
  retry_seeks();
}

void KafkaConsumer::pause(const std::vector<TopicPartition>& partitions) {
  std::vector<TopicPartition> pausing;
  for (const auto& tp : partitions) {
    auto it = partitions_.find(tp);
    if (it != partitions_.end() && !it->second.paused) pausing.push_back(tp);
  }
  if (pausing.empty() || hooks_->handle() == nullptr) return;
  const PartitionList list = make_list(pausing);
  rd_kafka_pause_partitions(hooks_->handle(), list.get());
  for (const auto& tp : pausing) {
    PartitionState& state = partitions_[tp];
    state.paused = true;
    mark_changed(state);
  }
}

// librdkafka resumes where the last record it handed out ends, which may be past
// records dropped on their way here; so each partition first seeks to its position.
void KafkaConsumer::resume(const std::vector<TopicPartition>& partitions) {
  std::vector<TopicPartition> resuming;
  for (const auto& tp : partitions) {
    auto it = partitions_.find(tp);
    if (!active() || it == partitions_.end() || !it->second.paused) continue;
    if (it->second.next) it->second.seek_pending = !seek_to(tp, *it->second.next);
    resuming.push_back(tp);
  }
  if (resuming.empty()) return;
  const PartitionList list = make_list(resuming);
  rd_kafka_resume_partitions(hooks_->handle(), list.get());
  for (const auto& tp : resuming) {
    PartitionState& state = partitions_[tp];
    state.paused = false;
    mark_changed(state);
  }
  retry_seeks();
}

// --- Offsets and metadata ------------------------------------------------------------

void KafkaConsumer::commit(std::vector<core::TopicPartitionOffset> offsets, core::Completion done) {
  if (refused(done, /*needs_group=*/true)) return;
  hooks_->worker().submit([this, handle = hooks_->handle(), env = hooks_->env(), alive = owner(),
                           offsets = std::move(offsets), done = std::move(done)] {
    const PartitionList list = make_list(offsets);
    core::Result<> result;
    if (auto err = rd_kafka_commit(handle, list.get(), /*async=*/0)) {
      result = std::unexpected(to_error(err, rd_kafka_err2str(err), Origin::kCall));
    } else if (auto error = partition_error(*list)) {
      result = std::unexpected(*error);
    }
    env.post(alive, [this, done, result] {
      if (mode_ != Mode::kClosed) done(result);
    });
  });
}

void KafkaConsumer::committed(
    std::vector<TopicPartition> partitions,
    std::function<void(core::Result<std::vector<core::TopicPartitionOffset>>)> done) {
  if (refused(done, /*needs_group=*/true)) return;
  hooks_->worker().submit([this, handle = hooks_->handle(), env = hooks_->env(), alive = owner(),
                           partitions = std::move(partitions), done = std::move(done)] {
    const PartitionList list = make_list(partitions);
    core::Result<std::vector<core::TopicPartitionOffset>> result;
    if (auto err = rd_kafka_committed(handle, list.get(), kRequestMillis)) {
      result = std::unexpected(to_error(err, rd_kafka_err2str(err), Origin::kCall));
    } else if (auto error = partition_error(*list)) {
      result = std::unexpected(*error);
    } else {
      for (int i = 0; i < list->cnt; ++i) {
        const auto& p = list->elems[i];
        if (p.offset >= 0) {
          result->push_back({{p.topic, core::Partition{p.partition}}, core::Offset{p.offset}});
        }
      }
    }
    env.post(alive, [this, done, result] {
      if (mode_ != Mode::kClosed) done(result);
    });
  });
}

void KafkaConsumer::watermarks(TopicPartition partition,
                               std::function<void(core::Result<core::Watermarks>)> done) {
  if (refused(done, /*needs_group=*/false)) return;
  hooks_->worker().submit([this, handle = hooks_->handle(), env = hooks_->env(), alive = owner(),
                           partition = std::move(partition), done = std::move(done)] {
    std::int64_t low = 0;
    std::int64_t high = 0;
    core::Result<core::Watermarks> result;
    if (auto err = rd_kafka_query_watermark_offsets(handle, partition.topic.c_str(),
                                                    partition.partition.value(), &low, &high,
                                                    kRequestMillis)) {
      result = std::unexpected(to_error(err, rd_kafka_err2str(err), Origin::kCall));
    } else {
      result = core::Watermarks{core::Offset{low}, core::Offset{high}};
    }
    env.post(alive, [this, done, result] {
      if (mode_ != Mode::kClosed) done(result);
    });
  });
}

core::GroupMetadata KafkaConsumer::group_metadata() const {
  core::GroupMetadata out{options_.group_id, core::Generation{-1}, "", options_.group_instance_id};
  rd_kafka_t* handle = hooks_->handle();
  if (handle == nullptr || options_.group_id.empty()) return out;
  if (rd_kafka_consumer_group_metadata_t* member = rd_kafka_consumer_group_metadata(handle)) {
    if (auto read = group_metadata_of(member)) out = std::move(*read);
    rd_kafka_consumer_group_metadata_destroy(member);
  }
  return out;
}

// --- Errors and closing --------------------------------------------------------------

void KafkaConsumer::fail_softly(const core::Error& error) {
  if (active()) handler_.on_error(error);
}

void KafkaConsumer::fail(core::Error error) {
  if (mode_ == Mode::kClosed) return;
  mode_ = Mode::kClosed;
  partitions_.clear();
  hooks_->env().log_event(core::Severity::kError, "kafka_consumer_failed", error.code,
                          error.message);
  handler_.on_error(error);
}

void KafkaConsumer::close(core::Completion done) {
  if (mode_ == Mode::kClosing || mode_ == Mode::kClosed) {
    hooks_->env().post(owner(), [done = std::move(done)] { done({}); });
    return;
  }
  mode_ = Mode::kClosing;
  hooks_->request_close([this, done = std::move(done)](core::Result<> result) {
    mode_ = Mode::kClosed;
    partitions_.clear();
    done(result);
  });
}

}  // namespace orderflow::adapters::kafka
