#include "core/domain/shipment.h"

#include <set>

#include "core/overloaded.h"

namespace orderflow::core {
namespace {

int rank(ShipmentStatus status) {
  switch (status) {
    case ShipmentStatus::kNone: return 0;
    case ShipmentStatus::kRequested: return 1;
    case ShipmentStatus::kAllocated: return 2;
    case ShipmentStatus::kPacked: return 3;
    case ShipmentStatus::kDispatched: return 4;
    case ShipmentStatus::kDelivered: return 5;
    case ShipmentStatus::kCancelled:
    case ShipmentStatus::kFailed: return -1;
  }
  return -1;
}

std::vector<ShipmentEvent> none() { return {}; }

std::expected<bool, Rejection> step_to(const ShipmentState& state, ShipmentStatus target) {
  return forward_step("shipment", {rank(state.status), to_string(state.status)},
                      {rank(target), to_string(target)});
}

template <typename Event>
Decision<ShipmentEvent> step(const ShipmentState& state, ShipmentStatus target, Event event) {
  auto take = step_to(state, target);
  if (!take) return std::unexpected(take.error());
  if (!*take) return none();
  return std::vector<ShipmentEvent>{std::move(event)};
}

Decision<ShipmentEvent> decide_request(const ShipmentState& state, const RequestShipment& c,
                                       Timestamp now) {
  if (c.shipment.empty()) return reject(RejectionCode::kInvalid, "shipment_id: must not be empty");
  if (c.order.empty()) return reject(RejectionCode::kInvalid, "order_id: must not be empty");
  if (c.lines.empty()) return reject(RejectionCode::kInvalid, "lines: at least one is required");
  std::set<Sku> seen;
  for (const auto& line : c.lines) {
    if (line.sku.empty()) return reject(RejectionCode::kInvalid, "lines.sku: must not be empty");
    if (!seen.insert(line.sku).second) {
      return reject(RejectionCode::kInvalid, "lines.sku: appears more than once");
    }
    if (line.quantity <= Quantity{0}) {
      return reject(RejectionCode::kInvalid, "lines.quantity: must be positive");
    }
  }
  if (state.status != ShipmentStatus::kNone) {
    if (state.shipment == c.shipment && state.order == c.order && state.lines == c.lines) {
      return none();
    }
    return reject(RejectionCode::kAlreadyExists,
                  "shipment " + c.shipment.str() + " already exists");
  }
  return std::vector<ShipmentEvent>{ShipmentRequested{c.shipment, c.order, c.lines, now}};
}

Decision<ShipmentEvent> decide_fail(const ShipmentState& state, const FailAllocation& c,
                                    Timestamp now) {
  switch (state.status) {
    case ShipmentStatus::kNone: return reject(RejectionCode::kNotFound, "shipment does not exist");
    case ShipmentStatus::kRequested:
      return std::vector<ShipmentEvent>{ShipmentAllocationFailed{c.reason, now}};
    case ShipmentStatus::kFailed: return none();
    default:
      return reject(RejectionCode::kConflict, std::string("shipment is ") +
                                                  std::string(to_string(state.status)) +
                                                  "; allocation can no longer fail");
  }
}

Decision<ShipmentEvent> decide_cancel(const ShipmentState& state, const CancelShipment& c,
                                      Timestamp now) {
  switch (state.status) {
    case ShipmentStatus::kNone: return reject(RejectionCode::kNotFound, "shipment does not exist");
    case ShipmentStatus::kRequested:
    case ShipmentStatus::kAllocated:
    case ShipmentStatus::kPacked:
      return std::vector<ShipmentEvent>{ShipmentCancelled{c.reason, state.holds_stock(), now}};
    case ShipmentStatus::kCancelled:
    case ShipmentStatus::kFailed: return none();
    case ShipmentStatus::kDispatched:
    case ShipmentStatus::kDelivered: break;
  }
  return reject(RejectionCode::kConflict, std::string("shipment is ") +
                                              std::string(to_string(state.status)) +
                                              "; it can no longer be cancelled");
}

}  // namespace

std::string_view to_string(ShipmentStatus status) {
  switch (status) {
    case ShipmentStatus::kNone: return "none";
    case ShipmentStatus::kRequested: return "requested";
    case ShipmentStatus::kAllocated: return "allocated";
    case ShipmentStatus::kPacked: return "packed";
    case ShipmentStatus::kDispatched: return "dispatched";
    case ShipmentStatus::kDelivered: return "delivered";
    case ShipmentStatus::kCancelled: return "cancelled";
    case ShipmentStatus::kFailed: return "failed";
  }
  return "unknown";
}

std::string_view event_type(const ShipmentEvent& event) {
  return std::visit(Overloaded{
                        [](const ShipmentRequested&) { return "ShipmentRequested"; },
                        [](const ShipmentAllocated&) { return "ShipmentAllocated"; },
                        [](const ShipmentAllocationFailed&) { return "ShipmentAllocationFailed"; },
                        [](const ShipmentPacked&) { return "ShipmentPacked"; },
                        [](const ShipmentDispatched&) { return "ShipmentDispatched"; },
                        [](const ShipmentDelivered&) { return "ShipmentDelivered"; },
                        [](const ShipmentCancelled&) { return "ShipmentCancelled"; },
                    },
                    event);
}

Decision<ShipmentEvent> ShipmentDecider::decide(const State& state, const Command& command,
                                                Timestamp now) {
  return std::visit(
      Overloaded{
          [&](const RequestShipment& c) { return decide_request(state, c, now); },
          [&](const AllocateShipment& c) -> Decision<ShipmentEvent> {
            if (c.warehouse.empty()) {
              return reject(RejectionCode::kInvalid, "warehouse: must not be empty");
            }
            if (rank(state.status) >= rank(ShipmentStatus::kAllocated) &&
                state.warehouse != c.warehouse) {
              return reject(RejectionCode::kConflict,
                            "shipment is allocated to warehouse " + state.warehouse.str());
            }
            return step(state, ShipmentStatus::kAllocated, ShipmentAllocated{c.warehouse, now});
          },
          [&](const FailAllocation& c) { return decide_fail(state, c, now); },
          [&](const PackShipment&) {
            return step(state, ShipmentStatus::kPacked, ShipmentPacked{now});
          },
          [&](const DispatchShipment& c) -> Decision<ShipmentEvent> {
            if (c.carrier.empty())
              return reject(RejectionCode::kInvalid, "carrier: must not be empty");
            if (c.tracking.empty()) {
              return reject(RejectionCode::kInvalid, "tracking: must not be empty");
            }
            if (rank(state.status) >= rank(ShipmentStatus::kDispatched) &&
                (state.carrier != c.carrier || state.tracking != c.tracking)) {
              return reject(RejectionCode::kConflict,
                            "shipment was dispatched with " + state.carrier + " " + state.tracking);
            }
            return step(state, ShipmentStatus::kDispatched,
                        ShipmentDispatched{c.carrier, c.tracking, now});
          },
          [&](const DeliverShipment&) {
            return step(state, ShipmentStatus::kDelivered, ShipmentDelivered{now});
          },
          [&](const CancelShipment& c) { return decide_cancel(state, c, now); },
      },
      command);
}

ShipmentState ShipmentDecider::evolve(State state, const Event& event) {
  std::visit(Overloaded{
                 [&](const ShipmentRequested& e) {
                   state.status = ShipmentStatus::kRequested;
                   state.shipment = e.shipment;
                   state.order = e.order;
                   state.lines = e.lines;
                   state.updated_at = e.requested_at;
                 },
                 [&](const ShipmentAllocated& e) {
                   state.status = ShipmentStatus::kAllocated;
                   state.warehouse = e.warehouse;
                   state.updated_at = e.allocated_at;
                 },
                 [&](const ShipmentAllocationFailed& e) {
                   state.status = ShipmentStatus::kFailed;
                   state.updated_at = e.failed_at;
                 },
                 [&](const ShipmentPacked& e) {
                   state.status = ShipmentStatus::kPacked;
                   state.updated_at = e.packed_at;
                 },
                 [&](const ShipmentDispatched& e) {
                   state.status = ShipmentStatus::kDispatched;
                   state.carrier = e.carrier;
                   state.tracking = e.tracking;
                   state.updated_at = e.dispatched_at;
                 },
                 [&](const ShipmentDelivered& e) {
                   state.status = ShipmentStatus::kDelivered;
                   state.updated_at = e.delivered_at;
                 },
                 [&](const ShipmentCancelled& e) {
                   state.status = ShipmentStatus::kCancelled;
                   state.updated_at = e.cancelled_at;
                 },
             },
             event);
  state.version = state.version.next();
  return state;
}

}  // namespace orderflow::core
