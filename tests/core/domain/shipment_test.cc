#include "core/domain/shipment.h"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/core/domain/decision_assertions.h"

namespace orderflow::core {
namespace {

const Timestamp kNow{std::chrono::seconds{1'700'000'000}};
const WarehouseId kWarehouse{"wh-1"};

RequestShipment request() {
  return {ShipmentId{"s-1"},
          OrderId{"o-1"},
          {{Sku{"sku-a"}, Quantity{2}}, {Sku{"sku-b"}, Quantity{1}}}};
}

Decision<ShipmentEvent> decide(const ShipmentState& state, const ShipmentCommand& command) {
  return ShipmentDecider::decide(state, command, kNow);
}

// The events of a decision that must have been accepted; a refusal fails the test.
std::vector<ShipmentEvent> events(const ShipmentState& state, const ShipmentCommand& command) {
  auto decision = decide(state, command);
  if (!decision) {
    ADD_FAILURE() << "refused: " << describe(decision.error());
    return {};
  }
  return *decision;
}

// The state after `command` was decided at `now` and its events folded in. ASSERT_* cannot
// return a value, so a refusal is reported as a failure and leaves the state unchanged.
ShipmentState after(ShipmentState state, const ShipmentCommand& command, Timestamp now = kNow) {
  const auto decision = ShipmentDecider::decide(state, command, now);
  if (!decision) {
    ADD_FAILURE() << "refused: " << describe(decision.error());
    return state;
  }
  for (const auto& event : *decision) state = ShipmentDecider::evolve(std::move(state), event);
  return state;
}

ShipmentState requested() { return after({}, request()); }
ShipmentState allocated() { return after(requested(), AllocateShipment{kWarehouse}); }
ShipmentState packed() { return after(allocated(), PackShipment{}); }
ShipmentState dispatched() { return after(packed(), DispatchShipment{"dhl", "trk-1"}); }
ShipmentState delivered() { return after(dispatched(), DeliverShipment{}); }
ShipmentState failed() { return after(requested(), FailAllocation{"no stock"}); }
ShipmentState cancelled() { return after(allocated(), CancelShipment{"order cancelled"}); }

std::vector<ShipmentCommand> every_command() {
  RequestShipment other = request();
  other.order = OrderId{"o-2"};
  return {request(),
          other,
          AllocateShipment{kWarehouse},
          FailAllocation{"x"},
          PackShipment{},
          DispatchShipment{"dhl", "trk-1"},
          DeliverShipment{},
          CancelShipment{"x"}};
}

// --- request ---

TEST(ShipmentRequest, EmitsShipmentRequested) {
  const RequestShipment c = request();

  EXPECT_EQ(events({}, c),
            (std::vector<ShipmentEvent>{ShipmentRequested{c.shipment, c.order, c.lines, kNow}}));
}

TEST(ShipmentRequest, RejectsAndNamesTheInvalidField) {
  RequestShipment no_shipment = request();
  no_shipment.shipment = ShipmentId{};
  RequestShipment no_order = request();
  no_order.order = OrderId{};
  RequestShipment no_lines = request();
  no_lines.lines.clear();
  RequestShipment no_sku = request();
  no_sku.lines[1].sku = Sku{};
  RequestShipment zero = request();
  zero.lines[0].quantity = Quantity{0};
  RequestShipment negative = request();
  negative.lines[1].quantity = Quantity{-1};

  EXPECT_TRUE(refused(decide({}, no_shipment), RejectionCode::kInvalid, "shipment_id"));
  EXPECT_TRUE(refused(decide({}, no_order), RejectionCode::kInvalid, "order_id"));
  EXPECT_TRUE(refused(decide({}, no_lines), RejectionCode::kInvalid, "lines"));
  EXPECT_TRUE(refused(decide({}, no_sku), RejectionCode::kInvalid, "lines.sku"));
  EXPECT_TRUE(refused(decide({}, zero), RejectionCode::kInvalid, "lines.quantity"));
  EXPECT_TRUE(refused(decide({}, negative), RejectionCode::kInvalid, "lines.quantity"));
}

TEST(ShipmentRequest, RequestingAgainIdenticallyIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(requested(), request())));
  EXPECT_TRUE(no_op(decide(packed(), request())));
}

TEST(ShipmentRequest, RequestingAgainWithOtherContentsIsAlreadyExists) {
  RequestShipment other_order = request();
  other_order.order = OrderId{"o-2"};
  RequestShipment other_lines = request();
  other_lines.lines[0].quantity = Quantity{5};

  EXPECT_TRUE(refused(decide(requested(), other_order), RejectionCode::kAlreadyExists, "s-1"));
  EXPECT_TRUE(refused(decide(requested(), other_lines), RejectionCode::kAlreadyExists));
}

TEST(ShipmentRequest, EveryOtherCommandOnAMissingShipmentIsNotFound) {
  const ShipmentState none = ShipmentDecider::initial();

  EXPECT_TRUE(refused(decide(none, AllocateShipment{kWarehouse}), RejectionCode::kNotFound));
  EXPECT_TRUE(refused(decide(none, FailAllocation{"x"}), RejectionCode::kNotFound));
  EXPECT_TRUE(refused(decide(none, PackShipment{}), RejectionCode::kNotFound));
  EXPECT_TRUE(refused(decide(none, DispatchShipment{"dhl", "t"}), RejectionCode::kNotFound));
  EXPECT_TRUE(refused(decide(none, DeliverShipment{}), RejectionCode::kNotFound));
  EXPECT_TRUE(refused(decide(none, CancelShipment{"x"}), RejectionCode::kNotFound));
}

// --- allocation ---

TEST(ShipmentAllocate, AllocateFromRequestedEmitsShipmentAllocated) {
  EXPECT_EQ(events(requested(), AllocateShipment{kWarehouse}),
            (std::vector<ShipmentEvent>{ShipmentAllocated{kWarehouse, kNow}}));
  EXPECT_EQ(allocated().warehouse, kWarehouse);
  EXPECT_TRUE(allocated().holds_stock());
}

TEST(ShipmentAllocate, AnEmptyWarehouseIsInvalid) {
  EXPECT_TRUE(
      refused(decide(requested(), AllocateShipment{}), RejectionCode::kInvalid, "warehouse"));
}

TEST(ShipmentAllocate, AllocatingAgainIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(allocated(), AllocateShipment{kWarehouse})));
  EXPECT_TRUE(no_op(decide(packed(), AllocateShipment{kWarehouse})));
  EXPECT_TRUE(no_op(decide(dispatched(), AllocateShipment{kWarehouse})));
}

TEST(ShipmentFailAllocation, FailingFromRequestedEmitsAllocationFailed) {
  EXPECT_EQ(events(requested(), FailAllocation{"no stock"}),
            (std::vector<ShipmentEvent>{ShipmentAllocationFailed{"no stock", kNow}}));
  EXPECT_EQ(failed().status, ShipmentStatus::kFailed);
  EXPECT_FALSE(failed().holds_stock());
}

TEST(ShipmentFailAllocation, FailingAgainIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(failed(), FailAllocation{"still no stock"})));
}

TEST(ShipmentFailAllocation, FailingOnceAllocatedIsAConflict) {
  const FailAllocation fail{"no stock"};

  EXPECT_TRUE(refused(decide(allocated(), fail), RejectionCode::kConflict, "allocated"));
  EXPECT_TRUE(refused(decide(packed(), fail), RejectionCode::kConflict, "packed"));
  EXPECT_TRUE(refused(decide(dispatched(), fail), RejectionCode::kConflict, "dispatched"));
  EXPECT_TRUE(refused(decide(delivered(), fail), RejectionCode::kConflict, "delivered"));
}

// --- packing, dispatch, delivery ---

TEST(ShipmentPack, PackFromAllocatedEmitsShipmentPacked) {
  EXPECT_EQ(events(allocated(), PackShipment{}),
            (std::vector<ShipmentEvent>{ShipmentPacked{kNow}}));
  EXPECT_TRUE(packed().holds_stock());
}

TEST(ShipmentPack, PackingBeforeAllocationIsAConflict) {
  EXPECT_TRUE(refused(decide(requested(), PackShipment{}), RejectionCode::kConflict, "requested"));
}

TEST(ShipmentPack, PackingAgainIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(packed(), PackShipment{})));
  EXPECT_TRUE(no_op(decide(dispatched(), PackShipment{})));
}

TEST(ShipmentDispatch, DispatchFromPackedRecordsCarrierAndTracking) {
  EXPECT_EQ(events(packed(), DispatchShipment{"dhl", "trk-1"}),
            (std::vector<ShipmentEvent>{ShipmentDispatched{"dhl", "trk-1", kNow}}));
  EXPECT_EQ(dispatched().carrier, "dhl");
  EXPECT_EQ(dispatched().tracking, "trk-1");
  EXPECT_FALSE(dispatched().holds_stock());
}

TEST(ShipmentDispatch, AnEmptyCarrierOrTrackingIsInvalid) {
  EXPECT_TRUE(
      refused(decide(packed(), DispatchShipment{"", "trk-1"}), RejectionCode::kInvalid, "carrier"));
  EXPECT_TRUE(
      refused(decide(packed(), DispatchShipment{"dhl", ""}), RejectionCode::kInvalid, "tracking"));
}

TEST(ShipmentDispatch, DispatchingBeforePackedIsAConflict) {
  const DispatchShipment dispatch{"dhl", "trk-1"};

  EXPECT_TRUE(refused(decide(requested(), dispatch), RejectionCode::kConflict, "requested"));
  EXPECT_TRUE(refused(decide(allocated(), dispatch), RejectionCode::kConflict, "allocated"));
}

TEST(ShipmentDispatch, DispatchingAgainIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(dispatched(), DispatchShipment{"dhl", "trk-1"})));
  EXPECT_TRUE(no_op(decide(delivered(), DispatchShipment{"dhl", "trk-1"})));
}

TEST(ShipmentDeliver, DeliverFromDispatchedEmitsShipmentDelivered) {
  EXPECT_EQ(events(dispatched(), DeliverShipment{}),
            (std::vector<ShipmentEvent>{ShipmentDelivered{kNow}}));
  EXPECT_EQ(delivered().status, ShipmentStatus::kDelivered);
}

TEST(ShipmentDeliver, DeliveringBeforeDispatchIsAConflict) {
  EXPECT_TRUE(refused(decide(requested(), DeliverShipment{}), RejectionCode::kConflict));
  EXPECT_TRUE(refused(decide(allocated(), DeliverShipment{}), RejectionCode::kConflict));
  EXPECT_TRUE(refused(decide(packed(), DeliverShipment{}), RejectionCode::kConflict, "packed"));
}

TEST(ShipmentDeliver, DeliveringAgainIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(delivered(), DeliverShipment{})));
}

// --- cancel ---

TEST(ShipmentCancel, CancelFromRequestedReleasesNoStock) {
  EXPECT_EQ(events(requested(), CancelShipment{"order cancelled"}),
            (std::vector<ShipmentEvent>{ShipmentCancelled{"order cancelled", false, kNow}}));
}

TEST(ShipmentCancel, CancelFromAllocatedReleasesStock) {
  EXPECT_EQ(events(allocated(), CancelShipment{"order cancelled"}),
            (std::vector<ShipmentEvent>{ShipmentCancelled{"order cancelled", true, kNow}}));
}

TEST(ShipmentCancel, CancelFromPackedReleasesStock) {
  EXPECT_EQ(events(packed(), CancelShipment{"order cancelled"}),
            (std::vector<ShipmentEvent>{ShipmentCancelled{"order cancelled", true, kNow}}));
  EXPECT_EQ(after(packed(), CancelShipment{"x"}).status, ShipmentStatus::kCancelled);
}

TEST(ShipmentCancel, CancellingAfterDispatchIsAConflict) {
  EXPECT_TRUE(
      refused(decide(dispatched(), CancelShipment{"x"}), RejectionCode::kConflict, "dispatched"));
  EXPECT_TRUE(
      refused(decide(delivered(), CancelShipment{"x"}), RejectionCode::kConflict, "delivered"));
}

TEST(ShipmentCancel, CancellingACancelledOrFailedShipmentIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(cancelled(), CancelShipment{"again"})));
  EXPECT_TRUE(no_op(decide(failed(), CancelShipment{"again"})));
}

// --- terminal states ---

TEST(ShipmentTerminal, OnlyCancelledFailedAndDeliveredAreTerminal) {
  EXPECT_FALSE(ShipmentDecider::initial().terminal());
  EXPECT_FALSE(requested().terminal());
  EXPECT_FALSE(allocated().terminal());
  EXPECT_FALSE(packed().terminal());
  EXPECT_FALSE(dispatched().terminal());
  EXPECT_TRUE(delivered().terminal());
  EXPECT_TRUE(cancelled().terminal());
  EXPECT_TRUE(failed().terminal());
}

TEST(ShipmentTerminal, ACancelledShipmentAcceptsNoChange) {
  const auto commands = every_command();
  for (std::size_t i = 0; i < commands.size(); ++i) {
    EXPECT_TRUE(changes_nothing(decide(cancelled(), commands[i])))
        << "every_command()[" << i << "]";
  }
  EXPECT_FALSE(cancelled().holds_stock());
}

TEST(ShipmentTerminal, AFailedShipmentAcceptsNoChange) {
  const auto commands = every_command();
  for (std::size_t i = 0; i < commands.size(); ++i) {
    EXPECT_TRUE(changes_nothing(decide(failed(), commands[i]))) << "every_command()[" << i << "]";
  }
}

TEST(ShipmentTerminal, ADeliveredShipmentAcceptsNoChange) {
  const auto commands = every_command();
  for (std::size_t i = 0; i < commands.size(); ++i) {
    EXPECT_TRUE(changes_nothing(decide(delivered(), commands[i])))
        << "every_command()[" << i << "]";
  }
}

// --- evolve ---

TEST(ShipmentEvolve, VersionsCountTheEvents) {
  EXPECT_EQ(ShipmentDecider::initial().version, AggregateVersion{0});
  EXPECT_EQ(requested().version, AggregateVersion{1});
  EXPECT_EQ(allocated().version, AggregateVersion{2});
  EXPECT_EQ(packed().version, AggregateVersion{3});
  EXPECT_EQ(dispatched().version, AggregateVersion{4});
  EXPECT_EQ(delivered().version, AggregateVersion{5});
  EXPECT_EQ(failed().version, AggregateVersion{2});
}

TEST(ShipmentEvolve, RecordsWhenEventsHappened) {
  const Timestamp t1 = kNow + std::chrono::minutes{1};
  const Timestamp t2 = kNow + std::chrono::minutes{2};

  ShipmentState state = after({}, request(), kNow);
  EXPECT_EQ(state.updated_at, kNow);
  state = after(state, AllocateShipment{kWarehouse}, t1);
  EXPECT_EQ(state.updated_at, t1);
  state = after(state, CancelShipment{"order cancelled"}, t2);
  EXPECT_EQ(state.updated_at, t2);
}

TEST(ShipmentEvolve, KeepsWhatWasRequested) {
  const ShipmentState state = requested();

  EXPECT_EQ(state.shipment, request().shipment);
  EXPECT_EQ(state.order, request().order);
  EXPECT_EQ(state.lines, request().lines);
}

TEST(ShipmentEvolve, FoldReplaysTheLog) {
  const RequestShipment c = request();
  const std::vector<ShipmentEvent> log{
      ShipmentRequested{c.shipment, c.order, c.lines, kNow}, ShipmentAllocated{kWarehouse, kNow},
      ShipmentPacked{kNow}, ShipmentDispatched{"dhl", "trk-1", kNow}, ShipmentDelivered{kNow}};

  EXPECT_EQ(fold<ShipmentDecider>(log), delivered());
}

}  // namespace
}  // namespace orderflow::core
