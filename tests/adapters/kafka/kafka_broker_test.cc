// The librdkafka adapter against the embedded mock cluster: what the conformance
// suite does not reach — partitioning of many keys, topic administration,
// transactions end to end, injected broker errors, pause / resume / seek, and a
// revocation that holds up the consumer until the handler is done.
#include "adapters/kafka/kafka_broker.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/kafka/embedded_cluster.h"
#include "core/murmur2.h"
#include "tests/adapters/kafka/test_loop.h"
#include "tests/support/recording_handler.h"

namespace orderflow::adapters::kafka {
namespace {

using core::ErrorKind;
using core::TopicPartition;
using kafka_testing::TestExecutor;
using kafka_testing::TestLoop;
using namespace std::chrono_literals;

constexpr core::Duration kPatience = 30s;

class Recorder : public testing_support::RecordingHandler {
 public:
  [[nodiscard]] std::vector<std::string> values() const {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.value.value_or(""));
    return out;
  }
};

core::ConsumerOptions group_options(const std::string& group) {
  core::ConsumerOptions o;
  o.group_id = group;
  o.client_id = group + "-member";
  o.session_timeout = 6s;
  o.heartbeat_interval = 1s;
  return o;
}

class KafkaBrokerTest : public testing::Test {
 protected:
  KafkaBrokerTest()
      : broker_({.bootstrap_servers = cluster_.bootstrap_servers(),
                 .executor = &executor_,
                 .embedded = &cluster_}) {}

  template <typename T>
  std::optional<core::Result<T>> await(
      const std::function<void(std::function<void(core::Result<T>)>)>& call) {
    std::optional<core::Result<T>> result;
    call([&](core::Result<T> r) { result = std::move(r); });
    loop_.run_until([&] { return result.has_value(); }, kPatience);
    return result;
  }

  core::Result<> done_with(const std::function<void(core::Completion)>& call) {
    auto result = await<void>(call);
    if (!result) return core::make_error(ErrorKind::kRetriable, "timeout", "no completion");
    return *result;
  }

  void create(const std::string& topic, int partitions) {
    ASSERT_TRUE(done_with([&](core::Completion done) {
      broker_.create_topics({{topic, partitions, 1, false}}, std::move(done));
    }));
  }

  // Sends `values` to `topic` under `key` and waits for every report.
  std::vector<core::Result<core::RecordMetadata>> send(core::Producer& producer,
                                                       const std::string& topic,
                                                       const std::vector<std::string>& values,
                                                       std::optional<std::string> key = "k") {
    auto reports = std::make_shared<std::vector<core::Result<core::RecordMetadata>>>();
    for (const auto& v : values) {
      producer.send({topic, key, v, {}, std::nullopt},
                    [reports](core::Result<core::RecordMetadata> r) { reports->push_back(r); });
    }
    loop_.run_until([&] { return reports->size() == values.size(); }, kPatience);
    return *reports;
  }

  static std::vector<std::string> numbered(const std::string& prefix, int count, int from = 0) {
    std::vector<std::string> out;
    for (int i = from; i < from + count; ++i) out.push_back(prefix + "-" + std::to_string(i));
    return out;
  }

  EmbeddedCluster cluster_{3};
  TestLoop loop_;
  TestExecutor& executor_ = loop_.add();
  KafkaBroker broker_;
};

TEST_F(KafkaBrokerTest, KeysLandWhereTheCorePartitionerPutsThem) {
  create("placement", 7);
  auto producer = broker_.make_producer({.client_id = "p"});
  auto placed = std::make_shared<std::map<std::string, core::Partition>>();
  std::vector<std::string> keys{"", "a", std::string("\xff\x00\x7f", 3), std::string(300, 'k')};
  for (int i = 0; i < 200; ++i) keys.push_back("order-" + std::to_string(i * 104729));
  for (const auto& key : keys) {
    producer->send({"placement", key, "x", {}, std::nullopt},
                   [placed, key](core::Result<core::RecordMetadata> r) {
                     if (r) placed->emplace(key, r->tp.partition);
                   });
  }
  ASSERT_TRUE(loop_.run_until([&] { return placed->size() == keys.size(); }, kPatience));
  for (const auto& [key, partition] : *placed) {
    EXPECT_EQ(partition, core::partition_for_key(key, 7)) << "key of " << key.size() << " bytes";
  }
}

TEST_F(KafkaBrokerTest, TopicsAreCreatedOnceAndCounted) {
  create("counted", 4);
  create("counted", 4);  // again, with the same count: fine

  const auto different = done_with([&](core::Completion done) {
    broker_.create_topics({{"counted", 5, 1, false}}, std::move(done));
  });
  ASSERT_FALSE(different);
  EXPECT_EQ(different.error().code, "topic_already_exists");

  auto count = await<int>([&](auto done) { broker_.partition_count("counted", done); });
  ASSERT_TRUE(count && *count);
  EXPECT_EQ(**count, 4);
  auto missing = await<int>([&](auto done) { broker_.partition_count("missing", done); });
  ASSERT_TRUE(missing && !*missing);
  EXPECT_EQ(missing->error().kind, ErrorKind::kFatal);
  EXPECT_EQ(missing->error().code, "unknown_topic_or_partition");
}

// Read, process, write: outputs and input offsets commit in one transaction, and a
// read_committed reader sees the outputs.
TEST_F(KafkaBrokerTest, ATransactionCommitsOutputsWithTheInputOffsets) {
  create("txn-in", 1);
  create("txn-out", 1);
  auto plain = broker_.make_producer({.client_id = "source"});
  for (const auto& r : send(*plain, "txn-in", numbered("in", 5))) ASSERT_TRUE(r);

  Recorder input;
  auto consumer = broker_.make_consumer(group_options("g-txn"), input);
  consumer->subscribe({"txn-in"});
  ASSERT_TRUE(loop_.run_until([&] { return input.records.size() == 5; }, kPatience));
  const core::GroupMetadata member = consumer->group_metadata();
  EXPECT_EQ(member.group_id, "g-txn");
  EXPECT_GE(member.generation.value(), 1);
  EXPECT_FALSE(member.member_id.empty());
  const TopicPartition in{"txn-in", core::Partition{0}};
  EXPECT_EQ(consumer->position(in), core::Offset{5});

  auto txn = broker_.make_producer({.client_id = "t", .transactional_id = "txn-end-to-end"});
  ASSERT_TRUE(done_with([&](core::Completion done) { txn->init_transactions(done); }));
  ASSERT_TRUE(txn->begin_transaction());
  for (const auto& r : send(*txn, "txn-out", numbered("out", 5))) ASSERT_TRUE(r);
  ASSERT_TRUE(done_with([&](core::Completion done) {
    txn->send_offsets_to_transaction({{in, core::Offset{5}}}, member, done);
  }));
  ASSERT_TRUE(done_with([&](core::Completion done) { txn->commit_transaction(done); }));

  Recorder output;
  auto reader = broker_.make_consumer(group_options("g-txn-reader"), output);
  reader->subscribe({"txn-out"});
  ASSERT_TRUE(loop_.run_until([&] { return output.records.size() >= 5; }, kPatience));
  EXPECT_EQ(output.values(), numbered("out", 5));

  // Outside a transaction the same member commits directly. (The mock keeps no
  // offsets sent within a transaction, so those cannot be read back here.)
  ASSERT_TRUE(done_with([&](core::Completion done) {
    consumer->commit({{in, core::Offset{4}}}, std::move(done));
  }));
  auto committed = await<std::vector<core::TopicPartitionOffset>>(
      [&](auto done) { consumer->committed({in}, done); });
  ASSERT_TRUE(committed && *committed);
  EXPECT_EQ(**committed, (std::vector<core::TopicPartitionOffset>{{in, core::Offset{4}}}));
}

TEST_F(KafkaBrokerTest, TransactionalCallsOutOfOrderAreRefused) {
  create("txn-order", 1);
  auto txn = broker_.make_producer({.client_id = "t", .transactional_id = "txn-order"});
  const auto early = txn->begin_transaction();
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().kind, ErrorKind::kFatal);
  EXPECT_EQ(early.error().code, "invalid_txn_state");

  ASSERT_TRUE(done_with([&](core::Completion done) { txn->init_transactions(done); }));
  const auto outside = send(*txn, "txn-order", {"stray"});
  ASSERT_EQ(outside.size(), 1u);
  ASSERT_FALSE(outside[0]);
  EXPECT_EQ(outside[0].error().code, "invalid_txn_state");

  auto plain = broker_.make_producer({.client_id = "p"});
  const auto no_txn = done_with([&](core::Completion done) { plain->commit_transaction(done); });
  ASSERT_FALSE(no_txn);
  EXPECT_EQ(no_txn.error().code, "invalid_txn_state");
}

TEST_F(KafkaBrokerTest, AFencedCommitIsReportedAsFenced) {
  create("txn-fenced", 1);
  auto txn = broker_.make_producer({.client_id = "t", .transactional_id = "txn-fenced"});
  ASSERT_TRUE(done_with([&](core::Completion done) { txn->init_transactions(done); }));
  ASSERT_TRUE(txn->begin_transaction());
  for (const auto& r : send(*txn, "txn-fenced", {"a"})) ASSERT_TRUE(r);

  cluster_.push_request_errors(EmbeddedCluster::kEndTxn, {RD_KAFKA_RESP_ERR_PRODUCER_FENCED});
  const auto committed = done_with([&](core::Completion done) { txn->commit_transaction(done); });
  ASSERT_FALSE(committed);
  EXPECT_EQ(committed.error().kind, ErrorKind::kFenced);
  EXPECT_EQ(committed.error().code, "producer_fenced");
  const auto again = txn->begin_transaction();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::kFenced);
}

TEST_F(KafkaBrokerTest, RetriableProduceErrorsAreRetriedInOrder) {
  create("retried", 1);
  auto producer = broker_.make_producer({.client_id = "p"});
  cluster_.push_request_errors(
      EmbeddedCluster::kProduce,
      {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
       RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS});
  const auto reports = send(*producer, "retried", numbered("v", 20));
  ASSERT_EQ(reports.size(), 20u);
  for (std::size_t i = 0; i < reports.size(); ++i) {
    ASSERT_TRUE(reports[i]) << reports[i].error().code;
    EXPECT_EQ(reports[i]->offset, core::Offset{static_cast<std::int64_t>(i)});
  }
}

// Pauses itself after its first batch, as a service that falls behind would.
class PausingRecorder : public Recorder {
 public:
  void on_records(const std::vector<core::ConsumerRecord>& batch) override {
    Recorder::on_records(batch);
    if (consumer != nullptr && std::exchange(first, false)) consumer->pause({batch.front().tp});
  }
  core::Consumer* consumer = nullptr;
  bool first = true;
};

TEST_F(KafkaBrokerTest, PauseResumeAndSeekKeepPositionsExact) {
  create("seekable", 1);
  auto producer = broker_.make_producer({.client_id = "p"});
  for (const auto& r : send(*producer, "seekable", numbered("v", 20))) ASSERT_TRUE(r);
  const TopicPartition tp{"seekable", core::Partition{0}};

  PausingRecorder recorder;
  auto options = group_options("");
  options.client_id = "reader";
  options.max_records_per_batch = 5;
  auto consumer = broker_.make_consumer(options, recorder);
  recorder.consumer = consumer.get();
  auto marks =
      await<core::Watermarks>([&](auto done) { consumer->watermarks(tp, std::move(done)); });
  ASSERT_TRUE(marks && *marks);
  EXPECT_EQ((*marks)->high, core::Offset{20});

  consumer->assign({{tp, core::Offset{0}}});
  EXPECT_EQ(consumer->position(tp), core::Offset{0});
  ASSERT_TRUE(loop_.run_until([&] { return !recorder.records.empty(); }, kPatience));
  // Paused: whatever was polled behind the first batch must not arrive.
  loop_.run_for(1s);
  EXPECT_EQ(recorder.values(), numbered("v", 5));
  EXPECT_EQ(consumer->position(tp), core::Offset{5});

  consumer->resume({tp});
  ASSERT_TRUE(loop_.run_until([&] { return recorder.records.size() >= 20; }, kPatience));
  EXPECT_EQ(recorder.values(), numbered("v", 20));
  EXPECT_EQ(consumer->position(tp), core::Offset{20});

  consumer->seek({tp, core::Offset{15}});
  EXPECT_EQ(consumer->position(tp), core::Offset{15});
  ASSERT_TRUE(loop_.run_until([&] { return recorder.records.size() >= 25; }, kPatience));
  loop_.run_for(500ms);
  auto expected = numbered("v", 20);
  for (const auto& v : numbered("v", 5, 15)) expected.push_back(v);
  EXPECT_EQ(recorder.values(), expected);

  const auto no_group = done_with([&](core::Completion done) { consumer->commit({}, done); });
  ASSERT_FALSE(no_group);
  EXPECT_EQ(no_group.error().code, "no_group");
}

// A seek back made while a polled batch waits for the executor: the batch is
// dropped and reading resumes where the seek says.
TEST_F(KafkaBrokerTest, ASeekOvertakesRecordsAlreadyPolled) {
  create("overtaken", 1);
  auto producer = broker_.make_producer({.client_id = "p"});
  for (const auto& r : send(*producer, "overtaken", numbered("v", 20))) ASSERT_TRUE(r);
  const TopicPartition tp{"overtaken", core::Partition{0}};

  Recorder recorder;
  auto options = group_options("");
  options.client_id = "reader";
  options.max_records_per_batch = 5;
  auto consumer = broker_.make_consumer(options, recorder);
  executor_.pause();
  consumer->assign({{tp, core::Offset{10}}});
  // The poll thread hands its first batch over and waits for the executor.
  ASSERT_TRUE(loop_.run_until([&] { return executor_.queued() > 0; }, kPatience));
  consumer->seek({tp, core::Offset{2}});
  executor_.resume();

  ASSERT_TRUE(loop_.run_until([&] { return recorder.records.size() >= 18; }, kPatience));
  loop_.run_for(500ms);
  EXPECT_EQ(recorder.values(), numbered("v", 18, 2));
  EXPECT_EQ(consumer->position(tp), core::Offset{20});
}

// Holds on to `done` of a revocation until the test lets go.
class HoldingRecorder : public Recorder {
 public:
  void on_revoked_async(const std::vector<TopicPartition>& partitions,
                        std::function<void()> done) override {
    on_revoked(partitions);
    held = std::move(done);
  }
  std::function<void()> held;
};

TEST_F(KafkaBrokerTest, ARevocationHoldsUpTheConsumerUntilTheHandlerIsDone) {
  create("held", 2);
  HoldingRecorder recorder;
  auto consumer = broker_.make_consumer(group_options("g-held"), recorder);
  consumer->subscribe({"held"});
  ASSERT_TRUE(loop_.run_until([&] { return recorder.owned.size() == 2; }, kPatience));

  bool closed = false;
  consumer->close([&](core::Result<> r) {
    EXPECT_TRUE(r);
    closed = true;
  });
  ASSERT_TRUE(loop_.run_until([&] { return recorder.held != nullptr; }, kPatience));
  loop_.run_for(1s);
  EXPECT_FALSE(closed) << "the consumer left the group before the handler was done";

  std::exchange(recorder.held, nullptr)();
  ASSERT_TRUE(loop_.run_until([&] { return closed; }, kPatience));
  EXPECT_TRUE(recorder.owned.empty());
}

TEST_F(KafkaBrokerTest, ABadPropertyMakesClientsThatOnlyFail) {
  KafkaBroker broken({.bootstrap_servers = cluster_.bootstrap_servers(),
                      .properties = {{"no.such.property", "1"}},
                      .executor = &executor_});
  auto producer = broken.make_producer({.client_id = "p"});
  const auto reports = send(*producer, "anything", {"x"});
  ASSERT_EQ(reports.size(), 1u);
  ASSERT_FALSE(reports[0]);
  EXPECT_EQ(reports[0].error().code, "invalid_config");

  Recorder recorder;
  auto consumer = broken.make_consumer(group_options("g"), recorder);
  ASSERT_TRUE(loop_.run_until([&] { return !recorder.errors.empty(); }, kPatience));
  EXPECT_EQ(recorder.errors.front().kind, ErrorKind::kFatal);
  EXPECT_EQ(recorder.errors.front().code, "invalid_config");
}

TEST_F(KafkaBrokerTest, DestroyingAProducerCancelsItsReports) {
  create("cancelled", 1);
  int reported = 0;
  {
    auto producer = broker_.make_producer({.client_id = "p", .linger = 200ms});
    for (int i = 0; i < 10; ++i) {
      producer->send({"cancelled", "k", "v", {}, std::nullopt},
                     [&](core::Result<core::RecordMetadata>) { ++reported; });
    }
  }
  loop_.run_for(500ms);
  EXPECT_EQ(reported, 0);
}

}  // namespace
}  // namespace orderflow::adapters::kafka
