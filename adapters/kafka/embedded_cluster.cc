#include "adapters/kafka/embedded_cluster.h"

#include <array>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>  // after rdkafka.h, which it needs

#include "adapters/kafka/client.h"
#include "adapters/kafka/errors.h"
#include "core/check.h"

namespace orderflow::adapters::kafka {
namespace {

constexpr int kMetadataMillis = 5000;

core::Result<> result_of(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  return std::unexpected(to_error(err, rd_kafka_err2str(err), Origin::kCall));
}

void quiet(const rd_kafka_t*, int, const char*, const char*) {}

}  // namespace

// The handle that hosts the mock, and the mock.
struct EmbeddedCluster::Mock {
  rd_kafka_t* handle = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;

  ~Mock() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (handle != nullptr) rd_kafka_destroy(handle);
  }
};

EmbeddedCluster::EmbeddedCluster(int brokers) : brokers_(brokers), mock_(std::make_unique<Mock>()) {
  OF_CHECK(brokers > 0, "an embedded cluster needs a broker");
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, quiet);
  std::array<char, 512> why{};
  mock_->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why.data(), why.size());
  OF_CHECK(mock_->handle != nullptr, why.data());
  mock_->cluster = rd_kafka_mock_cluster_new(mock_->handle, brokers);
  OF_CHECK(mock_->cluster != nullptr, "librdkafka could not start a mock cluster");
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(mock_->cluster);
  // The hosting handle answers metadata questions about the cluster too.
  rd_kafka_brokers_add(mock_->handle, bootstrap_.c_str());
}

EmbeddedCluster::~EmbeddedCluster() = default;

core::Result<> EmbeddedCluster::create_topic(const std::string& name, int partitions,
                                             int replication_factor) {
  if (partitions <= 0) {
    return core::make_error(core::ErrorKind::kFatal, "invalid_partitions",
                            "partitions must be positive");
  }
  if (replication_factor <= 0 || replication_factor > brokers_) {
    return core::make_error(core::ErrorKind::kFatal, "invalid_replication_factor",
                            "replication factor must be between 1 and the broker count");
  }
  std::lock_guard lock(create_mutex_);
  auto existing = partition_count(name);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    if (**existing == partitions) return {};
    return core::make_error(core::ErrorKind::kFatal, "topic_already_exists",
                            "topic " + name + " exists with another partition count");
  }
  return result_of(
      rd_kafka_mock_topic_create(mock_->cluster, name.c_str(), partitions, replication_factor));
}

core::Result<std::optional<int>> EmbeddedCluster::partition_count(const std::string& topic) {
  return find_partition_count(mock_->handle, topic, kMetadataMillis);
}

core::Result<int> EmbeddedCluster::leader_of(const core::TopicPartition& tp) {
  const rd_kafka_metadata_t* metadata = nullptr;
  if (auto err = rd_kafka_metadata(mock_->handle, 1, nullptr, &metadata, kMetadataMillis)) {
    return std::unexpected(to_error(err, rd_kafka_err2str(err), Origin::kCall));
  }
  core::Result<int> out = core::make_error(core::ErrorKind::kFatal, "unknown_topic_or_partition",
                                           "no partition " + tp.topic);
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = metadata->topics[i];
    if (tp.topic != t.topic) continue;
    for (int p = 0; p < t.partition_cnt; ++p) {
      if (t.partitions[p].id == tp.partition.value()) out = t.partitions[p].leader;
    }
  }
  rd_kafka_metadata_destroy(metadata);
  return out;
}

core::Result<> EmbeddedCluster::set_partition_leader(const core::TopicPartition& tp,
                                                     int broker_id) {
  return result_of(rd_kafka_mock_partition_set_leader(mock_->cluster, tp.topic.c_str(),
                                                      tp.partition.value(), broker_id));
}

core::Result<> EmbeddedCluster::broker_down(int broker_id) {
  return result_of(rd_kafka_mock_broker_set_down(mock_->cluster, broker_id));
}

core::Result<> EmbeddedCluster::broker_up(int broker_id) {
  return result_of(rd_kafka_mock_broker_set_up(mock_->cluster, broker_id));
}

core::Result<> EmbeddedCluster::set_rtt(int broker_id, core::Duration rtt) {
  return result_of(rd_kafka_mock_broker_set_rtt(mock_->cluster, broker_id, to_millis(rtt)));
}

void EmbeddedCluster::push_request_errors(std::int16_t api_key, const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  for (int e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(mock_->cluster, api_key, codes.size(), codes.data());
}

void EmbeddedCluster::clear_request_errors(std::int16_t api_key) {
  rd_kafka_mock_clear_request_errors(mock_->cluster, api_key);
}

}  // namespace orderflow::adapters::kafka
