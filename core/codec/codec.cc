#include "core/codec/codec.h"

#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/text_format.h>
#include <google/protobuf/timestamp.pb.h>

#include "core/check.h"
#include "core/overloaded.h"
#include "orderflow/v1/envelope.pb.h"

namespace orderflow::core {
namespace {

namespace pb = google::protobuf;
using Env = v1::EventEnvelope;
using Cmd = v1::CommandEnvelope;

// Enumerations: one row per domain value; the wire's UNSPECIFIED (0) has no row.
template <typename Domain, typename Wire, std::size_t N>
using EnumTable = std::pair<Domain, Wire>[N];

constexpr std::pair<AggregateType, v1::AggregateType> kAggregateTypes[] = {
    {AggregateType::kOrder, v1::AGGREGATE_TYPE_ORDER},
    {AggregateType::kShipment, v1::AGGREGATE_TYPE_SHIPMENT},
    {AggregateType::kStock, v1::AGGREGATE_TYPE_STOCK},
};
constexpr std::pair<CancelInitiator, v1::CancelInitiator> kInitiators[] = {
    {CancelInitiator::kCustomer, v1::CANCEL_INITIATOR_CUSTOMER},
    {CancelInitiator::kSystem, v1::CANCEL_INITIATOR_SYSTEM},
};
constexpr std::pair<RejectionCode, v1::RejectionCode> kRejectionCodes[] = {
    {RejectionCode::kInvalid, v1::REJECTION_CODE_INVALID},
    {RejectionCode::kNotFound, v1::REJECTION_CODE_NOT_FOUND},
    {RejectionCode::kAlreadyExists, v1::REJECTION_CODE_ALREADY_EXISTS},
    {RejectionCode::kConflict, v1::REJECTION_CODE_CONFLICT},
    {RejectionCode::kInsufficientStock, v1::REJECTION_CODE_INSUFFICIENT_STOCK},
};

template <typename Domain, typename Wire, std::size_t N>
Wire to_wire(const EnumTable<Domain, Wire, N>& table, Domain value) {
  for (const auto& [domain, wire] : table) {
    if (domain == value) return wire;
  }
  return Wire{};
}

// The aggregate each body variant belongs to.
constexpr Overloaded kAggregateOf{
    [](const OrderEvent&) { return AggregateType::kOrder; },
    [](const ShipmentEvent&) { return AggregateType::kShipment; },
    [](const StockEvent&) { return AggregateType::kStock; },
    [](const OrderCommand&) { return AggregateType::kOrder; },
    [](const ShipmentCommand&) { return AggregateType::kShipment; },
    [](const StockCommand&) { return AggregateType::kStock; },
};

// The range google.protobuf.Timestamp allows: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr std::int64_t kMinSeconds = -62'135'596'800;
constexpr std::int64_t kMaxSeconds = 253'402'300'799;
constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int32_t kNanosPerMicro = 1'000;
constexpr std::int32_t kMaxNanos = 999'999'999;

// Reads wire values into domain values and keeps the first domain rule one breaks, so
// that each body below converts in one expression per field.
class Reader {
 public:
  template <typename Count>
  Count non_negative(std::string_view field, std::int64_t value) {
    if (value < 0) fail(std::string(field) + " must not be negative, got " + std::to_string(value));
    return Count{value};
  }

  template <typename Count>
  Count positive(std::string_view field, std::int64_t value) {
    if (value < 1) fail(std::string(field) + " must be at least 1, got " + std::to_string(value));
    return Count{value};
  }

  Timestamp timestamp(std::string_view field, const pb::Timestamp& wire) {
    if (wire.seconds() < kMinSeconds || wire.seconds() > kMaxSeconds) {
      fail(std::string(field) + ": seconds " + std::to_string(wire.seconds()) +
           " is outside years 1 to 9999");
      return Timestamp{};
    }
    if (wire.nanos() < 0 || wire.nanos() > kMaxNanos) {
      fail(std::string(field) + ": nanos " + std::to_string(wire.nanos()) +
           " is outside [0, 999999999]");
      return Timestamp{};
    }
    return Timestamp{Duration{wire.seconds() * kMicrosPerSecond + wire.nanos() / kNanosPerMicro}};
  }

  template <typename Domain, typename Wire, std::size_t N>
  Domain enumerated(std::string_view field, const EnumTable<Domain, Wire, N>& table, Wire value) {
    for (const auto& [domain, wire] : table) {
      if (wire == value) return domain;
    }
    const int number = static_cast<int>(value);
    fail(std::string(field) +
         (number == 0 ? " is unspecified" : " has unknown value " + std::to_string(number)));
    return table[0].first;
  }

  void fail(std::string reason) {
    if (!error_) error_ = std::move(reason);
  }

  [[nodiscard]] const std::optional<std::string>& error() const { return error_; }

 private:
  std::optional<std::string> error_;
};

pb::Timestamp to_wire(Timestamp t) {
  // Floor division, so that nanos stays in [0, 1e9) before the epoch too.
  const std::int64_t micros = t.time_since_epoch().count();
  std::int64_t seconds = micros / kMicrosPerSecond;
  std::int64_t micros_left = micros % kMicrosPerSecond;
  if (micros_left < 0) {
    seconds -= 1;
    micros_left += kMicrosPerSecond;
  }
  pb::Timestamp wire;
  wire.set_seconds(seconds);
  wire.set_nanos(static_cast<std::int32_t>(micros_left) * kNanosPerMicro);
  return wire;
}

// Lines and addresses.

v1::OrderLine to_wire(const OrderLine& line) {
  v1::OrderLine m;
  m.set_sku(line.sku.str());
  m.set_quantity(line.quantity.value());
  m.set_unit_price_cents(line.unit_price.value());
  return m;
}

OrderLine from_wire(const v1::OrderLine& m, Reader& r) {
  return {Sku{m.sku()}, r.non_negative<Quantity>("lines.quantity", m.quantity()),
          Cents{m.unit_price_cents()}};
}

v1::ShipmentLine to_wire(const ShipmentLine& line) {
  v1::ShipmentLine m;
  m.set_sku(line.sku.str());
  m.set_quantity(line.quantity.value());
  return m;
}

ShipmentLine from_wire(const v1::ShipmentLine& m, Reader& r) {
  return {Sku{m.sku()}, r.non_negative<Quantity>("lines.quantity", m.quantity())};
}

template <typename WireLine, typename Line>
void add_lines(pb::RepeatedPtrField<WireLine>& wire, const std::vector<Line>& lines) {
  wire.Reserve(static_cast<int>(lines.size()));
  for (const Line& line : lines) *wire.Add() = to_wire(line);
}

template <typename WireLine>
auto read_lines(const pb::RepeatedPtrField<WireLine>& wire, Reader& r) {
  std::vector<decltype(from_wire(std::declval<const WireLine&>(), r))> lines;
  lines.reserve(static_cast<std::size_t>(wire.size()));
  for (const WireLine& line : wire) lines.push_back(from_wire(line, r));
  return lines;
}

v1::Address to_wire(const Address& a) {
  v1::Address m;
  m.set_name(a.name);
  m.set_street(a.street);
  m.set_city(a.city);
  m.set_postal_code(a.postal_code);
  m.set_country(a.country);
  return m;
}

Address from_wire(const v1::Address& m) {
  return {m.name(), m.street(), m.city(), m.postal_code(), m.country()};
}

// Order events.

v1::OrderPlaced to_wire(const OrderPlaced& e) {
  v1::OrderPlaced m;
  m.set_order_id(e.order.str());
  m.set_customer_id(e.customer.str());
  add_lines(*m.mutable_lines(), e.lines);
  *m.mutable_ship_to() = to_wire(e.ship_to);
  *m.mutable_placed_at() = to_wire(e.placed_at);
  return m;
}

OrderPlaced from_wire(const v1::OrderPlaced& m, Reader& r) {
  return {OrderId{m.order_id()}, CustomerId{m.customer_id()}, read_lines(m.lines(), r),
          from_wire(m.ship_to()), r.timestamp("placed_at", m.placed_at())};
}

v1::OrderConfirmed to_wire(const OrderConfirmed& e) {
  v1::OrderConfirmed m;
  m.set_shipment_id(e.shipment.str());
  *m.mutable_confirmed_at() = to_wire(e.confirmed_at);
  return m;
}

OrderConfirmed from_wire(const v1::OrderConfirmed& m, Reader& r) {
  return {ShipmentId{m.shipment_id()}, r.timestamp("confirmed_at", m.confirmed_at())};
}

v1::OrderCancelled to_wire(const OrderCancelled& e) {
  v1::OrderCancelled m;
  m.set_reason(e.reason);
  m.set_initiator(to_wire(kInitiators, e.initiator));
  *m.mutable_cancelled_at() = to_wire(e.cancelled_at);
  return m;
}

OrderCancelled from_wire(const v1::OrderCancelled& m, Reader& r) {
  return {m.reason(), r.enumerated("initiator", kInitiators, m.initiator()),
          r.timestamp("cancelled_at", m.cancelled_at())};
}

v1::OrderDispatchApproved to_wire(const OrderDispatchApproved& e) {
  v1::OrderDispatchApproved m;
  m.set_shipment_id(e.shipment.str());
  *m.mutable_approved_at() = to_wire(e.approved_at);
  return m;
}

OrderDispatchApproved from_wire(const v1::OrderDispatchApproved& m, Reader& r) {
  return {ShipmentId{m.shipment_id()}, r.timestamp("approved_at", m.approved_at())};
}

v1::OrderShipped to_wire(const OrderShipped& e) {
  v1::OrderShipped m;
  m.set_shipment_id(e.shipment.str());
  m.set_carrier(e.carrier);
  m.set_tracking(e.tracking);
  *m.mutable_shipped_at() = to_wire(e.shipped_at);
  return m;
}

OrderShipped from_wire(const v1::OrderShipped& m, Reader& r) {
  return {ShipmentId{m.shipment_id()}, m.carrier(), m.tracking(),
          r.timestamp("shipped_at", m.shipped_at())};
}

v1::OrderDelivered to_wire(const OrderDelivered& e) {
  v1::OrderDelivered m;
  *m.mutable_delivered_at() = to_wire(e.delivered_at);
  return m;
}

OrderDelivered from_wire(const v1::OrderDelivered& m, Reader& r) {
  return {r.timestamp("delivered_at", m.delivered_at())};
}

// Shipment events.

v1::ShipmentRequested to_wire(const ShipmentRequested& e) {
  v1::ShipmentRequested m;
  m.set_shipment_id(e.shipment.str());
  m.set_order_id(e.order.str());
  add_lines(*m.mutable_lines(), e.lines);
  *m.mutable_requested_at() = to_wire(e.requested_at);
  return m;
}

ShipmentRequested from_wire(const v1::ShipmentRequested& m, Reader& r) {
  return {ShipmentId{m.shipment_id()}, OrderId{m.order_id()}, read_lines(m.lines(), r),
          r.timestamp("requested_at", m.requested_at())};
}

v1::ShipmentAllocated to_wire(const ShipmentAllocated& e) {
  v1::ShipmentAllocated m;
  m.set_warehouse_id(e.warehouse.str());
  *m.mutable_allocated_at() = to_wire(e.allocated_at);
  return m;
}

ShipmentAllocated from_wire(const v1::ShipmentAllocated& m, Reader& r) {
  return {WarehouseId{m.warehouse_id()}, r.timestamp("allocated_at", m.allocated_at())};
}

v1::ShipmentAllocationFailed to_wire(const ShipmentAllocationFailed& e) {
  v1::ShipmentAllocationFailed m;
  m.set_reason(e.reason);
  *m.mutable_failed_at() = to_wire(e.failed_at);
  return m;
}

ShipmentAllocationFailed from_wire(const v1::ShipmentAllocationFailed& m, Reader& r) {
  return {m.reason(), r.timestamp("failed_at", m.failed_at())};
}

v1::ShipmentPacked to_wire(const ShipmentPacked& e) {
  v1::ShipmentPacked m;
  *m.mutable_packed_at() = to_wire(e.packed_at);
  return m;
}

ShipmentPacked from_wire(const v1::ShipmentPacked& m, Reader& r) {
  return {r.timestamp("packed_at", m.packed_at())};
}

v1::ShipmentDispatched to_wire(const ShipmentDispatched& e) {
  v1::ShipmentDispatched m;
  m.set_carrier(e.carrier);
  m.set_tracking(e.tracking);
  *m.mutable_dispatched_at() = to_wire(e.dispatched_at);
  return m;
}

ShipmentDispatched from_wire(const v1::ShipmentDispatched& m, Reader& r) {
  return {m.carrier(), m.tracking(), r.timestamp("dispatched_at", m.dispatched_at())};
}

v1::ShipmentDelivered to_wire(const ShipmentDelivered& e) {
  v1::ShipmentDelivered m;
  *m.mutable_delivered_at() = to_wire(e.delivered_at);
  return m;
}

ShipmentDelivered from_wire(const v1::ShipmentDelivered& m, Reader& r) {
  return {r.timestamp("delivered_at", m.delivered_at())};
}

v1::ShipmentCancelled to_wire(const ShipmentCancelled& e) {
  v1::ShipmentCancelled m;
  m.set_reason(e.reason);
  m.set_release_stock(e.release_stock);
  *m.mutable_cancelled_at() = to_wire(e.cancelled_at);
  return m;
}

ShipmentCancelled from_wire(const v1::ShipmentCancelled& m, Reader& r) {
  return {m.reason(), m.release_stock(), r.timestamp("cancelled_at", m.cancelled_at())};
}

// Stock events: the three keyed by order share their shape.

v1::StockRestocked to_wire(const StockRestocked& e) {
  v1::StockRestocked m;
  m.set_sku(e.sku.str());
  m.set_quantity(e.quantity.value());
  *m.mutable_at() = to_wire(e.at);
  return m;
}

StockRestocked from_wire(const v1::StockRestocked& m, Reader& r) {
  return {Sku{m.sku()}, r.non_negative<Quantity>("quantity", m.quantity()),
          r.timestamp("at", m.at())};
}

template <typename Wire, typename Event>
Wire order_stock_to_wire(const Event& e) {
  Wire m;
  m.set_order_id(e.order.str());
  m.set_quantity(e.quantity.value());
  *m.mutable_at() = to_wire(e.at);
  return m;
}

template <typename Event, typename Wire>
Event order_stock_from_wire(const Wire& m, Reader& r) {
  return {OrderId{m.order_id()}, r.non_negative<Quantity>("quantity", m.quantity()),
          r.timestamp("at", m.at())};
}

v1::StockReserved to_wire(const StockReserved& e) {
  return order_stock_to_wire<v1::StockReserved>(e);
}
v1::StockReleased to_wire(const StockReleased& e) {
  return order_stock_to_wire<v1::StockReleased>(e);
}
v1::StockShipped to_wire(const StockShipped& e) { return order_stock_to_wire<v1::StockShipped>(e); }

StockReserved from_wire(const v1::StockReserved& m, Reader& r) {
  return order_stock_from_wire<StockReserved>(m, r);
}
StockReleased from_wire(const v1::StockReleased& m, Reader& r) {
  return order_stock_from_wire<StockReleased>(m, r);
}
StockShipped from_wire(const v1::StockShipped& m, Reader& r) {
  return order_stock_from_wire<StockShipped>(m, r);
}

// Order commands.

v1::PlaceOrder to_wire(const PlaceOrder& c) {
  v1::PlaceOrder m;
  m.set_order_id(c.order.str());
  m.set_customer_id(c.customer.str());
  add_lines(*m.mutable_lines(), c.lines);
  *m.mutable_ship_to() = to_wire(c.ship_to);
  return m;
}

PlaceOrder from_wire(const v1::PlaceOrder& m, Reader& r) {
  return {OrderId{m.order_id()}, CustomerId{m.customer_id()}, read_lines(m.lines(), r),
          from_wire(m.ship_to())};
}

v1::ConfirmOrder to_wire(const ConfirmOrder& c) {
  v1::ConfirmOrder m;
  m.set_shipment_id(c.shipment.str());
  return m;
}

ConfirmOrder from_wire(const v1::ConfirmOrder& m, Reader&) { return {ShipmentId{m.shipment_id()}}; }

v1::CancelOrder to_wire(const CancelOrder& c) {
  v1::CancelOrder m;
  m.set_reason(c.reason);
  m.set_initiator(to_wire(kInitiators, c.initiator));
  return m;
}

CancelOrder from_wire(const v1::CancelOrder& m, Reader& r) {
  return {m.reason(), r.enumerated("initiator", kInitiators, m.initiator())};
}

v1::ApproveDispatch to_wire(const ApproveDispatch& c) {
  v1::ApproveDispatch m;
  m.set_shipment_id(c.shipment.str());
  return m;
}

ApproveDispatch from_wire(const v1::ApproveDispatch& m, Reader&) {
  return {ShipmentId{m.shipment_id()}};
}

v1::MarkShipped to_wire(const MarkShipped& c) {
  v1::MarkShipped m;
  m.set_shipment_id(c.shipment.str());
  m.set_carrier(c.carrier);
  m.set_tracking(c.tracking);
  return m;
}

MarkShipped from_wire(const v1::MarkShipped& m, Reader&) {
  return {ShipmentId{m.shipment_id()}, m.carrier(), m.tracking()};
}

v1::MarkDelivered to_wire(const MarkDelivered& c) {
  v1::MarkDelivered m;
  m.set_shipment_id(c.shipment.str());
  return m;
}

MarkDelivered from_wire(const v1::MarkDelivered& m, Reader&) {
  return {ShipmentId{m.shipment_id()}};
}

// Shipment commands.

v1::RequestShipment to_wire(const RequestShipment& c) {
  v1::RequestShipment m;
  m.set_shipment_id(c.shipment.str());
  m.set_order_id(c.order.str());
  add_lines(*m.mutable_lines(), c.lines);
  return m;
}

RequestShipment from_wire(const v1::RequestShipment& m, Reader& r) {
  return {ShipmentId{m.shipment_id()}, OrderId{m.order_id()}, read_lines(m.lines(), r)};
}

v1::AllocateShipment to_wire(const AllocateShipment& c) {
  v1::AllocateShipment m;
  m.set_warehouse_id(c.warehouse.str());
  return m;
}

AllocateShipment from_wire(const v1::AllocateShipment& m, Reader&) {
  return {WarehouseId{m.warehouse_id()}};
}

v1::FailAllocation to_wire(const FailAllocation& c) {
  v1::FailAllocation m;
  m.set_reason(c.reason);
  return m;
}

FailAllocation from_wire(const v1::FailAllocation& m, Reader&) { return {m.reason()}; }

v1::PackShipment to_wire(const PackShipment&) { return {}; }
PackShipment from_wire(const v1::PackShipment&, Reader&) { return {}; }

v1::DispatchShipment to_wire(const DispatchShipment& c) {
  v1::DispatchShipment m;
  m.set_carrier(c.carrier);
  m.set_tracking(c.tracking);
  return m;
}

DispatchShipment from_wire(const v1::DispatchShipment& m, Reader&) {
  return {m.carrier(), m.tracking()};
}

v1::DeliverShipment to_wire(const DeliverShipment&) { return {}; }
DeliverShipment from_wire(const v1::DeliverShipment&, Reader&) { return {}; }

v1::CancelShipment to_wire(const CancelShipment& c) {
  v1::CancelShipment m;
  m.set_reason(c.reason);
  return m;
}

CancelShipment from_wire(const v1::CancelShipment& m, Reader&) { return {m.reason()}; }

// Stock commands.

v1::Restock to_wire(const Restock& c) {
  v1::Restock m;
  m.set_sku(c.sku.str());
  m.set_quantity(c.quantity.value());
  return m;
}

Restock from_wire(const v1::Restock& m, Reader& r) {
  return {Sku{m.sku()}, r.non_negative<Quantity>("quantity", m.quantity())};
}

v1::ReserveStock to_wire(const ReserveStock& c) {
  v1::ReserveStock m;
  m.set_order_id(c.order.str());
  m.set_quantity(c.quantity.value());
  return m;
}

ReserveStock from_wire(const v1::ReserveStock& m, Reader& r) {
  return {OrderId{m.order_id()}, r.non_negative<Quantity>("quantity", m.quantity())};
}

v1::ReleaseStock to_wire(const ReleaseStock& c) {
  v1::ReleaseStock m;
  m.set_order_id(c.order.str());
  return m;
}

ReleaseStock from_wire(const v1::ReleaseStock& m, Reader&) { return {OrderId{m.order_id()}}; }

v1::ShipStock to_wire(const ShipStock& c) {
  v1::ShipStock m;
  m.set_order_id(c.order.str());
  return m;
}

ShipStock from_wire(const v1::ShipStock& m, Reader&) { return {OrderId{m.order_id()}}; }

// The envelope field that carries each body. A new body type adds one row to the
// `put_body` set and one case to `read_body`.

void put_body(Env& env, const OrderPlaced& e) { *env.mutable_order_placed() = to_wire(e); }
void put_body(Env& env, const OrderConfirmed& e) { *env.mutable_order_confirmed() = to_wire(e); }
void put_body(Env& env, const OrderCancelled& e) { *env.mutable_order_cancelled() = to_wire(e); }
void put_body(Env& env, const OrderDispatchApproved& e) {
  *env.mutable_order_dispatch_approved() = to_wire(e);
}
void put_body(Env& env, const OrderShipped& e) { *env.mutable_order_shipped() = to_wire(e); }
void put_body(Env& env, const OrderDelivered& e) { *env.mutable_order_delivered() = to_wire(e); }
void put_body(Env& env, const ShipmentRequested& e) {
  *env.mutable_shipment_requested() = to_wire(e);
}
void put_body(Env& env, const ShipmentAllocated& e) {
  *env.mutable_shipment_allocated() = to_wire(e);
}
void put_body(Env& env, const ShipmentAllocationFailed& e) {
  *env.mutable_shipment_allocation_failed() = to_wire(e);
}
void put_body(Env& env, const ShipmentPacked& e) { *env.mutable_shipment_packed() = to_wire(e); }
void put_body(Env& env, const ShipmentDispatched& e) {
  *env.mutable_shipment_dispatched() = to_wire(e);
}
void put_body(Env& env, const ShipmentDelivered& e) {
  *env.mutable_shipment_delivered() = to_wire(e);
}
void put_body(Env& env, const ShipmentCancelled& e) {
  *env.mutable_shipment_cancelled() = to_wire(e);
}
void put_body(Env& env, const StockRestocked& e) { *env.mutable_stock_restocked() = to_wire(e); }
void put_body(Env& env, const StockReserved& e) { *env.mutable_stock_reserved() = to_wire(e); }
void put_body(Env& env, const StockReleased& e) { *env.mutable_stock_released() = to_wire(e); }
void put_body(Env& env, const StockShipped& e) { *env.mutable_stock_shipped() = to_wire(e); }

void put_body(Cmd& env, const PlaceOrder& c) { *env.mutable_place_order() = to_wire(c); }
void put_body(Cmd& env, const ConfirmOrder& c) { *env.mutable_confirm_order() = to_wire(c); }
void put_body(Cmd& env, const CancelOrder& c) { *env.mutable_cancel_order() = to_wire(c); }
void put_body(Cmd& env, const ApproveDispatch& c) { *env.mutable_approve_dispatch() = to_wire(c); }
void put_body(Cmd& env, const MarkShipped& c) { *env.mutable_mark_shipped() = to_wire(c); }
void put_body(Cmd& env, const MarkDelivered& c) { *env.mutable_mark_delivered() = to_wire(c); }
void put_body(Cmd& env, const RequestShipment& c) { *env.mutable_request_shipment() = to_wire(c); }
void put_body(Cmd& env, const AllocateShipment& c) {
  *env.mutable_allocate_shipment() = to_wire(c);
}
void put_body(Cmd& env, const FailAllocation& c) { *env.mutable_fail_allocation() = to_wire(c); }
void put_body(Cmd& env, const PackShipment& c) { *env.mutable_pack_shipment() = to_wire(c); }
void put_body(Cmd& env, const DispatchShipment& c) {
  *env.mutable_dispatch_shipment() = to_wire(c);
}
void put_body(Cmd& env, const DeliverShipment& c) { *env.mutable_deliver_shipment() = to_wire(c); }
void put_body(Cmd& env, const CancelShipment& c) { *env.mutable_cancel_shipment() = to_wire(c); }
void put_body(Cmd& env, const Restock& c) { *env.mutable_restock() = to_wire(c); }
void put_body(Cmd& env, const ReserveStock& c) { *env.mutable_reserve_stock() = to_wire(c); }
void put_body(Cmd& env, const ReleaseStock& c) { *env.mutable_release_stock() = to_wire(c); }
void put_body(Cmd& env, const ShipStock& c) { *env.mutable_ship_stock() = to_wire(c); }

// The body, or nothing when no field of the oneof this build knows is set.
std::optional<AnyEvent> read_body(const Env& env, Reader& r) {
  switch (env.event_case()) {
    case Env::kOrderPlaced: return from_wire(env.order_placed(), r);
    case Env::kOrderConfirmed: return from_wire(env.order_confirmed(), r);
    case Env::kOrderCancelled: return from_wire(env.order_cancelled(), r);
    case Env::kOrderDispatchApproved: return from_wire(env.order_dispatch_approved(), r);
    case Env::kOrderShipped: return from_wire(env.order_shipped(), r);
    case Env::kOrderDelivered: return from_wire(env.order_delivered(), r);
    case Env::kShipmentRequested: return from_wire(env.shipment_requested(), r);
    case Env::kShipmentAllocated: return from_wire(env.shipment_allocated(), r);
    case Env::kShipmentAllocationFailed: return from_wire(env.shipment_allocation_failed(), r);
    case Env::kShipmentPacked: return from_wire(env.shipment_packed(), r);
    case Env::kShipmentDispatched: return from_wire(env.shipment_dispatched(), r);
    case Env::kShipmentDelivered: return from_wire(env.shipment_delivered(), r);
    case Env::kShipmentCancelled: return from_wire(env.shipment_cancelled(), r);
    case Env::kStockRestocked: return from_wire(env.stock_restocked(), r);
    case Env::kStockReserved: return from_wire(env.stock_reserved(), r);
    case Env::kStockReleased: return from_wire(env.stock_released(), r);
    case Env::kStockShipped: return from_wire(env.stock_shipped(), r);
    case Env::EVENT_NOT_SET: return std::nullopt;
  }
  return std::nullopt;
}

std::optional<AnyCommand> read_body(const Cmd& env, Reader& r) {
  switch (env.command_case()) {
    case Cmd::kPlaceOrder: return from_wire(env.place_order(), r);
    case Cmd::kConfirmOrder: return from_wire(env.confirm_order(), r);
    case Cmd::kCancelOrder: return from_wire(env.cancel_order(), r);
    case Cmd::kApproveDispatch: return from_wire(env.approve_dispatch(), r);
    case Cmd::kMarkShipped: return from_wire(env.mark_shipped(), r);
    case Cmd::kMarkDelivered: return from_wire(env.mark_delivered(), r);
    case Cmd::kRequestShipment: return from_wire(env.request_shipment(), r);
    case Cmd::kAllocateShipment: return from_wire(env.allocate_shipment(), r);
    case Cmd::kFailAllocation: return from_wire(env.fail_allocation(), r);
    case Cmd::kPackShipment: return from_wire(env.pack_shipment(), r);
    case Cmd::kDispatchShipment: return from_wire(env.dispatch_shipment(), r);
    case Cmd::kDeliverShipment: return from_wire(env.deliver_shipment(), r);
    case Cmd::kCancelShipment: return from_wire(env.cancel_shipment(), r);
    case Cmd::kRestock: return from_wire(env.restock(), r);
    case Cmd::kReserveStock: return from_wire(env.reserve_stock(), r);
    case Cmd::kReleaseStock: return from_wire(env.release_stock(), r);
    case Cmd::kShipStock: return from_wire(env.ship_stock(), r);
    case Cmd::COMMAND_NOT_SET: return std::nullopt;
  }
  return std::nullopt;
}

// Envelope metadata.

Env wire_envelope(const EventMeta& meta, AggregateType type) {
  Env env;
  env.set_event_id(meta.event_id.str());
  env.set_aggregate_type(to_wire(kAggregateTypes, type));
  env.set_aggregate_id(meta.aggregate_id);
  env.set_aggregate_version(meta.version.value());
  *env.mutable_event_time() = to_wire(meta.event_time);
  env.set_causation_id(meta.causation_id);
  env.set_correlation_id(meta.correlation_id);
  return env;
}

EventMeta read_meta(const Env& env, Reader& r) {
  return {EventId{env.event_id()},
          env.aggregate_id(),
          r.positive<AggregateVersion>("aggregate_version", env.aggregate_version()),
          r.timestamp("event_time", env.event_time()),
          env.causation_id(),
          env.correlation_id()};
}

Cmd wire_envelope(const CommandMeta& meta, AggregateType type) {
  Cmd env;
  env.set_command_id(meta.command_id);
  env.set_aggregate_type(to_wire(kAggregateTypes, type));
  env.set_aggregate_id(meta.aggregate_id);
  *env.mutable_issued_at() = to_wire(meta.issued_at);
  env.set_causation_id(meta.causation_id);
  env.set_correlation_id(meta.correlation_id);
  return env;
}

CommandMeta read_meta(const Cmd& env, Reader& r) {
  return {env.command_id(), env.aggregate_id(), r.timestamp("issued_at", env.issued_at()),
          env.causation_id(), env.correlation_id()};
}

// Steps shared by all envelopes.

std::string serialize(const pb::Message& message) {
  std::string bytes;
  const bool serialized = message.SerializeToString(&bytes);
  OF_CHECK(serialized, "a " + message.GetTypeName() + " did not serialize (over 2 GiB?)");
  return bytes;
}

std::unexpected<DecodeError> invalid(std::string reason) {
  return std::unexpected(DecodeError{DecodeErrorCode::kInvalid, std::move(reason)});
}

template <typename Message>
std::expected<Message, DecodeError> parse(std::string_view bytes) {
  Message message;
  if (bytes.size() > INT_MAX ||
      !message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return std::unexpected(
        DecodeError{DecodeErrorCode::kMalformed, "bytes do not parse as " + message.GetTypeName()});
  }
  return message;
}

// The field of the envelope's oneof that is set; only called once a body was read.
const pb::FieldDescriptor& body_field(const pb::Message& env) {
  const pb::FieldDescriptor* field =
      env.GetReflection()->GetOneofFieldDescriptor(env, env.GetDescriptor()->oneof_decl(0));
  OF_CHECK(field != nullptr, "body_field called on an envelope without a body");
  return *field;
}

std::unexpected<DecodeError> unknown_body(const pb::Message& env, std::string what) {
  std::string reason = std::move(what) + " has no body this build knows";
  const pb::UnknownFieldSet& unknown = env.GetReflection()->GetUnknownFields(env);
  for (int i = 0; i < unknown.field_count(); ++i) {
    reason +=
        (i == 0 ? "; unknown field numbers: " : ", ") + std::to_string(unknown.field(i).number());
  }
  return std::unexpected(DecodeError{DecodeErrorCode::kUnknownType, std::move(reason)});
}

// The envelope's aggregate_type, which must name the aggregate its body belongs to.
AggregateType read_aggregate(v1::AggregateType wire, const auto& body,
                             const pb::FieldDescriptor& field, Reader& r) {
  const AggregateType type = r.enumerated("aggregate_type", kAggregateTypes, wire);
  if (type != std::visit(kAggregateOf, body)) {
    r.fail("aggregate_type '" + std::string(to_string(type)) + "' does not match body '" +
           field.name() + "'");
  }
  return type;
}

template <typename Event>
std::string encode_any_event(const EventMeta& meta, const Event& event) {
  Env env = wire_envelope(meta, kAggregateOf(event));
  env.set_event_type(std::string(event_type(event)));
  std::visit([&env](const auto& body) { put_body(env, body); }, event);
  return serialize(env);
}

template <typename Command>
std::string encode_any_command(const CommandMeta& meta, const Command& command) {
  Cmd env = wire_envelope(meta, kAggregateOf(command));
  std::visit([&env](const auto& body) { put_body(env, body); }, command);
  return serialize(env);
}

std::expected<AggregateVersion, Rejection> read_result(const v1::CommandOutcome& m, Reader& r) {
  if (m.accepted()) {
    return r.non_negative<AggregateVersion>("resulting_version", m.resulting_version());
  }
  return std::unexpected(
      Rejection{r.enumerated("rejection_code", kRejectionCodes, m.rejection_code()), m.reason()});
}

}  // namespace

std::string_view to_string(AggregateType type) {
  switch (type) {
    case AggregateType::kOrder: return "order";
    case AggregateType::kShipment: return "shipment";
    case AggregateType::kStock: return "stock";
  }
  return "unknown";
}

std::string_view to_string(DecodeErrorCode code) {
  switch (code) {
    case DecodeErrorCode::kMalformed: return "malformed";
    case DecodeErrorCode::kUnknownType: return "unknown_type";
    case DecodeErrorCode::kInvalid: return "invalid";
  }
  return "unknown";
}

std::string encode_event(const EventMeta& meta, const OrderEvent& event) {
  return encode_any_event(meta, event);
}

std::string encode_event(const EventMeta& meta, const ShipmentEvent& event) {
  return encode_any_event(meta, event);
}

std::string encode_event(const EventMeta& meta, const StockEvent& event) {
  return encode_any_event(meta, event);
}

std::expected<DecodedEvent, DecodeError> decode_event(std::string_view bytes) {
  auto env = parse<Env>(bytes);
  if (!env) return std::unexpected(std::move(env.error()));

  Reader r;
  std::optional<AnyEvent> event = read_body(*env, r);
  if (!event) return unknown_body(*env, "event_type '" + env->event_type() + "'");
  const pb::FieldDescriptor& body = body_field(*env);
  if (env->event_type() != body.message_type()->name()) {
    return invalid("event_type '" + env->event_type() + "' does not match body '" + body.name() +
                   "'");
  }

  const AggregateType type = read_aggregate(env->aggregate_type(), *event, body, r);
  EventMeta meta = read_meta(*env, r);
  if (r.error()) return invalid(*r.error());
  return DecodedEvent{std::move(meta), type, env->event_type(), std::move(*event)};
}

std::string encode_command(const CommandMeta& meta, const OrderCommand& command) {
  return encode_any_command(meta, command);
}

std::string encode_command(const CommandMeta& meta, const ShipmentCommand& command) {
  return encode_any_command(meta, command);
}

std::string encode_command(const CommandMeta& meta, const StockCommand& command) {
  return encode_any_command(meta, command);
}

std::expected<DecodedCommand, DecodeError> decode_command(std::string_view bytes) {
  auto env = parse<Cmd>(bytes);
  if (!env) return std::unexpected(std::move(env.error()));

  Reader r;
  std::optional<AnyCommand> command = read_body(*env, r);
  if (!command) return unknown_body(*env, "command '" + env->command_id() + "'");

  const AggregateType type = read_aggregate(env->aggregate_type(), *command, body_field(*env), r);
  CommandMeta meta = read_meta(*env, r);
  if (r.error()) return invalid(*r.error());
  return DecodedCommand{std::move(meta), type, std::move(*command)};
}

std::string encode_outcome(const CommandOutcome& outcome) {
  v1::CommandOutcome m;
  m.set_command_id(outcome.command_id);
  m.set_aggregate_type(to_wire(kAggregateTypes, outcome.aggregate_type));
  m.set_aggregate_id(outcome.aggregate_id);
  m.set_accepted(outcome.result.has_value());
  if (outcome.result) {
    m.set_resulting_version(outcome.result->value());
  } else {
    m.set_rejection_code(to_wire(kRejectionCodes, outcome.result.error().code));
    m.set_reason(outcome.result.error().reason);
  }
  *m.mutable_decided_at() = to_wire(outcome.decided_at);
  return serialize(m);
}

std::expected<CommandOutcome, DecodeError> decode_outcome(std::string_view bytes) {
  auto m = parse<v1::CommandOutcome>(bytes);
  if (!m) return std::unexpected(std::move(m.error()));

  // Braced initialisation reads the fields in order, so the first bad field is reported.
  Reader r;
  CommandOutcome outcome{
      m->command_id(), r.enumerated("aggregate_type", kAggregateTypes, m->aggregate_type()),
      m->aggregate_id(), read_result(*m, r), r.timestamp("decided_at", m->decided_at())};
  if (r.error()) return invalid(*r.error());
  return outcome;
}

std::string event_debug_text(std::string_view bytes) {
  auto env = parse<Env>(bytes);
  if (!env) return "<malformed: " + env.error().reason + ">";

  pb::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  std::string text;
  if (!printer.PrintToString(*env, &text)) return "<malformed: no text format for the envelope>";
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace orderflow::core
