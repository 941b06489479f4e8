#include "core/ports/random.h"

#include <array>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "core/ports/seeded_random.h"

namespace orderflow::core {
namespace {

// A fixed bit source so that the distributions can be checked exactly.
class Counting final : public Random {
 public:
  explicit Counting(std::vector<std::uint64_t> values) : values_(std::move(values)) {}
  std::uint64_t next_u64() override { return values_[i_++ % values_.size()]; }

 private:
  std::vector<std::uint64_t> values_;
  std::size_t i_ = 0;
};

using SplitMix = SeededRandom;

TEST(SeededRandom, IsSplitMix64) {
  // The reference outputs of SplitMix64 seeded with 0.
  SeededRandom r(0);
  EXPECT_EQ(r.next_u64(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(r.next_u64(), 0x6e789e6aa1b965f4ULL);
}

TEST(Random, UniformMapsTheHighBitsOntoTheRange) {
  Counting r({1ULL << 60, UINT64_MAX, (1ULL << 63) + 1});
  EXPECT_EQ(r.uniform(10), 0u);
  EXPECT_EQ(r.uniform(10), 9u);
  EXPECT_EQ(r.uniform(10), 5u);
}

TEST(Random, UniformRejectsTheBiasedLowEnd) {
  // 0 * 10 leaves a low word below 2^64 mod 10, so it is drawn again.
  Counting r({0, (1ULL << 63) + 1});
  EXPECT_EQ(r.uniform(10), 5u);
}

TEST(Random, UniformStaysInRangeAndCoversIt) {
  SplitMix r(7);
  std::array<int, 6> seen{};
  for (int i = 0; i < 6000; ++i) {
    auto v = r.uniform(6);
    ASSERT_LT(v, 6u);
    ++seen[v];
  }
  for (int count : seen) EXPECT_GT(count, 800);
}

TEST(Random, UniformBetweenIncludesBothEnds) {
  SplitMix r(11);
  bool low = false;
  bool high = false;
  for (int i = 0; i < 1000; ++i) {
    auto v = r.uniform_between(-2, 2);
    ASSERT_GE(v, -2);
    ASSERT_LE(v, 2);
    low |= v == -2;
    high |= v == 2;
  }
  EXPECT_TRUE(low && high);
}

TEST(Random, BernoulliExtremesAreCertain) {
  SplitMix r(3);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(r.bernoulli(0.0));
    EXPECT_TRUE(r.bernoulli(1.0));
  }
}

TEST(Random, ExponentialHasTheRequestedMean) {
  SplitMix r(5);
  double sum = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    double v = r.exponential(4.0);
    ASSERT_GE(v, 0.0);
    sum += v;
  }
  EXPECT_NEAR(sum / kDraws, 4.0, 0.2);
}

TEST(Random, ShuffleIsAPermutationAndSameSeedSameOrder) {
  std::vector<int> a{1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<int> b = a;
  SplitMix r1(42);
  SplitMix r2(42);
  r1.shuffle(std::span<int>(a));
  r2.shuffle(std::span<int>(b));
  EXPECT_EQ(a, b);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_NE(a, sorted);
}

TEST(Random, HexIdIsSixteenDigits) {
  Counting r({0x0123456789abcdefULL});
  EXPECT_EQ(r.hex_id(), "0123456789abcdef");
}

}  // namespace
}  // namespace orderflow::core
