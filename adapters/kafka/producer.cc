#include "adapters/kafka/producer.h"

#include <array>

#include "adapters/kafka/errors.h"

namespace orderflow::adapters::kafka {
namespace {

using core::ErrorKind;

constexpr int kPollMillis = 100;

// librdkafka reports a fatal error as `_FATAL`; the error that caused it is kept
// by the client.
core::Error resolve(rd_kafka_t* handle, rd_kafka_resp_err_t err, std::string message,
                    Origin origin) {
  if (err != RD_KAFKA_RESP_ERR__FATAL) return to_error(err, std::move(message), origin);
  std::array<char, 512> why{};
  const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(handle, why.data(), why.size());
  return to_error(cause, why.data(), origin, /*fatal=*/true);
}

core::Error resolve(rd_kafka_t* handle, const rd_kafka_error_t* error, Origin origin) {
  if (rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__FATAL) {
    return resolve(handle, RD_KAFKA_RESP_ERR__FATAL, rd_kafka_error_string(error), origin);
  }
  return to_error(error, origin);
}

std::string decimal_millis(core::Duration duration) {
  return std::to_string(std::chrono::duration<double, std::milli>(duration).count());
}

core::Error invalid_txn_state(std::string message) {
  return {ErrorKind::kFatal, "invalid_txn_state", std::move(message)};
}

}  // namespace

// The producer's librdkafka-facing half: owns the handle, the poll thread and the
// worker, and outlives the handle, so librdkafka's callbacks may reach it.
class KafkaProducer::Hooks final : public ClientHooks {
 public:
  Hooks(Env env, std::weak_ptr<void> alive, KafkaProducer* owner, bool transactional)
      : env_(std::move(env)),
        alive_(std::move(alive)),
        owner_(owner),
        transactional_(transactional) {}
  ~Hooks() override { stop(); }
  Hooks(const Hooks&) = delete;
  Hooks& operator=(const Hooks&) = delete;

  [[nodiscard]] const Env& env() const override { return env_; }
  [[nodiscard]] rd_kafka_t* handle() const { return handle_.get(); }
  [[nodiscard]] SerialWorker& worker() { return worker_; }
  // Why there is no handle, when there is none.
  [[nodiscard]] core::Error broken() const {
    return {ErrorKind::kFatal, "invalid_config", broken_};
  }

  void start(std::expected<Handle, std::string> handle) {
    if (!handle) {
      broken_ = handle.error();
      env_.log_event(core::Severity::kError, "kafka_producer_rejected", "invalid_config", broken_);
      return;
    }
    handle_ = std::move(*handle);
    queue_ = rd_kafka_queue_get_main(handle_.get());
    poller_ = std::thread([this] { poll(); });
  }

  // The worker goes first: a transactional call in progress may be waiting for
  // delivery reports that only the poll thread serves.
  void stop() {
    worker_.stop();
    stopping_ = true;
    if (queue_ != nullptr) rd_kafka_queue_yield(queue_);
    if (poller_.joinable()) poller_.join();
    if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
    queue_ = nullptr;
    handle_.reset();
  }

 private:
  void poll() {
    while (!stopping_) {
      rd_kafka_event_t* event = rd_kafka_queue_poll(queue_, kPollMillis);
      if (event == nullptr) continue;
      switch (rd_kafka_event_type(event)) {
        case RD_KAFKA_EVENT_DR: on_reports(event); break;
        case RD_KAFKA_EVENT_ERROR: on_error(event); break;
        default: break;
      }
      rd_kafka_event_destroy(event);
    }
  }

  void on_reports(rd_kafka_event_t* event) {
    const Origin origin = transactional_ ? Origin::kTransactionalDelivery : Origin::kDelivery;
    while (const rd_kafka_message_t* m = rd_kafka_event_message_next(event)) {
      const auto id = reinterpret_cast<std::uintptr_t>(m->_private);
      core::Result<core::RecordMetadata> result;
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // Not rd_kafka_message_errstr: for a delivery report it hands back the record's
        // payload, which is not NUL-terminated.
        result = std::unexpected(resolve(handle(), m->err, rd_kafka_err2str(m->err), origin));
      } else {
        result = core::RecordMetadata{{rd_kafka_topic_name(m->rkt), core::Partition{m->partition}},
                                      core::Offset{m->offset}};
      }
      env_.post(alive_, [owner = owner_, id, result = std::move(result)]() mutable {
        owner->report(id, std::move(result));
      });
    }
  }

  void on_error(rd_kafka_event_t* event) {
    const bool fatal = rd_kafka_event_error_is_fatal(event) != 0;
    const core::Error error = resolve(handle(), rd_kafka_event_error(event),
                                      rd_kafka_event_error_string(event), Origin::kCall);
    env_.log_event(fatal ? core::Severity::kError : core::Severity::kWarn,
                   fatal ? "kafka_producer_failed" : "kafka_client_error", error.code,
                   error.message);
  }

  Env env_;
  std::weak_ptr<void> alive_;
  KafkaProducer* owner_;  // dereferenced on the executor only, while `alive_` holds
  bool transactional_;
  Handle handle_;
  std::string broken_;
  rd_kafka_queue_t* queue_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
  SerialWorker worker_;
};

KafkaProducer::KafkaProducer(Env env, const std::string& bootstrap_servers,
                             const Properties& properties, core::ProducerOptions options)
    : options_(std::move(options)) {
  env.client_id = options_.client_id;
  hooks_ = std::make_unique<Hooks>(env, owner(), this, transactional());
  const bool idempotent = options_.idempotent || transactional();
  Config config(hooks_.get());
  config.set("bootstrap.servers", bootstrap_servers)
      .set("client.id", options_.client_id)
      .set("enable.idempotence", idempotent ? "true" : "false")
      .set("acks", options_.acks == core::Acks::kAll ? "all" : "1")
      .set("max.in.flight.requests.per.connection", std::to_string(options_.max_in_flight))
      .set("linger.ms", decimal_millis(options_.linger))
      .set("message.timeout.ms", std::to_string(to_millis(options_.delivery_timeout)))
      .set("partitioner", "murmur2_random");
  if (transactional()) {
    config.set("transactional.id", *options_.transactional_id)
        .set("transaction.timeout.ms", std::to_string(to_millis(options_.transaction_timeout)));
  }
  config.set(properties);
  rd_kafka_conf_set_events(config.raw(), RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
  hooks_->start(config.make(RD_KAFKA_PRODUCER));
}

KafkaProducer::~KafkaProducer() {
  alive_.reset();
  hooks_->stop();
}

void KafkaProducer::refuse(core::Completion done, core::Error error) {
  hooks_->env().post(owner(), [done = std::move(done), error = std::move(error)] {
    done(std::unexpected(error));
  });
}

// --- sending -------------------------------------------------------------------

void KafkaProducer::send(core::ProducerRecord record, core::DeliveryReport on_delivery) {
  const std::uint64_t id = next_id_++;
  reports_.emplace(id, std::move(on_delivery));
  auto fail = [&](core::Error error) {
    hooks_->env().post(
        owner(), [this, id, error = std::move(error)] { report(id, std::unexpected(error)); });
  };
  rd_kafka_t* handle = hooks_->handle();
  if (handle == nullptr) return fail(hooks_->broken());

  std::vector<rd_kafka_vu_t> args;
  auto add = [&args](rd_kafka_vtype_t type) -> rd_kafka_vu_t& {
    args.push_back(rd_kafka_vu_t{});
    args.back().vtype = type;
    return args.back();
  };
  add(RD_KAFKA_VTYPE_TOPIC).u.cstr = record.topic.c_str();
  if (record.key) add(RD_KAFKA_VTYPE_KEY).u.mem = {record.key->data(), record.key->size()};
  if (record.value) add(RD_KAFKA_VTYPE_VALUE).u.mem = {record.value->data(), record.value->size()};
  if (record.partition) add(RD_KAFKA_VTYPE_PARTITION).u.i32 = record.partition->value();
  add(RD_KAFKA_VTYPE_MSGFLAGS).u.i = RD_KAFKA_MSG_F_COPY;
  add(RD_KAFKA_VTYPE_OPAQUE).u.ptr = reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));
  rd_kafka_headers_t* headers = nullptr;
  if (!record.headers.empty()) {
    headers = rd_kafka_headers_new(record.headers.size());
    for (const auto& h : record.headers) {
      rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
    add(RD_KAFKA_VTYPE_HEADERS).u.headers = headers;
  }

  rd_kafka_error_t* error = rd_kafka_produceva(handle, args.data(), args.size());
  if (error == nullptr) return;  // the headers belong to the record now
  if (headers != nullptr) rd_kafka_headers_destroy(headers);
  fail(resolve(handle, error, transactional() ? Origin::kTransactionalCall : Origin::kCall));
  rd_kafka_error_destroy(error);
}

void KafkaProducer::report(std::uint64_t id, core::Result<core::RecordMetadata> result) {
  auto it = reports_.find(id);
  if (it == reports_.end()) return;
  core::DeliveryReport callback = std::move(it->second);
  reports_.erase(it);
  const std::weak_ptr<void> alive = alive_;
  callback(std::move(result));
  if (!alive.expired()) settle_flushes();
}

void KafkaProducer::flush(core::Completion done) {
  if (reports_.empty()) {
    hooks_->env().post(owner(), [done = std::move(done)] { done({}); });
    return;
  }
  flushes_.emplace_back(next_id_ - 1, std::move(done));
}

// A flush is settled once no report of a record sent before it is outstanding.
void KafkaProducer::settle_flushes() {
  const std::uint64_t oldest = reports_.empty() ? next_id_ : reports_.begin()->first;
  std::vector<core::Completion> settled;
  std::erase_if(flushes_, [&](auto& flush) {
    if (flush.first >= oldest) return false;
    settled.push_back(std::move(flush.second));
    return true;
  });
  const std::weak_ptr<void> alive = alive_;
  for (auto& done : settled) {
    if (alive.expired()) return;
    done({});
  }
}

// --- transactions --------------------------------------------------------------

void KafkaProducer::run_txn(TxnCall call, core::Completion done) {
  rd_kafka_t* handle = hooks_->handle();
  if (handle == nullptr) return refuse(std::move(done), hooks_->broken());
  hooks_->worker().submit([handle, call = std::move(call), done = std::move(done),
                           env = hooks_->env(), alive = owner(),
                           timeout = to_millis(options_.delivery_timeout)]() mutable {
    core::Result<> result;
    if (rd_kafka_error_t* error = call(handle, timeout)) {
      result = std::unexpected(resolve(handle, error, Origin::kTransactionalCall));
      rd_kafka_error_destroy(error);
    }
    env.post(alive, [done = std::move(done), result] { done(result); });
  });
}

void KafkaProducer::init_transactions(core::Completion done) {
  if (!transactional()) {
    return refuse(std::move(done),
                  invalid_txn_state("init_transactions needs a transactional producer"));
  }
  run_txn(rd_kafka_init_transactions, std::move(done));
}

core::Result<> KafkaProducer::begin_transaction() {
  if (!transactional()) {
    return std::unexpected(invalid_txn_state("begin_transaction needs a transactional producer"));
  }
  rd_kafka_t* handle = hooks_->handle();
  if (handle == nullptr) return std::unexpected(hooks_->broken());
  rd_kafka_error_t* error = rd_kafka_begin_transaction(handle);
  if (error == nullptr) return {};
  core::Error out = resolve(handle, error, Origin::kTransactionalCall);
  rd_kafka_error_destroy(error);
  return std::unexpected(out);
}

void KafkaProducer::send_offsets_to_transaction(std::vector<core::TopicPartitionOffset> offsets,
                                                core::GroupMetadata group, core::Completion done) {
  if (!transactional()) {
    return refuse(std::move(done), invalid_txn_state("no transaction on this producer"));
  }
  run_txn(
      [offsets = std::move(offsets), group = std::move(group)](rd_kafka_t* handle, int timeout) {
        const PartitionList list = make_list(offsets);
        rd_kafka_consumer_group_metadata_t* member =
            rd_kafka_consumer_group_metadata_new_with_genid(
                group.group_id.c_str(), group.generation.value(), group.member_id.c_str(),
                group.group_instance_id ? group.group_instance_id->c_str() : nullptr);
        rd_kafka_error_t* error =
            rd_kafka_send_offsets_to_transaction(handle, list.get(), member, timeout);
        rd_kafka_consumer_group_metadata_destroy(member);
        return error;
      },
      std::move(done));
}

void KafkaProducer::commit_transaction(core::Completion done) {
  if (!transactional()) {
    return refuse(std::move(done), invalid_txn_state("no transaction on this producer"));
  }
  run_txn(rd_kafka_commit_transaction, std::move(done));
}

void KafkaProducer::abort_transaction(core::Completion done) {
  if (!transactional()) {
    return refuse(std::move(done), invalid_txn_state("no transaction on this producer"));
  }
  run_txn(rd_kafka_abort_transaction, std::move(done));
}

}  // namespace orderflow::adapters::kafka
