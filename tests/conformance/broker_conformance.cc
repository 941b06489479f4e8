#include "tests/conformance/broker_conformance.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/murmur2.h"
#include "tests/support/recording_handler.h"

namespace orderflow::conformance {
namespace {

using core::ConsumerRecord;
using core::TopicPartition;
using namespace std::chrono_literals;

constexpr core::Duration kPatience = 60s;

// Records what a consumer was told, in order.
class Recorder : public testing_support::RecordingHandler {
 public:
  [[nodiscard]] std::vector<std::string> values() const {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.value.value_or(""));
    return out;
  }
};

core::Result<> create_topic(BrokerHarness& h, const std::string& name, int partitions) {
  std::optional<core::Result<>> result;
  h.endpoint("admin").broker->create_topics({{name, partitions, 1, false}},
                                            [&](core::Result<> r) { result = r; });
  if (!h.run_until([&] { return result.has_value(); }, kPatience)) {
    return core::make_error(core::ErrorKind::kRetriable, "timeout", "create_topics never answered");
  }
  return *result;
}

struct Sent {
  int acked = 0;
  int failed = 0;
  std::vector<core::RecordMetadata> metadata;
};

// Sends `count` records "prefix-i" with the given key function; returns when every
// delivery report has arrived.
Sent send_all(BrokerHarness& h, core::Producer& producer, const std::string& topic, int count,
              const std::function<std::string(int)>& key, const std::string& prefix = "v") {
  auto sent = std::make_shared<Sent>();
  for (int i = 0; i < count; ++i) {
    core::ProducerRecord record{topic, key(i), prefix + "-" + std::to_string(i), {}, std::nullopt};
    producer.send(std::move(record), [sent](core::Result<core::RecordMetadata> r) {
      if (r) {
        ++sent->acked;
        sent->metadata.push_back(*r);
      } else {
        ++sent->failed;
      }
    });
  }
  h.run_until([&] { return sent->acked + sent->failed == count; }, kPatience);
  return *sent;
}

core::ConsumerOptions group_options(
    const std::string& group,
    core::IsolationLevel isolation = core::IsolationLevel::kReadCommitted) {
  core::ConsumerOptions o;
  o.group_id = group;
  o.client_id = group + "-member";
  o.isolation = isolation;
  o.session_timeout = 6s;
  o.heartbeat_interval = 1s;
  return o;
}

std::unique_ptr<core::Consumer> subscribe(BrokerHarness& h, const std::string& endpoint,
                                          const core::ConsumerOptions& options,
                                          const std::string& topic, Recorder& recorder) {
  auto consumer = h.endpoint(endpoint).broker->make_consumer(options, recorder);
  consumer->subscribe({topic});
  return consumer;
}

core::Result<> await(BrokerHarness& h, const std::function<void(core::Completion)>& call) {
  std::optional<core::Result<>> result;
  call([&](core::Result<> r) { result = r; });
  if (!h.run_until([&] { return result.has_value(); }, kPatience)) {
    return core::make_error(core::ErrorKind::kRetriable, "timeout", "no completion");
  }
  return *result;
}

TEST_P(BrokerConformance, RecordsOfAPartitionArriveInSendOrder) {
  ASSERT_TRUE(create_topic(harness(), "ordered", 3));
  auto producer = harness().endpoint("producer").broker->make_producer({.client_id = "p"});
  const Sent sent = send_all(harness(), *producer, "ordered", 300,
                             [](int i) { return "k" + std::to_string(i % 10); });
  ASSERT_EQ(sent.acked, 300);

  Recorder recorder;
  auto consumer = subscribe(harness(), "consumer", group_options("g-order"), "ordered", recorder);
  ASSERT_TRUE(harness().run_until([&] { return recorder.records.size() >= 300; }, kPatience));

  std::map<std::string, int> last_of_key;
  std::map<TopicPartition, std::int64_t> last_offset;
  for (const auto& r : recorder.records) {
    const int i = std::stoi(r.value->substr(2));
    auto [it, fresh] = last_of_key.try_emplace(*r.key, i);
    if (!fresh) {
      EXPECT_LT(it->second, i) << "key " << *r.key << " out of send order";
    }
    it->second = i;
    auto [off, first] = last_offset.try_emplace(r.tp, r.offset.value());
    if (!first) {
      EXPECT_EQ(off->second + 1, r.offset.value()) << "offsets skip or repeat";
    }
    off->second = r.offset.value();
  }
  EXPECT_EQ(recorder.records.size(), 300u);
}

TEST_P(BrokerConformance, KeysLandOnTheirMurmur2Partition) {
  ASSERT_TRUE(create_topic(harness(), "keyed", 6));
  auto producer = harness().endpoint("producer").broker->make_producer({.client_id = "p"});
  std::vector<std::string> keys;
  for (int i = 0; i < 60; ++i) keys.push_back("order-" + std::to_string(i * 7919));
  auto sent = std::make_shared<std::vector<std::pair<std::string, core::Partition>>>();
  for (const auto& key : keys) {
    producer->send({"keyed", key, "x", {}, std::nullopt},
                   [sent, key](core::Result<core::RecordMetadata> r) {
                     if (r) sent->emplace_back(key, r->tp.partition);
                   });
  }
  ASSERT_TRUE(harness().run_until([&] { return sent->size() == keys.size(); }, kPatience));
  for (const auto& [key, partition] : *sent) {
    EXPECT_EQ(partition, core::partition_for_key(key, 6)) << "key " << key;
  }
}

TEST_P(BrokerConformance, CommittedOffsetsSurviveAConsumerRestart) {
  ASSERT_TRUE(create_topic(harness(), "restart", 2));
  auto producer = harness().endpoint("producer").broker->make_producer({.client_id = "p"});
  ASSERT_EQ(
      send_all(harness(), *producer, "restart", 100, [](int i) { return std::to_string(i); }).acked,
      100);

  {
    Recorder first;
    auto consumer = subscribe(harness(), "c1", group_options("g-restart"), "restart", first);
    ASSERT_TRUE(harness().run_until([&] { return first.records.size() >= 100; }, kPatience));
    std::map<TopicPartition, core::Offset> next;
    for (const auto& r : first.records) next[r.tp] = r.offset.next();
    std::vector<core::TopicPartitionOffset> offsets;
    for (const auto& [tp, offset] : next) offsets.push_back({tp, offset});
    ASSERT_TRUE(await(harness(), [&](core::Completion done) { consumer->commit(offsets, done); }));
    ASSERT_TRUE(await(harness(), [&](core::Completion done) { consumer->close(done); }));
  }

  ASSERT_EQ(
      send_all(
          harness(), *producer, "restart", 50, [](int i) { return std::to_string(i); }, "late")
          .acked,
      50);
  Recorder second;
  auto consumer = subscribe(harness(), "c2", group_options("g-restart"), "restart", second);
  ASSERT_TRUE(harness().run_until([&] { return second.records.size() >= 50; }, kPatience));
  harness().run_for(2s);
  for (const auto& value : second.values()) EXPECT_TRUE(value.starts_with("late-")) << value;
  EXPECT_EQ(second.records.size(), 50u);
}

// Reads a whole topic, aborted records included.
std::vector<std::string> read_everything(BrokerHarness& h, const std::string& topic,
                                         std::size_t at_least, const std::string& group) {
  Recorder recorder;
  auto consumer =
      subscribe(h, "reader-" + group, group_options(group, core::IsolationLevel::kReadUncommitted),
                topic, recorder);
  h.run_until([&] { return recorder.records.size() >= at_least; }, kPatience);
  h.run_for(2s);
  return recorder.values();
}

std::map<std::string, int> count_values(const std::vector<std::string>& values) {
  std::map<std::string, int> counts;
  for (const auto& v : values) ++counts[v];
  return counts;
}

TEST_P(BrokerConformance, LostAcksDuplicateRecordsWithoutIdempotence) {
  ASSERT_TRUE(create_topic(harness(), "plain", 1));
  if (auto why = harness().lose_acks("producer", 0.3); !why.empty()) GTEST_SKIP() << why;
  auto producer =
      harness()
          .endpoint("producer")
          .broker->make_producer({.client_id = "p", .idempotent = false, .max_in_flight = 1});
  const Sent sent = send_all(harness(), *producer, "plain", 200, [](int) { return "one-key"; });
  harness().lose_acks("producer", 0);
  ASSERT_EQ(sent.acked, 200);

  const auto counts = count_values(read_everything(harness(), "plain", 200, "g-plain"));
  const auto duplicated =
      std::count_if(counts.begin(), counts.end(), [](const auto& c) { return c.second > 1; });
  EXPECT_EQ(counts.size(), 200u) << "every record was written at least once";
  EXPECT_GT(duplicated, 0) << "a lost ack followed by a retry must duplicate without idempotence";
}

TEST_P(BrokerConformance, IdempotenceWritesEachRecordOnceDespiteLostAcks) {
  ASSERT_TRUE(create_topic(harness(), "idem", 1));
  if (auto why = harness().lose_acks("producer", 0.3); !why.empty()) GTEST_SKIP() << why;
  auto producer =
      harness()
          .endpoint("producer")
          .broker->make_producer({.client_id = "p", .idempotent = true, .max_in_flight = 5});
  const Sent sent = send_all(harness(), *producer, "idem", 200, [](int) { return "one-key"; });
  harness().lose_acks("producer", 0);
  ASSERT_EQ(sent.acked, 200);

  const auto values = read_everything(harness(), "idem", 200, "g-idem");
  ASSERT_EQ(values.size(), 200u);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(values[static_cast<std::size_t>(i)], "v-" + std::to_string(i));
}

// Sends "v-0".."v-(n-1)" to one key in waves of ten, a wave every 100 µs, so that
// several batches are in flight at once; returns when every report has arrived.
Sent send_in_waves(BrokerHarness& h, const std::string& endpoint, core::Producer& producer,
                   const std::string& topic, int count) {
  auto sent = std::make_shared<Sent>();
  core::Scheduler& scheduler = *h.endpoint(endpoint).scheduler;
  for (int wave = 0; wave * 10 < count; ++wave) {
    scheduler.schedule_after(core::Duration{100 * wave}, [&producer, sent, topic, wave, count] {
      for (int i = wave * 10; i < std::min(count, wave * 10 + 10); ++i) {
        producer.send(
            {topic, "one-key", "v-" + std::to_string(i), {}, std::nullopt},
            [sent](core::Result<core::RecordMetadata> r) { ++(r ? sent->acked : sent->failed); });
      }
    });
  }
  h.run_until([&] { return sent->acked + sent->failed == count; }, kPatience);
  return *sent;
}

// True when some later-sent "v-i" record landed before an earlier-sent one.
bool reordered(const std::vector<std::string>& values) {
  int highest = -1;
  for (const auto& v : values) {
    const int i = std::stoi(v.substr(2));
    if (i < highest) return true;
    highest = std::max(highest, i);
  }
  return false;
}

TEST_P(BrokerConformance, LostRequestsReorderRetriesWithoutIdempotence) {
  ASSERT_TRUE(create_topic(harness(), "reorder", 1));
  if (auto why = harness().drop_requests("producer", 0.2); !why.empty()) GTEST_SKIP() << why;
  auto producer =
      harness()
          .endpoint("producer")
          .broker->make_producer(
              {.client_id = "p", .idempotent = false, .max_in_flight = 5, .linger = 0s});
  const Sent sent = send_in_waves(harness(), "producer", *producer, "reorder", 300);
  harness().drop_requests("producer", 0);
  ASSERT_EQ(sent.acked, 300);
  EXPECT_TRUE(reordered(read_everything(harness(), "reorder", 300, "g-reorder")))
      << "a retried batch behind a later one must land after it without idempotence";
}

TEST_P(BrokerConformance, IdempotenceKeepsSendOrderDespiteLostRequests) {
  ASSERT_TRUE(create_topic(harness(), "inorder", 1));
  if (auto why = harness().drop_requests("producer", 0.2); !why.empty()) GTEST_SKIP() << why;
  auto producer = harness()
                      .endpoint("producer")
                      .broker->make_producer(
                          {.client_id = "p", .idempotent = true, .max_in_flight = 5, .linger = 0s});
  const Sent sent = send_in_waves(harness(), "producer", *producer, "inorder", 300);
  harness().drop_requests("producer", 0);
  ASSERT_EQ(sent.acked, 300);
  const auto values = read_everything(harness(), "inorder", 300, "g-inorder");
  EXPECT_EQ(values.size(), 300u);
  EXPECT_FALSE(reordered(values));
}

TEST_P(BrokerConformance, ANewerTransactionalProducerFencesTheOlder) {
  ASSERT_TRUE(create_topic(harness(), "txn-fence", 1));
  core::ProducerOptions options{.client_id = "t", .transactional_id = "txn-fence-1"};
  auto zombie = harness().endpoint("old").broker->make_producer(options);
  ASSERT_TRUE(await(harness(), [&](core::Completion done) { zombie->init_transactions(done); }));
  ASSERT_TRUE(zombie->begin_transaction());
  ASSERT_EQ(send_all(
                harness(), *zombie, "txn-fence", 3, [](int) { return "k"; }, "zombie")
                .acked,
            3);

  auto fresh = harness().endpoint("new").broker->make_producer(options);
  ASSERT_TRUE(await(harness(), [&](core::Completion done) { fresh->init_transactions(done); }));

  const auto committed =
      await(harness(), [&](core::Completion done) { zombie->commit_transaction(done); });
  ASSERT_FALSE(committed);
  EXPECT_EQ(committed.error().kind, core::ErrorKind::kFenced);

  ASSERT_TRUE(fresh->begin_transaction());
  ASSERT_EQ(send_all(
                harness(), *fresh, "txn-fence", 2, [](int) { return "k"; }, "fresh")
                .acked,
            2);
  ASSERT_TRUE(await(harness(), [&](core::Completion done) { fresh->commit_transaction(done); }));

  Recorder recorder;
  auto consumer = subscribe(harness(), "reader", group_options("g-fence"), "txn-fence", recorder);
  ASSERT_TRUE(harness().run_until([&] { return recorder.records.size() >= 2; }, kPatience));
  harness().run_for(2s);
  if (harness().read_committed_filters_aborted().empty()) {
    EXPECT_EQ(recorder.values(), (std::vector<std::string>{"fresh-0", "fresh-1"}));
  }
}

TEST_P(BrokerConformance, ReadCommittedHidesAbortedRecords) {
  if (auto why = harness().read_committed_filters_aborted(); !why.empty()) GTEST_SKIP() << why;
  ASSERT_TRUE(create_topic(harness(), "txn-abort", 1));
  auto producer = harness()
                      .endpoint("producer")
                      .broker->make_producer({.client_id = "t", .transactional_id = "txn-abort-1"});
  ASSERT_TRUE(await(harness(), [&](core::Completion done) { producer->init_transactions(done); }));
  auto transaction = [&](const std::string& prefix, bool commit) {
    ASSERT_TRUE(producer->begin_transaction());
    ASSERT_EQ(send_all(
                  harness(), *producer, "txn-abort", 2, [](int) { return "k"; }, prefix)
                  .acked,
              2);
    auto end = await(harness(), [&](core::Completion done) {
      commit ? producer->commit_transaction(done) : producer->abort_transaction(done);
    });
    ASSERT_TRUE(end) << end.error().message;
  };
  transaction("a", true);
  transaction("x", false);
  transaction("c", true);

  Recorder committed;
  auto reader = subscribe(harness(), "committed", group_options("g-rc"), "txn-abort", committed);
  Recorder everything;
  auto all = subscribe(harness(), "uncommitted",
                       group_options("g-ru", core::IsolationLevel::kReadUncommitted), "txn-abort",
                       everything);
  ASSERT_TRUE(harness().run_until(
      [&] { return committed.records.size() >= 4 && everything.records.size() >= 6; }, kPatience));
  harness().run_for(2s);
  EXPECT_EQ(committed.values(), (std::vector<std::string>{"a-0", "a-1", "c-0", "c-1"}));
  EXPECT_EQ(everything.values(),
            (std::vector<std::string>{"a-0", "a-1", "x-0", "x-1", "c-0", "c-1"}));
}

TEST_P(BrokerConformance, AMemberPausedPastItsSessionIsReplaced) {
  ASSERT_TRUE(create_topic(harness(), "session", 4));
  Recorder first;
  Recorder second;
  auto c1 = subscribe(harness(), "c1", group_options("g-session"), "session", first);
  ASSERT_TRUE(harness().run_until([&] { return first.owned.size() == 4; }, kPatience));
  auto c2 = subscribe(harness(), "c2", group_options("g-session"), "session", second);
  ASSERT_TRUE(harness().run_until(
      [&] { return first.owned.size() == 2 && second.owned.size() == 2; }, kPatience));

  if (auto why = harness().pause("c1"); !why.empty()) GTEST_SKIP() << why;
  ASSERT_TRUE(harness().run_until([&] { return second.owned.size() == 4; }, kPatience))
      << "the live member must take over the partitions of the silent one";
  harness().resume("c1");
  ASSERT_TRUE(harness().run_until([&] { return first.losses > 0; }, kPatience))
      << "the evicted member must learn it lost its partitions";
}

TEST_P(BrokerConformance, OffsetsFromAnOldGenerationAreFenced) {
  ASSERT_TRUE(create_topic(harness(), "generations", 2));
  ASSERT_TRUE(create_topic(harness(), "generations-out", 1));
  Recorder first;
  auto c1 = subscribe(harness(), "c1", group_options("g-gen"), "generations", first);
  ASSERT_TRUE(harness().run_until([&] { return first.owned.size() == 2; }, kPatience));
  const core::GroupMetadata stale = c1->group_metadata();

  if (auto why = harness().pause("c1"); !why.empty()) GTEST_SKIP() << why;
  Recorder second;
  auto c2 = subscribe(harness(), "c2", group_options("g-gen"), "generations", second);
  ASSERT_TRUE(harness().run_until([&] { return second.owned.size() == 2; }, kPatience));
  const core::GroupMetadata current = c2->group_metadata();
  ASSERT_NE(stale.generation, current.generation);

  auto producer = harness()
                      .endpoint("producer")
                      .broker->make_producer({.client_id = "t", .transactional_id = "txn-gen-1"});
  ASSERT_TRUE(await(harness(), [&](core::Completion done) { producer->init_transactions(done); }));
  const std::vector<core::TopicPartitionOffset> offsets{
      {{"generations", core::Partition{0}}, core::Offset{0}}};
  ASSERT_TRUE(producer->begin_transaction());
  const auto zombie = await(harness(), [&](core::Completion done) {
    producer->send_offsets_to_transaction(offsets, stale, done);
  });
  ASSERT_FALSE(zombie);
  EXPECT_EQ(zombie.error().kind, core::ErrorKind::kFenced);
  ASSERT_TRUE(await(harness(), [&](core::Completion done) { producer->abort_transaction(done); }));

  ASSERT_TRUE(producer->begin_transaction());
  EXPECT_TRUE(await(harness(), [&](core::Completion done) {
    producer->send_offsets_to_transaction(offsets, current, done);
  }));
  EXPECT_TRUE(await(harness(), [&](core::Completion done) { producer->commit_transaction(done); }));
  harness().resume("c1");
}

TEST_P(BrokerConformance, ANewOwnerWaitsForOffsetsHeldByAnOpenTransaction) {
  ASSERT_TRUE(create_topic(harness(), "kip447", 1));
  auto plain = harness().endpoint("producer").broker->make_producer({.client_id = "p"});
  ASSERT_EQ(send_all(harness(), *plain, "kip447", 10, [](int) { return "k"; }).acked, 10);

  // A previous owner consumed five records and sent their offsets within a
  // transaction that has not ended yet.
  Recorder previous;
  auto owner = subscribe(harness(), "owner", group_options("g-447"), "kip447", previous);
  ASSERT_TRUE(harness().run_until([&] { return previous.records.size() >= 10; }, kPatience));
  const core::GroupMetadata member = owner->group_metadata();
  auto txn = harness().endpoint("txn").broker->make_producer(
      {.client_id = "t", .transactional_id = "txn-447"});
  ASSERT_TRUE(await(harness(), [&](core::Completion done) { txn->init_transactions(done); }));
  ASSERT_TRUE(txn->begin_transaction());
  const std::vector<core::TopicPartitionOffset> five{
      {{"kip447", core::Partition{0}}, core::Offset{5}}};
  ASSERT_TRUE(await(harness(), [&](core::Completion done) {
    txn->send_offsets_to_transaction(five, member, done);
  }));
  ASSERT_TRUE(await(harness(), [&](core::Completion done) { owner->close(done); }));

  Recorder next;
  auto successor = subscribe(harness(), "successor", group_options("g-447"), "kip447", next);
  harness().run_for(3s);
  EXPECT_TRUE(next.records.empty()) << "read from a position the open transaction will change";

  ASSERT_TRUE(await(harness(), [&](core::Completion done) { txn->commit_transaction(done); }));
  ASSERT_TRUE(harness().run_until([&] { return next.records.size() >= 5; }, kPatience));
  harness().run_for(1s);
  ASSERT_EQ(next.records.size(), 5u);
  EXPECT_EQ(next.records.front().offset, core::Offset{5});
}

TEST_P(BrokerConformance, DeliveryContinuesAfterLeaderFailover) {
  ASSERT_TRUE(create_topic(harness(), "failover", 1));
  auto producer = harness().endpoint("producer").broker->make_producer({.client_id = "p"});
  ASSERT_EQ(send_all(
                harness(), *producer, "failover", 100, [](int) { return "k"; }, "before")
                .acked,
            100);
  if (auto why = harness().move_leader({"failover", core::Partition{0}}); !why.empty()) {
    GTEST_SKIP() << why;
  }
  ASSERT_EQ(send_all(
                harness(), *producer, "failover", 100, [](int) { return "k"; }, "after")
                .acked,
            100);

  Recorder recorder;
  auto consumer =
      subscribe(harness(), "consumer", group_options("g-failover"), "failover", recorder);
  ASSERT_TRUE(harness().run_until([&] { return recorder.records.size() >= 200; }, kPatience));
  const auto values = recorder.values();
  EXPECT_EQ(values.size(), 200u);
  EXPECT_EQ(values.front(), "before-0");
  EXPECT_EQ(values.back(), "after-99");
}

}  // namespace
}  // namespace orderflow::conformance
