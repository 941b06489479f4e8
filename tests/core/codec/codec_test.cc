#include "core/codec/codec.h"

#include <chrono>
#include <cstddef>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include "orderflow/v1/envelope.pb.h"

namespace orderflow::core {
namespace {

// A time with a microsecond part, and one just before the epoch, where floor division
// matters.
const Timestamp kTime{Duration{1'714'566'896'789'012}};
const Timestamp kBeforeEpoch{Duration{-1'500'001}};

EventMeta event_meta() {
  return {EventId{"e-1"}, "o-1", AggregateVersion{3}, kTime, "cmd-1", "req-1"};
}

CommandMeta command_meta() { return {"cmd-1", "o-1", kTime, "e-0", "req-1"}; }

Address address() { return {"Ada Lovelace", "1 Analytical Way", "London", "N1 9GU", "GB"}; }

std::vector<OrderLine> order_lines() {
  return {{Sku{"sku-a"}, Quantity{2}, Cents{1'250}}, {Sku{"sku-b"}, Quantity{1}, Cents{499}}};
}

std::vector<ShipmentLine> shipment_lines() {
  return {{Sku{"sku-a"}, Quantity{2}}, {Sku{"sku-b"}, Quantity{1}}};
}

// One sample per alternative; the round-trip tests check that none is missing.
std::vector<OrderEvent> order_events() {
  return {
      OrderPlaced{OrderId{"o-1"}, CustomerId{"c-1"}, order_lines(), address(), kTime},
      OrderConfirmed{ShipmentId{"s-1"}, kTime},
      OrderCancelled{"changed my mind", CancelInitiator::kCustomer, kBeforeEpoch},
      OrderCancelled{"out of stock", CancelInitiator::kSystem, kTime},
      OrderDispatchApproved{ShipmentId{"s-1"}, kTime},
      OrderShipped{ShipmentId{"s-1"}, "dhl", "JD0001", kTime},
      OrderDelivered{kTime},
  };
}

std::vector<ShipmentEvent> shipment_events() {
  return {
      ShipmentRequested{ShipmentId{"s-1"}, OrderId{"o-1"}, shipment_lines(), kTime},
      ShipmentAllocated{WarehouseId{"w-1"}, kTime},
      ShipmentAllocationFailed{"no stock", kTime},
      ShipmentPacked{kTime},
      ShipmentDispatched{"dhl", "JD0001", kTime},
      ShipmentDelivered{kTime},
      ShipmentCancelled{"order cancelled", true, kTime},
  };
}

std::vector<StockEvent> stock_events() {
  return {
      StockRestocked{Sku{"sku-a"}, Quantity{10}, kTime},
      StockReserved{OrderId{"o-1"}, Quantity{2}, kTime},
      StockReleased{OrderId{"o-1"}, Quantity{2}, kTime},
      StockShipped{OrderId{"o-1"}, Quantity{0}, kBeforeEpoch},
  };
}

std::vector<OrderCommand> order_commands() {
  return {
      PlaceOrder{OrderId{"o-1"}, CustomerId{"c-1"}, order_lines(), address()},
      ConfirmOrder{ShipmentId{"s-1"}},
      CancelOrder{"changed my mind", CancelInitiator::kCustomer},
      CancelOrder{"payment failed", CancelInitiator::kSystem},
      ApproveDispatch{ShipmentId{"s-1"}},
      MarkShipped{ShipmentId{"s-1"}, "dhl", "JD0001"},
      MarkDelivered{ShipmentId{"s-1"}},
  };
}

std::vector<ShipmentCommand> shipment_commands() {
  return {
      RequestShipment{ShipmentId{"s-1"}, OrderId{"o-1"}, shipment_lines()},
      AllocateShipment{WarehouseId{"w-1"}},
      FailAllocation{"no stock"},
      PackShipment{},
      DispatchShipment{"dhl", "JD0001"},
      DeliverShipment{},
      CancelShipment{"order cancelled"},
  };
}

std::vector<StockCommand> stock_commands() {
  return {
      Restock{Sku{"sku-a"}, Quantity{10}},
      ReserveStock{OrderId{"o-1"}, Quantity{2}},
      ReleaseStock{OrderId{"o-1"}},
      ShipStock{OrderId{"o-1"}},
  };
}

// Commands have no operator==; these list their fields for comparison. A field added
// to a command must be added here too.
auto fields(const PlaceOrder& c) { return std::tie(c.order, c.customer, c.lines, c.ship_to); }
auto fields(const ConfirmOrder& c) { return std::tie(c.shipment); }
auto fields(const CancelOrder& c) { return std::tie(c.reason, c.initiator); }
auto fields(const ApproveDispatch& c) { return std::tie(c.shipment); }
auto fields(const MarkShipped& c) { return std::tie(c.shipment, c.carrier, c.tracking); }
auto fields(const MarkDelivered& c) { return std::tie(c.shipment); }
auto fields(const RequestShipment& c) { return std::tie(c.shipment, c.order, c.lines); }
auto fields(const AllocateShipment& c) { return std::tie(c.warehouse); }
auto fields(const FailAllocation& c) { return std::tie(c.reason); }
auto fields(const PackShipment&) { return std::tie(); }
auto fields(const DispatchShipment& c) { return std::tie(c.carrier, c.tracking); }
auto fields(const DeliverShipment&) { return std::tie(); }
auto fields(const CancelShipment& c) { return std::tie(c.reason); }
auto fields(const Restock& c) { return std::tie(c.sku, c.quantity); }
auto fields(const ReserveStock& c) { return std::tie(c.order, c.quantity); }
auto fields(const ReleaseStock& c) { return std::tie(c.order); }
auto fields(const ShipStock& c) { return std::tie(c.order); }

template <typename Command>
bool same_command(const Command& a, const Command& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) { return fields(x) == fields(std::get<std::decay_t<decltype(x)>>(b)); },
      a);
}

template <typename Event>
void expect_events_round_trip(const std::vector<Event>& events, AggregateType type) {
  std::set<std::size_t> covered;
  for (const Event& event : events) {
    SCOPED_TRACE(event_type(event));
    covered.insert(event.index());
    auto decoded = decode_event(encode_event(event_meta(), event));
    ASSERT_TRUE(decoded) << decoded.error().reason;
    EXPECT_EQ(decoded->meta, event_meta());
    EXPECT_EQ(decoded->aggregate_type, type);
    EXPECT_EQ(decoded->event_type, event_type(event));
    ASSERT_TRUE(std::holds_alternative<Event>(decoded->event));
    EXPECT_EQ(std::get<Event>(decoded->event), event);
  }
  EXPECT_EQ(covered.size(), std::variant_size_v<Event>) << "an event type has no sample";
}

template <typename Command>
void expect_commands_round_trip(const std::vector<Command>& commands, AggregateType type) {
  std::set<std::size_t> covered;
  for (const Command& command : commands) {
    SCOPED_TRACE(command.index());
    covered.insert(command.index());
    auto decoded = decode_command(encode_command(command_meta(), command));
    ASSERT_TRUE(decoded) << decoded.error().reason;
    EXPECT_EQ(decoded->meta, command_meta());
    EXPECT_EQ(decoded->aggregate_type, type);
    ASSERT_TRUE(std::holds_alternative<Command>(decoded->command));
    EXPECT_TRUE(same_command(std::get<Command>(decoded->command), command));
  }
  EXPECT_EQ(covered.size(), std::variant_size_v<Command>) << "a command type has no sample";
}

std::string placed_bytes() { return encode_event(event_meta(), order_events().front()); }

// Parses `bytes` as `Message`, lets `change` edit it and serializes it again.
template <typename Message, typename Change>
std::string rewrite(const std::string& bytes, Change change) {
  Message message;
  EXPECT_TRUE(message.ParseFromString(bytes));
  change(message);
  return message.SerializeAsString();
}

template <typename Decoded>
void expect_error(const std::expected<Decoded, DecodeError>& decoded, DecodeErrorCode code,
                  const std::string& reason) {
  ASSERT_FALSE(decoded) << "decoded although " << reason << " was expected";
  EXPECT_EQ(decoded.error().code, code) << decoded.error().reason;
  EXPECT_EQ(decoded.error().reason, reason);
}

TEST(CodecTest, OrderEventsRoundTrip) {
  expect_events_round_trip(order_events(), AggregateType::kOrder);
}

TEST(CodecTest, ShipmentEventsRoundTrip) {
  expect_events_round_trip(shipment_events(), AggregateType::kShipment);
}

TEST(CodecTest, StockEventsRoundTrip) {
  expect_events_round_trip(stock_events(), AggregateType::kStock);
}

TEST(CodecTest, OrderCommandsRoundTrip) {
  expect_commands_round_trip(order_commands(), AggregateType::kOrder);
}

TEST(CodecTest, ShipmentCommandsRoundTrip) {
  expect_commands_round_trip(shipment_commands(), AggregateType::kShipment);
}

TEST(CodecTest, StockCommandsRoundTrip) {
  expect_commands_round_trip(stock_commands(), AggregateType::kStock);
}

TEST(CodecTest, AcceptedOutcomeRoundTrips) {
  const CommandOutcome outcome{"cmd-1", AggregateType::kStock, "sku-a", AggregateVersion{7}, kTime};
  auto decoded = decode_outcome(encode_outcome(outcome));
  ASSERT_TRUE(decoded) << decoded.error().reason;
  EXPECT_EQ(*decoded, outcome);
}

TEST(CodecTest, RejectedOutcomeRoundTrips) {
  for (RejectionCode code :
       {RejectionCode::kInvalid, RejectionCode::kNotFound, RejectionCode::kAlreadyExists,
        RejectionCode::kConflict, RejectionCode::kInsufficientStock}) {
    const CommandOutcome outcome{"cmd-1", AggregateType::kOrder, "o-1",
                                 std::unexpected(Rejection{code, "because"}), kBeforeEpoch};
    auto decoded = decode_outcome(encode_outcome(outcome));
    ASSERT_TRUE(decoded) << decoded.error().reason;
    EXPECT_EQ(*decoded, outcome) << to_string(code);
  }
}

TEST(CodecTest, EventBytesAreReadableByTheGeneratedClass) {
  v1::EventEnvelope envelope;
  ASSERT_TRUE(envelope.ParseFromString(placed_bytes()));

  EXPECT_EQ(envelope.event_id(), "e-1");
  EXPECT_EQ(envelope.aggregate_type(), v1::AGGREGATE_TYPE_ORDER);
  EXPECT_EQ(envelope.aggregate_id(), "o-1");
  EXPECT_EQ(envelope.aggregate_version(), 3);
  EXPECT_EQ(envelope.event_type(), "OrderPlaced");
  EXPECT_EQ(envelope.event_time().seconds(), 1'714'566'896);
  EXPECT_EQ(envelope.event_time().nanos(), 789'012'000);
  EXPECT_EQ(envelope.causation_id(), "cmd-1");
  EXPECT_EQ(envelope.correlation_id(), "req-1");
  ASSERT_EQ(envelope.event_case(), v1::EventEnvelope::kOrderPlaced);
  const v1::OrderPlaced& placed = envelope.order_placed();
  EXPECT_EQ(placed.order_id(), "o-1");
  ASSERT_EQ(placed.lines_size(), 2);
  EXPECT_EQ(placed.lines(0).sku(), "sku-a");
  EXPECT_EQ(placed.lines(0).quantity(), 2);
  EXPECT_EQ(placed.lines(0).unit_price_cents(), 1'250);
  EXPECT_EQ(placed.ship_to().country(), "GB");
}

TEST(CodecTest, TimesBeforeTheEpochKeepNanosPositive) {
  const auto bytes = encode_event(event_meta(), OrderEvent{OrderDelivered{kBeforeEpoch}});
  v1::EventEnvelope envelope;
  ASSERT_TRUE(envelope.ParseFromString(bytes));

  EXPECT_EQ(envelope.order_delivered().delivered_at().seconds(), -2);
  EXPECT_EQ(envelope.order_delivered().delivered_at().nanos(), 499'999'000);
}

TEST(CodecTest, CommandAndOutcomeBytesAreReadableByTheGeneratedClasses) {
  v1::CommandEnvelope command;
  ASSERT_TRUE(command.ParseFromString(
      encode_command(command_meta(), StockCommand{ReserveStock{OrderId{"o-1"}, Quantity{2}}})));
  EXPECT_EQ(command.command_id(), "cmd-1");
  EXPECT_EQ(command.aggregate_type(), v1::AGGREGATE_TYPE_STOCK);
  EXPECT_EQ(command.reserve_stock().quantity(), 2);

  v1::CommandOutcome outcome;
  ASSERT_TRUE(outcome.ParseFromString(encode_outcome(
      {"cmd-1", AggregateType::kStock, "sku-a",
       std::unexpected(Rejection{RejectionCode::kInsufficientStock, "only 1 left"}), kTime})));
  EXPECT_FALSE(outcome.accepted());
  EXPECT_EQ(outcome.rejection_code(), v1::REJECTION_CODE_INSUFFICIENT_STOCK);
  EXPECT_EQ(outcome.reason(), "only 1 left");
}

TEST(CodecTest, SubMicrosecondNanosAreTruncated) {
  const auto bytes = rewrite<v1::EventEnvelope>(
      placed_bytes(), [](v1::EventEnvelope& e) { e.mutable_event_time()->set_nanos(1'999); });
  auto decoded = decode_event(bytes);
  ASSERT_TRUE(decoded) << decoded.error().reason;
  EXPECT_EQ(decoded->meta.event_time,
            Timestamp{std::chrono::seconds{1'714'566'896} + std::chrono::microseconds{1}});
}

TEST(CodecTest, UnknownFieldsBesideTheBodyAreIgnored) {
  // Field 99, length-delimited, one byte: what a newer producer's extra field looks like.
  const std::string bytes = placed_bytes() + std::string("\x9a\x06\x01x", 4);
  auto decoded = decode_event(bytes);
  ASSERT_TRUE(decoded) << decoded.error().reason;
  EXPECT_EQ(std::get<OrderEvent>(decoded->event), order_events().front());
}

TEST(CodecTest, GarbageBytesAreMalformed) {
  const std::string garbage("\xff\xff\xff", 3);
  expect_error(decode_event(garbage), DecodeErrorCode::kMalformed,
               "bytes do not parse as orderflow.v1.EventEnvelope");
  expect_error(decode_command(garbage), DecodeErrorCode::kMalformed,
               "bytes do not parse as orderflow.v1.CommandEnvelope");
  expect_error(decode_outcome(garbage), DecodeErrorCode::kMalformed,
               "bytes do not parse as orderflow.v1.CommandOutcome");
}

TEST(CodecTest, TruncatedEnvelopeIsMalformed) {
  const std::string bytes = placed_bytes();
  EXPECT_EQ(decode_event(bytes.substr(0, bytes.size() - 3)).error().code,
            DecodeErrorCode::kMalformed);
}

TEST(CodecTest, EmptyEnvelopeHasUnknownType) {
  expect_error(decode_event(""), DecodeErrorCode::kUnknownType,
               "event_type '' has no body this build knows");
  expect_error(decode_command(""), DecodeErrorCode::kUnknownType,
               "command '' has no body this build knows");
}

TEST(CodecTest, BodyOfANewerProducerHasUnknownType) {
  v1::EventEnvelope envelope;
  envelope.set_aggregate_type(v1::AGGREGATE_TYPE_ORDER);
  envelope.set_event_type("OrderRefunded");
  envelope.GetReflection()->MutableUnknownFields(&envelope)->AddLengthDelimited(99, "\x0a\x01x");

  expect_error(
      decode_event(envelope.SerializeAsString()), DecodeErrorCode::kUnknownType,
      "event_type 'OrderRefunded' has no body this build knows; unknown field numbers: 99");
}

TEST(CodecTest, MismatchedEventTypeIsInvalid) {
  const auto bytes = rewrite<v1::EventEnvelope>(
      placed_bytes(), [](v1::EventEnvelope& e) { e.set_event_type("OrderShipped"); });
  expect_error(decode_event(bytes), DecodeErrorCode::kInvalid,
               "event_type 'OrderShipped' does not match body 'order_placed'");
}

TEST(CodecTest, MismatchedAggregateTypeIsInvalid) {
  const auto bytes = rewrite<v1::EventEnvelope>(placed_bytes(), [](v1::EventEnvelope& e) {
    e.set_aggregate_type(v1::AGGREGATE_TYPE_SHIPMENT);
  });
  expect_error(decode_event(bytes), DecodeErrorCode::kInvalid,
               "aggregate_type 'shipment' does not match body 'order_placed'");

  const auto command = rewrite<v1::CommandEnvelope>(
      encode_command(command_meta(), ShipmentCommand{PackShipment{}}),
      [](v1::CommandEnvelope& c) { c.set_aggregate_type(v1::AGGREGATE_TYPE_STOCK); });
  expect_error(decode_command(command), DecodeErrorCode::kInvalid,
               "aggregate_type 'stock' does not match body 'pack_shipment'");
}

TEST(CodecTest, UnspecifiedOrUnknownAggregateTypeIsInvalid) {
  const auto unspecified = rewrite<v1::EventEnvelope>(placed_bytes(), [](v1::EventEnvelope& e) {
    e.set_aggregate_type(v1::AGGREGATE_TYPE_UNSPECIFIED);
  });
  expect_error(decode_event(unspecified), DecodeErrorCode::kInvalid,
               "aggregate_type is unspecified");

  const auto unknown = rewrite<v1::EventEnvelope>(placed_bytes(), [](v1::EventEnvelope& e) {
    e.set_aggregate_type(static_cast<v1::AggregateType>(9));
  });
  expect_error(decode_event(unknown), DecodeErrorCode::kInvalid,
               "aggregate_type has unknown value 9");
}

TEST(CodecTest, NegativeQuantityIsInvalid) {
  const auto reserved =
      encode_event(event_meta(), StockEvent{StockReserved{OrderId{"o-1"}, Quantity{-1}, kTime}});
  expect_error(decode_event(reserved), DecodeErrorCode::kInvalid,
               "quantity must not be negative, got -1");

  auto lines = order_lines();
  lines.back().quantity = Quantity{-4};
  const auto place = encode_command(
      command_meta(), OrderCommand{PlaceOrder{OrderId{"o-1"}, CustomerId{"c-1"}, lines, {}}});
  expect_error(decode_command(place), DecodeErrorCode::kInvalid,
               "lines.quantity must not be negative, got -4");
}

TEST(CodecTest, EventVersionsStartAtOne) {
  EventMeta meta = event_meta();
  meta.version = AggregateVersion{0};
  expect_error(decode_event(encode_event(meta, order_events().front())), DecodeErrorCode::kInvalid,
               "aggregate_version must be at least 1, got 0");
  meta.version = AggregateVersion{-1};
  expect_error(decode_event(encode_event(meta, order_events().front())), DecodeErrorCode::kInvalid,
               "aggregate_version must be at least 1, got -1");

  const auto outcome = rewrite<v1::CommandOutcome>(
      encode_outcome({"cmd-1", AggregateType::kOrder, "o-1", AggregateVersion{1}, kTime}),
      [](v1::CommandOutcome& o) { o.set_resulting_version(-2); });
  expect_error(decode_outcome(outcome), DecodeErrorCode::kInvalid,
               "resulting_version must not be negative, got -2");
}

TEST(CodecTest, UnspecifiedCancelInitiatorIsInvalid) {
  const auto event = rewrite<v1::EventEnvelope>(
      encode_event(event_meta(), order_events()[2]), [](v1::EventEnvelope& e) {
        e.mutable_order_cancelled()->set_initiator(v1::CANCEL_INITIATOR_UNSPECIFIED);
      });
  expect_error(decode_event(event), DecodeErrorCode::kInvalid, "initiator is unspecified");

  const auto command = rewrite<v1::CommandEnvelope>(
      encode_command(command_meta(), order_commands()[2]), [](v1::CommandEnvelope& c) {
        c.mutable_cancel_order()->set_initiator(v1::CANCEL_INITIATOR_UNSPECIFIED);
      });
  expect_error(decode_command(command), DecodeErrorCode::kInvalid, "initiator is unspecified");
}

TEST(CodecTest, UnspecifiedRejectionCodeIsInvalid) {
  const auto bytes = rewrite<v1::CommandOutcome>(
      encode_outcome({"cmd-1", AggregateType::kOrder, "o-1",
                      std::unexpected(Rejection{RejectionCode::kConflict, "late"}), kTime}),
      [](v1::CommandOutcome& o) { o.set_rejection_code(v1::REJECTION_CODE_UNSPECIFIED); });
  expect_error(decode_outcome(bytes), DecodeErrorCode::kInvalid, "rejection_code is unspecified");
}

TEST(CodecTest, TimestampOutsideTheProtobufRangeIsInvalid) {
  const auto seconds = rewrite<v1::EventEnvelope>(placed_bytes(), [](v1::EventEnvelope& e) {
    e.mutable_event_time()->set_seconds(253'402'300'800);
  });
  expect_error(decode_event(seconds), DecodeErrorCode::kInvalid,
               "event_time: seconds 253402300800 is outside years 1 to 9999");

  const auto nanos = rewrite<v1::CommandEnvelope>(
      encode_command(command_meta(), ShipmentCommand{DeliverShipment{}}),
      [](v1::CommandEnvelope& c) { c.mutable_issued_at()->set_nanos(-1); });
  expect_error(decode_command(nanos), DecodeErrorCode::kInvalid,
               "issued_at: nanos -1 is outside [0, 999999999]");
}

TEST(CodecTest, DebugTextShowsTheEnvelope) {
  const std::string text = event_debug_text(placed_bytes());
  EXPECT_NE(text.find("event_type: \"OrderPlaced\""), std::string::npos) << text;
  EXPECT_NE(text.find("order_placed {"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
}

TEST(CodecTest, DebugTextOfGarbageSaysMalformed) {
  EXPECT_EQ(event_debug_text(std::string("\xff\xff\xff", 3)),
            "<malformed: bytes do not parse as orderflow.v1.EventEnvelope>");
}

}  // namespace
}  // namespace orderflow::core
