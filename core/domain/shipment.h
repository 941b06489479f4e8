// The Shipment aggregate as a pure decider.
//
// Lifecycle: requested -> allocated (stock reserved in a warehouse) -> packed ->
// dispatched (carrier and tracking) -> delivered. A shipment that cannot get its
// stock ends as failed; one cancelled before dispatch ends as cancelled and says in
// its event whether reserved stock must be released (the saga's compensation).
// Dispatched shipments cannot be cancelled. Delivered, cancelled and failed are
// terminal.
//
// The shipping service issues `DispatchShipment` only after the order recorded
// `OrderDispatchApproved` (see order.h for the cancel-versus-dispatch rule); this
// decider enforces the shipment's own half: dispatch needs a packed shipment.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "core/domain/decision.h"
#include "core/strong.h"
#include "core/time.h"

namespace orderflow::core {

struct ShipmentLine {
  Sku sku;
  Quantity quantity;
  friend bool operator==(const ShipmentLine&, const ShipmentLine&) = default;
};

enum class ShipmentStatus {
  kNone,
  kRequested,
  kAllocated,
  kPacked,
  kDispatched,
  kDelivered,
  kCancelled,
  kFailed,
};

[[nodiscard]] std::string_view to_string(ShipmentStatus status);

// Commands.
struct RequestShipment {
  ShipmentId shipment;
  OrderId order;
  std::vector<ShipmentLine> lines;
};
struct AllocateShipment {
  WarehouseId warehouse;
};
struct FailAllocation {
  std::string reason;
};
struct PackShipment {};
struct DispatchShipment {
  std::string carrier;
  std::string tracking;
};
struct DeliverShipment {};
struct CancelShipment {
  std::string reason;
};
using ShipmentCommand =
    std::variant<RequestShipment, AllocateShipment, FailAllocation, PackShipment, DispatchShipment,
                 DeliverShipment, CancelShipment>;

// Events.
struct ShipmentRequested {
  ShipmentId shipment;
  OrderId order;
  std::vector<ShipmentLine> lines;
  Timestamp requested_at;
  friend bool operator==(const ShipmentRequested&, const ShipmentRequested&) = default;
};
struct ShipmentAllocated {
  WarehouseId warehouse;
  Timestamp allocated_at;
  friend bool operator==(const ShipmentAllocated&, const ShipmentAllocated&) = default;
};
struct ShipmentAllocationFailed {
  std::string reason;
  Timestamp failed_at;
  friend bool operator==(const ShipmentAllocationFailed&,
                         const ShipmentAllocationFailed&) = default;
};
struct ShipmentPacked {
  Timestamp packed_at;
  friend bool operator==(const ShipmentPacked&, const ShipmentPacked&) = default;
};
struct ShipmentDispatched {
  std::string carrier;
  std::string tracking;
  Timestamp dispatched_at;
  friend bool operator==(const ShipmentDispatched&, const ShipmentDispatched&) = default;
};
struct ShipmentDelivered {
  Timestamp delivered_at;
  friend bool operator==(const ShipmentDelivered&, const ShipmentDelivered&) = default;
};
struct ShipmentCancelled {
  std::string reason;
  bool release_stock = false;  // stock was reserved and must go back to available
  Timestamp cancelled_at;
  friend bool operator==(const ShipmentCancelled&, const ShipmentCancelled&) = default;
};
using ShipmentEvent =
    std::variant<ShipmentRequested, ShipmentAllocated, ShipmentAllocationFailed, ShipmentPacked,
                 ShipmentDispatched, ShipmentDelivered, ShipmentCancelled>;

[[nodiscard]] std::string_view event_type(const ShipmentEvent& event);

struct ShipmentState {
  ShipmentStatus status = ShipmentStatus::kNone;
  AggregateVersion version;
  ShipmentId shipment;
  OrderId order;
  std::vector<ShipmentLine> lines;
  WarehouseId warehouse;
  std::string carrier;
  std::string tracking;
  Timestamp updated_at;

  [[nodiscard]] bool terminal() const {
    return status == ShipmentStatus::kDelivered || status == ShipmentStatus::kCancelled ||
           status == ShipmentStatus::kFailed;
  }
  // True while the shipment holds reserved stock (allocated or packed).
  [[nodiscard]] bool holds_stock() const {
    return status == ShipmentStatus::kAllocated || status == ShipmentStatus::kPacked;
  }
  friend bool operator==(const ShipmentState&, const ShipmentState&) = default;
};

struct ShipmentDecider {
  using State = ShipmentState;
  using Command = ShipmentCommand;
  using Event = ShipmentEvent;

  [[nodiscard]] static State initial() { return {}; }
  [[nodiscard]] static Decision<Event> decide(const State& state, const Command& command,
                                              Timestamp now);
  [[nodiscard]] static State evolve(State state, const Event& event);
};

}  // namespace orderflow::core
