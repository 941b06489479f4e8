// The Broker-port conformance suite on the simulated cluster.
#include <map>

#include "sim/world.h"
#include "tests/conformance/broker_conformance.h"

namespace orderflow::conformance {
namespace {

class SimHarness final : public BrokerHarness {
 public:
  SimHarness() : world_({.seed = 20270101, .cluster = {.brokers = 3}}) {}

  [[nodiscard]] std::string name() const override { return "sim"; }

  Endpoint endpoint(const std::string& name) override {
    auto it = endpoints_.find(name);
    if (it == endpoints_.end()) {
      sim::Process& p = world_.add_process(name);
      p.start();
      it = endpoints_.emplace(name, Endpoint{&world_.broker(p), &p.scheduler()}).first;
    }
    return it->second;
  }

  bool run_until(const std::function<bool()>& done, core::Duration timeout) override {
    return world_.kernel().run_until(done, world_.kernel().now() + timeout);
  }
  void run_for(core::Duration duration) override {
    world_.kernel().run_until(world_.kernel().now() + duration);
  }

  std::string lose_acks(const std::string& endpoint, double probability) override {
    this->endpoint(endpoint);
    world_.lose_acks(endpoint, probability);
    return {};
  }
  std::string drop_requests(const std::string& endpoint, double probability) override {
    this->endpoint(endpoint);
    for (int b = 0; b < world_.cluster().broker_count(); ++b) {
      world_.drop(endpoint, "broker-" + std::to_string(b), probability);
    }
    return {};
  }
  std::string pause(const std::string& endpoint) override {
    world_.pause(endpoint);
    return {};
  }
  std::string resume(const std::string& endpoint) override {
    world_.resume(endpoint);
    return {};
  }
  std::string move_leader(const core::TopicPartition& tp) override {
    world_.move_leader(tp);
    return {};
  }
  std::string read_committed_filters_aborted() override { return {}; }

 private:
  sim::World world_;
  std::map<std::string, Endpoint> endpoints_;
};

INSTANTIATE_TEST_SUITE_P(Sim, BrokerConformance,
                         testing::Values(HarnessParam{
                             "sim", [] { return std::make_unique<SimHarness>(); }}),
                         harness_name);

}  // namespace
}  // namespace orderflow::conformance
