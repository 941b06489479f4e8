#include "core/murmur2.h"

#include <cstring>

#include "core/check.h"

namespace orderflow::core {
namespace {

constexpr std::uint32_t kSeed = 0x9747b28c;
constexpr std::uint32_t kMix = 0x5bd1e995;
constexpr int kShift = 24;

std::uint32_t load_le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

}  // namespace

std::int32_t murmur2(std::string_view key) {
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const auto length = static_cast<std::uint32_t>(key.size());
  std::uint32_t h = kSeed ^ length;

  const std::size_t blocks = key.size() / 4;
  for (std::size_t i = 0; i < blocks; ++i) {
    std::uint32_t k = load_le32(data + 4 * i);
    k *= kMix;
    k ^= k >> kShift;
    k *= kMix;
    h *= kMix;
    h ^= k;
  }

  // The tail bytes fold in from the highest down, as in the Java client.
  const unsigned char* tail = data + 4 * blocks;
  switch (key.size() % 4) {
    case 3: h ^= static_cast<std::uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<std::uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1: h ^= static_cast<std::uint32_t>(tail[0]); h *= kMix;
  }

  h ^= h >> 13;
  h *= kMix;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

Partition partition_for_key(std::string_view key, std::int32_t partitions) {
  OF_CHECK(partitions > 0, "partition count must be positive");
  const auto positive = static_cast<std::uint32_t>(murmur2(key)) & 0x7fffffffU;
  return Partition{static_cast<std::int32_t>(positive % static_cast<std::uint32_t>(partitions))};
}

}  // namespace orderflow::core
