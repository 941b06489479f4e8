// `orderflow walkthrough`: the domain's story told through the deciders.
#pragma once

#include <cstdint>

namespace orderflow::cli {

struct WalkthroughOptions {
  int orders = 6;
  std::uint64_t seed = 1;
};

// Prints every command, decision and event; returns the process exit code.
int run_walkthrough(const WalkthroughOptions& options);

}  // namespace orderflow::cli
