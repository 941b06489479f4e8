// Strong types for identifiers and counters.
//
// `StrongId<Tag>` wraps a string identifier (order ids, SKUs, ...) and
// `StrongInt<Tag, Rep>` an integer quantity (offsets, versions, ...). Two strong
// types with different tags never convert into each other, so an offset cannot be
// passed where a version is expected.
//
//   OrderId id{"o-42"};
//   Offset next = Offset{7}.next();
#pragma once

#include <compare>
#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace orderflow::core {

// `StrongId` owns its string and compares by value.
template <typename Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(std::string value) : value_(std::move(value)) {}
  explicit StrongId(std::string_view value) : value_(value) {}
  explicit StrongId(const char* value) : value_(value) {}

  [[nodiscard]] const std::string& str() const { return value_; }
  [[nodiscard]] bool empty() const { return value_.empty(); }

  friend auto operator<=>(const StrongId&, const StrongId&) = default;
  friend bool operator==(const StrongId&, const StrongId&) = default;

 private:
  std::string value_;
};

// `StrongInt` is an integer with a unit. Arithmetic is limited to what the unit
// allows: `next()` and comparison; use `value()` to leave the type deliberately.
template <typename Tag, std::integral Rep>
class StrongInt {
 public:
  using rep = Rep;

  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep value) : value_(value) {}

  [[nodiscard]] constexpr Rep value() const { return value_; }
  [[nodiscard]] constexpr StrongInt next() const { return StrongInt{static_cast<Rep>(value_ + 1)}; }

  friend constexpr auto operator<=>(StrongInt, StrongInt) = default;

 private:
  Rep value_ = 0;
};

// Domain identifiers.
using OrderId = StrongId<struct OrderIdTag>;
using CustomerId = StrongId<struct CustomerIdTag>;
using ShipmentId = StrongId<struct ShipmentIdTag>;
using Sku = StrongId<struct SkuTag>;
using EventId = StrongId<struct EventIdTag>;
using IdempotencyKey = StrongId<struct IdempotencyKeyTag>;
using WarehouseId = StrongId<struct WarehouseIdTag>;

// Per-aggregate event sequence number: the first event of an aggregate is version 1.
using AggregateVersion = StrongInt<struct AggregateVersionTag, std::int64_t>;
// A whole number of items of one SKU.
using Quantity = StrongInt<struct QuantityTag, std::int64_t>;
// Money in the smallest currency unit (cents); no floating point near money.
using Cents = StrongInt<struct CentsTag, std::int64_t>;

// Kafka coordinates.
using Partition = StrongInt<struct PartitionTag, std::int32_t>;
using Offset = StrongInt<struct OffsetTag, std::int64_t>;
using ProducerId = StrongInt<struct ProducerIdTag, std::int64_t>;
using ProducerEpoch = StrongInt<struct ProducerEpochTag, std::int16_t>;
using SequenceNumber = StrongInt<struct SequenceNumberTag, std::int32_t>;
using Generation = StrongInt<struct GenerationTag, std::int32_t>;

}  // namespace orderflow::core

template <typename Tag>
struct std::hash<orderflow::core::StrongId<Tag>> {
  std::size_t operator()(const orderflow::core::StrongId<Tag>& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};

template <typename Tag, std::integral Rep>
struct std::hash<orderflow::core::StrongInt<Tag, Rep>> {
  std::size_t operator()(orderflow::core::StrongInt<Tag, Rep> v) const noexcept {
    return std::hash<Rep>{}(v.value());
  }
};
