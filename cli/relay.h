// A raw librdkafka consume→produce relay: the ceiling the services' pipeline is
// compared with. `orderflow demo --relay N` runs it on the demo's own embedded
// cluster after the services stop, so both figures come from one run.
#pragma once

#include <string>

namespace orderflow::cli {

struct RelayResult {
  bool ok = false;
  std::string error;
  int records = 0;
  double seconds = 0;  // from the first record consumed to the last one relayed
};

// Writes `records` records of `bytes` bytes to `in`, then relays them from `in` to
// `out` with one consumer and one idempotent producer, as fast as they go.
[[nodiscard]] RelayResult run_relay(const std::string& bootstrap, const std::string& in,
                                    const std::string& out, int records, int bytes = 200);

}  // namespace orderflow::cli
