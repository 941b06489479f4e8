// `BrokerHarness`: a world in which Broker-port clients run, for the conformance
// suite. The simulator provides one (sim_harness.cc); the librdkafka adapter
// provides another against a real Kafka-protocol cluster. The suite sees only the
// port and this interface.
//
// A harness that cannot inject a fault, or whose cluster departs from Kafka in a
// way a case depends on, answers with the reason; the case is then skipped by name
// with that reason printed, never silently.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "core/ports/broker.h"
#include "core/ports/scheduler.h"
#include "core/time.h"

namespace orderflow::conformance {

class BrokerHarness {
 public:
  virtual ~BrokerHarness() = default;

  // Where port clients live: a broker handle and the executor their callbacks run on.
  struct Endpoint {
    core::Broker* broker = nullptr;
    core::Scheduler* scheduler = nullptr;
  };

  [[nodiscard]] virtual std::string name() const = 0;
  // Created on first use.
  virtual Endpoint endpoint(const std::string& name) = 0;

  // Lets the world run until `done()` holds or `timeout` has passed (simulated or
  // real time); returns whether `done()` held.
  virtual bool run_until(const std::function<bool()>& done, core::Duration timeout) = 0;
  virtual void run_for(core::Duration duration) = 0;

  // Faults and deviations. An empty string means done (or: behaves like Kafka);
  // anything else is the reason the case must be skipped.
  virtual std::string lose_acks(const std::string& endpoint, double probability) = 0;
  // Requests from `endpoint` to every broker are lost with `probability`.
  virtual std::string drop_requests(const std::string& endpoint, double probability) = 0;
  virtual std::string pause(const std::string& endpoint) = 0;
  virtual std::string resume(const std::string& endpoint) = 0;
  virtual std::string move_leader(const core::TopicPartition& tp) = 0;
  virtual std::string read_committed_filters_aborted() = 0;
};

using HarnessFactory = std::function<std::unique_ptr<BrokerHarness>()>;

// Registers the conformance suite for a harness: call from one test file per
// harness, at namespace scope, through ORDERFLOW_BROKER_CONFORMANCE.
struct HarnessParam {
  std::string name;
  HarnessFactory make;
};

// GoogleTest prints a parameter in every test's name; the harness name says it all.
inline void PrintTo(const HarnessParam& param, std::ostream* out) { *out << param.name; }

}  // namespace orderflow::conformance
