#include "core/domain/order.h"

#include <set>

#include "core/overloaded.h"

namespace orderflow::core {
namespace {

// Position of a status on the forward lifecycle; cancelled is off the line.
int rank(OrderStatus status) {
  switch (status) {
    case OrderStatus::kNone: return 0;
    case OrderStatus::kPlaced: return 1;
    case OrderStatus::kConfirmed: return 2;
    case OrderStatus::kDispatchApproved: return 3;
    case OrderStatus::kShipped: return 4;
    case OrderStatus::kDelivered: return 5;
    case OrderStatus::kCancelled: return -1;
  }
  return -1;
}

std::vector<OrderEvent> none() { return {}; }

std::expected<bool, Rejection> step_to(const OrderState& state, OrderStatus target) {
  return forward_step("order", {rank(state.status), to_string(state.status)},
                      {rank(target), to_string(target)});
}

// The shipment named by a saga signal must be the one the order is bound to.
std::expected<void, Rejection> same_shipment(const OrderState& state, const ShipmentId& shipment) {
  if (shipment.empty()) return reject(RejectionCode::kInvalid, "shipment: must not be empty");
  if (!state.shipment.empty() && state.shipment != shipment) {
    return reject(RejectionCode::kConflict,
                  "order is bound to shipment " + state.shipment.str() + ", not " + shipment.str());
  }
  return {};
}

Decision<OrderEvent> decide_place(const OrderState& state, const PlaceOrder& c, Timestamp now) {
  if (auto valid = validate(c); !valid) return std::unexpected(valid.error());
  if (state.status != OrderStatus::kNone) {
    const bool same = state.order == c.order && state.customer == c.customer &&
                      state.lines == c.lines && state.ship_to == c.ship_to;
    if (same) return none();
    return reject(RejectionCode::kAlreadyExists, "order " + c.order.str() + " already exists");
  }
  return std::vector<OrderEvent>{OrderPlaced{c.order, c.customer, c.lines, c.ship_to, now}};
}

Decision<OrderEvent> decide_confirm(const OrderState& state, const ConfirmOrder& c, Timestamp now) {
  auto step = step_to(state, OrderStatus::kConfirmed);
  if (!step) return std::unexpected(step.error());
  if (auto same = same_shipment(state, c.shipment); !same) return std::unexpected(same.error());
  if (!*step) return none();
  return std::vector<OrderEvent>{OrderConfirmed{c.shipment, now}};
}

Decision<OrderEvent> decide_cancel(const OrderState& state, const CancelOrder& c, Timestamp now) {
  switch (state.status) {
    case OrderStatus::kNone: return reject(RejectionCode::kNotFound, "order does not exist");
    case OrderStatus::kPlaced:
    case OrderStatus::kConfirmed:
      return std::vector<OrderEvent>{OrderCancelled{c.reason, c.initiator, now}};
    case OrderStatus::kCancelled: return none();
    case OrderStatus::kDispatchApproved:
    case OrderStatus::kShipped:
    case OrderStatus::kDelivered: break;
  }
  return reject(RejectionCode::kConflict, std::string("order is ") +
                                              std::string(to_string(state.status)) +
                                              "; it can no longer be cancelled");
}

Decision<OrderEvent> decide_approve(const OrderState& state, const ApproveDispatch& c,
                                    Timestamp now) {
  auto step = step_to(state, OrderStatus::kDispatchApproved);
  if (!step) return std::unexpected(step.error());
  if (auto same = same_shipment(state, c.shipment); !same) return std::unexpected(same.error());
  if (!*step) return none();
  return std::vector<OrderEvent>{OrderDispatchApproved{c.shipment, now}};
}

Decision<OrderEvent> decide_shipped(const OrderState& state, const MarkShipped& c, Timestamp now) {
  if (c.carrier.empty()) return reject(RejectionCode::kInvalid, "carrier: must not be empty");
  if (c.tracking.empty()) return reject(RejectionCode::kInvalid, "tracking: must not be empty");
  auto step = step_to(state, OrderStatus::kShipped);
  if (!step) return std::unexpected(step.error());
  if (auto same = same_shipment(state, c.shipment); !same) return std::unexpected(same.error());
  if (!*step) return none();
  return std::vector<OrderEvent>{OrderShipped{c.shipment, c.carrier, c.tracking, now}};
}

Decision<OrderEvent> decide_delivered(const OrderState& state, const MarkDelivered& c,
                                      Timestamp now) {
  auto step = step_to(state, OrderStatus::kDelivered);
  if (!step) return std::unexpected(step.error());
  if (auto same = same_shipment(state, c.shipment); !same) return std::unexpected(same.error());
  if (!*step) return none();
  return std::vector<OrderEvent>{OrderDelivered{now}};
}

}  // namespace

std::string_view to_string(OrderStatus status) {
  switch (status) {
    case OrderStatus::kNone: return "none";
    case OrderStatus::kPlaced: return "placed";
    case OrderStatus::kConfirmed: return "confirmed";
    case OrderStatus::kDispatchApproved: return "dispatch_approved";
    case OrderStatus::kShipped: return "shipped";
    case OrderStatus::kDelivered: return "delivered";
    case OrderStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string_view to_string(CancelInitiator initiator) {
  return initiator == CancelInitiator::kCustomer ? "customer" : "system";
}

std::string_view event_type(const OrderEvent& event) {
  return std::visit(Overloaded{
                        [](const OrderPlaced&) { return "OrderPlaced"; },
                        [](const OrderConfirmed&) { return "OrderConfirmed"; },
                        [](const OrderCancelled&) { return "OrderCancelled"; },
                        [](const OrderDispatchApproved&) { return "OrderDispatchApproved"; },
                        [](const OrderShipped&) { return "OrderShipped"; },
                        [](const OrderDelivered&) { return "OrderDelivered"; },
                    },
                    event);
}

Cents OrderState::total() const {
  std::int64_t sum = 0;
  for (const auto& line : lines) sum += line.quantity.value() * line.unit_price.value();
  return Cents{sum};
}

std::expected<void, Rejection> validate(const PlaceOrder& c) {
  auto invalid = [](std::string reason) {
    return reject(RejectionCode::kInvalid, std::move(reason));
  };
  if (c.order.empty()) return invalid("order_id: must not be empty");
  if (c.customer.empty()) return invalid("customer_id: must not be empty");
  if (c.lines.empty()) return invalid("items: at least one item is required");
  if (c.lines.size() > kMaxOrderLines) return invalid("items: at most 100 items are allowed");

  std::set<Sku> seen;
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    const auto& line = c.lines[i];
    const std::string at = "items[" + std::to_string(i) + "].";
    if (line.sku.empty()) return invalid(at + "sku: must not be empty");
    if (!seen.insert(line.sku).second) return invalid(at + "sku: appears more than once");
    if (line.quantity <= Quantity{0}) return invalid(at + "quantity: must be positive");
    if (line.quantity > kMaxLineQuantity) return invalid(at + "quantity: must be at most 10000");
    if (line.unit_price < Cents{0}) return invalid(at + "unit_price: must not be negative");
  }

  const Address& a = c.ship_to;
  if (a.name.empty()) return invalid("shipping_address.name: must not be empty");
  if (a.street.empty()) return invalid("shipping_address.street: must not be empty");
  if (a.city.empty()) return invalid("shipping_address.city: must not be empty");
  if (a.country.empty()) return invalid("shipping_address.country: must not be empty");
  // The postal code is optional: not every country has one.
  return {};
}

Decision<OrderEvent> OrderDecider::decide(const State& state, const Command& command,
                                          Timestamp now) {
  return std::visit(Overloaded{
                        [&](const PlaceOrder& c) { return decide_place(state, c, now); },
                        [&](const ConfirmOrder& c) { return decide_confirm(state, c, now); },
                        [&](const CancelOrder& c) { return decide_cancel(state, c, now); },
                        [&](const ApproveDispatch& c) { return decide_approve(state, c, now); },
                        [&](const MarkShipped& c) { return decide_shipped(state, c, now); },
                        [&](const MarkDelivered& c) { return decide_delivered(state, c, now); },
                    },
                    command);
}

OrderState OrderDecider::evolve(State state, const Event& event) {
  std::visit(Overloaded{
                 [&](const OrderPlaced& e) {
                   state.status = OrderStatus::kPlaced;
                   state.order = e.order;
                   state.customer = e.customer;
                   state.lines = e.lines;
                   state.ship_to = e.ship_to;
                   state.placed_at = e.placed_at;
                   state.updated_at = e.placed_at;
                 },
                 [&](const OrderConfirmed& e) {
                   state.status = OrderStatus::kConfirmed;
                   state.shipment = e.shipment;
                   state.updated_at = e.confirmed_at;
                 },
                 [&](const OrderCancelled& e) {
                   state.status = OrderStatus::kCancelled;
                   state.updated_at = e.cancelled_at;
                 },
                 [&](const OrderDispatchApproved& e) {
                   state.status = OrderStatus::kDispatchApproved;
                   state.shipment = e.shipment;
                   state.updated_at = e.approved_at;
                 },
                 [&](const OrderShipped& e) {
                   state.status = OrderStatus::kShipped;
                   state.updated_at = e.shipped_at;
                 },
                 [&](const OrderDelivered& e) {
                   state.status = OrderStatus::kDelivered;
                   state.updated_at = e.delivered_at;
                 },
             },
             event);
  state.version = state.version.next();
  return state;
}

}  // namespace orderflow::core
