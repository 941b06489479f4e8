#include "adapters/kafka/client.h"

#include <array>
#include <cstring>

#include "adapters/kafka/errors.h"

namespace orderflow::adapters::kafka {
namespace {

constexpr std::string_view kGroupMetadataMagic = "CGMDv2:";

core::Severity severity_of(int syslog_level) {
  if (syslog_level <= 3) return core::Severity::kError;
  if (syslog_level == 4) return core::Severity::kWarn;
  if (syslog_level <= 6) return core::Severity::kInfo;
  return core::Severity::kDebug;
}

void forward_log(const rd_kafka_t* handle, int level, const char* facility, const char* line) {
  if (handle == nullptr) return;
  const auto* hooks = static_cast<const ClientHooks*>(rd_kafka_opaque(handle));
  if (hooks == nullptr) return;
  hooks->env().log_event(severity_of(level), "kafka_client_log", facility, line);
}

// Reads a NUL-terminated string at `at`, moving past it; empty when unterminated.
std::optional<std::string> read_cstring(std::string_view in, std::size_t& at) {
  const auto end = in.find('\0', at);
  if (end == std::string_view::npos) return std::nullopt;
  std::string out(in.substr(at, end - at));
  at = end + 1;
  return out;
}

}  // namespace

void Env::post(std::weak_ptr<void> alive, std::function<void()> task) const {
  executor->post([alive = std::move(alive), task = std::move(task)] {
    if (!alive.expired()) task();
  });
}

void Env::log_event(core::Severity severity, std::string name, std::string code,
                    std::string message) const {
  if (log == nullptr) return;
  executor->post([log = log, severity, name = std::move(name), client = client_id,
                  code = std::move(code), message = std::move(message)] {
    log->event(severity, name, {{"client_id", client}, {"code", code}, {"message", message}});
  });
}

Config::Config(ClientHooks* hooks) : conf_(rd_kafka_conf_new()) {
  rd_kafka_conf_set_opaque(conf_, hooks);
  rd_kafka_conf_set_log_cb(conf_, forward_log);
}

Config::~Config() {
  if (conf_ != nullptr) rd_kafka_conf_destroy(conf_);
}

Config& Config::set(const std::string& key, const std::string& value) {
  std::array<char, 512> why{};
  if (rd_kafka_conf_set(conf_, key.c_str(), value.c_str(), why.data(), why.size()) !=
          RD_KAFKA_CONF_OK &&
      error_.empty()) {
    error_ = why.data();
  }
  return *this;
}

Config& Config::set(const Properties& properties) {
  for (const auto& [key, value] : properties) set(key, value);
  return *this;
}

std::expected<Handle, std::string> Config::make(rd_kafka_type_t type) {
  if (!error_.empty()) return std::unexpected(error_);
  std::array<char, 512> why{};
  rd_kafka_t* handle = rd_kafka_new(type, conf_, why.data(), why.size());
  if (handle == nullptr) return std::unexpected(std::string(why.data()));
  conf_ = nullptr;  // owned by the handle now
  return Handle(handle);
}

PartitionList make_list(const std::vector<core::TopicPartition>& partitions) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value());
  }
  return list;
}

PartitionList make_list(const std::vector<core::TopicPartitionOffset>& offsets) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.tp.topic.c_str(), o.tp.partition.value())
        ->offset = o.offset.value();
  }
  return list;
}

std::vector<core::TopicPartition> partitions_of(const rd_kafka_topic_partition_list_t& list) {
  std::vector<core::TopicPartition> out;
  for (int i = 0; i < list.cnt; ++i) {
    out.push_back({list.elems[i].topic, core::Partition{list.elems[i].partition}});
  }
  return out;
}

int to_millis(core::Duration duration) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count());
}

core::Result<std::optional<int>> find_partition_count(rd_kafka_t* handle, const std::string& topic,
                                                      int timeout_ms) {
  const rd_kafka_metadata_t* metadata = nullptr;
  if (auto err = rd_kafka_metadata(handle, /*all_topics=*/1, nullptr, &metadata, timeout_ms)) {
    return std::unexpected(to_error(err, rd_kafka_err2str(err), Origin::kCall));
  }
  core::Result<std::optional<int>> out{std::nullopt};
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = metadata->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out = std::unexpected(to_error(t.err, rd_kafka_err2str(t.err), Origin::kCall));
    } else {
      out = t.partition_cnt;
    }
    break;
  }
  rd_kafka_metadata_destroy(metadata);
  return out;
}

std::optional<core::GroupMetadata> read_group_metadata(std::string_view serialised) {
  if (!serialised.starts_with(kGroupMetadataMagic)) return std::nullopt;
  std::size_t at = kGroupMetadataMagic.size();
  std::int32_t generation = 0;
  if (serialised.size() < at + sizeof generation) return std::nullopt;
  std::memcpy(&generation, serialised.data() + at, sizeof generation);
  at += sizeof generation;

  auto group = read_cstring(serialised, at);
  auto member = read_cstring(serialised, at);
  if (!group || !member || at >= serialised.size()) return std::nullopt;
  core::GroupMetadata out{std::move(*group), core::Generation{generation}, std::move(*member),
                          std::nullopt};
  if (serialised[at++] == '\0') {
    auto instance = read_cstring(serialised, at);
    if (!instance) return std::nullopt;
    out.group_instance_id = std::move(*instance);
  }
  return out;
}

std::optional<core::GroupMetadata> group_metadata_of(
    const rd_kafka_consumer_group_metadata_t* metadata) {
  void* buffer = nullptr;
  std::size_t size = 0;
  if (rd_kafka_error_t* error = rd_kafka_consumer_group_metadata_write(metadata, &buffer, &size)) {
    rd_kafka_error_destroy(error);
    return std::nullopt;
  }
  auto out = read_group_metadata({static_cast<const char*>(buffer), size});
  rd_kafka_mem_free(nullptr, buffer);
  return out;
}

}  // namespace orderflow::adapters::kafka
