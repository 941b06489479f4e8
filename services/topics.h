// The topics the services talk through. Keys: order id unless noted.
#pragma once

namespace orderflow::services {

inline constexpr const char* kOrderCommands = "orders.commands";    // CommandEnvelope
inline constexpr const char* kOrderEvents = "orders.events";        // EventEnvelope
inline constexpr const char* kOrderOutcomes = "orders.outcomes";    // CommandOutcome, by command id
inline constexpr const char* kShipmentEvents = "shipments.events";  // EventEnvelope
inline constexpr const char* kShippingCommands = "shipping.commands";  // CommandEnvelope
// Shipment events re-keyed by warehouse for the stock keeper (one partition).
inline constexpr const char* kStockRequests = "shipping.stock-requests";
inline constexpr const char* kStockCommands = "stock.commands";  // restocks, by warehouse
inline constexpr const char* kStockEvents = "stock.events";      // EventEnvelope, by SKU

}  // namespace orderflow::services
