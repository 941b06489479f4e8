// The Kafka history checker: a correct cluster under faults passes; each anomaly
// kind is reported when a client misbehaves (a producer without idempotence) or
// when the history or the log is corrupted in a way a correct cluster never is.
#include "sim/checkers/kafka_history.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/sim_broker/history.h"
#include "sim/world.h"
#include "tests/support/recording_handler.h"

namespace orderflow::sim {
namespace {

using namespace std::chrono_literals;
using adapters::ConsumerEvent;
using adapters::ConsumerEventKind;
using adapters::KafkaHistory;
using adapters::KafkaHistoryTamper;
using adapters::SendStatus;

std::set<std::string> kinds_of(const Violations& violations) {
  std::set<std::string> kinds;
  for (const auto& v : violations) kinds.insert(v.kind);
  return kinds;
}

std::string describe(const Violations& violations) {
  std::string out;
  for (std::size_t i = 0; i < violations.size() && i < 10; ++i) {
    const auto& v = violations[i];
    out += "\n  " + v.checker + "/" + v.kind + " at " + std::to_string((v.at - kSimEpoch).count()) +
           "us: " + v.detail;
  }
  if (violations.size() > 10) out += "\n  ... " + std::to_string(violations.size() - 10) + " more";
  return out;
}

// ---------------------------------------------------------------------------------
// The mixed workload of sim/broker_workload.h — an idempotent and a transactional
// producer, a cooperative group of two consumers, and the same faults — built here
// because that workload keeps its world to itself.

constexpr const char* kWorkloadTopic = "workload";

class WorkloadWriter {
 public:
  WorkloadWriter(Process& process, core::Broker& broker, bool transactional) : process_(process) {
    core::ProducerOptions options{.client_id = process.name()};
    if (transactional) options.transactional_id = process.name();
    producer_ = broker.make_producer(options);
    if (!transactional) {
      tick();
      return;
    }
    producer_->init_transactions([this](core::Result<> r) {
      if (r) begin();
    });
  }

 private:
  core::Duration interval() {
    return core::Duration{static_cast<std::int64_t>(process_.random().exponential(5000))};
  }

  void tick() {
    process_.scheduler().schedule_after(interval(), [this] {
      send();
      tick();
    });
  }

  void send() {
    producer_->send({kWorkloadTopic,
                     "k" + std::to_string(process_.random().uniform(64)),
                     process_.name() + "-" + std::to_string(sent_++),
                     {},
                     {}},
                    [](core::Result<core::RecordMetadata>) {});
  }

  void begin() {
    if (!producer_->begin_transaction()) return;
    const auto sends = 1 + process_.random().uniform(5);
    for (std::uint64_t i = 0; i < sends; ++i) send();
    auto done = [this](core::Result<> r) {
      if (!r && r.error().kind == core::ErrorKind::kFenced) return;
      if (!r) return producer_->abort_transaction([this](core::Result<>) { next(); });
      next();
    };
    if (process_.random().bernoulli(0.1)) {
      producer_->abort_transaction(done);
    } else {
      producer_->commit_transaction(done);
    }
  }

  void next() {
    process_.scheduler().schedule_after(interval(), [this] { begin(); });
  }

  Process& process_;
  std::unique_ptr<core::Producer> producer_;
  std::uint64_t sent_ = 0;
};

class WorkloadReader final : public testing_support::RecordingHandler {
 public:
  WorkloadReader(Process& process, core::Broker& broker) : process_(process) {
    core::ConsumerOptions options{.group_id = "workload", .client_id = process.name()};
    options.session_timeout = 6s;
    options.heartbeat_interval = 1s;
    consumer_ = broker.make_consumer(options, *this);
    consumer_->subscribe({kWorkloadTopic});
    commit_later();
  }

  void on_records(const std::vector<core::ConsumerRecord>& batch) override {
    for (const auto& r : batch) next_[r.tp] = r.offset.next();
  }
  void on_revoked(const std::vector<core::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) next_.erase(tp);
  }
  void on_lost(const std::vector<core::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) next_.erase(tp);
  }

 private:
  void commit_later() {
    process_.scheduler().schedule_after(1s, [this] {
      std::vector<core::TopicPartitionOffset> offsets;
      for (const auto& [tp, offset] : next_) offsets.push_back({tp, offset});
      if (!offsets.empty()) consumer_->commit(offsets, [](core::Result<>) {});
      commit_later();
    });
  }

  Process& process_;
  std::unique_ptr<core::Consumer> consumer_;
  std::map<core::TopicPartition, core::Offset> next_;
};

struct WorkloadRun {
  Violations violations;
  std::uint64_t trace_hash = 0;
  std::size_t acked = 0;
  std::size_t deliveries = 0;
  std::size_t resets = 0;
  std::size_t commits = 0;
};

void schedule_workload_faults(World& world, core::Duration duration) {
  Prng random = world.kernel().random().fork("faults");
  Kernel& k = world.kernel();
  auto at = [&](double fraction) {
    return k.start() + core::Duration{static_cast<std::int64_t>(
                           static_cast<double>(duration.count()) * fraction)};
  };
  const double lose_at = 0.1 + 0.2 * random.unit();
  k.at(at(lose_at), [&world] { world.lose_acks("producer-idem", 0.2); });
  k.at(at(lose_at + 0.1), [&world] { world.lose_acks("producer-idem", 0); });
  const core::Partition moved{static_cast<std::int32_t>(random.uniform(6))};
  k.at(at(0.2 + 0.3 * random.unit()), [&world, moved] {
    world.move_leader({kWorkloadTopic, moved});
  });
  const double pause_at = 0.3 + 0.2 * random.unit();
  k.at(at(pause_at), [&world] { world.pause("consumer-1"); });
  k.at(at(pause_at) + 8s, [&world] { world.resume("consumer-1"); });
  k.at(at(0.5 + 0.3 * random.unit()), [&world] { world.force_rebalance("workload"); });
  const double crash_at = 0.4 + 0.3 * random.unit();
  k.at(at(crash_at), [&world] { world.crash("producer-txn"); });
  k.at(at(crash_at) + 2s, [&world] { world.process("producer-txn").start(); });
}

WorkloadRun run_workload(std::uint64_t seed, bool history, core::Duration duration = 20s) {
  World world({.seed = seed, .cluster = {.brokers = 3}});
  if (history) world.cluster().enable_history();
  EXPECT_TRUE(world.cluster().create_topic({kWorkloadTopic, 6, 3, false}));
  auto writer = [&world](const std::string& name, bool transactional) {
    Process& p = world.add_process(name);
    p.set_boot([&world, transactional](Process& self) {
      return std::make_shared<WorkloadWriter>(self, world.broker(self), transactional);
    });
    p.start();
  };
  auto reader = [&world](const std::string& name) {
    Process& p = world.add_process(name);
    p.set_boot([&world](Process& self) {
      return std::make_shared<WorkloadReader>(self, world.broker(self));
    });
    p.start();
  };
  writer("producer-idem", false);
  writer("producer-txn", true);
  reader("consumer-1");
  reader("consumer-2");
  schedule_workload_faults(world, duration);
  world.kernel().run_until(world.kernel().start() + duration);

  WorkloadRun run;
  run.violations = check_kafka_history(world.cluster());
  run.trace_hash = world.kernel().trace().hash();
  const KafkaHistory& h = world.cluster().history();
  run.acked = static_cast<std::size_t>(std::ranges::count_if(
      h.sends(), [](const auto& s) { return s.status == SendStatus::kAcked; }));
  for (const auto& e : h.consumer_events()) {
    ++(adapters::is_position_reset(e.kind) ? run.resets : run.deliveries);
  }
  run.commits = static_cast<std::size_t>(
      std::ranges::count_if(h.txn_outcomes(), [](const auto& o) { return o.commit; }));
  return run;
}

// Five seeds by default; sweeps set more through ORDERFLOW_KAFKA_HISTORY_SEEDS.
std::uint64_t seed_count() {
  const char* configured = std::getenv("ORDERFLOW_KAFKA_HISTORY_SEEDS");
  return configured != nullptr ? std::strtoull(configured, nullptr, 10) : 5;
}

TEST(KafkaHistoryWorkload, MixedWorkloadWithFaultsHasNoViolations) {
  for (std::uint64_t seed = 1; seed <= seed_count(); ++seed) {
    const WorkloadRun run = run_workload(seed, /*history=*/true);
    EXPECT_TRUE(run.violations.empty()) << "seed " << seed << ":" << describe(run.violations);
    EXPECT_GT(run.acked, 1000u) << "seed " << seed;
    EXPECT_GT(run.deliveries, run.acked / 2) << "seed " << seed;
    EXPECT_GT(run.resets, 0u) << "seed " << seed << ": rebalances reset positions";
    EXPECT_GT(run.commits, 0u) << "seed " << seed;
  }
}

TEST(KafkaHistoryWorkload, RecordingDoesNotChangeTheRun) {
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    EXPECT_EQ(run_workload(seed, true, 6s).trace_hash, run_workload(seed, false, 6s).trace_hash)
        << "seed " << seed;
  }
}

// ---------------------------------------------------------------------------------
// Small worlds on one partition, where each anomaly is made on purpose.

constexpr const char* kTopic = "t";
const core::TopicPartition kTp{kTopic, core::Partition{0}};

struct Client {
  testing_support::RecordingHandler handler;
  std::unique_ptr<core::Consumer> consumer;
};

class KafkaHistoryTest : public testing::Test {
 protected:
  explicit KafkaHistoryTest(bool history = true) : world_({.seed = 11}) {
    if (history) world_.cluster().enable_history();
    EXPECT_TRUE(world_.cluster().create_topic({.name = kTopic, .partitions = 1}));
  }

  core::Broker& broker(const std::string& name) {
    Process& p = world_.add_process(name);
    p.start();
    return world_.broker(p);
  }

  // A read_committed member of group "g".
  Client& member(const std::string& name) {
    auto& c = clients_.emplace_back(std::make_unique<Client>());
    c->consumer = broker(name).make_consumer({.group_id = "g", .client_id = name}, c->handler);
    c->consumer->subscribe({kTopic});
    return *c;
  }

  // A group-less reader of the whole partition.
  Client& reader(const std::string& name, core::IsolationLevel isolation) {
    auto& c = clients_.emplace_back(std::make_unique<Client>());
    core::ConsumerOptions options{.client_id = name};
    options.isolation = isolation;
    c->consumer = broker(name).make_consumer(options, c->handler);
    c->consumer->assign({{kTp, core::Offset{0}}});
    return *c;
  }

  // `count` records from one producer, `spacing` apart.
  void write(core::ProducerOptions options, int count, core::Duration spacing = 0ms) {
    core::Broker& b = broker(options.client_id);
    core::Producer* producer = producers_.emplace_back(b.make_producer(options)).get();
    for (int i = 0; i < count; ++i) {
      world_.kernel().after(spacing * i, [this, producer, i] {
        producer->send({kTopic, "k", "v" + std::to_string(i), {}, {}},
                       [this](core::Result<core::RecordMetadata> r) { acked_ += r ? 1 : 0; });
      });
    }
  }

  // Transactions of five records each, held open `hold` before they end as
  // `outcomes` says (true: commit).
  void write_transactions(std::vector<bool> outcomes, core::Duration hold) {
    core::Broker& b = broker("txn-writer");
    core::Producer* producer =
        producers_
            .emplace_back(
                b.make_producer({.client_id = "txn-writer", .transactional_id = "txn-writer"}))
            .get();
    producer->init_transactions([this, producer, outcomes, hold](core::Result<> r) {
      ASSERT_TRUE(r);
      run_transactions(*producer, outcomes, 0, hold);
    });
  }

  void run_transactions(core::Producer& producer, std::vector<bool> outcomes, std::size_t i,
                        core::Duration hold) {
    if (i == outcomes.size()) return;
    ASSERT_TRUE(producer.begin_transaction());
    for (int r = 0; r < 5; ++r) {
      producer.send({kTopic, "k", "t" + std::to_string(i) + "-" + std::to_string(r), {}, {}},
                    [](core::Result<core::RecordMetadata> result) { EXPECT_TRUE(result); });
    }
    world_.kernel().after(hold, [this, &producer, outcomes, i, hold] {
      auto then = [this, &producer, outcomes, i, hold](core::Result<> r) {
        EXPECT_TRUE(r);
        ++transactions_ended_;
        run_transactions(producer, outcomes, i + 1, hold);
      };
      if (outcomes[i]) {
        producer.commit_transaction(then);
      } else {
        producer.abort_transaction(then);
      }
    });
  }

  void run_for(core::Duration d) { world_.kernel().run_until(world_.kernel().now() + d); }
  [[nodiscard]] Violations check() { return check_kafka_history(world_.cluster()); }

  KafkaHistory& history() { return *world_.cluster().recording(); }
  adapters::PartitionLog& log() { return KafkaHistoryTamper::log(world_.cluster(), kTp); }
  std::vector<ConsumerEvent>& events() { return KafkaHistoryTamper::consumer_events(history()); }
  [[nodiscard]] adapters::ClientIndex consumer_index(const std::string& client_id) {
    const auto& all = history().consumers();
    auto it = std::ranges::find_if(all, [&](const auto& c) { return c.client_id == client_id; });
    EXPECT_NE(it, all.end()) << client_id;
    return static_cast<adapters::ClientIndex>(it - all.begin());
  }
  // The position in `events()` of a consumer's delivery of `offset`.
  std::vector<ConsumerEvent>::iterator delivery(const std::string& client_id, std::int64_t offset) {
    const auto who = consumer_index(client_id);
    auto it = std::ranges::find_if(events(), [&](const ConsumerEvent& e) {
      return e.consumer == who && e.kind == ConsumerEventKind::kDelivered &&
             e.offset.value() == offset;
    });
    EXPECT_NE(it, events().end()) << client_id << " never got offset " << offset;
    return it;
  }
  adapters::SendEvent& send_at(std::int64_t offset) {
    auto& sends = KafkaHistoryTamper::sends(history());
    auto it = std::ranges::find_if(sends, [&](const auto& s) {
      return s.status == SendStatus::kAcked && s.offset.value() == offset;
    });
    EXPECT_NE(it, sends.end()) << "no send acknowledged at " << offset;
    return *it;
  }

  // Twenty records from an idempotent producer, read by a group member and by a
  // reader of the partition.
  void twenty_records_read_twice() {
    member("member");
    reader("reader", core::IsolationLevel::kReadCommitted);
    write({.client_id = "writer"}, 20, 5ms);
    run_for(10s);
    ASSERT_EQ(acked_, 20);
    ASSERT_EQ(log().records.size(), 20u);
  }

  // Expects exactly violations of `kind`, at least one.
  static void expect_only(const Violations& violations, const std::string& kind) {
    EXPECT_FALSE(violations.empty()) << "expected " << kind;
    EXPECT_EQ(kinds_of(violations), std::set<std::string>{kind}) << describe(violations);
    for (const auto& v : violations) {
      EXPECT_EQ(v.checker, "kafka");
      EXPECT_FALSE(v.detail.empty());
      EXPECT_GT(v.at, kSimEpoch) << v.kind;
    }
  }

  World world_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::unique_ptr<core::Producer>> producers_;
  int acked_ = 0;
  int transactions_ended_ = 0;
};

TEST_F(KafkaHistoryTest, ACleanRunRecordsSendsDeliveriesAndResets) {
  twenty_records_read_twice();
  EXPECT_TRUE(check().empty()) << describe(check());
  const KafkaHistory& h = world_.cluster().history();
  ASSERT_EQ(h.sends().size(), 20u);
  for (std::size_t i = 0; i < h.sends().size(); ++i) {
    const auto& s = h.sends()[i];
    EXPECT_EQ(s.id, i + 1);
    EXPECT_EQ(s.status, SendStatus::kAcked);
    EXPECT_EQ(h.partition(s.tp), kTp);
    EXPECT_EQ(log().records[static_cast<std::size_t>(s.offset.value())].send_id, s.id);
    EXPECT_GE(s.reported_at, s.sent_at);
  }
  ASSERT_EQ(h.producers().size(), 1u);
  EXPECT_EQ(h.producers()[0].client_id, "writer");
  EXPECT_TRUE(h.producers()[0].idempotent);
  ASSERT_EQ(h.consumers().size(), 2u);
  EXPECT_TRUE(h.consumers()[consumer_index("member")].subscribed);
  EXPECT_FALSE(h.consumers()[consumer_index("reader")].subscribed);
  std::map<std::string, int> delivered;
  std::map<ConsumerEventKind, int> resets;
  for (const auto& e : h.consumer_events()) {
    if (e.kind == ConsumerEventKind::kDelivered) {
      ++delivered[h.consumers()[e.consumer].client_id];
      EXPECT_EQ(e.send, log().records[static_cast<std::size_t>(e.offset.value())].send_id);
    } else {
      ++resets[e.kind];
    }
  }
  EXPECT_EQ(delivered["member"], 20);
  EXPECT_EQ(delivered["reader"], 20);
  EXPECT_EQ(resets[ConsumerEventKind::kAssigned], 1);
  EXPECT_EQ(resets[ConsumerEventKind::kRebalanceAssigned], 1);
}

TEST_F(KafkaHistoryTest, TransactionOutcomesCoverTheirRecordsAndMarkers) {
  member("member");
  write_transactions({true, false}, 200ms);
  run_for(5s);
  ASSERT_EQ(transactions_ended_, 2);
  EXPECT_TRUE(check().empty()) << describe(check());
  const KafkaHistory& h = world_.cluster().history();
  ASSERT_EQ(h.txn_outcomes().size(), 2u);
  EXPECT_TRUE(h.txn_outcomes()[0].commit);
  EXPECT_FALSE(h.txn_outcomes()[1].commit);
  EXPECT_EQ(h.string(h.txn_outcomes()[0].transactional_id), "txn-writer");
  ASSERT_EQ(h.covered(h.txn_outcomes()[0]).size(), 5u);
  EXPECT_EQ(h.covered(h.txn_outcomes()[1]).front().offset.value(), 6);  // after marker 5
  ASSERT_EQ(h.txn_ends().size(), 2u);
  EXPECT_TRUE(h.txn_ends()[0].ok);
  const auto final_log = adapters::final_records(log());
  ASSERT_EQ(final_log.size(), 12u);
  EXPECT_EQ(final_log[0].status, adapters::TxnStatus::kCommitted);
  EXPECT_TRUE(final_log[5].control);
  EXPECT_EQ(final_log[6].status, adapters::TxnStatus::kAborted);
  EXPECT_TRUE(final_log[11].control);
  EXPECT_EQ(h.sends()[6].txn, 2u);
}

TEST_F(KafkaHistoryTest, SeekingBackIsAResetNotANonmonotonicPoll) {
  Client& r = reader("reader", core::IsolationLevel::kReadCommitted);
  write({.client_id = "writer"}, 10);
  run_for(2s);
  r.consumer->seek({kTp, core::Offset{3}});
  run_for(2s);
  EXPECT_EQ(r.handler.records.size(), 17u);
  EXPECT_TRUE(check().empty()) << describe(check());
}

class KafkaHistoryOffTest : public KafkaHistoryTest {
 protected:
  KafkaHistoryOffTest() : KafkaHistoryTest(/*history=*/false) {}
};

TEST_F(KafkaHistoryOffTest, RecordsNothingByDefault) {
  member("member");
  write({.client_id = "writer"}, 20, 5ms);
  write_transactions({true}, 100ms);
  run_for(5s);
  EXPECT_FALSE(world_.cluster().history_enabled());
  EXPECT_EQ(world_.cluster().recording(), nullptr);
  EXPECT_TRUE(world_.cluster().history().empty());
  EXPECT_EQ(log().records.size(), 26u);
  for (const auto& r : log().records) EXPECT_EQ(r.send_id, adapters::kNoSend);
  EXPECT_TRUE(check().empty());
}

// --- Anomalies a misbehaving client really produces.

TEST_F(KafkaHistoryTest, AProducerWithoutIdempotenceDuplicatesOnLostAcks) {
  member("member");
  write({.client_id = "careless", .idempotent = false, .max_in_flight = 1}, 40, 20ms);
  world_.lose_acks("careless", 0.5);
  run_for(30s);
  const auto violations = check();
  EXPECT_TRUE(kinds_of(violations).contains("duplicate")) << describe(violations);
  // A retry may also land behind a later batch; nothing else may go wrong.
  for (const auto& v : violations) {
    EXPECT_TRUE(v.kind == "duplicate" || v.kind == "nonmonotonic_send") << v.detail;
  }
}

TEST_F(KafkaHistoryTest, AProducerWithoutIdempotenceReordersRetries) {
  member("member");
  write({.client_id = "careless", .idempotent = false, .max_in_flight = 5}, 60, 5ms);
  world_.lose_acks("careless", 0.3);
  run_for(30s);
  const auto kinds = kinds_of(check());
  EXPECT_TRUE(kinds.contains("nonmonotonic_send")) << describe(check());
  EXPECT_TRUE(kinds.contains("duplicate"));
}

// --- Anomalies a correct cluster never produces, made by corrupting the record.

TEST_F(KafkaHistoryTest, ATruncatedLogLosesAnAcknowledgedWrite) {
  twenty_records_read_twice();
  log().records.pop_back();
  expect_only(check(), "lost_write");
}

TEST_F(KafkaHistoryTest, ACommitMarkerTurnedAbortLosesCommittedWrites) {
  member("member");
  write_transactions({true}, 100ms);
  run_for(3s);
  ASSERT_TRUE(log().records.back().control);
  log().records.back().commit = false;
  const auto violations = check();
  expect_only(violations, "lost_write");
  EXPECT_EQ(violations.size(), 5u);
}

TEST_F(KafkaHistoryTest, ARecordStoredTwiceIsADuplicate) {
  twenty_records_read_twice();
  adapters::StoredRecord copy = log().records[3];
  copy.offset = log().end();
  log().records.push_back(copy);
  expect_only(check(), "duplicate");
}

TEST_F(KafkaHistoryTest, ADeliveryOfAnotherSendIsInconsistent) {
  twenty_records_read_twice();
  delivery("reader", 5)->send = send_at(6).id;
  expect_only(check(), "inconsistent_offsets");
}

TEST_F(KafkaHistoryTest, AnAcknowledgementOfAnotherOffsetIsInconsistent) {
  twenty_records_read_twice();
  // Send 7 claims offset 8, which holds send 9; send 7 is still in the log.
  send_at(7).offset = core::Offset{8};
  const auto violations = check();
  EXPECT_TRUE(kinds_of(violations).contains("inconsistent_offsets")) << describe(violations);
  EXPECT_FALSE(kinds_of(violations).contains("lost_write"));
}

TEST_F(KafkaHistoryTest, AMissingDeliveryIsAPollSkip) {
  twenty_records_read_twice();
  events().erase(delivery("reader", 5));
  expect_only(check(), "poll_skip");
}

TEST_F(KafkaHistoryTest, ARepeatedDeliveryIsANonmonotonicPoll) {
  twenty_records_read_twice();
  auto it = delivery("reader", 5);
  events().insert(std::next(it), *it);
  expect_only(check(), "nonmonotonic_poll");
}

TEST_F(KafkaHistoryTest, AcknowledgementsOutOfSendOrderAreANonmonotonicSend) {
  twenty_records_read_twice();
  // Sends 4 and 5 trade places in the log, the acknowledgements and the deliveries,
  // so that everything agrees except the order in which they were sent.
  auto& a = send_at(3);
  auto& b = send_at(4);
  std::swap(a.offset, b.offset);
  std::swap(log().records[3].send_id, log().records[4].send_id);
  for (auto& e : events()) {
    if (e.kind != ConsumerEventKind::kDelivered) continue;
    if (e.offset.value() == 3) e.send = log().records[3].send_id;
    if (e.offset.value() == 4) e.send = log().records[4].send_id;
  }
  expect_only(check(), "nonmonotonic_send");
}

TEST_F(KafkaHistoryTest, AReadCommittedConsumerGivenAbortedRecordsIsAnAbortedRead) {
  member("member");
  reader("reader", core::IsolationLevel::kReadUncommitted);
  write_transactions({false, false}, 300ms);
  run_for(5s);
  ASSERT_TRUE(check().empty()) << describe(check());
  // As if the reader had asked for read_committed and got them all the same.
  KafkaHistoryTamper::consumers(history())[consumer_index("reader")].isolation =
      core::IsolationLevel::kReadCommitted;
  const auto violations = check();
  expect_only(violations, "aborted_read");
  EXPECT_EQ(violations.size(), 10u);
}

TEST_F(KafkaHistoryTest, AReadCommittedConsumerGivenOpenTransactionsIsAPrecommittedRead) {
  member("member");
  reader("reader", core::IsolationLevel::kReadUncommitted);
  write_transactions({true, true}, 300ms);
  run_for(5s);
  ASSERT_TRUE(check().empty()) << describe(check());
  KafkaHistoryTamper::consumers(history())[consumer_index("reader")].isolation =
      core::IsolationLevel::kReadCommitted;
  const auto violations = check();
  expect_only(violations, "precommitted_read");
  EXPECT_EQ(violations.size(), 10u);
}

TEST_F(KafkaHistoryTest, ARecordNoConsumerWasGivenIsUnseen) {
  twenty_records_read_twice();
  // Both consumers were moved past offset 5 instead of being handed it.
  for (const char* who : {"member", "reader"}) {
    auto it = delivery(who, 5);
    it->kind = ConsumerEventKind::kSought;
    it->send = adapters::kNoSend;
  }
  const auto violations = check();
  expect_only(violations, "unseen");
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("t/0@5"), std::string::npos) << violations[0].detail;
}

}  // namespace
}  // namespace orderflow::sim
