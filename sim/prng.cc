#include "sim/prng.h"

#include "core/hash.h"
#include "core/ports/seeded_random.h"

namespace orderflow::sim {
namespace {

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Prng::Prng(std::uint64_t seed) : seed_(seed) {
  core::SeededRandom expand(seed);
  for (auto& word : s_) word = expand.next_u64();
}

std::uint64_t Prng::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

Prng Prng::fork(std::string_view label) const {
  return Prng(seed_ ^ rotl(core::fnv1a(label), 17) ^ 0x6a09e667f3bcc909ULL);
}

}  // namespace orderflow::sim
