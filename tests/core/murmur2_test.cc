#include "core/murmur2.h"

#include <string>

#include <gtest/gtest.h>

namespace orderflow::core {
namespace {

struct HashVector {
  const char* key;
  std::int32_t java_hash;
};

// Hashes computed by the Kafka Java client's `Utils.murmur2` (its UtilsTest, and
// the values other Kafka clients check themselves against).
constexpr HashVector kJavaHashes[] = {
    // Kafka's own UtilsTest.
    {"21", -973932308},
    {"foobar", -790332482},
    {"a-little-bit-long-string", -985981536},
    {"a-little-bit-longer-string", -1486304829},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
    {"abc", 479470107},
    // librdkafka's murmur2 unit test, which lists the Java client's results; the
    // shifted keys exercise every tail length.
    {"kafka", static_cast<std::int32_t>(0xd067cf64)},
    {"giberish123456789", static_cast<std::int32_t>(0x8f552b0c)},
    {"1234", static_cast<std::int32_t>(0x9fc97b14)},
    {"234", static_cast<std::int32_t>(0xe7c009ca)},
    {"34", static_cast<std::int32_t>(0x873930da)},
    {"4", static_cast<std::int32_t>(0x5a4b5ca1)},
    {"PreAmbleWillBeRemoved,ThePrePartThatIs", static_cast<std::int32_t>(0x78424f1c)},
    {"reAmbleWillBeRemoved,ThePrePartThatIs", static_cast<std::int32_t>(0x4a62b377)},
    {"eAmbleWillBeRemoved,ThePrePartThatIs", static_cast<std::int32_t>(0xe0e4e09e)},
    {"AmbleWillBeRemoved,ThePrePartThatIs", static_cast<std::int32_t>(0x62b8b43f)},
    {"", static_cast<std::int32_t>(0x106e08d9)},
    // Values other JVM projects check against Kafka's implementation.
    {"1", -1993445489},
    {"12", 126087238},
    {"123", -267702483},
    {"12345", -1188365604},
};

TEST(Murmur2, MatchesTheJavaClient) {
  for (const auto& v : kJavaHashes) {
    EXPECT_EQ(murmur2(v.key), v.java_hash) << "key " << v.key;
  }
}

struct PartitionVector {
  const char* key;
  std::int32_t partitions;
  std::int32_t partition;
};

// `DefaultPartitioner`: toPositive(murmur2(key)) % partitions, where toPositive
// clears the sign bit (it is not Math.abs).
constexpr PartitionVector kJavaPartitions[] = {
    // Partitions a broker acknowledged for records sent with these keys to a
    // three-partition topic by a client using the Java-compatible partitioner.
    {"alice", 3, 0},
    {"sam", 3, 1},
    {"leo", 3, 2},
    {"maria", 3, 0},
    {"omar", 3, 1},
    {"yuki", 3, 0},
    // Derived from the Java hashes above; the comment gives the positive hash.
    {"21", 3, 0},      // 1173551340
    {"foobar", 3, 0},  // 1357151166
    {"abc", 5, 2},     // 479470107
    {"kafka", 7, 3},   // 1348980580
    {"1", 12, 3},      // 154038159
    {"1234", 10, 0},   // 533297940
    {"12", 16, 6},     // 126087238
};

TEST(Murmur2, PartitionsKeysLikeTheJavaDefaultPartitioner) {
  for (const auto& v : kJavaPartitions) {
    EXPECT_EQ(partition_for_key(v.key, v.partitions), Partition{v.partition})
        << "key " << v.key << " over " << v.partitions << " partitions";
  }
}

TEST(Murmur2, NegativeHashesAreMaskedNotNegated) {
  // Math.abs(-973932308) % 3 would be 2; Kafka's toPositive gives 0.
  ASSERT_LT(murmur2("21"), 0);
  EXPECT_EQ(partition_for_key("21", 3), Partition{0});
}

}  // namespace
}  // namespace orderflow::core
