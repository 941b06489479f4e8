// `SeededRandom`: a `Random` from a 64-bit seed (SplitMix64).
//
// Small, fast and the same on every platform: what tests, the walkthrough and
// anything else that must replay from a seed use. Not for secrets.
#pragma once

#include <cstdint>

#include "core/ports/random.h"

namespace orderflow::core {

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next_u64() override {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

}  // namespace orderflow::core
