// The streams DSL on the simulated cluster, exactly-once, with an instance
// crashing in the middle: stateless operators, a repartitioned count, stream-table
// and table-table joins, tumbling windows and poison records. Without the
// simulator: how `build` groups nodes into sub-topologies, and late window records.
#include "core/streams/dsl.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/ports/memory_state_store.h"
#include "sim/world.h"
#include "tests/support/recording_handler.h"
#include "tests/support/topic_readers.h"

namespace orderflow::core {
namespace {

using namespace std::chrono_literals;
using sim::Process;
using sim::World;
using Reader = testing_support::RecordingHandler;
using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr int kPartitions = 3;

// What a topic holds, as sorted (key, value) pairs.
Pairs pairs_of(const Reader& reader) {
  Pairs out;
  for (const auto& r : reader.records) out.emplace_back(r.key.value_or(""), r.value.value_or(""));
  std::sort(out.begin(), out.end());
  return out;
}

// Values per key in the order they were read; a tombstone is "<deleted>".
std::map<std::string, std::vector<std::string>> history_of(const Reader& reader) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& r : reader.records) out[*r.key].push_back(r.value.value_or("<deleted>"));
  return out;
}

class DslTest : public testing::TestWithParam<std::uint64_t> {
 protected:
  DslTest() : world_({.seed = GetParam()}) {
    world_.kernel().trace().set_sink([this](const sim::TraceEvent& e) { ++events_[e.name]; });
    feeder_ = &world_.add_process("feeder");
    feeder_->start();
    producer_ = world_.broker(*feeder_).make_producer({.client_id = "feeder"});
  }

  void create_topics(const std::vector<std::string>& topics) {
    for (const auto& topic : topics) world_.cluster().create_topic({topic, kPartitions, 3, false});
  }

  // Starts an instance of `application` that builds its topology with `make`.
  void add_instance(const std::string& name, const std::string& application,
                    std::function<Topology()> make) {
    Process& p = world_.add_process(name);
    p.set_boot([this, application, make](Process& self) -> std::shared_ptr<void> {
      Topology topology = make();
      StreamsConfig config{.application_id = application,
                           .instance_id = self.name(),
                           .topologies = std::move(topology.sub_topologies),
                           .stream_time_punctuation = topology.stream_time_punctuation,
                           .session_timeout = 6s,
                           .heartbeat_interval = 1s};
      auto stores = [&self](const std::string& store, Partition partition) -> StateStore& {
        return self.disk().store(store + "-" + std::to_string(partition.value()));
      };
      auto runtime = std::make_shared<StreamsRuntime>(world_.broker(self), self.scheduler(),
                                                      self.clock(), self.log(), stores, config);
      runtime->start();
      return runtime;
    });
    p.start();
  }
  void add_instances(const std::string& application, std::function<Topology()> make) {
    add_instance("s1", application, make);
    add_instance("s2", application, make);
  }

  // Produces a record `after` from now.
  void send(Duration after, std::string topic, std::string key, std::optional<std::string> value) {
    feeder_->scheduler().schedule_after(after, [this, topic, key, value] {
      producer_->send({topic, key, value, {}, std::nullopt},
                      [](Result<RecordMetadata> r) { ASSERT_TRUE(r.has_value()); });
    });
  }

  Reader& read(const std::string& topic) {
    if (!readers_) {
      Process& p = world_.add_process("readers");
      p.start();
      readers_ = std::make_unique<testing_support::TopicReaders>(world_, p);
    }
    return readers_->read(topic);
  }

  void run_for(Duration d) { world_.kernel().run_until(world_.kernel().now() + d); }

  // Crashes `name`, possibly losing its disk, and restarts it after `down`.
  void crash_for(const std::string& name, Duration down, bool wipe = false) {
    world_.crash(name);
    if (wipe) world_.wipe_disk(name);
    run_for(down);
    world_.process(name).start();
  }

  std::map<std::string, int> events_;  // trace events seen, by name; outlives the world
  World world_;
  Process* feeder_ = nullptr;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<testing_support::TopicReaders> readers_;
};

TEST_P(DslTest, FilterMapFlatMapAndToOutputEachRecordOnce) {
  create_topics({"lines", "out"});
  add_instances("stateless", [] {
    StreamBuilder builder;
    builder.stream({"lines"})
        .filter([](const KeyValue& kv) { return std::stoi(kv.value) % 3 != 0; })
        .flat_map([](const KeyValue& kv) -> Fallible<std::vector<KeyValue>> {
          return std::vector<KeyValue>{{kv.key + "-a", kv.value, kv.timestamp},
                                       {kv.key + "-b", kv.value, kv.timestamp}};
        })
        .map([](const KeyValue& kv) {
          return KeyValue{kv.value, kv.key, kv.timestamp};
        })
        .map_values([](const KeyValue& kv) { return kv.value + "!"; })
        .to("out");
    return builder.build();
  });
  Pairs expected;
  for (int i = 0; i < 400; ++i) {
    const std::string key = "k" + std::to_string(i % 12);
    send(Duration{5ms * i}, "lines", key, std::to_string(i));
    if (i % 3 == 0) continue;
    expected.emplace_back(std::to_string(i), key + "-a!");
    expected.emplace_back(std::to_string(i), key + "-b!");
  }
  std::sort(expected.begin(), expected.end());
  Reader& out = read("out");

  run_for(900ms);
  crash_for("s1", 500ms);
  run_for(20s);
  EXPECT_EQ(pairs_of(out), expected);
}

// Each key's counts must read 1, 2, ..., n: none lost, none doubled.
void expect_counted_once(const Reader& counts, const std::map<std::string, int>& expected) {
  std::map<std::string, std::vector<std::string>> want;
  for (const auto& [key, n] : expected) {
    for (int i = 1; i <= n; ++i) want[key].push_back(std::to_string(i));
  }
  EXPECT_EQ(history_of(counts), want);
}

TEST_P(DslTest, RepartitionedCountIsExactlyOnce) {
  create_topics({"clicks", "clicks-by-group", "group-counts"});
  add_instances("grouper", [] {
    StreamBuilder builder;
    builder.stream({"clicks"})
        .repartition("clicks-by-group",
                     [](const KeyValue& kv) { return "g" + std::to_string(kv.key.size() % 3); })
        .count("counts-per-group")
        .to_stream()
        .to("group-counts");
    return builder.build();
  });
  std::map<std::string, int> expected;
  for (int i = 0; i < 900; ++i) {
    const std::string key = std::string(static_cast<std::size_t>(1 + i % 7), 'k');
    ++expected["g" + std::to_string(key.size() % 3)];
    send(Duration{5ms * i}, "clicks", key, "1");
  }
  Reader& counts = read("group-counts");

  run_for(1500ms);
  crash_for("s2", 500ms);
  run_for(25s);
  expect_counted_once(counts, expected);
}

TEST_P(DslTest, StreamTableJoinEnrichesOrdersWithCustomerNames) {
  create_topics({"customers", "orders", "enriched"});
  add_instances("enricher", [] {
    StreamBuilder builder;
    KTable customers = builder.table("customers", "customer-names");
    builder.stream({"orders"})
        .join(customers, [](const KeyValue& order,
                            const std::string& name) { return order.value + " for " + name; })
        .to("enriched");
    return builder.build();
  });
  for (int c = 0; c < 6; ++c) {
    send(Duration{10ms * c}, "customers", "c" + std::to_string(c), "name" + std::to_string(c));
  }
  send(200ms, "customers", "c5", std::nullopt);  // deleted: its orders find no name
  Reader& enriched = read("enriched");
  run_for(3s);  // the table is loaded before the first order

  Pairs expected;
  for (int i = 0; i < 300; ++i) {
    const int c = i % 7;  // c6 was never a customer
    send(Duration{5ms * i}, "orders", "c" + std::to_string(c), "o" + std::to_string(i));
    if (c < 5)
      expected.emplace_back("c" + std::to_string(c),
                            "o" + std::to_string(i) + " for name" + std::to_string(c));
  }
  std::sort(expected.begin(), expected.end());
  run_for(700ms);
  crash_for("s1", 500ms, /*wipe=*/true);  // its tables come back from their changelogs
  run_for(20s);
  EXPECT_EQ(pairs_of(enriched), expected);
}

// The join reacts to updates of either side; which intermediate results appear
// depends on how a replay interleaves the two topics, but each is a join of values
// the key had, none repeats, and the last is the join of the final values.
TEST_P(DslTest, TableTableJoinFollowsBothSides) {
  create_topics({"names", "tiers", "profiles"});
  add_instances("profiles", [] {
    StreamBuilder builder;
    KTable names = builder.table("names", "names");
    KTable tiers = builder.table("tiers", "tiers");
    names
        .join(tiers,
              [](const std::string& name, const std::string& tier) { return name + "/" + tier; })
        .to_stream()
        .to("profiles");
    return builder.build();
  });
  Reader& profiles = read("profiles");
  run_for(3s);
  auto phase = [this](Duration at, const std::string& topic, auto value_of) {
    for (int i = 0; i < 8; ++i) {
      if (auto value = value_of(i))
        send(at + Duration{2ms * i}, topic, "c" + std::to_string(i), *value);
    }
  };
  using Value = std::optional<std::string>;
  phase(0ms, "names", [](int i) -> Value { return "n" + std::to_string(i); });
  phase(1s, "tiers", [](int i) -> Value { return i == 7 ? Value{} : "silver"; });
  phase(2s, "names", [](int i) -> Value { return "N" + std::to_string(i); });
  phase(3s, "tiers", [](int i) -> Value { return i % 2 == 0 ? "gold" : Value{}; });
  send(3s, "tiers", "c1", std::nullopt);
  run_for(2050ms);
  crash_for("s1", 300ms);
  run_for(20s);

  const auto history = history_of(profiles);
  EXPECT_EQ(history.count("c7"), 0u) << "c7 never had a tier";
  for (int i = 0; i < 7; ++i) {
    const std::string key = "c" + std::to_string(i);
    const std::string n = std::to_string(i);
    const auto& values = history.at(key);
    const std::string last = i == 1 ? "<deleted>" : "N" + n + (i % 2 == 0 ? "/gold" : "/silver");
    EXPECT_EQ(values.back(), last) << key;
    EXPECT_EQ(std::adjacent_find(values.begin(), values.end()), values.end()) << key;
    for (const auto& v : values) {
      const bool joined = v == "<deleted>" || v == "n" + n + "/silver" ||
                          v == "N" + n + "/silver" || v == "n" + n + "/gold" ||
                          v == "N" + n + "/gold";
      EXPECT_TRUE(joined) << key << ": " << v;
    }
  }
}

// Per window: the count of the records of its key and minute that were not late
// when they arrived (stream time per partition, grace zero), for every window its
// partition's stream time has passed.
std::map<std::string, std::string> closed_window_counts(const Reader& input, Duration size) {
  std::map<Partition, Timestamp> stream_time;
  std::map<std::pair<Partition, WindowedKey>, int> counts;
  for (const auto& r : input.records) {
    const Timestamp start{size * (r.timestamp.time_since_epoch() / size)};
    Timestamp& now = stream_time[r.tp.partition];
    if (start + size > now) ++counts[{r.tp.partition, WindowedKey{*r.key, start}}];
    now = std::max(now, r.timestamp);
  }
  std::map<std::string, std::string> out;
  for (const auto& [at, n] : counts) {
    if (at.second.start + size <= stream_time[at.first]) {
      out[format_windowed_key(at.second)] = std::to_string(n);
    }
  }
  return out;
}

TEST_P(DslTest, TumblingWindowsEmitEachClosedWindowOnce) {
  create_topics({"views", "views-per-minute"});
  add_instances("windows", [] {
    StreamBuilder builder;
    builder.stream({"views"}).windowed_count("views-per-minute", 1min).to("views-per-minute");
    Topology topology = builder.build();
    EXPECT_EQ(topology.stream_time_punctuation, Duration{1min});
    return topology;
  });
  for (int i = 0; i < 1300; ++i) {
    send(Duration{200ms * i}, "views", "page" + std::to_string(i % 5), "1");
  }
  Reader& input = read("views");
  Reader& windows = read("views-per-minute");
  run_for(100'020ms);  // after a record, before the commit that follows it
  crash_for("s1", 1s);
  run_for(70s);
  crash_for("s2", 1s, /*wipe=*/true);  // the open windows come back from the changelog
  run_for(100s);                       // the last record goes out at 260 s

  std::map<std::string, std::string> emitted;
  for (const auto& r : windows.records) {
    EXPECT_TRUE(emitted.emplace(*r.key, *r.value).second) << *r.key << " emitted twice";
  }
  const auto expected = closed_window_counts(input, 1min);
  EXPECT_GE(expected.size(), 3u * 5u);
  EXPECT_EQ(emitted, expected);
}

TEST_P(DslTest, APoisonedMapDeadLettersTheRecordAndGoesOn) {
  create_topics({"raw", "raw.dlq", "raw-copy", "parsed"});
  add_instances("parser", [] {
    StreamBuilder builder;
    KStream raw = builder.stream({"raw"});
    raw.to("raw-copy");
    raw.map([](const KeyValue& kv) -> Fallible<KeyValue> {
         if (kv.value == "poison") return std::unexpected(Poison{"unparseable"});
         return KeyValue{kv.key, "parsed " + kv.value, kv.timestamp};
       })
        .to("parsed");
    return builder.build();
  });
  Pairs parsed_expected;
  Pairs copy_expected;
  for (int i = 0; i < 200; ++i) {
    const std::string key = "k" + std::to_string(i);
    const bool poison = i % 20 == 7;
    send(Duration{5ms * i}, "raw", key, poison ? "poison" : std::to_string(i));
    if (poison) continue;
    parsed_expected.emplace_back(key, "parsed " + std::to_string(i));
    copy_expected.emplace_back(key, std::to_string(i));
  }
  std::sort(parsed_expected.begin(), parsed_expected.end());
  std::sort(copy_expected.begin(), copy_expected.end());
  Reader& parsed = read("parsed");
  Reader& copy = read("raw-copy");
  Reader& dlq = read("raw.dlq");

  run_for(500ms);
  crash_for("s2", 300ms);
  run_for(20s);
  EXPECT_EQ(pairs_of(parsed), parsed_expected);
  EXPECT_EQ(pairs_of(copy), copy_expected) << "a dead-lettered record sends nothing";
  ASSERT_EQ(dlq.records.size(), 10u);
  for (const auto& r : dlq.records) {
    EXPECT_EQ(r.value, "poison");
    const bool has_reason = std::any_of(r.headers.begin(), r.headers.end(), [](const Header& h) {
      return h.key == "dlq.reason" && h.value == "unparseable";
    });
    EXPECT_TRUE(has_reason);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, DslTest, testing::Values(1, 2, 3));

TEST(DslBuild, JoinsAndSharedTopicsShareASubTopologyAndRepartitionsStartOne) {
  StreamBuilder builder;
  KTable customers = builder.table("customers", "names");
  KStream orders = builder.stream({"orders"});
  orders.join(customers, [](const KeyValue& kv, const std::string&) { return kv.value; })
      .to("enriched");
  builder.stream({"orders"}).to("orders-copy");  // a second reader of "orders"
  orders.repartition("orders-by-value", [](const KeyValue& kv) { return kv.value; })
      .windowed_count("per-minute", 1min)
      .to("counts");
  builder.stream({"clicks"}).windowed_count("per-90s", 90s).to("clicks-90s");

  const Topology topology = builder.build();
  ASSERT_EQ(topology.sub_topologies.size(), 3u);
  EXPECT_EQ(topology.sub_topologies[0].source_topics,
            (std::vector<std::string>{"customers", "orders"}));
  EXPECT_EQ(topology.sub_topologies[0].stores, std::vector<std::string>{"names"});
  EXPECT_EQ(topology.sub_topologies[1].source_topics, std::vector<std::string>{"orders-by-value"});
  EXPECT_EQ(topology.sub_topologies[1].stores, std::vector<std::string>{"per-minute"});
  EXPECT_EQ(topology.sub_topologies[2].source_topics, std::vector<std::string>{"clicks"});
  EXPECT_EQ(topology.stream_time_punctuation, Duration{30s});
}

TEST(DslBuild, WindowedKeysRoundTrip) {
  const WindowedKey key{"page@1", from_unix_millis(120'000)};
  EXPECT_EQ(format_windowed_key(key), "page@1@120000");
  EXPECT_EQ(parse_windowed_key("page@1@120000"), key);
  EXPECT_EQ(parse_windowed_key("page"), std::nullopt);
  EXPECT_EQ(parse_windowed_key("page@12x"), std::nullopt);
}

// A task's context without a runtime: stores in memory, sends and log events kept.
class FakeTask final : public TaskContext, public Log {
 public:
  [[nodiscard]] Partition partition() const override { return Partition{0}; }
  [[nodiscard]] Timestamp now() const override { return stream_time_; }
  [[nodiscard]] Timestamp stream_time() const override { return stream_time_; }
  [[nodiscard]] StateStore& store(const std::string& name) override { return stores_[name]; }
  void send(ProducerRecord record) override {
    sent.emplace_back(record.key.value_or(""), record.value.value_or(""));
  }
  [[nodiscard]] Log& log() override { return *this; }
  void event(Severity, std::string_view name, Fields) override { ++events[std::string(name)]; }

  // Processes a record as the runtime does: stream time advances after it, and
  // punctuation runs when stream time enters a new `every`.
  void deliver(Processor& processor, const std::string& key, Duration at, Duration every) {
    const ConsumerRecord record{{"views", Partition{0}}, Offset{0}, key, "1", {}, Timestamp{at}};
    ASSERT_TRUE(processor.process(record, *this).has_value());
    if (Timestamp{at} <= stream_time_) return;
    const bool crossed = at / every != stream_time_.time_since_epoch() / every;
    stream_time_ = Timestamp{at};
    if (crossed) processor.on_stream_time(*this, stream_time_);
  }
  // A restarted task: same stores, stream time forgotten.
  void restart() { stream_time_ = Timestamp{}; }

  Pairs sent;
  std::map<std::string, int> events;

 private:
  std::map<std::string, MemoryStateStore> stores_;
  Timestamp stream_time_{};
};

TEST(DslWindows, ALateRecordIsDroppedEvenByARestartedTask) {
  StreamBuilder builder;
  builder.stream({"views"}).windowed_count("views-per-minute", 1min).to("counts");
  const Topology topology = builder.build();
  const Duration every = topology.stream_time_punctuation;
  FakeTask task;
  auto processor = topology.sub_topologies.at(0).make_processor(Partition{0});
  task.deliver(*processor, "a", 10s, every);
  task.deliver(*processor, "a", 50s, every);
  task.deliver(*processor, "b", 70s, every);  // closes [0, 60s)
  task.deliver(*processor, "a", 30s, every);  // late
  EXPECT_EQ(task.sent, (Pairs{{"a@0", "2"}}));

  task.restart();
  processor = topology.sub_topologies.at(0).make_processor(Partition{0});
  task.deliver(*processor, "a", 40s, every);  // still late: the store remembers [0, 60s) closed
  task.deliver(*processor, "b", 130s, every);
  EXPECT_EQ(task.sent, (Pairs{{"a@0", "2"}, {"b@60000", "1"}}));
  EXPECT_EQ(task.events["window_record_late"], 2);
}

TEST(DslBuildDeathTest, AggregatingAReKeyedStreamNeedsARepartition) {
  StreamBuilder builder;
  KStream rekeyed = builder.stream({"a"}).map([](const KeyValue& kv) { return kv; });
  EXPECT_DEATH((void)rekeyed.count("counts"), "repartition");
}

}  // namespace
}  // namespace orderflow::core
