// `Random`: the only source of randomness in core and services.
//
// Implementations supply 64 uniformly random bits per call; the distributions
// below are written here, once, so that a seed gives the same numbers with every
// standard library (the standard distributions differ between implementations).
// The simulator seeds it from the run's seed; production seeds it from the OS.
//
// Threading: owned by one executor; not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "core/check.h"

namespace orderflow::core {

__extension__ using Uint128 = unsigned __int128;

class Random {
 public:
  virtual ~Random() = default;

  // 64 uniformly distributed bits.
  virtual std::uint64_t next_u64() = 0;

  // Uniform in [0, bound). Precondition: bound > 0. Lemire's multiply-shift with
  // rejection, so there is no modulo bias.
  std::uint64_t uniform(std::uint64_t bound) {
    OF_CHECK(bound > 0, "uniform needs a positive bound");
    std::uint64_t x = next_u64();
    auto m = static_cast<Uint128>(x) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        x = next_u64();
        m = static_cast<Uint128>(x) * bound;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  // Uniform in [lo, hi]. Precondition: lo <= hi.
  std::int64_t uniform_between(std::int64_t lo, std::int64_t hi) {
    OF_CHECK(lo <= hi, "uniform_between needs lo <= hi");
    const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
    if (span == 0) return static_cast<std::int64_t>(next_u64());  // the full 64-bit range
    return lo + static_cast<std::int64_t>(uniform(span));
  }

  // Uniform in [0, 1) with 53 random bits.
  double unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  // True with probability p (p <= 0 never, p >= 1 always).
  bool bernoulli(double p) { return unit() < p; }

  // Exponentially distributed with the given mean, by inversion.
  double exponential(double mean);

  // A uniformly chosen element. Precondition: `items` is not empty.
  template <typename T>
  T& pick(std::span<T> items) {
    OF_CHECK(!items.empty(), "pick from an empty range");
    return items[uniform(items.size())];
  }

  // Fisher-Yates.
  template <typename T>
  void shuffle(std::span<T> items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      std::swap(items[i - 1], items[uniform(i)]);
    }
  }

  // A random identifier of 16 hexadecimal digits (event ids, tracking numbers).
  std::string hex_id();
};

}  // namespace orderflow::core
