// Plumbing the librdkafka clients share: where callbacks go, configuration,
// handles, partition lists and consumer group metadata.
//
//   Config config(&hooks);
//   config.set("bootstrap.servers", servers).set(extra_properties);
//   auto handle = config.make(RD_KAFKA_PRODUCER);  // or the reason it failed
//
// Threading: `Env` may be used from any thread; the rest belongs to whichever
// thread owns the object at hand.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "core/ports/broker.h"
#include "core/ports/log.h"
#include "core/ports/scheduler.h"
#include "core/time.h"

namespace orderflow::adapters::kafka {

// librdkafka configuration properties, in the order they are applied.
using Properties = std::vector<std::pair<std::string, std::string>>;

// `Env`: the executor a client's callbacks run on, and where its log lines go.
//
// The executor's `post` must be safe to call from any thread: librdkafka's threads
// and the clients' own hand work over with it. The executor and the log outlive
// every client.
struct Env {
  core::Scheduler* executor = nullptr;
  core::Log* log = nullptr;  // optional
  std::string client_id;

  // Posts `task`; it runs only if `alive` has not expired by then, which the
  // owner ensures by resetting the token on its executor when it goes away.
  void post(std::weak_ptr<void> alive, std::function<void()> task) const;
  // Logs event `name` for this client with a code and a message. Any thread.
  void log_event(core::Severity severity, std::string name, std::string code,
                 std::string message) const;
};

// `ClientHooks`: what librdkafka's callbacks reach through a handle's opaque
// pointer. Implemented by each client's librdkafka-facing half, which outlives its
// handle.
class ClientHooks {
 public:
  virtual ~ClientHooks() = default;
  [[nodiscard]] virtual const Env& env() const = 0;
};

struct HandleDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// `Config`: a librdkafka configuration being built. A property set later replaces
// one set earlier, so operator-supplied properties applied last win. Its log
// callback forwards librdkafka's log lines to the hooks' `Env`.
class Config {
 public:
  explicit Config(ClientHooks* hooks);
  ~Config();
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  Config& set(const std::string& key, const std::string& value);
  Config& set(const Properties& properties);
  [[nodiscard]] rd_kafka_conf_t* raw() { return conf_; }

  // Creates the client, or says why not (a bad property included). Consumes the
  // configuration either way.
  [[nodiscard]] std::expected<Handle, std::string> make(rd_kafka_type_t type);

 private:
  rd_kafka_conf_t* conf_;
  std::string error_;
};

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

[[nodiscard]] PartitionList make_list(const std::vector<core::TopicPartition>& partitions);
[[nodiscard]] PartitionList make_list(const std::vector<core::TopicPartitionOffset>& offsets);
[[nodiscard]] std::vector<core::TopicPartition> partitions_of(
    const rd_kafka_topic_partition_list_t& list);

// Durations as librdkafka takes them: whole milliseconds.
[[nodiscard]] int to_millis(core::Duration duration);

// The partition count of `topic` from a metadata request for every topic (which
// creates none): empty when the cluster has no such topic.
[[nodiscard]] core::Result<std::optional<int>> find_partition_count(rd_kafka_t* handle,
                                                                    const std::string& topic,
                                                                    int timeout_ms);

// librdkafka hands a member's group metadata out only as an opaque object, which
// it serialises for client bindings (`rd_kafka_consumer_group_metadata_write`);
// the port needs its fields, so they are read back from that form ("CGMDv2:",
// the generation in host byte order, then NUL-terminated group id and member id,
// a byte that is 0 when a group instance id follows, and that id). Empty when the
// form is not the one this build knows; a unit test pins it for the installed
// librdkafka.
[[nodiscard]] std::optional<core::GroupMetadata> read_group_metadata(std::string_view serialised);
[[nodiscard]] std::optional<core::GroupMetadata> group_metadata_of(
    const rd_kafka_consumer_group_metadata_t* metadata);

}  // namespace orderflow::adapters::kafka
