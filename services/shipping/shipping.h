// The shipping service: shipments and warehouse stock, as two sub-topologies.
//
// Shipments (keyed by order id): an `OrderPlaced` requests a shipment; the stock
// keeper's answer allocates it or fails it; a timer packs it; the order's
// `OrderDispatchApproved` dispatches it (see core/domain/order.h for why dispatch
// waits for the order's approval); a timer delivers it. An `OrderCancelled`
// cancels it, and its event tells the stock keeper to release the stock — the
// saga's compensation. Timers are punctuation on scheduler time over a store of
// due times, so they survive restarts.
//
// Stock keeper (one partition per warehouse): reserves all lines of a requested
// shipment or none, releases the stock of cancelled shipments, ships the stock of
// dispatched ones, and applies restocks. Every change is a Stock event on
// `stock.events`; available + reserved + shipped stays equal to what was received.
#pragma once

#include <string>

#include "core/streams/streams.h"
#include "core/time.h"

namespace orderflow::services {

inline constexpr const char* kShipmentsStore = "shipments";
inline constexpr const char* kShippingTimersStore = "shipping-timers";
inline constexpr const char* kStockStore = "stock";
inline constexpr const char* kAllocationsStore = "allocations";
inline constexpr const char* kWarehouse = "wh-1";

struct ShippingTimings {
  core::Duration packing = std::chrono::milliseconds{300};
  core::Duration delivery = std::chrono::seconds{1};
};

[[nodiscard]] core::SubTopology shipment_topology(ShippingTimings timings = {});
[[nodiscard]] core::SubTopology stock_topology();

}  // namespace orderflow::services
