// The runtime's simulation hooks: each canary breaks the guarantee it names in a
// way a per-key counter shows, each fault point is survived without losing or
// doubling a count, and the rare paths bump their probes.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/streams/streams.h"
#include "sim/world.h"
#include "tests/streams/test_hooks.h"
#include "tests/support/recording_handler.h"
#include "tests/support/topic_readers.h"

namespace orderflow::core {
namespace {

using namespace std::chrono_literals;
using hooks::Canary;
using sim::Process;
using testing_support::TestHooks;

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

struct Instance {
  std::unique_ptr<StreamsRuntime> runtime;
};

// A fresh world running the counter application. The hooks the test installed
// before building it see everything.
class CounterWorld {
 public:
  CounterWorld() : world_({.seed = 7}) {
    for (const char* topic : {"input", "counts"}) {
      world_.cluster().create_topic({topic, kPartitions, 3, false});
    }
    world_.cluster().create_topic({"input.dlq", 1, 3, false});
    Process& client = world_.add_process("client");
    client.start();
    readers_ = std::make_unique<testing_support::TopicReaders>(world_, client);
    counts_ = &readers_->read("counts");
    producer_ = world_.broker(client).make_producer({.client_id = "feeder"});
  }

  void add_instance(const std::string& name, Duration commit_interval = 100ms,
                    Duration transaction_timeout = 10s) {
    Process& p = world_.add_process(name);
    p.set_boot([this, commit_interval, transaction_timeout](Process& self) {
      return boot(self, commit_interval, transaction_timeout);
    });
    p.start();
  }

  // Sends `count` records round-robin over the keys, one every 5 ms, a poison
  // record every 50th; returns the countable records per key.
  std::map<std::string, int> feed(int count) {
    std::map<std::string, int> expected;
    for (int i = 0; i < count; ++i) {
      const std::string key = "k" + std::to_string(i % kKeys);
      const bool poison = i % 50 == 49;
      if (!poison) ++expected[key];
      world_.process("client").scheduler().schedule_after(Duration{5'000 * i}, [this, key, poison] {
        producer_->send({"input", key, poison ? "poison" : "1", {}, std::nullopt},
                        [](Result<RecordMetadata> r) { ASSERT_TRUE(r.has_value()); });
      });
    }
    return expected;
  }

  void run_for(Duration d) { world_.kernel().run_until(world_.kernel().now() + d); }
  [[nodiscard]] sim::World& world() { return world_; }

  // Each key's counts, in the order they were emitted.
  [[nodiscard]] std::map<std::string, std::vector<int>> counts() const {
    std::map<std::string, std::vector<int>> seen;
    for (const auto& r : counts_->records) seen[*r.key].push_back(std::stoi(*r.value));
    return seen;
  }

 private:
  std::shared_ptr<void> boot(Process& self, Duration commit_interval,
                             Duration transaction_timeout) {
    StreamsConfig config{
        .application_id = "counter",
        .instance_id = self.name(),
        .topologies = {{.source_topics = {"input"},
                        .stores = {"counts"},
                        .make_processor = [](Partition) { return std::make_unique<Counter>(); }}},
        .commit_interval = commit_interval,
        .session_timeout = 6s,
        .heartbeat_interval = 1s,
        .transaction_timeout = transaction_timeout};
    auto instance = std::make_shared<Instance>();
    instance->runtime = std::make_unique<StreamsRuntime>(
        world_.broker(self), self.scheduler(), self.clock(), self.log(),
        [&self](const std::string& name, Partition p) -> StateStore& {
          return self.disk().store(name + "-" + std::to_string(p.value()));
        },
        config);
    instance->runtime->start();
    return instance;
  }

  sim::World world_;
  std::unique_ptr<testing_support::TopicReaders> readers_;
  testing_support::RecordingHandler* counts_ = nullptr;
  std::unique_ptr<Producer> producer_;
};

using Counts = std::map<std::string, std::vector<int>>;

// Every key counted 1, 2, ..., n: nothing lost, nothing doubled.
bool counted_once(const Counts& counts, const std::map<std::string, int>& expected) {
  for (const auto& [key, n] : expected) {
    auto it = counts.find(key);
    if (it == counts.end() || it->second.size() != static_cast<std::size_t>(n)) return false;
    for (int i = 0; i < n; ++i) {
      if (it->second[static_cast<std::size_t>(i)] != i + 1) return false;
    }
  }
  return true;
}

// Some key's final count is short of its records: inputs were skipped.
bool some_input_lost(const Counts& counts, const std::map<std::string, int>& expected) {
  for (const auto& [key, n] : expected) {
    auto it = counts.find(key);
    if (it == counts.end() || it->second.empty() || it->second.back() < n) return true;
  }
  return false;
}

std::size_t emitted(const Counts& counts) {
  std::size_t n = 0;
  for (const auto& [key, list] : counts) n += list.size();
  return n;
}

std::size_t records(const std::map<std::string, int>& expected) {
  std::size_t n = 0;
  for (const auto& [key, count] : expected) n += static_cast<std::size_t>(count);
  return n;
}

struct Outcome {
  std::map<std::string, int> expected;
  Counts counts;
};

// Crashes the only instance four times, each time between two commits.
Outcome crash_repeatedly(TestHooks&) {
  CounterWorld w;
  w.add_instance("s1");
  Outcome run{w.feed(600), {}};
  for (int i = 0; i < 4; ++i) {
    w.run_for(610ms);
    w.world().crash("s1");
    w.world().process("s1").start();
  }
  w.run_for(10s);
  run.counts = w.counts();
  return run;
}

// The only instance loses its disk in a crash and restarts.
Outcome lose_the_disk(TestHooks&) {
  CounterWorld w;
  w.add_instance("s1");
  Outcome run{w.feed(300), {}};
  w.run_for(1s);
  w.world().crash("s1");
  w.world().wipe_disk("s1");
  w.world().process("s1").start();
  w.run_for(10s);
  run.counts = w.counts();
  return run;
}

// Input offsets committed ahead of the transaction survive its abort in a crash,
// so the records it held are never counted.
TEST(StreamsCanaryTest, CommitBeforeProduceLosesTheInputsOfACrashedTransaction) {
  {
    TestHooks hooks;
    const Outcome run = crash_repeatedly(hooks);
    EXPECT_TRUE(counted_once(run.counts, run.expected));
  }
  TestHooks hooks;
  hooks.enable(Canary::kCommitBeforeProduce);
  const Outcome run = crash_repeatedly(hooks);
  EXPECT_TRUE(some_input_lost(run.counts, run.expected));
}

// Without transactions a crash after the outputs went out and before the offsets
// did replays records: more counts are emitted than there were records.
TEST(StreamsCanaryTest, NoTransactionsDoublesCountsAfterACrash) {
  {
    TestHooks hooks;
    const Outcome run = crash_repeatedly(hooks);
    EXPECT_TRUE(counted_once(run.counts, run.expected));
  }
  TestHooks hooks;
  hooks.enable(Canary::kNoTransactions);
  const Outcome run = crash_repeatedly(hooks);
  EXPECT_GT(emitted(run.counts), records(run.expected));
}

// Without the replay of its changelog a wiped store starts counting from zero.
TEST(StreamsCanaryTest, SkipStoreRestoreStartsAWipedStoreFromNothing) {
  {
    TestHooks hooks;
    const Outcome run = lose_the_disk(hooks);
    EXPECT_TRUE(counted_once(run.counts, run.expected));
    EXPECT_GT(hooks.probes("streams.store_restored"), 0);
  }
  TestHooks hooks;
  hooks.enable(Canary::kSkipStoreRestore);
  const Outcome run = lose_the_disk(hooks);
  EXPECT_TRUE(some_input_lost(run.counts, run.expected)) << "counts restart after the wipe";
  EXPECT_EQ(hooks.probes("streams.store_restored"), 0);
}

TEST(StreamsFaultPointTest, FailingCommitsAreRetriedAndCountOnce) {
  TestHooks hooks;
  hooks.fire_every("streams.commit_fails", 3);
  CounterWorld w;
  w.add_instance("s1");
  const auto expected = w.feed(600);
  w.run_for(10s);
  EXPECT_TRUE(counted_once(w.counts(), expected));
  EXPECT_GT(hooks.fired("streams.commit_fails"), 0);
  EXPECT_EQ(hooks.probes("streams.commit_retried"), hooks.fired("streams.commit_fails"));
}

TEST(StreamsFaultPointTest, CommitsAbortedInsteadAreRedoneAndCountOnce) {
  TestHooks hooks;
  hooks.fire_every("streams.abort_before_commit", 4);
  CounterWorld w;
  w.add_instance("s1");
  const auto expected = w.feed(600);
  w.run_for(15s);
  EXPECT_TRUE(counted_once(w.counts(), expected));
  EXPECT_GT(hooks.fired("streams.abort_before_commit"), 0);
  EXPECT_GE(hooks.probes("streams.transaction_aborted"),
            hooks.fired("streams.abort_before_commit"));
  EXPECT_GT(hooks.probes("streams.store_restored"), 0) << "an abort rebuilds the stores";
}

// The commit that ends a revocation aborts instead, and the abort is slow to be
// answered: the instance rejoins meanwhile and is given back partitions whose tasks
// still wait to be removed by that abort. They must start again, not be resumed and
// then dropped with the aborted work, which left the partitions assigned and idle.
TEST(StreamsFaultPointTest, TasksGivenBackWhileTheirRevocationAbortsKeepCounting) {
  TestHooks hooks;
  CounterWorld w;
  // An instance whose transaction coordinator is not its group's coordinator, so
  // that the abort's answer can be held up while the rebalance goes on.
  const auto& cluster = w.world().cluster();
  std::string name = "s1";
  while (cluster.coordinator_of("counter-" + name) == cluster.coordinator_of("counter")) {
    name += "x";
  }
  const std::string txn_coordinator =
      "broker-" + std::to_string(cluster.coordinator_of("counter-" + name));
  w.add_instance(name, /*commit_interval=*/12s, /*transaction_timeout=*/30s);
  const auto expected = w.feed(1200);
  w.run_for(1s);
  hooks.fire_once("streams.abort_before_commit");  // no commit is due before the revocation
  w.add_instance("other");
  w.world().clog(txn_coordinator, name, 2500ms);
  w.run_for(40s);

  EXPECT_EQ(hooks.fired("streams.abort_before_commit"), 1);
  EXPECT_GT(hooks.probes("streams.revoked_mid_transaction"), 0);
  EXPECT_TRUE(counted_once(w.counts(), expected));
}

// A second instance joining revokes partitions from the first mid-transaction. The
// first then sleeps past its session but neither past its transaction timeout nor
// until its next commit: on waking, the heartbeat tells it its partitions are lost
// while the transaction is still open, and it aborts that.
TEST(StreamsProbeTest, RevocationAndLossMidTransactionBumpTheirProbes) {
  TestHooks hooks;
  CounterWorld w;
  w.add_instance("s1", /*commit_interval=*/12s, /*transaction_timeout=*/30s);
  const auto expected = w.feed(1200);
  w.run_for(1s);
  w.add_instance("s2");
  w.run_for(1s);
  w.world().pause("s1");
  w.run_for(7500ms);
  w.world().resume("s1");
  w.run_for(30s);

  EXPECT_TRUE(counted_once(w.counts(), expected));
  EXPECT_GE(hooks.probes("streams.dead_lettered"), 1200 / 50);
  EXPECT_GT(hooks.probes("streams.revoked_mid_transaction"), 0);
  EXPECT_GT(hooks.probes("streams.lost_mid_transaction"), 0);
  EXPECT_GT(hooks.probes("streams.transaction_aborted"), 0);
  EXPECT_GT(hooks.probes("streams.store_restored"), 0);
}

// Alone and paused past its transaction timeout, an instance wakes as a zombie
// whose producer is fenced.
TEST(StreamsProbeTest, AFencedZombieBumpsItsProbe) {
  TestHooks hooks;
  CounterWorld w;
  w.add_instance("s1");
  const auto expected = w.feed(600);
  w.run_for(1200ms);
  w.world().pause("s1");
  w.run_for(15s);
  w.world().resume("s1");
  w.run_for(20s);

  EXPECT_TRUE(counted_once(w.counts(), expected));
  EXPECT_GT(hooks.probes("streams.instance_fenced"), 0);
}

}  // namespace
}  // namespace orderflow::core
