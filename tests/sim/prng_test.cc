#include "sim/prng.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include <gtest/gtest.h>

namespace orderflow::sim {
namespace {

std::vector<std::uint64_t> draw(Prng& r, int n) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(r.next_u64());
  return out;
}

std::size_t common_values(const std::vector<std::uint64_t>& a,
                          const std::vector<std::uint64_t>& b) {
  std::size_t same = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) same += a[i] == b[i] ? 1 : 0;
  return same;
}

TEST(Prng, IsXoshiro256StarStarSeededBySplitMix64) {
  // Computed with an independent implementation of the reference algorithms; a
  // change here breaks the replay of every recorded seed.
  Prng zero(0);
  EXPECT_EQ(zero.next_u64(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(zero.next_u64(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(zero.next_u64(), 0x1a5f849d4933e6e0ULL);
  Prng answer(42);
  EXPECT_EQ(answer.next_u64(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(answer.next_u64(), 0x6104d9866d113a7eULL);
  EXPECT_EQ(answer.next_u64(), 0xae17533239e499a1ULL);
}

TEST(Prng, SameSeedGivesTheSameSequence) {
  Prng a(7);
  Prng b(7);
  EXPECT_EQ(draw(a, 1000), draw(b, 1000));
  EXPECT_EQ(a.seed(), 7u);
}

TEST(Prng, DifferentSeedsGiveDifferentSequences) {
  Prng a(7);
  Prng b(8);
  Prng c(0);
  const auto va = draw(a, 100);
  EXPECT_EQ(common_values(va, draw(b, 100)), 0u);
  EXPECT_EQ(common_values(va, draw(c, 100)), 0u);
}

TEST(Prng, ForkDependsOnlyOnTheParentSeedAndLabel) {
  Prng fresh(42);
  Prng used(42);
  draw(used, 1234);
  Prng from_fresh = fresh.fork("network");
  Prng from_used = used.fork("network");
  EXPECT_EQ(draw(from_fresh, 500), draw(from_used, 500));
}

TEST(Prng, ForkDrawsDoNotShiftTheParent) {
  Prng a(42);
  Prng b(42);
  Prng child = a.fork("workload");
  draw(child, 100);
  EXPECT_EQ(draw(a, 100), draw(b, 100));
}

TEST(Prng, DifferentLabelsGiveDifferentStreams) {
  const Prng parent(42);
  Prng net = parent.fork("network");
  Prng work = parent.fork("workload");
  Prng empty = parent.fork("");
  Prng similar = parent.fork("networl");
  const auto vn = draw(net, 100);
  EXPECT_EQ(common_values(vn, draw(work, 100)), 0u);
  EXPECT_EQ(common_values(vn, draw(empty, 100)), 0u);
  EXPECT_EQ(common_values(vn, draw(similar, 100)), 0u);
}

TEST(Prng, ForkDiffersFromTheParentAndFromOtherParents) {
  const Prng parent(42);
  Prng same_parent(42);
  Prng child = parent.fork("orders-1");
  Prng cousin = Prng(43).fork("orders-1");
  const auto vc = draw(child, 100);
  EXPECT_EQ(common_values(vc, draw(same_parent, 100)), 0u);
  EXPECT_EQ(common_values(vc, draw(cousin, 100)), 0u);
  EXPECT_NE(child.seed(), parent.seed());
}

TEST(Prng, ForksOfForksAreReproducible) {
  Prng a = Prng(9).fork("process").fork("orders-1");
  Prng b = Prng(9).fork("process").fork("orders-1");
  Prng c = Prng(9).fork("process").fork("orders-2");
  const auto va = draw(a, 50);
  EXPECT_EQ(va, draw(b, 50));
  EXPECT_EQ(common_values(va, draw(c, 50)), 0u);
}

TEST(Prng, UniformStaysBelowTheBound) {
  Prng r(3);
  for (std::uint64_t bound : {1ULL, 2ULL, 3ULL, 10ULL, 1000ULL, (1ULL << 63) + 5}) {
    for (int i = 0; i < 2000; ++i) ASSERT_LT(r.uniform(bound), bound) << "bound " << bound;
  }
}

TEST(Prng, UniformCoversTheRangeEvenly) {
  Prng r(4);
  std::array<int, 8> seen{};
  for (int i = 0; i < 8000; ++i) ++seen[r.uniform(8)];
  for (int count : seen) {
    EXPECT_GT(count, 850);
    EXPECT_LT(count, 1150);
  }
}

TEST(Prng, UniformBetweenStaysInsideAndReachesBothEnds) {
  Prng r(5);
  bool low = false;
  bool high = false;
  for (int i = 0; i < 2000; ++i) {
    const std::int64_t v = r.uniform_between(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    low |= v == -3;
    high |= v == 3;
  }
  EXPECT_TRUE(low);
  EXPECT_TRUE(high);
  EXPECT_EQ(r.uniform_between(17, 17), 17);
}

TEST(Prng, UniformBetweenTheFullRangeDoesNotAbort) {
  Prng r(6);
  bool negative = false;
  bool positive = false;
  for (int i = 0; i < 100; ++i) {
    const std::int64_t v = r.uniform_between(INT64_MIN, INT64_MAX);
    negative |= v < 0;
    positive |= v > 0;
  }
  EXPECT_TRUE(negative && positive);
}

TEST(Prng, UnitIsInTheHalfOpenInterval) {
  Prng r(7);
  for (int i = 0; i < 10000; ++i) {
    const double u = r.unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(Prng, BernoulliExtremesAreCertain) {
  Prng r(8);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(r.bernoulli(0.0));
    ASSERT_TRUE(r.bernoulli(1.0));
  }
}

TEST(Prng, BernoulliHitsTheRequestedRate) {
  Prng r(9);
  int hits = 0;
  for (int i = 0; i < 20000; ++i) hits += r.bernoulli(0.25) ? 1 : 0;
  // Standard deviation is about 61.
  EXPECT_NEAR(hits, 5000, 300);
}

TEST(Prng, ExponentialHasTheRequestedMean) {
  Prng r(10);
  double sum = 0;
  for (int i = 0; i < 20000; ++i) {
    const double x = r.exponential(200.0);
    ASSERT_GE(x, 0.0);
    sum += x;
  }
  // The standard error of the mean is 200 / sqrt(20000), about 1.4.
  EXPECT_NEAR(sum / 20000, 200.0, 8.0);
}

TEST(Prng, ShuffleIsAPermutation) {
  Prng r(11);
  std::vector<int> items(40);
  std::iota(items.begin(), items.end(), 0);
  const std::vector<int> sorted = items;
  int reordered = 0;
  for (int round = 0; round < 20; ++round) {
    const std::vector<int> before = items;
    r.shuffle(std::span<int>(items));
    reordered += items != before ? 1 : 0;
    std::vector<int> check = items;
    std::sort(check.begin(), check.end());
    ASSERT_EQ(check, sorted);
  }
  EXPECT_EQ(reordered, 20);
}

TEST(Prng, ShuffleIsDeterministicForASeed) {
  std::vector<int> a(30);
  std::iota(a.begin(), a.end(), 0);
  std::vector<int> b = a;
  Prng ra(12);
  Prng rb(12);
  ra.shuffle(std::span<int>(a));
  rb.shuffle(std::span<int>(b));
  EXPECT_EQ(a, b);
}

TEST(Prng, PickReturnsAnElementOfTheRange) {
  Prng r(13);
  std::array<int, 4> items{10, 20, 30, 40};
  std::array<bool, 4> seen{};
  for (int i = 0; i < 400; ++i) {
    const int& v = r.pick(std::span<int>(items));
    const auto at = static_cast<std::size_t>(&v - items.data());
    ASSERT_LT(at, items.size());
    seen[at] = true;
  }
  for (bool s : seen) EXPECT_TRUE(s);
}

}  // namespace
}  // namespace orderflow::sim
