#include "adapters/kafka/kafka_broker.h"

#include <array>

#include "adapters/kafka/consumer.h"
#include "adapters/kafka/embedded_cluster.h"
#include "adapters/kafka/errors.h"
#include "adapters/kafka/producer.h"
#include "adapters/kafka/serial_worker.h"
#include "core/check.h"

namespace orderflow::adapters::kafka {
namespace {

using core::ErrorKind;

constexpr int kAdminMillis = 10'000;

struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* options) const {
    rd_kafka_AdminOptions_destroy(options);
  }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};

// An existing topic is fine when it has the partition count asked for.
core::Result<> check_existing(rd_kafka_t* handle, const core::TopicSpec& spec) {
  auto count = find_partition_count(handle, spec.name, kAdminMillis);
  if (!count) return std::unexpected(count.error());
  if (*count && **count == spec.partitions) return {};
  return core::make_error(ErrorKind::kFatal, "topic_already_exists",
                          "topic " + spec.name + " exists with another partition count");
}

core::Result<> create_with_admin_api(rd_kafka_t* handle,
                                     const std::vector<core::TopicSpec>& specs) {
  std::vector<rd_kafka_NewTopic_t*> topics;
  auto release = [&topics] { rd_kafka_NewTopic_destroy_array(topics.data(), topics.size()); };
  for (const auto& spec : specs) {
    std::array<char, 512> why{};
    rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(
        spec.name.c_str(), spec.partitions, spec.replication_factor, why.data(), why.size());
    if (topic == nullptr) {
      release();
      return core::make_error(ErrorKind::kFatal, "invalid_topic", why.data());
    }
    if (spec.compacted) rd_kafka_NewTopic_set_config(topic, "cleanup.policy", "compact");
    topics.push_back(topic);
  }
  const std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter> options(
      rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), kAdminMillis, nullptr, 0);
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), kAdminMillis, nullptr, 0);
  const std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(handle));
  rd_kafka_CreateTopics(handle, topics.data(), topics.size(), options.get(), queue.get());
  release();

  const std::unique_ptr<rd_kafka_event_t, EventDeleter> event(
      rd_kafka_queue_poll(queue.get(), 2 * kAdminMillis));
  if (!event) {
    return core::make_error(ErrorKind::kRetriable, "request_timed_out", "CreateTopics timed out");
  }
  if (auto err = rd_kafka_event_error(event.get())) {
    return std::unexpected(to_error(err, rd_kafka_event_error_string(event.get()), Origin::kCall));
  }
  std::size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &count);
  for (std::size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    const std::string name = rd_kafka_topic_result_name(results[i]);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      for (const auto& spec : specs) {
        if (spec.name != name) continue;
        if (auto ok = check_existing(handle, spec); !ok) return ok;
      }
      continue;
    }
    const char* why = rd_kafka_topic_result_error_string(results[i]);
    return std::unexpected(to_error(err, why != nullptr ? why : name, Origin::kCall));
  }
  return {};
}

}  // namespace

// The admin client: a producer handle made on first use, used on the worker only.
class KafkaBroker::Admin final : public ClientHooks {
 public:
  Admin(Env env, const KafkaBrokerConfig& config) : env_(std::move(env)), config_(config) {}
  ~Admin() override { stop(); }
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  [[nodiscard]] const Env& env() const override { return env_; }
  [[nodiscard]] SerialWorker& worker() { return worker_; }

  // On the worker.
  core::Result<rd_kafka_t*> handle() {
    if (handle_) return handle_.get();
    Config config(this);
    config.set("bootstrap.servers", config_.bootstrap_servers)
        .set("client.id", config_.client_id)
        .set(config_.properties);
    auto made = config.make(RD_KAFKA_PRODUCER);
    if (!made) return core::make_error(ErrorKind::kFatal, "invalid_config", made.error());
    handle_ = std::move(*made);
    return handle_.get();
  }

  void stop() {
    worker_.stop();
    handle_.reset();
  }

 private:
  Env env_;
  const KafkaBrokerConfig& config_;
  Handle handle_;
  SerialWorker worker_;
};

KafkaBroker::KafkaBroker(KafkaBrokerConfig config) : config_(std::move(config)) {
  OF_CHECK(config_.executor != nullptr, "a KafkaBroker needs an executor");
  admin_ = std::make_unique<Admin>(env(config_.client_id), config_);
}

KafkaBroker::~KafkaBroker() {
  alive_.reset();
  admin_->stop();
}

Env KafkaBroker::env(const std::string& client_id) const {
  return Env{config_.executor, config_.log, client_id};
}

std::unique_ptr<core::Producer> KafkaBroker::make_producer(core::ProducerOptions options) {
  return std::make_unique<KafkaProducer>(env(options.client_id), config_.bootstrap_servers,
                                         config_.properties, std::move(options));
}

std::unique_ptr<core::Consumer> KafkaBroker::make_consumer(core::ConsumerOptions options,
                                                           core::ConsumerHandler& handler) {
  return std::make_unique<KafkaConsumer>(env(options.client_id), config_.bootstrap_servers,
                                         config_.properties, std::move(options), handler);
}

void KafkaBroker::create_topics(std::vector<core::TopicSpec> topics, core::Completion done) {
  admin_->worker().submit([this, topics = std::move(topics), done = std::move(done),
                           alive = std::weak_ptr<void>(alive_)] {
    core::Result<> result;
    if (config_.embedded != nullptr) {
      for (const auto& spec : topics) {
        result =
            config_.embedded->create_topic(spec.name, spec.partitions, spec.replication_factor);
        if (!result) break;
      }
    } else if (auto handle = admin_->handle(); !handle) {
      result = std::unexpected(handle.error());
    } else {
      // Only the topics that are missing go to CreateTopics: a cluster where they
      // were made beforehand (`orderflow dev-cluster`, or an operator) needs no
      // admin rights, and librdkafka's mock cluster has no CreateTopics at all.
      std::vector<core::TopicSpec> missing;
      for (const auto& spec : topics) {
        auto count = find_partition_count(*handle, spec.name, kAdminMillis);
        if (!count) {
          result = std::unexpected(count.error());
          break;
        }
        if (!*count) {
          missing.push_back(spec);
        } else if (**count != spec.partitions) {
          result = core::make_error(ErrorKind::kFatal, "topic_already_exists",
                                    "topic " + spec.name + " exists with another partition count");
          break;
        }
      }
      if (result && !missing.empty()) result = create_with_admin_api(*handle, missing);
    }
    admin_->env().post(alive, [done, result] { done(result); });
  });
}

void KafkaBroker::partition_count(std::string topic, std::function<void(core::Result<int>)> done) {
  admin_->worker().submit([this, topic = std::move(topic), done = std::move(done),
                           alive = std::weak_ptr<void>(alive_)] {
    core::Result<int> result =
        core::make_error(ErrorKind::kFatal, "unknown_topic_or_partition", "no topic " + topic);
    if (auto handle = admin_->handle(); !handle) {
      result = std::unexpected(handle.error());
    } else if (auto count = find_partition_count(*handle, topic, kAdminMillis); !count) {
      result = std::unexpected(count.error());
    } else if (*count) {
      result = **count;
    }
    admin_->env().post(alive, [done, result] { done(result); });
  });
}

}  // namespace orderflow::adapters::kafka
