#include "core/domain/order.h"

#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/core/domain/decision_assertions.h"

namespace orderflow::core {
namespace {

const Timestamp kNow{std::chrono::seconds{1'700'000'000}};
const ShipmentId kShipment{"s-1"};
const ShipmentId kOtherShipment{"s-2"};

Address address() { return {"Ada Lovelace", "1 Analytical Way", "London", "N1 9GU", "GB"}; }

std::vector<OrderLine> lines() {
  return {{Sku{"sku-a"}, Quantity{2}, Cents{1'250}}, {Sku{"sku-b"}, Quantity{1}, Cents{499}}};
}

PlaceOrder place_order() { return {OrderId{"o-1"}, CustomerId{"c-1"}, lines(), address()}; }

Decision<OrderEvent> decide(const OrderState& state, const OrderCommand& command) {
  return OrderDecider::decide(state, command, kNow);
}

// The events of a decision that must have been accepted; a refusal fails the test.
std::vector<OrderEvent> events(const OrderState& state, const OrderCommand& command) {
  auto decision = decide(state, command);
  if (!decision) {
    ADD_FAILURE() << "refused: " << describe(decision.error());
    return {};
  }
  return *decision;
}

// The state after `command` was decided at `now` and its events folded in. ASSERT_* cannot
// return a value, so a refusal is reported as a failure and leaves the state unchanged.
OrderState after(OrderState state, const OrderCommand& command, Timestamp now = kNow) {
  const auto decision = OrderDecider::decide(state, command, now);
  if (!decision) {
    ADD_FAILURE() << "refused: " << describe(decision.error());
    return state;
  }
  for (const auto& event : *decision) state = OrderDecider::evolve(std::move(state), event);
  return state;
}

OrderState placed() { return after({}, place_order()); }
OrderState confirmed() { return after(placed(), ConfirmOrder{kShipment}); }
OrderState approved() { return after(confirmed(), ApproveDispatch{kShipment}); }
OrderState shipped() { return after(approved(), MarkShipped{kShipment, "dhl", "trk-1"}); }
OrderState delivered() { return after(shipped(), MarkDelivered{kShipment}); }
OrderState cancelled() { return after(confirmed(), CancelOrder{"changed my mind"}); }

// One of each command, all naming the bound shipment.
std::vector<OrderCommand> every_command() {
  PlaceOrder other = place_order();
  other.customer = CustomerId{"c-2"};
  return {place_order(),
          other,
          ConfirmOrder{kShipment},
          CancelOrder{"too late"},
          ApproveDispatch{kShipment},
          MarkShipped{kShipment, "dhl", "trk-1"},
          MarkDelivered{kShipment}};
}

// --- validate ---

std::vector<OrderLine> many_lines(std::size_t count) {
  std::vector<OrderLine> result;
  for (std::size_t i = 0; i < count; ++i) {
    result.push_back({Sku{"sku-" + std::to_string(i)}, Quantity{1}, Cents{100}});
  }
  return result;
}

struct InvalidPlace {
  std::string name;
  void (*spoil)(PlaceOrder&);
  std::string field;

  friend void PrintTo(const InvalidPlace& c, std::ostream* os) { *os << c.name; }
};

class OrderValidateField : public ::testing::TestWithParam<InvalidPlace> {};

TEST_P(OrderValidateField, RejectsAndNamesTheField) {
  PlaceOrder command = place_order();
  GetParam().spoil(command);

  const auto valid = validate(command);
  ASSERT_FALSE(valid.has_value());
  EXPECT_EQ(valid.error().code, RejectionCode::kInvalid);
  EXPECT_TRUE(valid.error().reason.starts_with(GetParam().field + ":")) << valid.error().reason;
  EXPECT_TRUE(refused(decide({}, command), RejectionCode::kInvalid, valid.error().reason));
}

INSTANTIATE_TEST_SUITE_P(
    EachField, OrderValidateField,
    ::testing::Values(
        InvalidPlace{"EmptyOrderId", [](PlaceOrder& c) { c.order = OrderId{}; }, "order_id"},
        InvalidPlace{"EmptyCustomerId", [](PlaceOrder& c) { c.customer = CustomerId{}; },
                     "customer_id"},
        InvalidPlace{"NoLines", [](PlaceOrder& c) { c.lines.clear(); }, "items"},
        InvalidPlace{"MoreThan100Lines", [](PlaceOrder& c) { c.lines = many_lines(101); }, "items"},
        InvalidPlace{"EmptySku", [](PlaceOrder& c) { c.lines[1].sku = Sku{}; }, "items[1].sku"},
        InvalidPlace{"DuplicateSku", [](PlaceOrder& c) { c.lines[1].sku = c.lines[0].sku; },
                     "items[1].sku"},
        InvalidPlace{"ZeroQuantity", [](PlaceOrder& c) { c.lines[0].quantity = Quantity{0}; },
                     "items[0].quantity"},
        InvalidPlace{"NegativeQuantity", [](PlaceOrder& c) { c.lines[1].quantity = Quantity{-3}; },
                     "items[1].quantity"},
        InvalidPlace{"QuantityAbove10000",
                     [](PlaceOrder& c) { c.lines[0].quantity = Quantity{10'001}; },
                     "items[0].quantity"},
        InvalidPlace{"NegativePrice", [](PlaceOrder& c) { c.lines[1].unit_price = Cents{-1}; },
                     "items[1].unit_price"},
        InvalidPlace{"EmptyName", [](PlaceOrder& c) { c.ship_to.name.clear(); },
                     "shipping_address.name"},
        InvalidPlace{"EmptyStreet", [](PlaceOrder& c) { c.ship_to.street.clear(); },
                     "shipping_address.street"},
        InvalidPlace{"EmptyCity", [](PlaceOrder& c) { c.ship_to.city.clear(); },
                     "shipping_address.city"},
        InvalidPlace{"EmptyCountry", [](PlaceOrder& c) { c.ship_to.country.clear(); },
                     "shipping_address.country"}),
    [](const ::testing::TestParamInfo<InvalidPlace>& test) { return test.param.name; });

TEST(OrderValidate, AcceptsAWellFormedOrder) { EXPECT_TRUE(validate(place_order()).has_value()); }

TEST(OrderValidate, AcceptsValuesAtTheLimits) {
  PlaceOrder command = place_order();
  command.lines = many_lines(100);
  command.lines[0].quantity = Quantity{10'000};
  command.lines[1].unit_price = Cents{0};

  EXPECT_TRUE(validate(command).has_value());
}

TEST(OrderValidate, PostalCodeIsOptional) {
  // Not every country has postal codes; the carrier needs the rest of the address.
  PlaceOrder command = place_order();
  command.ship_to.postal_code.clear();
  EXPECT_TRUE(validate(command).has_value());
}

// --- place ---

TEST(OrderPlace, EmitsOrderPlaced) {
  const PlaceOrder c = place_order();

  EXPECT_EQ(events({}, c),
            (std::vector<OrderEvent>{OrderPlaced{c.order, c.customer, c.lines, c.ship_to, kNow}}));
}

TEST(OrderPlace, PlacingAgainIdenticallyIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(placed(), place_order())));
  EXPECT_TRUE(no_op(decide(confirmed(), place_order())));
}

TEST(OrderPlace, PlacingAgainWithOtherContentsIsAlreadyExists) {
  PlaceOrder other_customer = place_order();
  other_customer.customer = CustomerId{"c-2"};
  PlaceOrder other_lines = place_order();
  other_lines.lines[0].quantity = Quantity{3};
  PlaceOrder other_address = place_order();
  other_address.ship_to.city = "Paris";

  EXPECT_TRUE(refused(decide(placed(), other_customer), RejectionCode::kAlreadyExists, "o-1"));
  EXPECT_TRUE(refused(decide(placed(), other_lines), RejectionCode::kAlreadyExists));
  EXPECT_TRUE(refused(decide(placed(), other_address), RejectionCode::kAlreadyExists));
}

TEST(OrderPlace, EveryOtherCommandOnAMissingOrderIsNotFound) {
  const OrderState none = OrderDecider::initial();

  EXPECT_TRUE(refused(decide(none, ConfirmOrder{kShipment}), RejectionCode::kNotFound));
  EXPECT_TRUE(refused(decide(none, CancelOrder{"why"}), RejectionCode::kNotFound));
  EXPECT_TRUE(refused(decide(none, ApproveDispatch{kShipment}), RejectionCode::kNotFound));
  EXPECT_TRUE(refused(decide(none, MarkShipped{kShipment, "dhl", "t"}), RejectionCode::kNotFound));
  EXPECT_TRUE(refused(decide(none, MarkDelivered{kShipment}), RejectionCode::kNotFound));
}

// --- forward steps ---

TEST(OrderLifecycle, ConfirmFromPlacedEmitsOrderConfirmed) {
  EXPECT_EQ(events(placed(), ConfirmOrder{kShipment}),
            (std::vector<OrderEvent>{OrderConfirmed{kShipment, kNow}}));
}

TEST(OrderLifecycle, ApproveFromConfirmedEmitsOrderDispatchApproved) {
  EXPECT_EQ(events(confirmed(), ApproveDispatch{kShipment}),
            (std::vector<OrderEvent>{OrderDispatchApproved{kShipment, kNow}}));
}

TEST(OrderLifecycle, ShipFromApprovedEmitsOrderShipped) {
  EXPECT_EQ(events(approved(), MarkShipped{kShipment, "dhl", "trk-1"}),
            (std::vector<OrderEvent>{OrderShipped{kShipment, "dhl", "trk-1", kNow}}));
}

TEST(OrderLifecycle, DeliverFromShippedEmitsOrderDelivered) {
  EXPECT_EQ(events(shipped(), MarkDelivered{kShipment}),
            (std::vector<OrderEvent>{OrderDelivered{kNow}}));
}

TEST(OrderLifecycle, WalksFromPlacedToDelivered) {
  EXPECT_EQ(placed().status, OrderStatus::kPlaced);
  EXPECT_EQ(confirmed().status, OrderStatus::kConfirmed);
  EXPECT_EQ(approved().status, OrderStatus::kDispatchApproved);
  EXPECT_EQ(shipped().status, OrderStatus::kShipped);
  EXPECT_EQ(delivered().status, OrderStatus::kDelivered);
}

TEST(OrderLifecycle, StepsAtOrPastTheTargetAreAcceptedWithNoEvents) {
  const ConfirmOrder confirm{kShipment};
  const ApproveDispatch approve{kShipment};
  const MarkShipped ship{kShipment, "dhl", "trk-1"};

  EXPECT_TRUE(no_op(decide(confirmed(), confirm)));
  EXPECT_TRUE(no_op(decide(approved(), confirm)));
  EXPECT_TRUE(no_op(decide(approved(), approve)));
  EXPECT_TRUE(no_op(decide(shipped(), confirm)));
  EXPECT_TRUE(no_op(decide(shipped(), approve)));
  EXPECT_TRUE(no_op(decide(shipped(), ship)));
  EXPECT_TRUE(no_op(decide(delivered(), approve)));
  EXPECT_TRUE(no_op(decide(delivered(), ship)));
  EXPECT_TRUE(no_op(decide(delivered(), MarkDelivered{kShipment})));
}

TEST(OrderLifecycle, SkippingAStepIsAConflict) {
  const ApproveDispatch approve{kShipment};
  const MarkShipped ship{kShipment, "dhl", "trk-1"};
  const MarkDelivered deliver{kShipment};

  EXPECT_TRUE(refused(decide(placed(), approve), RejectionCode::kConflict, "placed"));
  EXPECT_TRUE(refused(decide(placed(), ship), RejectionCode::kConflict));
  EXPECT_TRUE(refused(decide(placed(), deliver), RejectionCode::kConflict));
  EXPECT_TRUE(refused(decide(confirmed(), ship), RejectionCode::kConflict, "confirmed"));
  EXPECT_TRUE(refused(decide(confirmed(), deliver), RejectionCode::kConflict));
  EXPECT_TRUE(refused(decide(approved(), deliver), RejectionCode::kConflict));
}

TEST(OrderLifecycle, ConfirmationBindsTheOrderToItsShipment) {
  EXPECT_TRUE(placed().shipment.empty());
  EXPECT_EQ(confirmed().shipment, kShipment);
}

TEST(OrderLifecycle, AnotherShipmentIsAConflict) {
  EXPECT_TRUE(
      refused(decide(confirmed(), ConfirmOrder{kOtherShipment}), RejectionCode::kConflict, "s-2"));
  EXPECT_TRUE(refused(decide(confirmed(), ApproveDispatch{kOtherShipment}),
                      RejectionCode::kConflict, "s-2"));
  EXPECT_TRUE(refused(decide(approved(), MarkShipped{kOtherShipment, "dhl", "trk-1"}),
                      RejectionCode::kConflict, "s-2"));
  EXPECT_TRUE(
      refused(decide(shipped(), MarkDelivered{kOtherShipment}), RejectionCode::kConflict, "s-2"));
}

TEST(OrderLifecycle, ShippingNeedsCarrierAndTracking) {
  EXPECT_TRUE(refused(decide(approved(), MarkShipped{kShipment, "", "trk-1"}),
                      RejectionCode::kInvalid, "carrier"));
  EXPECT_TRUE(refused(decide(approved(), MarkShipped{kShipment, "dhl", ""}),
                      RejectionCode::kInvalid, "tracking"));
}

TEST(OrderLifecycle, AnEmptyShipmentIsInvalid) {
  EXPECT_TRUE(refused(decide(placed(), ConfirmOrder{}), RejectionCode::kInvalid, "shipment"));
  EXPECT_TRUE(refused(decide(confirmed(), ApproveDispatch{}), RejectionCode::kInvalid));
  EXPECT_TRUE(
      refused(decide(approved(), MarkShipped{{}, "dhl", "trk-1"}), RejectionCode::kInvalid));
  EXPECT_TRUE(refused(decide(shipped(), MarkDelivered{}), RejectionCode::kInvalid));
}

// --- cancel ---

TEST(OrderCancel, CancelFromPlacedEmitsOrderCancelled) {
  EXPECT_EQ(events(placed(), CancelOrder{"changed my mind"}),
            (std::vector<OrderEvent>{
                OrderCancelled{"changed my mind", CancelInitiator::kCustomer, kNow}}));
}

TEST(OrderCancel, CancelFromConfirmedEmitsOrderCancelled) {
  const CancelOrder cancel{"out of stock", CancelInitiator::kSystem};

  EXPECT_EQ(
      events(confirmed(), cancel),
      (std::vector<OrderEvent>{OrderCancelled{"out of stock", CancelInitiator::kSystem, kNow}}));
  EXPECT_EQ(after(confirmed(), cancel).status, OrderStatus::kCancelled);
}

TEST(OrderCancel, CancellingACancelledOrderIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(cancelled(), CancelOrder{"again"})));
}

TEST(OrderCancel, CancellingAfterDispatchApprovalIsAConflict) {
  const CancelOrder cancel{"too late"};

  EXPECT_TRUE(refused(decide(approved(), cancel), RejectionCode::kConflict, "dispatch_approved"));
  EXPECT_TRUE(refused(decide(shipped(), cancel), RejectionCode::kConflict, "shipped"));
  EXPECT_TRUE(refused(decide(delivered(), cancel), RejectionCode::kConflict, "delivered"));
}

// --- cancel versus dispatch ---

TEST(OrderCancelDispatchRace, CancelDecidedFirstRefusesApproveDispatch) {
  const OrderState state = after(confirmed(), CancelOrder{"changed my mind"});

  EXPECT_TRUE(
      refused(decide(state, ApproveDispatch{kShipment}), RejectionCode::kConflict, "cancelled"));
  EXPECT_EQ(state.status, OrderStatus::kCancelled);
  EXPECT_TRUE(refused(decide(state, MarkShipped{kShipment, "dhl", "t"}), RejectionCode::kConflict));
  EXPECT_TRUE(refused(decide(state, MarkDelivered{kShipment}), RejectionCode::kConflict));
}

TEST(OrderCancelDispatchRace, ApproveDispatchDecidedFirstRefusesCancel) {
  OrderState state = after(confirmed(), ApproveDispatch{kShipment});

  EXPECT_TRUE(refused(decide(state, CancelOrder{"changed my mind"}), RejectionCode::kConflict));
  state = after(state, MarkShipped{kShipment, "dhl", "trk-1"});
  EXPECT_EQ(state.status, OrderStatus::kShipped);
  state = after(state, MarkDelivered{kShipment});
  EXPECT_EQ(state.status, OrderStatus::kDelivered);
}

// --- terminal states ---

TEST(OrderTerminal, OnlyCancelledAndDeliveredAreTerminal) {
  EXPECT_FALSE(OrderDecider::initial().terminal());
  EXPECT_FALSE(placed().terminal());
  EXPECT_FALSE(confirmed().terminal());
  EXPECT_FALSE(approved().terminal());
  EXPECT_FALSE(shipped().terminal());
  EXPECT_TRUE(delivered().terminal());
  EXPECT_TRUE(cancelled().terminal());
}

TEST(OrderTerminal, ACancelledOrderAcceptsNoChange) {
  const auto commands = every_command();
  for (std::size_t i = 0; i < commands.size(); ++i) {
    EXPECT_TRUE(changes_nothing(decide(cancelled(), commands[i])))
        << "every_command()[" << i << "]";
  }
}

TEST(OrderTerminal, ADeliveredOrderAcceptsNoChange) {
  const auto commands = every_command();
  for (std::size_t i = 0; i < commands.size(); ++i) {
    EXPECT_TRUE(changes_nothing(decide(delivered(), commands[i])))
        << "every_command()[" << i << "]";
  }
}

// --- evolve ---

TEST(OrderEvolve, VersionsCountTheEvents) {
  EXPECT_EQ(OrderDecider::initial().version, AggregateVersion{0});
  EXPECT_EQ(placed().version, AggregateVersion{1});
  EXPECT_EQ(confirmed().version, AggregateVersion{2});
  EXPECT_EQ(approved().version, AggregateVersion{3});
  EXPECT_EQ(shipped().version, AggregateVersion{4});
  EXPECT_EQ(delivered().version, AggregateVersion{5});
  EXPECT_EQ(cancelled().version, AggregateVersion{3});
}

TEST(OrderEvolve, RecordsWhenEventsHappened) {
  const Timestamp t1 = kNow + std::chrono::minutes{1};
  const Timestamp t2 = kNow + std::chrono::minutes{2};

  OrderState state = after({}, place_order(), kNow);
  EXPECT_EQ(state.placed_at, kNow);
  EXPECT_EQ(state.updated_at, kNow);
  state = after(state, ConfirmOrder{kShipment}, t1);
  EXPECT_EQ(state.placed_at, kNow);
  EXPECT_EQ(state.updated_at, t1);
  state = after(state, CancelOrder{"changed my mind"}, t2);
  EXPECT_EQ(state.placed_at, kNow);
  EXPECT_EQ(state.updated_at, t2);
}

TEST(OrderEvolve, KeepsWhatWasPlaced) {
  const OrderState state = placed();

  EXPECT_EQ(state.order, OrderId{"o-1"});
  EXPECT_EQ(state.customer, CustomerId{"c-1"});
  EXPECT_EQ(state.lines, lines());
  EXPECT_EQ(state.ship_to, address());
}

TEST(OrderEvolve, TotalSumsQuantityTimesUnitPrice) {
  EXPECT_EQ(OrderDecider::initial().total().value(), 0);
  EXPECT_EQ(placed().total().value(), 2 * 1'250 + 1 * 499);
}

TEST(OrderEvolve, FoldReplaysTheLog) {
  const std::vector<OrderEvent> log{
      OrderPlaced{OrderId{"o-1"}, CustomerId{"c-1"}, lines(), address(), kNow},
      OrderConfirmed{kShipment, kNow},
      OrderDispatchApproved{kShipment, kNow},
      OrderShipped{kShipment, "dhl", "trk-1", kNow},
      OrderDelivered{kNow},
  };

  EXPECT_EQ(fold<OrderDecider>(log), delivered());
}

}  // namespace
}  // namespace orderflow::core
