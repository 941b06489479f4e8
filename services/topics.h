// The topics the services talk through. Keys: order id unless noted.
#pragma once

namespace orderflow::services {

inline constexpr const char* kOrderCommands = "orders.commands";    // CommandEnvelope
inline constexpr const char* kOrderEvents = "orders.events";        // EventEnvelope
inline constexpr const char* kOrderOutcomes = "orders.outcomes";    // CommandOutcome, by command id
inline constexpr const char* kShipmentEvents = "shipments.events";  // EventEnvelope

}  // namespace orderflow::services
