// `fnv1a`: the 64-bit FNV-1a hash of a string, for stable placement (coordinators,
// leaders) and seed derivation. Not for hash tables facing untrusted input.
#pragma once

#include <cstdint>
#include <string_view>

namespace orderflow::core {

[[nodiscard]] constexpr std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace orderflow::core
