// `Prng`: the simulator's random source, xoshiro256** seeded through SplitMix64.
//
// Every random choice of a run — latencies, losses, fault times, workload — comes
// from a `Prng` derived from the run's seed, so a seed replays bit for bit. The
// distributions (uniform, bernoulli, exponential, pick, shuffle) are the ones of
// `core::Random`, written in this codebase rather than taken from the standard
// library, whose distributions differ between implementations.
//
// `fork(label)` derives an independent stream (for one process, one link, the
// workload) whose numbers do not shift when another stream draws more or fewer.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/ports/random.h"

namespace orderflow::sim {

class Prng final : public core::Random {
 public:
  explicit Prng(std::uint64_t seed);

  std::uint64_t next_u64() override;

  // An independent stream for `label`, determined by this stream's seed alone.
  [[nodiscard]] Prng fork(std::string_view label) const;

  [[nodiscard]] std::uint64_t seed() const { return seed_; }

 private:
  std::uint64_t seed_;
  std::array<std::uint64_t, 4> s_{};
};

}  // namespace orderflow::sim
