// The Order aggregate as a pure decider.
//
// Lifecycle: placed -> confirmed (stock reserved) -> dispatch approved -> shipped
// -> delivered; cancelled from placed or confirmed. Delivered and cancelled are
// terminal.
//
// Cancel versus dispatch: both are decisions of this aggregate, so the order's own
// event log orders them. Shipping may only dispatch a shipment after the order has
// recorded `OrderDispatchApproved`; approval is refused once the order is cancelled,
// and cancellation is refused once dispatch is approved. Whichever command the
// order decides first wins, whatever the timing of the messages; the loser gets a
// `kConflict` rejection and shipping compensates (releases the reserved stock).
//
// Redelivered saga signals are harmless: a command whose effect is already in the
// state is accepted with no events.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "core/domain/decision.h"
#include "core/strong.h"
#include "core/time.h"

namespace orderflow::core {

struct OrderLine {
  Sku sku;
  Quantity quantity;
  Cents unit_price;

  friend bool operator==(const OrderLine&, const OrderLine&) = default;
};

struct Address {
  std::string name;
  std::string street;
  std::string city;
  std::string postal_code;
  std::string country;

  friend bool operator==(const Address&, const Address&) = default;
};

enum class OrderStatus {
  kNone,
  kPlaced,
  kConfirmed,
  kDispatchApproved,
  kShipped,
  kDelivered,
  kCancelled
};
enum class CancelInitiator { kCustomer, kSystem };

[[nodiscard]] std::string_view to_string(OrderStatus status);
[[nodiscard]] std::string_view to_string(CancelInitiator initiator);

// Limits on what one order may contain; the HTTP layer reports them as 400s.
inline constexpr std::size_t kMaxOrderLines = 100;
inline constexpr Quantity kMaxLineQuantity{10'000};

// Commands.
struct PlaceOrder {
  OrderId order;
  CustomerId customer;
  std::vector<OrderLine> lines;
  Address ship_to;
};
struct ConfirmOrder {
  ShipmentId shipment;
};
struct CancelOrder {
  std::string reason;
  CancelInitiator initiator = CancelInitiator::kCustomer;
};
struct ApproveDispatch {
  ShipmentId shipment;
};
struct MarkShipped {
  ShipmentId shipment;
  std::string carrier;
  std::string tracking;
};
struct MarkDelivered {
  ShipmentId shipment;
};
using OrderCommand = std::variant<PlaceOrder, ConfirmOrder, CancelOrder, ApproveDispatch,
                                  MarkShipped, MarkDelivered>;

// Events.
struct OrderPlaced {
  OrderId order;
  CustomerId customer;
  std::vector<OrderLine> lines;
  Address ship_to;
  Timestamp placed_at;
  friend bool operator==(const OrderPlaced&, const OrderPlaced&) = default;
};
struct OrderConfirmed {
  ShipmentId shipment;
  Timestamp confirmed_at;
  friend bool operator==(const OrderConfirmed&, const OrderConfirmed&) = default;
};
struct OrderCancelled {
  std::string reason;
  CancelInitiator initiator = CancelInitiator::kCustomer;
  Timestamp cancelled_at;
  friend bool operator==(const OrderCancelled&, const OrderCancelled&) = default;
};
struct OrderDispatchApproved {
  ShipmentId shipment;
  Timestamp approved_at;
  friend bool operator==(const OrderDispatchApproved&, const OrderDispatchApproved&) = default;
};
struct OrderShipped {
  ShipmentId shipment;
  std::string carrier;
  std::string tracking;
  Timestamp shipped_at;
  friend bool operator==(const OrderShipped&, const OrderShipped&) = default;
};
struct OrderDelivered {
  Timestamp delivered_at;
  friend bool operator==(const OrderDelivered&, const OrderDelivered&) = default;
};
using OrderEvent = std::variant<OrderPlaced, OrderConfirmed, OrderCancelled, OrderDispatchApproved,
                                OrderShipped, OrderDelivered>;

[[nodiscard]] std::string_view event_type(const OrderEvent& event);

struct OrderState {
  OrderStatus status = OrderStatus::kNone;
  AggregateVersion version;  // 0 before the first event
  OrderId order;
  CustomerId customer;
  std::vector<OrderLine> lines;
  Address ship_to;
  ShipmentId shipment;  // set once stock is reserved
  Timestamp placed_at;
  Timestamp updated_at;

  [[nodiscard]] bool terminal() const {
    return status == OrderStatus::kDelivered || status == OrderStatus::kCancelled;
  }
  [[nodiscard]] Cents total() const;
  friend bool operator==(const OrderState&, const OrderState&) = default;
};

struct OrderDecider {
  using State = OrderState;
  using Command = OrderCommand;
  using Event = OrderEvent;

  [[nodiscard]] static State initial() { return {}; }
  [[nodiscard]] static Decision<Event> decide(const State& state, const Command& command,
                                              Timestamp now);
  [[nodiscard]] static State evolve(State state, const Event& event);
};

// Checks a `PlaceOrder` on its own, without any state; the HTTP layer uses it to
// name the offending field before a command is ever sent.
[[nodiscard]] std::expected<void, Rejection> validate(const PlaceOrder& command);

}  // namespace orderflow::core
