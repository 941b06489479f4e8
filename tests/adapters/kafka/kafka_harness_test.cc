// The Broker-port conformance suite on librdkafka, against its embedded mock
// cluster, in real time.
//
// Each endpoint is a `KafkaBroker` with its own `TestExecutor`; the test thread
// runs every executor inside `run_until`, so the suite's recorders need no locks.
// Where the mock departs from Kafka (embedded_cluster.h lists how), the case is
// skipped with the reason.
#include <map>
#include <memory>
#include <string>

#include "adapters/kafka/embedded_cluster.h"
#include "adapters/kafka/kafka_broker.h"
#include "tests/adapters/kafka/test_loop.h"
#include "tests/conformance/broker_conformance.h"

namespace orderflow::conformance {
namespace {

using adapters::kafka::EmbeddedCluster;
using adapters::kafka::KafkaBroker;
using adapters::kafka::KafkaBrokerConfig;
using kafka_testing::TestExecutor;
using kafka_testing::TestLoop;

// A paused endpoint's executor runs nothing, so its consumers' poll threads stop
// polling; librdkafka heartbeats from a thread of its own, so what evicts the
// member is `max.poll.interval.ms`, held here just above the suite's 6 s session.
const adapters::kafka::Properties kProperties{{"max.poll.interval.ms", "7000"}};

// Cases whose premise the mock does not meet, though no harness question covers
// them, by test name.
const std::map<std::string, std::string, std::less<>>& deviations() {
  static const std::map<std::string, std::string, std::less<>> reasons{
      {"ANewerTransactionalProducerFencesTheOlder",
       "librdkafka's mock cluster gives every InitProducerId a new producer id instead of "
       "bumping the transactional id's epoch, so a newer producer never fences an older one"},
      {"OffsetsFromAnOldGenerationAreFenced",
       "librdkafka's mock cluster does not check the group generation of offsets sent within a "
       "transaction (TxnOffsetCommit)"},
      {"ANewOwnerWaitsForOffsetsHeldByAnOpenTransaction",
       "librdkafka's mock cluster neither stores offsets sent within a transaction nor answers "
       "OffsetFetch with unstable_offset_commit (KIP-447)"},
  };
  return reasons;
}

// Called while the fixture sets up: a skip recorded then keeps the test body from
// running, and GoogleTest prints the reason with the test's name.
void skip_if_the_mock_departs() {
  const std::string_view test = testing::UnitTest::GetInstance()->current_test_info()->name();
  const auto it = deviations().find(test.substr(0, test.find('/')));
  if (it != deviations().end()) GTEST_SKIP() << it->second;
}

class KafkaHarness final : public BrokerHarness {
 public:
  KafkaHarness() : cluster_(3) {}

  [[nodiscard]] std::string name() const override { return "kafka"; }

  Endpoint endpoint(const std::string& name) override {
    auto it = endpoints_.find(name);
    if (it == endpoints_.end()) {
      TestExecutor& executor = loop_.add();
      auto broker = std::make_unique<KafkaBroker>(
          KafkaBrokerConfig{.bootstrap_servers = cluster_.bootstrap_servers(),
                            .properties = kProperties,
                            .executor = &executor,
                            .embedded = &cluster_,
                            .client_id = name + "-admin"});
      it = endpoints_.emplace(name, Client{&executor, std::move(broker)}).first;
    }
    return {it->second.broker.get(), it->second.executor};
  }

  bool run_until(const std::function<bool()>& done, core::Duration timeout) override {
    return loop_.run_until(done, timeout);
  }
  void run_for(core::Duration duration) override { loop_.run_for(duration); }

  std::string lose_acks(const std::string&, double probability) override {
    if (probability == 0) return {};
    return "librdkafka's mock cluster fails an injected request before it appends the batch, "
           "so it cannot lose the acknowledgement of an appended one";
  }
  std::string drop_requests(const std::string&, double probability) override {
    if (probability == 0) return {};
    return "librdkafka's mock cluster cannot lose a request, only answer it with an error, and "
           "checks producer sequence numbers only for transactional producers, so it cannot show "
           "what idempotence does for retried requests";
  }
  std::string pause(const std::string& endpoint) override {
    executor_of(endpoint).pause();
    return {};
  }
  std::string resume(const std::string& endpoint) override {
    executor_of(endpoint).resume();
    return {};
  }
  std::string move_leader(const core::TopicPartition& tp) override {
    const auto leader = cluster_.leader_of(tp);
    if (!leader) return "no leader to move: " + leader.error().message;
    const int next = *leader % cluster_.broker_count() + 1;  // broker ids are 1..n
    if (auto moved = cluster_.set_partition_leader(tp, next); !moved) {
      return "the mock refused to move the leader: " + moved.error().message;
    }
    return {};
  }
  std::string read_committed_filters_aborted() override {
    return "librdkafka's mock cluster writes no transaction markers, so read_committed "
           "consumers see aborted records";
  }

 private:
  struct Client {
    TestExecutor* executor;
    std::unique_ptr<KafkaBroker> broker;
  };

  TestExecutor& executor_of(const std::string& name) {
    return *static_cast<TestExecutor*>(endpoint(name).scheduler);
  }

  EmbeddedCluster cluster_;
  TestLoop loop_;
  std::map<std::string, Client> endpoints_;
};

INSTANTIATE_TEST_SUITE_P(Kafka, BrokerConformance,
                         testing::Values(HarnessParam{"kafka",
                                                      [] {
                                                        skip_if_the_mock_departs();
                                                        return std::make_unique<KafkaHarness>();
                                                      }}),
                         harness_name);

}  // namespace
}  // namespace orderflow::conformance
