#include "core/domain/stock.h"

#include <string>

#include "core/overloaded.h"

namespace orderflow::core {
namespace {

Quantity plus(Quantity a, Quantity b) { return Quantity{a.value() + b.value()}; }
Quantity minus(Quantity a, Quantity b) { return Quantity{a.value() - b.value()}; }

Decision<StockEvent> decide_restock(const StockState& state, const Restock& c, Timestamp now) {
  if (c.sku.empty()) return reject(RejectionCode::kInvalid, "sku: must not be empty");
  if (c.quantity <= Quantity{0})
    return reject(RejectionCode::kInvalid, "quantity: must be positive");
  if (!state.sku.empty() && state.sku != c.sku) {
    return reject(RejectionCode::kConflict, "stock holds sku " + state.sku.str());
  }
  return std::vector<StockEvent>{StockRestocked{c.sku, c.quantity, now}};
}

Decision<StockEvent> decide_reserve(const StockState& state, const ReserveStock& c, Timestamp now) {
  if (c.order.empty()) return reject(RejectionCode::kInvalid, "order_id: must not be empty");
  if (c.quantity <= Quantity{0})
    return reject(RejectionCode::kInvalid, "quantity: must be positive");
  if (auto it = state.reservations.find(c.order); it != state.reservations.end()) {
    if (it->second.status == ReservationStatus::kHeld && it->second.quantity == c.quantity) {
      return std::vector<StockEvent>{};
    }
    return reject(RejectionCode::kConflict,
                  "order " + c.order.str() + " already has a reservation");
  }
  if (c.quantity > state.available) {
    return reject(RejectionCode::kInsufficientStock,
                  "requested " + std::to_string(c.quantity.value()) + ", available " +
                      std::to_string(state.available.value()));
  }
  return std::vector<StockEvent>{StockReserved{c.order, c.quantity, now}};
}

// Release and ship both settle a held reservation; settling it the same way again
// is a no-op, settling it the other way is a conflict.
template <typename Event>
Decision<StockEvent> settle(const StockState& state, const OrderId& order, ReservationStatus to,
                            Timestamp now) {
  if (order.empty()) return reject(RejectionCode::kInvalid, "order_id: must not be empty");
  auto it = state.reservations.find(order);
  if (it == state.reservations.end()) {
    return reject(RejectionCode::kNotFound, "order " + order.str() + " has no reservation");
  }
  if (it->second.status == to) return std::vector<StockEvent>{};
  if (it->second.status != ReservationStatus::kHeld) {
    return reject(RejectionCode::kConflict,
                  "reservation of order " + order.str() + " is already settled");
  }
  return std::vector<StockEvent>{Event{order, it->second.quantity, now}};
}

}  // namespace

std::string_view event_type(const StockEvent& event) {
  return std::visit(Overloaded{
                        [](const StockRestocked&) { return "StockRestocked"; },
                        [](const StockReserved&) { return "StockReserved"; },
                        [](const StockReleased&) { return "StockReleased"; },
                        [](const StockShipped&) { return "StockShipped"; },
                    },
                    event);
}

Decision<StockEvent> StockDecider::decide(const State& state, const Command& command,
                                          Timestamp now) {
  return std::visit(
      Overloaded{
          [&](const Restock& c) { return decide_restock(state, c, now); },
          [&](const ReserveStock& c) { return decide_reserve(state, c, now); },
          [&](const ReleaseStock& c) {
            return settle<StockReleased>(state, c.order, ReservationStatus::kReleased, now);
          },
          [&](const ShipStock& c) {
            return settle<StockShipped>(state, c.order, ReservationStatus::kShipped, now);
          },
      },
      command);
}

StockState StockDecider::evolve(State state, const Event& event) {
  std::visit(Overloaded{
                 [&](const StockRestocked& e) {
                   state.sku = e.sku;
                   state.received = plus(state.received, e.quantity);
                   state.available = plus(state.available, e.quantity);
                 },
                 [&](const StockReserved& e) {
                   state.available = minus(state.available, e.quantity);
                   state.reserved = plus(state.reserved, e.quantity);
                   state.reservations[e.order] = Reservation{e.quantity, ReservationStatus::kHeld};
                 },
                 [&](const StockReleased& e) {
                   state.reserved = minus(state.reserved, e.quantity);
                   state.available = plus(state.available, e.quantity);
                   state.reservations[e.order].status = ReservationStatus::kReleased;
                 },
                 [&](const StockShipped& e) {
                   state.reserved = minus(state.reserved, e.quantity);
                   state.shipped = plus(state.shipped, e.quantity);
                   state.reservations[e.order].status = ReservationStatus::kShipped;
                 },
             },
             event);
  state.version = state.version.next();
  return state;
}

}  // namespace orderflow::core
