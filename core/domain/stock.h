// The Stock aggregate: warehouse stock of one SKU, as a pure decider.
//
// Conservation: `available + reserved + shipped == received` for every SKU at every
// version, where `received` only grows by restocking. Reservations are held per
// order, so releasing or shipping an order's reservation moves exactly what it
// reserved, and a redelivered reserve, release or ship is accepted with no events.
#pragma once

#include <map>
#include <variant>

#include "core/domain/decision.h"
#include "core/strong.h"
#include "core/time.h"

namespace orderflow::core {

// Commands.
struct Restock {
  Sku sku;
  Quantity quantity;
};
struct ReserveStock {
  OrderId order;
  Quantity quantity;
};
struct ReleaseStock {
  OrderId order;
};
struct ShipStock {
  OrderId order;
};
using StockCommand = std::variant<Restock, ReserveStock, ReleaseStock, ShipStock>;

// Events.
struct StockRestocked {
  Sku sku;
  Quantity quantity;
  Timestamp at;
  friend bool operator==(const StockRestocked&, const StockRestocked&) = default;
};
struct StockReserved {
  OrderId order;
  Quantity quantity;
  Timestamp at;
  friend bool operator==(const StockReserved&, const StockReserved&) = default;
};
struct StockReleased {
  OrderId order;
  Quantity quantity;
  Timestamp at;
  friend bool operator==(const StockReleased&, const StockReleased&) = default;
};
struct StockShipped {
  OrderId order;
  Quantity quantity;
  Timestamp at;
  friend bool operator==(const StockShipped&, const StockShipped&) = default;
};
using StockEvent = std::variant<StockRestocked, StockReserved, StockReleased, StockShipped>;

[[nodiscard]] std::string_view event_type(const StockEvent& event);

enum class ReservationStatus { kHeld, kReleased, kShipped };

struct Reservation {
  Quantity quantity;
  ReservationStatus status = ReservationStatus::kHeld;
  friend bool operator==(const Reservation&, const Reservation&) = default;
};

struct StockState {
  AggregateVersion version;
  Sku sku;
  Quantity received;
  Quantity available;
  Quantity reserved;
  Quantity shipped;
  std::map<OrderId, Reservation> reservations;

  // The conservation law; true in every state a legal event sequence reaches.
  [[nodiscard]] bool conserved() const {
    return available.value() + reserved.value() + shipped.value() == received.value() &&
           available >= Quantity{0} && reserved >= Quantity{0} && shipped >= Quantity{0};
  }
  friend bool operator==(const StockState&, const StockState&) = default;
};

struct StockDecider {
  using State = StockState;
  using Command = StockCommand;
  using Event = StockEvent;

  [[nodiscard]] static State initial() { return {}; }
  [[nodiscard]] static Decision<Event> decide(const State& state, const Command& command,
                                              Timestamp now);
  [[nodiscard]] static State evolve(State state, const Event& event);
};

}  // namespace orderflow::core
