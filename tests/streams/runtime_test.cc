// The streams runtime on the simulated cluster: per-key counters — direct and
// through a repartition topic — must count every input record exactly once
// through crashes, zombies, lost disks and poison records; punctuators fire on
// scheduler time and on stream time.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/streams/streams.h"
#include "sim/world.h"
#include "tests/support/recording_handler.h"
#include "tests/support/topic_readers.h"

namespace orderflow::core {
namespace {

using namespace std::chrono_literals;
using sim::Process;
using sim::World;

constexpr int kPartitions = 3;
constexpr int kKeys = 12;

// Counts records per key in its store and emits each new count.
class Counter final : public Processor {
 public:
  std::expected<void, Poison> process(const ConsumerRecord& record, TaskContext& ctx) override {
    if (!record.key || record.value == "poison") return std::unexpected(Poison{"not a count"});
    StateStore& counts = ctx.store("counts");
    const std::int64_t next = std::stoll(counts.get(*record.key).value_or("0")) + 1;
    counts.put(*record.key, std::to_string(next));
    ctx.send({"counts", record.key, std::to_string(next), {}, std::nullopt});
    return {};
  }
};

// An application instance hosted by a simulated process.
struct Instance {
  std::unique_ptr<StreamsRuntime> runtime;
};

// Sub-topology one of a repartition: re-keys each record by its key's group.
class Regroup final : public Processor {
 public:
  std::expected<void, Poison> process(const ConsumerRecord& record, TaskContext& ctx) override {
    if (!record.key || record.value == "poison") return std::unexpected(Poison{"not a count"});
    const int index = std::stoi(record.key->substr(1));
    ctx.send({"by-group", "g" + std::to_string(index % 3), "1", {}, std::nullopt});
    return {};
  }
};

// Emits a tick on every wall-clock punctuation and the stream-time second each
// time stream time enters a new one.
class Clocks final : public Processor {
 public:
  std::expected<void, Poison> process(const ConsumerRecord&, TaskContext&) override { return {}; }
  void on_wall_clock(TaskContext& ctx) override {
    ctx.send({"ticks", "p" + std::to_string(ctx.partition().value()), "tick", {}, std::nullopt});
  }
  void on_stream_time(TaskContext& ctx, Timestamp t) override {
    const auto second = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch());
    ctx.send({"closes",
              "p" + std::to_string(ctx.partition().value()),
              std::to_string(second.count()),
              {},
              std::nullopt});
  }
};

StreamsConfig config_for(Process& self, std::string application, std::vector<SubTopology> t) {
  return {.application_id = std::move(application),
          .instance_id = self.name(),
          .topologies = std::move(t),
          .session_timeout = 6s,
          .heartbeat_interval = 1s};
}

std::shared_ptr<void> boot(World& world, Process& self, StreamsConfig config) {
  auto stores = [&self](const std::string& name, Partition p) -> StateStore& {
    return self.disk().store(name + "-" + std::to_string(p.value()));
  };
  auto instance = std::make_shared<Instance>();
  instance->runtime = std::make_unique<StreamsRuntime>(world.broker(self), self.scheduler(),
                                                       self.clock(), self.log(), stores, config);
  instance->runtime->start();
  return instance;
}

std::shared_ptr<void> boot_counter(World& world, Process& self, Guarantee guarantee) {
  StreamsConfig config = config_for(
      self, "counter",
      {{.source_topics = {"input"}, .stores = {"counts"}, .make_processor = [](Partition) {
          return std::make_unique<Counter>();
        }}});
  config.guarantee = guarantee;
  return boot(world, self, config);
}

// Counts per key, emitting to `output`: the counter again, for another topic.
class CountInto final : public Processor {
 public:
  CountInto(std::string store, std::string output)
      : store_(std::move(store)), output_(std::move(output)) {}
  std::expected<void, Poison> process(const ConsumerRecord& record, TaskContext& ctx) override {
    StateStore& counts = ctx.store(store_);
    const std::int64_t next = std::stoll(counts.get(*record.key).value_or("0")) + 1;
    counts.put(*record.key, std::to_string(next));
    ctx.send({output_, record.key, std::to_string(next), {}, std::nullopt});
    return {};
  }

 private:
  std::string store_;
  std::string output_;
};

using Reader = testing_support::RecordingHandler;

class StreamsRuntimeTest : public testing::TestWithParam<std::uint64_t> {
 protected:
  StreamsRuntimeTest() : world_({.seed = GetParam()}) {
    world_.kernel().trace().set_sink([this](const sim::TraceEvent& e) { ++events_[e.name]; });
    world_.cluster().create_topic({"input", kPartitions, 3, false});
    world_.cluster().create_topic({"counts", kPartitions, 3, false});
    world_.cluster().create_topic({"input.dlq", 1, 3, false});
    for (const char* topic : {"by-group", "group-counts", "ticks", "closes"}) {
      world_.cluster().create_topic({topic, kPartitions, 3, false});
    }
  }

  void add_instance(const std::string& name, Guarantee guarantee) {
    add_instance(
        name, [this, guarantee](Process& self) { return boot_counter(world_, self, guarantee); });
  }
  void add_instance(const std::string& name, Process::Boot boot) {
    Process& p = world_.add_process(name);
    p.set_boot(std::move(boot));
    p.start();
  }

  // Sends `count` records round-robin over the keys, one every 5 ms, with a poison
  // record every 50th; returns the number of countable records per key.
  std::map<std::string, int> feed(int count) {
    Process& p = world_.add_process("feeder");
    p.start();
    producer_ = world_.broker(p).make_producer({.client_id = "feeder"});
    std::map<std::string, int> expected;
    for (int i = 0; i < count; ++i) {
      const std::string key = "k" + std::to_string(i % kKeys);
      const bool poison = i % 50 == 49;
      if (!poison) ++expected[key];
      p.scheduler().schedule_after(core::Duration{5'000 * i}, [this, key, poison] {
        producer_->send({"input", key, poison ? "poison" : "1", {}, std::nullopt},
                        [](Result<RecordMetadata> r) { ASSERT_TRUE(r.has_value()); });
      });
    }
    return expected;
  }

  Reader& read(const std::string& topic) {
    if (!readers_) {
      Process& p = world_.add_process("readers");
      p.start();
      readers_ = std::make_unique<testing_support::TopicReaders>(world_, p);
    }
    return readers_->read(topic);
  }

  void run_for(core::Duration d) { world_.kernel().run_until(world_.kernel().now() + d); }

  // Every key's counts must be 1, 2, ..., n in order: none lost, none doubled.
  static void expect_counted_once(const Reader& counts,
                                  const std::map<std::string, int>& expected) {
    std::map<std::string, std::vector<int>> seen;
    for (const auto& r : counts.records) seen[*r.key].push_back(std::stoi(*r.value));
    for (const auto& [key, n] : expected) {
      std::vector<int> want(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) want[static_cast<std::size_t>(i)] = i + 1;
      EXPECT_EQ(seen[key], want) << "key " << key;
    }
  }

  std::map<std::string, int> events_;  // trace events seen, by name; outlives the world
  World world_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<testing_support::TopicReaders> readers_;
};

TEST_P(StreamsRuntimeTest, CountsEveryRecordOnceAcrossCrashesAndZombies) {
  add_instance("s1", Guarantee::kExactlyOnce);
  add_instance("s2", Guarantee::kExactlyOnce);
  const auto expected = feed(1200);
  Reader& counts = read("counts");
  Reader& dlq = read("input.dlq");

  run_for(1500ms);
  world_.crash("s1");
  run_for(1s);
  world_.process("s1").start();
  run_for(1s);
  world_.pause("s2");  // past its session: a zombie when it wakes
  run_for(9s);
  world_.resume("s2");
  run_for(20s);

  expect_counted_once(counts, expected);
  EXPECT_GT(events_["streams_round_failed"], 0) << "the zombie's work must have been refused";
  EXPECT_GT(events_["task_restored"], kPartitions) << "tasks must have moved and restored";
  ASSERT_EQ(dlq.records.size(), 1200u / 50);
  bool has_reason = false;
  for (const auto& h : dlq.records.front().headers) has_reason |= h.key == "dlq.reason";
  EXPECT_TRUE(has_reason);
}

TEST_P(StreamsRuntimeTest, ARestartedInstanceRestoresItsStoresFromTheChangelog) {
  add_instance("s1", Guarantee::kExactlyOnce);
  const auto expected = feed(300);
  Reader& counts = read("counts");
  run_for(1s);
  world_.crash("s1");
  world_.wipe_disk("s1");
  world_.process("s1").start();
  run_for(10s);
  expect_counted_once(counts, expected);
  EXPECT_GT(events_["process_disk_wiped"], 0);
}

TEST_P(StreamsRuntimeTest, ACrashedInstanceDropsWorkItNeverCommitted) {
  add_instance("s1", Guarantee::kExactlyOnce);
  const auto expected = feed(600);
  Reader& counts = read("counts");
  for (int i = 0; i < 4; ++i) {
    run_for(610ms);  // lands between commits, with uncommitted changes in the stores
    world_.crash("s1");
    world_.process("s1").start();
  }
  run_for(10s);
  expect_counted_once(counts, expected);
}

TEST_P(StreamsRuntimeTest, AnInstancePausedPastItsTransactionTimeoutRecovers) {
  add_instance("s1", Guarantee::kExactlyOnce);
  const auto expected = feed(600);
  Reader& counts = read("counts");
  run_for(1200ms);
  world_.pause("s1");  // its open transaction times out and is aborted: a zombie
  run_for(15s);
  world_.resume("s1");
  run_for(20s);
  expect_counted_once(counts, expected);
  EXPECT_GT(events_["instance_fenced"], 0) << "the zombie's producer must have been fenced";
}

// An instance cut off from the cluster past its session, but not past its
// transaction timeout: its last transaction holds input offsets while its
// changelog records wait in its producer. The new owner must wait for that
// transaction to end before it restores (KIP-447), and the zombie's abort must not
// let the commit it queued go through half-delivered.
TEST_P(StreamsRuntimeTest, AnIsolatedInstanceIsReplacedWithoutLosingOrDoublingWork) {
  add_instance("s1", Guarantee::kExactlyOnce);
  add_instance("s2", Guarantee::kExactlyOnce);
  const auto expected = feed(1200);
  Reader& counts = read("counts");
  run_for(1200ms + std::chrono::milliseconds{GetParam() * 17});
  world_.isolate("s2");
  run_for(7500ms);  // evicted after 6 s; its transaction is still open (10 s)
  world_.heal_all();
  run_for(25s);
  expect_counted_once(counts, expected);
}

// A start that times out (the brokers unreachable) is tried again, not given up.
TEST_P(StreamsRuntimeTest, AnInstanceStartedWhileCutOffStartsOnceReachable) {
  world_.add_process("s1");
  world_.isolate("s1");
  world_.process("s1").set_boot(
      [this](Process& self) { return boot_counter(world_, self, Guarantee::kExactlyOnce); });
  world_.process("s1").start();
  const auto expected = feed(300);
  Reader& counts = read("counts");
  run_for(3s);
  world_.heal_all();
  run_for(15s);
  expect_counted_once(counts, expected);
}

// After a crash the stores are rebuilt from the changelogs: exactly what they held
// at the last commit, nothing of the work after it.
TEST_P(StreamsRuntimeTest, ARestoredStoreEqualsTheStoreAtTheLastCommit) {
  add_instance("s1", Guarantee::kExactlyOnce);
  feed(300);
  run_for(5s);  // all input processed and committed
  auto contents = [this] {
    std::map<std::string, std::string> all;
    for (int p = 0; p < kPartitions; ++p) {
      world_.process("s1")
          .disk()
          .store("counts-" + std::to_string(p))
          .scan("", "", [&](std::string_view k, std::string_view v) {
            all.emplace(std::to_string(p) + "/" + std::string(k), std::string(v));
            return true;
          });
    }
    return all;
  };
  const auto committed = contents();
  ASSERT_FALSE(committed.empty());
  world_.crash("s1");
  world_.wipe_disk("s1");
  world_.process("s1").start();
  run_for(10s);
  EXPECT_EQ(contents(), committed);
}

// A restore asks where each changelog ends before it replays it. When the answer is
// lost (here: the replies of the changelogs' leader are held up past the request
// timeout), the restore must ask again, not take the changelog for empty and
// start a wiped store from nothing.
TEST_P(StreamsRuntimeTest, ARestoreThatCannotLearnTheChangelogEndWaitsForIt) {
  add_instance("s1", Guarantee::kExactlyOnce);
  const auto expected = feed(600);
  Reader& counts = read("counts");
  run_for(1500ms);
  world_.crash("s1");
  world_.wipe_disk("s1");

  // The changelogs get a leader that coordinates neither the group nor the
  // transactions, so that only the restore's requests go to it.
  auto& cluster = world_.cluster();
  int leader = 0;
  while (leader == cluster.coordinator_of("counter") ||
         leader == cluster.coordinator_of("counter-s1")) {
    ++leader;
  }
  for (int p = 0; p < kPartitions; ++p) {
    cluster.move_leader({"counter-counts-changelog", Partition{p}}, leader);
  }
  run_for(1s);

  const int created = events_["task_created"];
  world_.process("s1").start();
  ASSERT_TRUE(world_.kernel().run_until([&] { return events_["task_created"] > created; },
                                        world_.kernel().now() + 10s));
  world_.clog("broker-" + std::to_string(leader), "s1", 2s);
  run_for(20s);
  expect_counted_once(counts, expected);
  EXPECT_GT(events_["restore_watermarks_failed"], 0) << "the clog must have hit the restore";
}

// The same faults without transactions: a crash between flushing outputs and
// committing offsets replays records, so some key counts twice. This is what the
// exactly-once test above would see if the runtime lost its guarantee.
TEST_P(StreamsRuntimeTest, AtLeastOnceDoublesCountsAfterACrash) {
  add_instance("s1", Guarantee::kAtLeastOnce);
  const auto expected = feed(1200);
  Reader& counts = read("counts");
  for (int i = 0; i < 5; ++i) {
    run_for(700ms);
    world_.crash("s1");
    world_.process("s1").start();
  }
  run_for(15s);
  std::map<std::string, int> emitted;
  for (const auto& r : counts.records) ++emitted[*r.key];
  int total_expected = 0;
  int total_emitted = 0;
  for (const auto& [key, n] : expected) {
    total_expected += n;
    total_emitted += emitted[key];
  }
  EXPECT_GT(total_emitted, total_expected) << "replays must show up as extra counts";
}

TEST_P(StreamsRuntimeTest, ARepartitionedCountIsExactlyOnceToo) {
  auto regroup_and_count = [this](Process& self) {
    return boot(
        world_, self,
        config_for(self, "grouper",
                   {{.source_topics = {"input"},
                     .make_processor = [](Partition) { return std::make_unique<Regroup>(); }},
                    {.source_topics = {"by-group"},
                     .stores = {"group-counts"},
                     .make_processor = [](Partition) {
                       return std::make_unique<CountInto>("group-counts", "group-counts");
                     }}}));
  };
  add_instance("s1", regroup_and_count);
  add_instance("s2", regroup_and_count);
  const auto per_key = feed(900);
  std::map<std::string, int> expected;
  for (const auto& [key, n] : per_key)
    expected["g" + std::to_string(std::stoi(key.substr(1)) % 3)] += n;
  Reader& counts = read("group-counts");
  run_for(1500ms);
  world_.crash("s2");
  run_for(500ms);
  world_.process("s2").start();
  run_for(25s);
  expect_counted_once(counts, expected);
}

TEST_P(StreamsRuntimeTest, PunctuatesOnWallClockAndOnStreamTime) {
  add_instance("s1", [this](Process& self) {
    StreamsConfig config =
        config_for(self, "clocks", {{.source_topics = {"input"}, .make_processor = [](Partition) {
                                       return std::make_unique<Clocks>();
                                     }}});
    config.wall_clock_punctuation = 1s;
    config.stream_time_punctuation = 1s;
    return boot(world_, self, config);
  });
  feed(600);  // one record every 5 ms: three seconds of stream time
  Reader& ticks = read("ticks");
  Reader& closes = read("closes");
  run_for(12s);

  std::map<std::string, int> ticks_per_task;
  for (const auto& r : ticks.records) ++ticks_per_task[*r.key];
  ASSERT_EQ(ticks_per_task.size(), static_cast<std::size_t>(kPartitions));
  for (const auto& [task, n] : ticks_per_task) EXPECT_GE(n, 8) << task;

  std::map<std::string, std::vector<std::string>> seconds;
  for (const auto& r : closes.records) seconds[*r.key].push_back(*r.value);
  ASSERT_EQ(seconds.size(), static_cast<std::size_t>(kPartitions));
  for (const auto& [task, list] : seconds) {
    EXPECT_GE(list.size(), 2u) << task;
    EXPECT_TRUE(std::is_sorted(list.begin(), list.end())) << task;
    EXPECT_EQ(std::adjacent_find(list.begin(), list.end()), list.end()) << task << " twice";
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, StreamsRuntimeTest, testing::Values(1, 2, 3, 4, 5));

}  // namespace
}  // namespace orderflow::core
