// The Broker-port conformance suite: what every `core::Broker` must do as Kafka
// does. Instantiate it once per harness:
//
//   INSTANTIATE_TEST_SUITE_P(Sim, BrokerConformance,
//                            testing::Values(HarnessParam{"sim", &make_sim_harness}),
//                            harness_name);
#pragma once

#include <gtest/gtest.h>

#include "tests/conformance/broker_harness.h"

namespace orderflow::conformance {

class BrokerConformance : public testing::TestWithParam<HarnessParam> {
 protected:
  void SetUp() override { harness_ = GetParam().make(); }
  BrokerHarness& harness() { return *harness_; }

 private:
  std::unique_ptr<BrokerHarness> harness_;
};

inline std::string harness_name(const testing::TestParamInfo<HarnessParam>& info) {
  return info.param.name;
}

}  // namespace orderflow::conformance
