// Kafka's default partitioner for keyed records.
//
// `murmur2` is the 32-bit MurmurHash2 variant of the Kafka Java client
// (`org.apache.kafka.common.utils.Utils.murmur2`, seed 0x9747b28c), and
// `partition_for_key` is its `toPositive(murmur2(key)) % partitions`. librdkafka's
// `murmur2_random` partitioner computes the same, so a key lands on the same
// partition in the simulator, in librdkafka and in a Java client.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/strong.h"

namespace orderflow::core {

[[nodiscard]] std::int32_t murmur2(std::string_view key);

// Precondition: `partitions` > 0.
[[nodiscard]] Partition partition_for_key(std::string_view key, std::int32_t partitions);

}  // namespace orderflow::core
