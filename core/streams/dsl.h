// A Kafka-Streams-style DSL that builds the sub-topologies of a `StreamsRuntime`.
//
// Records are bytes: operators see a `KeyValue` (a record without a key has the
// empty key) and user functions return new bytes. A handle (`KStream`, `KTable`)
// names a node of the builder's graph; operators add nodes. `build()` groups the
// nodes into sub-topologies: each source starts one, a `repartition` topic starts
// another, and joins (and sources of the same topic) put their inputs in one.
// Each sub-topology's processor runs an input record through its chain of nodes;
// its stores are those its nodes declare, changelogged by the runtime.
//
//   StreamBuilder builder;
//   KTable customers = builder.table("customers", "customer-names");
//   builder.stream({"orders"})
//       .filter([](const KeyValue& kv) { return !kv.value.empty(); })
//       .join(customers, [](const KeyValue& order, const std::string& name) {
//         return order.value + " for " + name;
//       })
//       .to("enriched-orders");
//   builder.stream({"clicks"})
//       .repartition("clicks-by-page", [](const KeyValue& kv) { return kv.value; })
//       .windowed_count("clicks-per-minute", std::chrono::minutes{1})
//       .to("page-clicks");
//   Topology topology = builder.build();
//   config.topologies = std::move(topology.sub_topologies);
//   config.stream_time_punctuation = topology.stream_time_punctuation;
//
// Keys and partitions: `aggregate`, `join` and windows work on the records of one
// task, so records of a key must reach them on one partition. A stream whose key
// may have changed (`map`, `flat_map`) must go through `repartition` first, and
// the sources of a sub-topology must be co-partitioned (same partition count,
// keyed alike); the first is checked as the graph is built, the second is the
// caller's to keep. Joins rely on the runtime giving partition N of every source
// of a sub-topology to one instance. Repartition and output topics must exist.
//
// Tombstones: a table's updates include deletions (a record without a value),
// which `to` writes as tombstones and every other stream operator skips, as it
// skips input records without a value.
//
// Poison: a user function may return `std::unexpected(Poison{...})`; the input
// record then goes to the runtime's dead-letter topic and none of its outputs are
// sent. Store changes made for it by other branches of a fan-out before the poison
// stay; keep fallible functions ahead of stateful operators.
//
// Threading: building happens on one thread before the runtime starts; the built
// processors run on the runtime's scheduler. Handles share the builder's graph and
// stay valid after the builder is gone.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/streams/streams.h"
#include "core/time.h"

namespace orderflow::core {

struct KeyValue {
  std::string key;
  std::string value;
  Timestamp timestamp;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// What a user function returns: a value, or the reason to dead-letter the record.
template <typename T>
using Fallible = std::expected<T, Poison>;

using Predicate = std::function<Fallible<bool>(const KeyValue&)>;
using KeyValueMapper = std::function<Fallible<KeyValue>(const KeyValue&)>;
using FlatMapper = std::function<Fallible<std::vector<KeyValue>>(const KeyValue&)>;
// A new value (or, for `repartition`, a new key) for the record.
using ValueMapper = std::function<Fallible<std::string>(const KeyValue&)>;
// Folds a record into the aggregate so far (the initial value for a new key).
using Adder = std::function<Fallible<std::string>(const KeyValue& record, const std::string& agg)>;
using StreamTableJoiner =
    std::function<Fallible<std::string>(const KeyValue& record, const std::string& table_value)>;
using TableJoiner =
    std::function<Fallible<std::string>(const std::string& left, const std::string& right)>;

// The key of a window's result: the record key and the window's start.
struct WindowedKey {
  std::string key;
  Timestamp start;
  friend auto operator<=>(const WindowedKey&, const WindowedKey&) = default;
};
// `<key>@<start in Unix milliseconds>`.
[[nodiscard]] std::string format_windowed_key(const WindowedKey& windowed);
[[nodiscard]] std::optional<WindowedKey> parse_windowed_key(std::string_view key);

class StreamGraph;  // dsl.cc
class KTable;

// `KStream`: a stream of records; each operator returns a new handle and leaves
// this one usable (a stream may feed several operators).
class KStream {
 public:
  [[nodiscard]] KStream filter(Predicate keep) const;
  [[nodiscard]] KStream map(KeyValueMapper mapper) const;
  [[nodiscard]] KStream flat_map(FlatMapper mapper) const;
  [[nodiscard]] KStream map_values(ValueMapper mapper) const;
  // Sends each record to `topic`, keyed by its key.
  void to(std::string topic) const;
  // Sends each record, keyed by `key_of`, to `topic`, and reads that topic in a
  // new sub-topology: the returned stream is partitioned by the new key.
  [[nodiscard]] KStream repartition(std::string topic, ValueMapper key_of) const;

  // The aggregate per key in the changelogged `store`; every update goes downstream.
  [[nodiscard]] KTable aggregate(std::string store, std::string initial, Adder adder) const;
  // `aggregate` counting records, as decimal text.
  [[nodiscard]] KTable count(std::string store) const;
  // Inner stream-table join: a record whose key the table lacks is dropped. The
  // table's sub-topology becomes this stream's.
  [[nodiscard]] KStream join(const KTable& table, StreamTableJoiner joiner) const;

  // Tumbling windows of `size` aligned to the epoch, one aggregate per key and
  // window. A window's result goes downstream once, keyed by
  // `format_windowed_key`, when stream time (the task's largest record timestamp)
  // reaches its end. Grace is zero: a record whose window has closed is late and
  // dropped (logged as `window_record_late`) — waiting longer would delay every
  // result, and out-of-order input is rare where producers stamp create time.
  [[nodiscard]] KStream windowed_aggregate(std::string store, Duration size, std::string initial,
                                           Adder adder) const;
  [[nodiscard]] KStream windowed_count(std::string store, Duration size) const;

 private:
  friend class StreamBuilder;
  friend class KTable;
  KStream(std::shared_ptr<StreamGraph> graph, std::size_t node)
      : graph_(std::move(graph)), node_(node) {}

  std::shared_ptr<StreamGraph> graph_;
  std::size_t node_;
};

// `KTable`: the latest value per key, as a changelog of updates. Tables made by
// `StreamBuilder::table` and `aggregate` are materialized in a store and can be
// joined against; a joined table is not.
class KTable {
 public:
  [[nodiscard]] KStream to_stream() const { return {graph_, node_}; }
  // Inner table-table join: when either side changes a key that both hold, the
  // joined value goes downstream; when a side deletes a key the other holds, a
  // deletion does. Both tables end up in one sub-topology.
  [[nodiscard]] KTable join(const KTable& other, TableJoiner joiner) const;

 private:
  friend class StreamBuilder;
  friend class KStream;
  KTable(std::shared_ptr<StreamGraph> graph, std::size_t node)
      : graph_(std::move(graph)), node_(node) {}

  std::shared_ptr<StreamGraph> graph_;
  std::size_t node_;
};

// What `StreamBuilder::build` returns: the runtime's sub-topologies, and the
// stream-time punctuation its windows need (zero without windows) for
// `StreamsConfig::stream_time_punctuation`.
struct Topology {
  std::vector<SubTopology> sub_topologies;
  Duration stream_time_punctuation{0};
};

// `StreamBuilder`: owns the graph that handles add to; `build` may run more than
// once and snapshots the graph as it is.
class StreamBuilder {
 public:
  StreamBuilder();

  // Records of `topics` (co-partitioned) as one stream.
  [[nodiscard]] KStream stream(std::vector<std::string> topics);
  // The latest value per key of `topic` in `store`; a tombstone deletes the key.
  [[nodiscard]] KTable table(std::string topic, std::string store);

  [[nodiscard]] Topology build() const;

 private:
  std::shared_ptr<StreamGraph> graph_;
};

}  // namespace orderflow::core
