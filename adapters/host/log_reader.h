// `read_committed_logs`: every committed record of some topics, read back from a
// real cluster.
//
// A group-less read_committed consumer is assigned every partition of each topic
// from offset 0 and reads until its position reaches the high watermark each
// partition had when the read began. `orderflow demo` hands the result to the
// simulator's checkers, so a real run gets the same verdict a simulated one does.
//
//   auto logs = read_committed_logs({.bootstrap_servers = cluster.bootstrap_servers(),
//                                    .topics = {"orders.events"}});
//
// Caveat: librdkafka's mock cluster writes no transaction markers, so there
// "committed" includes the records of aborted transactions (see
// adapters/kafka/embedded_cluster.h).
//
// Threading: blocking; runs an event loop of its own on the calling thread.
// Errors: the broker's, or kRetriable "read_timed_out".
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/ports/broker.h"
#include "core/ports/error.h"
#include "core/time.h"

namespace orderflow::adapters::host {

struct LogReadOptions {
  std::string bootstrap_servers;
  std::vector<std::pair<std::string, std::string>> properties;  // librdkafka's
  std::vector<std::string> topics;
  core::Duration timeout = std::chrono::seconds(60);
};

// Records by topic, in offset order per partition.
using TopicLogs = std::map<std::string, std::vector<core::ConsumerRecord>>;

[[nodiscard]] core::Result<TopicLogs> read_committed_logs(const LogReadOptions& options);

}  // namespace orderflow::adapters::host
