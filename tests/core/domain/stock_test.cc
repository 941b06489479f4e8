#include "core/domain/stock.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/core/domain/decision_assertions.h"

namespace orderflow::core {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

const Timestamp kNow{std::chrono::seconds{1'700'000'000}};
const Sku kSku{"sku-a"};
const OrderId kOrder{"o-1"};
const OrderId kOtherOrder{"o-2"};

Decision<StockEvent> decide(const StockState& state, const StockCommand& command) {
  return StockDecider::decide(state, command, kNow);
}

// The events of a decision that must have been accepted; a refusal fails the test.
std::vector<StockEvent> events(const StockState& state, const StockCommand& command) {
  auto decision = decide(state, command);
  if (!decision) {
    ADD_FAILURE() << "refused: " << describe(decision.error());
    return {};
  }
  return *decision;
}

// The state after `command` was decided and its events folded in. ASSERT_* cannot return a
// value, so a refusal is reported as a failure and leaves the state unchanged.
StockState after(StockState state, const StockCommand& command) {
  const auto decision = decide(state, command);
  if (!decision) {
    ADD_FAILURE() << "refused: " << describe(decision.error());
    return state;
  }
  for (const auto& event : *decision) state = StockDecider::evolve(std::move(state), event);
  return state;
}

StockState stocked(std::int64_t quantity) { return after({}, Restock{kSku, Quantity{quantity}}); }

// Ten on hand, three of them reserved for `kOrder`.
StockState reserved() { return after(stocked(10), ReserveStock{kOrder, Quantity{3}}); }

// Passes when the counters are `available`, `reserved`, `shipped` of `received`.
AssertionResult counts(const StockState& s, std::int64_t available, std::int64_t reserved,
                       std::int64_t shipped, std::int64_t received) {
  if (s.available.value() == available && s.reserved.value() == reserved &&
      s.shipped.value() == shipped && s.received.value() == received) {
    return AssertionSuccess();
  }
  return AssertionFailure() << "available/reserved/shipped/received = " << s.available.value()
                            << "/" << s.reserved.value() << "/" << s.shipped.value() << "/"
                            << s.received.value();
}

// Passes when the conservation law holds, checked both through `conserved()` and by hand.
AssertionResult balanced(const StockState& s) {
  const std::int64_t sum = s.available.value() + s.reserved.value() + s.shipped.value();
  if (s.conserved() && sum == s.received.value()) return AssertionSuccess();
  return AssertionFailure() << "available " << s.available.value() << " + reserved "
                            << s.reserved.value() << " + shipped " << s.shipped.value()
                            << " != received " << s.received.value();
}

// Runs `commands` in order, folding in whatever is accepted (refusals change nothing), and
// checks the conservation law after every step.
StockState run_balanced(std::vector<StockCommand> commands) {
  StockState state;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (auto decision = decide(state, commands[i])) {
      for (const auto& event : *decision) state = StockDecider::evolve(std::move(state), event);
    }
    EXPECT_TRUE(balanced(state)) << "after step " << i;
  }
  return state;
}

// --- restock ---

TEST(StockRestock, EmitsStockRestockedAndAddsToAvailable) {
  EXPECT_EQ(events({}, Restock{kSku, Quantity{10}}),
            (std::vector<StockEvent>{StockRestocked{kSku, Quantity{10}, kNow}}));
  EXPECT_EQ(stocked(10).sku, kSku);
  EXPECT_TRUE(counts(stocked(10), 10, 0, 0, 10));
}

TEST(StockRestock, RestockingTheSameSkuAddsUp) {
  EXPECT_TRUE(counts(after(stocked(10), Restock{kSku, Quantity{5}}), 15, 0, 0, 15));
}

TEST(StockRestock, RejectsAnEmptySkuOrANonPositiveQuantity) {
  EXPECT_TRUE(refused(decide({}, Restock{Sku{}, Quantity{1}}), RejectionCode::kInvalid, "sku"));
  EXPECT_TRUE(refused(decide({}, Restock{kSku, Quantity{0}}), RejectionCode::kInvalid, "quantity"));
  EXPECT_TRUE(
      refused(decide({}, Restock{kSku, Quantity{-4}}), RejectionCode::kInvalid, "quantity"));
}

TEST(StockRestock, RestockingAnotherSkuIsAConflict) {
  EXPECT_TRUE(refused(decide(stocked(10), Restock{Sku{"sku-b"}, Quantity{1}}),
                      RejectionCode::kConflict, "sku-a"));
}

// --- reserve ---

TEST(StockReserve, MovesAvailableToReserved) {
  EXPECT_EQ(events(stocked(10), ReserveStock{kOrder, Quantity{3}}),
            (std::vector<StockEvent>{StockReserved{kOrder, Quantity{3}, kNow}}));
  EXPECT_TRUE(counts(reserved(), 7, 3, 0, 10));
  EXPECT_EQ(reserved().reservations.at(kOrder),
            (Reservation{Quantity{3}, ReservationStatus::kHeld}));
}

TEST(StockReserve, MoreThanAvailableIsInsufficientStockWithTheNumbers) {
  EXPECT_TRUE(refused(decide(stocked(10), ReserveStock{kOrder, Quantity{11}}),
                      RejectionCode::kInsufficientStock, "requested 11, available 10"));
  EXPECT_TRUE(refused(decide(reserved(), ReserveStock{kOtherOrder, Quantity{8}}),
                      RejectionCode::kInsufficientStock, "requested 8, available 7"));
  EXPECT_TRUE(refused(decide({}, ReserveStock{kOrder, Quantity{1}}),
                      RejectionCode::kInsufficientStock, "available 0"));
}

TEST(StockReserve, ExactlyWhatIsAvailableIsAccepted) {
  const StockState state = after(reserved(), ReserveStock{kOtherOrder, Quantity{7}});

  EXPECT_TRUE(counts(state, 0, 10, 0, 10));
}

TEST(StockReserve, ReservingAgainIdenticallyIsAcceptedWithNoEvents) {
  const StockState all_gone = after(reserved(), ReserveStock{kOtherOrder, Quantity{7}});

  EXPECT_TRUE(no_op(decide(reserved(), ReserveStock{kOrder, Quantity{3}})));
  EXPECT_TRUE(no_op(decide(all_gone, ReserveStock{kOrder, Quantity{3}})));
}

TEST(StockReserve, AnotherQuantityForTheSameOrderIsAConflict) {
  EXPECT_TRUE(refused(decide(reserved(), ReserveStock{kOrder, Quantity{4}}),
                      RejectionCode::kConflict, "o-1"));
  EXPECT_TRUE(refused(decide(reserved(), ReserveStock{kOrder, Quantity{2}}),
                      RejectionCode::kConflict, "o-1"));
}

TEST(StockReserve, RejectsAnEmptyOrderOrANonPositiveQuantity) {
  EXPECT_TRUE(refused(decide(stocked(10), ReserveStock{OrderId{}, Quantity{1}}),
                      RejectionCode::kInvalid, "order_id"));
  EXPECT_TRUE(refused(decide(stocked(10), ReserveStock{kOrder, Quantity{0}}),
                      RejectionCode::kInvalid, "quantity"));
  EXPECT_TRUE(refused(decide(stocked(10), ReserveStock{kOrder, Quantity{-2}}),
                      RejectionCode::kInvalid, "quantity"));
}

// --- release and ship ---

TEST(StockSettle, ReleaseReturnsExactlyTheReservedQuantity) {
  EXPECT_EQ(events(reserved(), ReleaseStock{kOrder}),
            (std::vector<StockEvent>{StockReleased{kOrder, Quantity{3}, kNow}}));
  EXPECT_TRUE(counts(after(reserved(), ReleaseStock{kOrder}), 10, 0, 0, 10));
}

TEST(StockSettle, ShipMovesExactlyTheReservedQuantity) {
  EXPECT_EQ(events(reserved(), ShipStock{kOrder}),
            (std::vector<StockEvent>{StockShipped{kOrder, Quantity{3}, kNow}}));
  EXPECT_TRUE(counts(after(reserved(), ShipStock{kOrder}), 7, 0, 3, 10));
}

TEST(StockSettle, SettlingOneOrderLeavesTheOthersHeld) {
  StockState state = after(reserved(), ReserveStock{kOtherOrder, Quantity{5}});
  state = after(state, ShipStock{kOtherOrder});

  EXPECT_TRUE(counts(state, 2, 3, 5, 10));
  EXPECT_EQ(state.reservations.at(kOrder).status, ReservationStatus::kHeld);
  EXPECT_EQ(state.reservations.at(kOtherOrder).status, ReservationStatus::kShipped);
}

TEST(StockSettle, ReleasingAgainIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(after(reserved(), ReleaseStock{kOrder}), ReleaseStock{kOrder})));
}

TEST(StockSettle, ShippingAgainIsAcceptedWithNoEvents) {
  EXPECT_TRUE(no_op(decide(after(reserved(), ShipStock{kOrder}), ShipStock{kOrder})));
}

TEST(StockSettle, ReleasingAfterShippingIsAConflict) {
  EXPECT_TRUE(refused(decide(after(reserved(), ShipStock{kOrder}), ReleaseStock{kOrder}),
                      RejectionCode::kConflict, "settled"));
}

TEST(StockSettle, ShippingAfterReleasingIsAConflict) {
  EXPECT_TRUE(refused(decide(after(reserved(), ReleaseStock{kOrder}), ShipStock{kOrder}),
                      RejectionCode::kConflict, "settled"));
}

TEST(StockSettle, ReservingAgainAfterSettlementIsAConflict) {
  const ReserveStock again{kOrder, Quantity{3}};

  EXPECT_TRUE(
      refused(decide(after(reserved(), ReleaseStock{kOrder}), again), RejectionCode::kConflict));
  EXPECT_TRUE(
      refused(decide(after(reserved(), ShipStock{kOrder}), again), RejectionCode::kConflict));
}

TEST(StockSettle, AnUnknownOrderIsNotFound) {
  EXPECT_TRUE(
      refused(decide(reserved(), ReleaseStock{kOtherOrder}), RejectionCode::kNotFound, "o-2"));
  EXPECT_TRUE(refused(decide(reserved(), ShipStock{kOtherOrder}), RejectionCode::kNotFound, "o-2"));
  EXPECT_TRUE(refused(decide({}, ShipStock{kOrder}), RejectionCode::kNotFound));
}

TEST(StockSettle, AnEmptyOrderIsInvalid) {
  EXPECT_TRUE(refused(decide(reserved(), ReleaseStock{}), RejectionCode::kInvalid, "order_id"));
  EXPECT_TRUE(refused(decide(reserved(), ShipStock{}), RejectionCode::kInvalid, "order_id"));
}

// --- conservation ---

TEST(StockConservation, HoldsThroughReserveShipAndRelease) {
  const StockState state = run_balanced({
      Restock{kSku, Quantity{10}},
      ReserveStock{OrderId{"a"}, Quantity{4}},
      ReserveStock{OrderId{"b"}, Quantity{6}},
      ShipStock{OrderId{"a"}},
      ReleaseStock{OrderId{"b"}},
      ReserveStock{OrderId{"c"}, Quantity{6}},
      ShipStock{OrderId{"c"}},
  });

  EXPECT_TRUE(counts(state, 0, 0, 10, 10));
}

TEST(StockConservation, HoldsThroughRedeliveriesAndRefusals) {
  const StockState state = run_balanced({
      Restock{kSku, Quantity{5}}, ReserveStock{OrderId{"a"}, Quantity{3}},
      ReserveStock{OrderId{"a"}, Quantity{3}},                 // redelivered
      ReserveStock{OrderId{"b"}, Quantity{3}},                 // insufficient
      ReserveStock{OrderId{"a"}, Quantity{2}},                 // conflict
      ReleaseStock{OrderId{"a"}}, ReleaseStock{OrderId{"a"}},  // redelivered
      ShipStock{OrderId{"a"}},                                 // conflict
      ReserveStock{OrderId{"b"}, Quantity{5}}, ShipStock{OrderId{"b"}},
      ShipStock{OrderId{"b"}},  // redelivered
  });

  EXPECT_TRUE(counts(state, 0, 0, 5, 5));
  EXPECT_EQ(state.version, AggregateVersion{5});
}

TEST(StockConservation, HoldsWhenRestockingAfterReservations) {
  const StockState state = run_balanced({
      Restock{kSku, Quantity{4}},
      ReserveStock{OrderId{"a"}, Quantity{4}},
      ReserveStock{OrderId{"b"}, Quantity{2}},  // insufficient
      Restock{kSku, Quantity{6}},
      ReserveStock{OrderId{"b"}, Quantity{2}},
      ShipStock{OrderId{"a"}},
      Restock{kSku, Quantity{1}},
      ReleaseStock{OrderId{"b"}},
  });

  EXPECT_TRUE(counts(state, 7, 0, 4, 11));
}

TEST(StockConservation, RestockAfterReservationsOnlyAddsToAvailable) {
  const StockState state = after(reserved(), Restock{kSku, Quantity{5}});

  EXPECT_TRUE(counts(state, 12, 3, 0, 15));
  EXPECT_TRUE(balanced(state));
  EXPECT_TRUE(counts(after(state, ReleaseStock{kOrder}), 15, 0, 0, 15));
}

// --- evolve ---

TEST(StockEvolve, VersionsCountTheEvents) {
  EXPECT_EQ(StockDecider::initial().version, AggregateVersion{0});
  EXPECT_EQ(stocked(10).version, AggregateVersion{1});
  EXPECT_EQ(reserved().version, AggregateVersion{2});
  EXPECT_EQ(after(reserved(), ShipStock{kOrder}).version, AggregateVersion{3});
}

TEST(StockEvolve, FoldReplaysTheLog) {
  const std::vector<StockEvent> log{StockRestocked{kSku, Quantity{10}, kNow},
                                    StockReserved{kOrder, Quantity{3}, kNow}};

  EXPECT_EQ(fold<StockDecider>(log), reserved());
}

}  // namespace
}  // namespace orderflow::core
