// The orders service's command processor: the write side of the Order aggregate.
//
// One processor per task of the sub-topology reading `orders.commands` and
// `shipments.events` (both keyed by order id, so an order's commands and its
// shipment's events meet in one task, in log order). A command is decided
// against the stored order; the events go to `orders.events` and the outcome —
// the resulting version or the rejection — to `orders.outcomes`, atomically with
// the input offset under exactly-once. A command id seen before is not applied
// again: the outcome of the first time stands (deduplication by idempotency key,
// kept in a changelogged store, so it survives restarts).
//
// Shipment events drive the saga: allocated -> confirm, packed -> approve
// dispatch, dispatched -> shipped, delivered -> delivered, allocation failed ->
// cancel. Their command ids derive from the event ids, so redelivery is harmless.
//
// Undecodable records and commands for other aggregates are poison (dead-letter).
#pragma once

#include <memory>

#include "core/streams/streams.h"

namespace orderflow::services {

inline constexpr const char* kOrdersStore = "orders";
inline constexpr const char* kOrderCommandsSeenStore = "order-commands-seen";

[[nodiscard]] std::unique_ptr<core::Processor> make_order_command_processor();
[[nodiscard]] core::SubTopology order_command_topology();

}  // namespace orderflow::services
