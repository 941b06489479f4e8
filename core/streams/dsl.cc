#include "core/streams/dsl.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <utility>

#include "core/check.h"

namespace orderflow::core {
namespace {

// A record between nodes: a table's deletion has no value.
struct Change {
  std::string key;
  std::optional<std::string> value;
  Timestamp timestamp;
};
using Changes = std::vector<Change>;
using Sends = std::vector<ProducerRecord>;

// What a node makes of one change: the changes it passes on.
using Step = std::function<Fallible<Changes>(TaskContext&, const Change&)>;
// A window node's results once stream time has reached `stream_time`.
using Punctuate = std::function<Changes(TaskContext&, Timestamp stream_time)>;

Change change_of(KeyValue kv) { return {std::move(kv.key), std::move(kv.value), kv.timestamp}; }

// `next(value)` when `result` holds one, its poison otherwise.
template <typename T, typename Next>
Fallible<Changes> then(Fallible<T> result, Next next) {
  if (!result) return std::unexpected(std::move(result.error()));
  return next(std::move(*result));
}

// A step on records with a value; deletions stop here.
Step on_values(std::function<Fallible<Changes>(TaskContext&, const KeyValue&)> step) {
  return [step = std::move(step)](TaskContext& ctx, const Change& in) -> Fallible<Changes> {
    if (!in.value) return Changes{};
    return step(ctx, KeyValue{in.key, *in.value, in.timestamp});
  };
}

}  // namespace

// The operator nodes of a builder; `build` freezes a copy that every processor of
// the application shares. Nodes are grouped into sub-topologies with union-find.
class StreamGraph {
 public:
  struct Node {
    std::size_t group = 0;
    Step step;                         // empty: passes each change on unchanged
    std::optional<std::string> sink;   // changes go to this topic, not to children
    std::optional<std::string> store;  // declared by this node
    bool rekeyed = false;              // the key may differ from the partitioning key
    Punctuate punctuate;               // windows only
    Duration window{0};
    std::vector<std::size_t> children;
  };

  // Adds a node reading `topics` that starts a sub-topology.
  std::size_t add_source(const std::vector<std::string>& topics, Node node) {
    node.group = parents_.size();
    parents_.push_back(node.group);
    const std::size_t id = adopt(std::move(node));
    for (const auto& topic : topics) sources_.emplace_back(topic, id);
    return id;
  }

  // Adds a child of `parent`, in its sub-topology.
  std::size_t add(std::size_t parent, Node node) {
    node.group = nodes_[parent].group;
    node.rekeyed = node.rekeyed || nodes_[parent].rekeyed;
    const std::size_t id = adopt(std::move(node));
    link(parent, id);
    return id;
  }

  void link(std::size_t parent, std::size_t child) { nodes_[parent].children.push_back(child); }

  // Puts the sub-topologies of two nodes together.
  void unite(std::size_t a, std::size_t b) {
    parents_[root(nodes_[a].group)] = root(nodes_[b].group);
  }
  // The runtime routes a topic to one sub-topology: all of its readers go there.
  void unite_readers_of_each_topic() {
    std::map<std::string, std::size_t> first;
    for (const auto& [topic, node] : sources_) {
      if (auto [it, fresh] = first.emplace(topic, node); !fresh) unite(node, it->second);
    }
  }
  [[nodiscard]] std::size_t root(std::size_t group) const {
    while (parents_[group] != group) group = parents_[group];
    return group;
  }

  [[nodiscard]] const Node& node(std::size_t id) const { return nodes_[id]; }
  [[nodiscard]] std::size_t size() const { return nodes_.size(); }
  [[nodiscard]] const std::vector<std::pair<std::string, std::size_t>>& sources() const {
    return sources_;
  }

  // Runs `in` through node `id` and everything downstream of it.
  [[nodiscard]] Fallible<void> run(std::size_t id, TaskContext& ctx, const Change& in,
                                   Sends& sends) const {
    const Node& node = nodes_[id];
    if (!node.step) return pass_on(id, ctx, {in}, sends);
    auto out = node.step(ctx, in);
    if (!out) return std::unexpected(std::move(out.error()));
    return pass_on(id, ctx, *out, sends);
  }

  // Hands what node `id` made to its children, or to its sink topic.
  [[nodiscard]] Fallible<void> pass_on(std::size_t id, TaskContext& ctx, const Changes& out,
                                       Sends& sends) const {
    const Node& node = nodes_[id];
    for (const Change& change : out) {
      if (node.sink) {
        sends.push_back({*node.sink, change.key, change.value, {}, std::nullopt});
        continue;
      }
      for (std::size_t child : node.children) {
        if (auto done = run(child, ctx, change, sends); !done) return done;
      }
    }
    return {};
  }

 private:
  std::size_t adopt(Node node) {
    if (node.store) OF_CHECK(stores_.insert(*node.store).second, "a store name is used twice");
    nodes_.push_back(std::move(node));
    return nodes_.size() - 1;
  }

  std::vector<Node> nodes_;
  std::vector<std::size_t> parents_;                          // union-find over groups
  std::vector<std::pair<std::string, std::size_t>> sources_;  // topic, source node
  std::set<std::string> stores_;
};

namespace {

// What one sub-topology's processor needs of the graph.
struct Plan {
  std::vector<std::string> topics;
  std::vector<std::string> stores;
  std::map<std::string, std::vector<std::size_t>> sources;  // by topic
  std::vector<std::size_t> punctuators;
};

void flush(TaskContext& ctx, Sends& sends) {
  for (auto& record : sends) ctx.send(std::move(record));
}

// Runs each input record through the sub-topology's nodes. Outputs are sent only
// when no node found the record poisonous, so a dead-lettered record sends nothing.
class GraphProcessor final : public Processor {
 public:
  GraphProcessor(std::shared_ptr<const StreamGraph> graph, std::shared_ptr<const Plan> plan)
      : graph_(std::move(graph)), plan_(std::move(plan)) {}

  std::expected<void, Poison> process(const ConsumerRecord& record, TaskContext& ctx) override {
    const auto it = plan_->sources.find(record.tp.topic);
    OF_CHECK(it != plan_->sources.end(), "a record of a topic its sub-topology does not read");
    const Change in{record.key.value_or(""), record.value, record.timestamp};
    Sends sends;
    for (std::size_t node : it->second) {
      if (auto done = graph_->run(node, ctx, in, sends); !done) return done;
    }
    flush(ctx, sends);
    return {};
  }

  // Window results have no input record to dead-letter: a poisoned one is logged
  // and dropped.
  void on_stream_time(TaskContext& ctx, Timestamp stream_time) override {
    for (std::size_t node : plan_->punctuators) {
      for (const Change& result : graph_->node(node).punctuate(ctx, stream_time)) {
        Sends sends;
        if (auto done = graph_->pass_on(node, ctx, {result}, sends); !done) {
          ctx.log().event(Severity::kWarn, "window_result_poisoned",
                          {{"key", result.key}, {"reason", done.error().reason}});
          continue;
        }
        flush(ctx, sends);
      }
    }
  }

 private:
  std::shared_ptr<const StreamGraph> graph_;
  std::shared_ptr<const Plan> plan_;
};

// --- windows ---------------------------------------------------------------
//
// A window store holds `<start><key>` -> aggregate, `<start>` being 16 hex digits
// that sort like time, and `kClosedKey` -> how far stream time had got when windows
// were last closed, so that a restarted task still knows them closed.

constexpr std::string_view kClosedKey = "~closed";  // '~' sorts after every hex digit
constexpr std::size_t kTimeDigits = 16;
constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;

std::string encode_time(Timestamp t) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto bits = static_cast<std::uint64_t>(t.time_since_epoch().count()) ^ kSignBit;
  std::string out(kTimeDigits, '0');
  for (std::size_t i = kTimeDigits; i-- > 0; bits >>= 4) out[i] = kHex[bits & 0xf];
  return out;
}

Timestamp decode_time(std::string_view hex) {
  std::uint64_t bits = 0;
  const auto [end, error] = std::from_chars(hex.data(), hex.data() + hex.size(), bits, 16);
  OF_CHECK(error == std::errc{} && end == hex.data() + hex.size(), "a window key is corrupt");
  return Timestamp{Duration{static_cast<Duration::rep>(bits ^ kSignBit)}};
}

Timestamp closed_until(const StateStore& windows) {
  const auto closed = windows.get(kClosedKey);
  return closed ? decode_time(*closed) : Timestamp::min();
}

Timestamp window_start(Timestamp t, Duration size) {
  const auto n = t.time_since_epoch().count();
  auto windows = n / size.count();
  if (n % size.count() < 0) --windows;
  return Timestamp{size * windows};
}

Step add_to_window(std::string store, Duration size, std::string initial, Adder adder) {
  return on_values([=](TaskContext& ctx, const KeyValue& kv) -> Fallible<Changes> {
    StateStore& windows = ctx.store(store);
    const Timestamp start = window_start(kv.timestamp, size);
    if (start + size <= std::max(ctx.stream_time(), closed_until(windows))) {
      ctx.log().event(
          Severity::kWarn, "window_record_late",
          {{"store", store}, {"key", kv.key}, {"timestamp_ms", to_unix_millis(kv.timestamp)}});
      return Changes{};
    }
    const std::string at = encode_time(start) + kv.key;
    return then(adder(kv, windows.get(at).value_or(initial)), [&](std::string agg) {
      windows.put(at, agg);
      return Changes{};
    });
  });
}

Punctuate close_windows(std::string store, Duration size) {
  return [=](TaskContext& ctx, Timestamp now) {
    StateStore& windows = ctx.store(store);
    Changes results;
    std::vector<std::string> closed;
    // A window that ends at or before `now` starts before `now - size + 1us`.
    windows.scan("", encode_time(now - size + Duration{1}), [&](auto key, auto value) {
      const WindowedKey window{std::string(key.substr(kTimeDigits)),
                               decode_time(key.substr(0, kTimeDigits))};
      results.push_back({format_windowed_key(window), std::string(value), window.start});
      closed.emplace_back(key);
      return true;
    });
    for (const auto& key : closed) windows.erase(key);
    if (now > closed_until(windows)) windows.put(kClosedKey, encode_time(now));
    return results;
  };
}

// --- joins -----------------------------------------------------------------

Step join_with_table(std::string store, StreamTableJoiner joiner) {
  return on_values([=](TaskContext& ctx, const KeyValue& kv) -> Fallible<Changes> {
    const auto row = ctx.store(store).get(kv.key);
    if (!row) return Changes{};
    return then(joiner(kv, *row), [&](std::string joined) {
      return Changes{{kv.key, std::move(joined), kv.timestamp}};
    });
  });
}

// One side of a table-table join: an update of this side meets `other_store`.
Step join_tables(std::string other_store, TableJoiner joiner, bool left) {
  return [=](TaskContext& ctx, const Change& in) -> Fallible<Changes> {
    const auto other = ctx.store(other_store).get(in.key);
    if (!other) return Changes{};
    if (!in.value) return Changes{{in.key, std::nullopt, in.timestamp}};
    auto joined = left ? joiner(*in.value, *other) : joiner(*other, *in.value);
    return then(std::move(joined), [&](std::string value) {
      return Changes{{in.key, std::move(value), in.timestamp}};
    });
  };
}

// One plan per sub-topology, in the order their first nodes were added.
std::vector<std::shared_ptr<Plan>> plan_sub_topologies(const StreamGraph& graph) {
  std::map<std::size_t, std::shared_ptr<Plan>> by_root;
  std::vector<std::shared_ptr<Plan>> plans;
  for (std::size_t id = 0; id < graph.size(); ++id) {
    const auto& node = graph.node(id);
    auto& plan = by_root[graph.root(node.group)];
    if (!plan) plan = plans.emplace_back(std::make_shared<Plan>());
    if (node.store) plan->stores.push_back(*node.store);
    if (node.punctuate) plan->punctuators.push_back(id);
  }
  for (const auto& [topic, id] : graph.sources()) {
    Plan& plan = *by_root[graph.root(graph.node(id).group)];
    auto& readers = plan.sources[topic];
    if (readers.empty()) plan.topics.push_back(topic);
    readers.push_back(id);
  }
  return plans;
}

Fallible<std::string> add_one(const KeyValue&, const std::string& count) {
  return std::to_string(std::stoll(count) + 1);
}

const std::string& materialized(const StreamGraph& graph, std::size_t table) {
  const auto& store = graph.node(table).store;
  OF_CHECK(store.has_value(), "only a table from a topic or an aggregate can be joined against");
  return *store;
}

}  // namespace

std::string format_windowed_key(const WindowedKey& windowed) {
  return windowed.key + "@" + std::to_string(to_unix_millis(windowed.start));
}

std::optional<WindowedKey> parse_windowed_key(std::string_view key) {
  const auto at = key.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::int64_t ms = 0;
  const auto digits = key.substr(at + 1);
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
  if (error != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return WindowedKey{std::string(key.substr(0, at)), from_unix_millis(ms)};
}

// --- KStream ---------------------------------------------------------------

KStream KStream::filter(Predicate keep) const {
  auto step = [keep = std::move(keep)](TaskContext&, const KeyValue& kv) {
    return then(keep(kv), [&](bool yes) { return yes ? Changes{change_of(kv)} : Changes{}; });
  };
  return {graph_, graph_->add(node_, {.step = on_values(std::move(step))})};
}

KStream KStream::map(KeyValueMapper mapper) const {
  auto step = [mapper = std::move(mapper)](TaskContext&, const KeyValue& kv) {
    return then(mapper(kv), [](KeyValue out) { return Changes{change_of(std::move(out))}; });
  };
  return {graph_, graph_->add(node_, {.step = on_values(std::move(step)), .rekeyed = true})};
}

KStream KStream::flat_map(FlatMapper mapper) const {
  auto step = [mapper = std::move(mapper)](TaskContext&, const KeyValue& kv) {
    return then(mapper(kv), [](std::vector<KeyValue> outs) {
      Changes changes;
      for (auto& out : outs) changes.push_back(change_of(std::move(out)));
      return changes;
    });
  };
  return {graph_, graph_->add(node_, {.step = on_values(std::move(step)), .rekeyed = true})};
}

KStream KStream::map_values(ValueMapper mapper) const {
  auto step = [mapper = std::move(mapper)](TaskContext&, const KeyValue& kv) {
    return then(mapper(kv), [&](std::string value) {
      return Changes{{kv.key, std::move(value), kv.timestamp}};
    });
  };
  return {graph_, graph_->add(node_, {.step = on_values(std::move(step))})};
}

void KStream::to(std::string topic) const { graph_->add(node_, {.sink = std::move(topic)}); }

KStream KStream::repartition(std::string topic, ValueMapper key_of) const {
  auto step = [key_of = std::move(key_of)](TaskContext&, const KeyValue& kv) {
    return then(key_of(kv), [&](std::string key) {
      return Changes{{std::move(key), kv.value, kv.timestamp}};
    });
  };
  graph_->add(node_, {.step = on_values(std::move(step)), .sink = topic});
  return {graph_, graph_->add_source({topic}, {})};
}

KTable KStream::aggregate(std::string store, std::string initial, Adder adder) const {
  OF_CHECK(!graph_->node(node_).rekeyed, "aggregating a re-keyed stream needs a repartition");
  auto step = [store, initial = std::move(initial), adder = std::move(adder)](TaskContext& ctx,
                                                                              const KeyValue& kv) {
    StateStore& aggregates = ctx.store(store);
    return then(adder(kv, aggregates.get(kv.key).value_or(initial)), [&](std::string agg) {
      aggregates.put(kv.key, agg);
      return Changes{{kv.key, std::move(agg), kv.timestamp}};
    });
  };
  return {graph_, graph_->add(node_, {.step = on_values(std::move(step)), .store = store})};
}

KTable KStream::count(std::string store) const { return aggregate(std::move(store), "0", add_one); }

KStream KStream::join(const KTable& table, StreamTableJoiner joiner) const {
  OF_CHECK(graph_ == table.graph_, "a stream joins a table of its own builder");
  OF_CHECK(!graph_->node(node_).rekeyed, "joining a re-keyed stream needs a repartition");
  const std::string store = materialized(*graph_, table.node_);
  const std::size_t joined =
      graph_->add(node_, {.step = join_with_table(store, std::move(joiner))});
  graph_->unite(joined, table.node_);
  return {graph_, joined};
}

KStream KStream::windowed_aggregate(std::string store, Duration size, std::string initial,
                                    Adder adder) const {
  OF_CHECK(!graph_->node(node_).rekeyed, "windowing a re-keyed stream needs a repartition");
  OF_CHECK(size.count() > 0 && size % std::chrono::milliseconds{1} == Duration{0},
           "a window size is a positive number of milliseconds, as Kafka timestamps are");
  return {
      graph_,
      graph_->add(node_, {.step = add_to_window(store, size, std::move(initial), std::move(adder)),
                          .store = store,
                          .rekeyed = true,
                          .punctuate = close_windows(store, size),
                          .window = size})};
}

KStream KStream::windowed_count(std::string store, Duration size) const {
  return windowed_aggregate(std::move(store), size, "0", add_one);
}

// --- KTable ----------------------------------------------------------------

KTable KTable::join(const KTable& other, TableJoiner joiner) const {
  OF_CHECK(graph_ == other.graph_, "joined tables come from one builder");
  const std::string left_store = materialized(*graph_, node_);
  const std::string right_store = materialized(*graph_, other.node_);
  const std::size_t left = graph_->add(node_, {.step = join_tables(right_store, joiner, true)});
  const std::size_t right =
      graph_->add(other.node_, {.step = join_tables(left_store, joiner, false)});
  graph_->unite(left, right);
  const std::size_t joined = graph_->add(left, {});
  graph_->link(right, joined);
  return {graph_, joined};
}

// --- StreamBuilder ---------------------------------------------------------

StreamBuilder::StreamBuilder() : graph_(std::make_shared<StreamGraph>()) {}

KStream StreamBuilder::stream(std::vector<std::string> topics) {
  OF_CHECK(!topics.empty(), "a stream reads at least one topic");
  return {graph_, graph_->add_source(topics, {})};
}

KTable StreamBuilder::table(std::string topic, std::string store) {
  auto step = [store](TaskContext& ctx, const Change& in) -> Fallible<Changes> {
    StateStore& rows = ctx.store(store);
    if (in.value) {
      rows.put(in.key, *in.value);
    } else if (rows.get(in.key)) {
      rows.erase(in.key);
    } else {
      return Changes{};  // deleting what was never there changes nothing
    }
    return Changes{in};
  };
  return {graph_, graph_->add_source({topic}, {.step = std::move(step), .store = store})};
}

Topology StreamBuilder::build() const {
  auto graph = std::make_shared<StreamGraph>(*graph_);
  graph->unite_readers_of_each_topic();
  Topology topology;
  for (std::size_t id = 0; id < graph->size(); ++id) {
    const Duration window = graph->node(id).window;
    if (window.count() == 0) continue;
    topology.stream_time_punctuation =
        Duration{std::gcd(topology.stream_time_punctuation.count(), window.count())};
  }
  std::shared_ptr<const StreamGraph> frozen = std::move(graph);
  for (std::shared_ptr<const Plan> plan : plan_sub_topologies(*frozen)) {
    topology.sub_topologies.push_back(
        {plan->topics, plan->stores, [frozen, plan](Partition) -> std::unique_ptr<Processor> {
           return std::make_unique<GraphProcessor>(frozen, plan);
         }});
  }
  return topology;
}

}  // namespace orderflow::core
