// Domain commands, events and command outcomes to and from their wire form.
//
// The wire form is the protobuf envelopes of core/proto/orderflow/v1; this is the
// only place that knows both sides, so the deciders stay free of protobuf. Decoding
// never throws and never aborts: bytes that do not parse, an envelope whose body is
// missing or of an unknown type, or fields that break the domain's types become a
// `DecodeError` with a reason, which the stream runtime sends to the dead-letter
// topic.
//
//   std::string bytes = encode_event(meta, OrderEvent{OrderPlaced{...}});
//   auto decoded = decode_event(bytes);  // std::expected<DecodedEvent, DecodeError>
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <variant>

#include "core/domain/decision.h"
#include "core/domain/order.h"
#include "core/domain/shipment.h"
#include "core/domain/stock.h"
#include "core/strong.h"
#include "core/time.h"

namespace orderflow::core {

enum class AggregateType { kOrder, kShipment, kStock };

[[nodiscard]] std::string_view to_string(AggregateType type);

// The envelope fields of DESIGN.md shared by every event.
struct EventMeta {
  EventId event_id;
  std::string aggregate_id;
  AggregateVersion version;
  Timestamp event_time;
  std::string causation_id;
  std::string correlation_id;
  friend bool operator==(const EventMeta&, const EventMeta&) = default;
};

using AnyEvent = std::variant<OrderEvent, ShipmentEvent, StockEvent>;

struct DecodedEvent {
  EventMeta meta;
  AggregateType aggregate_type = AggregateType::kOrder;
  std::string event_type;  // e.g. "OrderPlaced"
  AnyEvent event;
};

struct CommandMeta {
  std::string command_id;  // idempotency key
  std::string aggregate_id;
  Timestamp issued_at;
  std::string causation_id;
  std::string correlation_id;
  friend bool operator==(const CommandMeta&, const CommandMeta&) = default;
};

using AnyCommand = std::variant<OrderCommand, ShipmentCommand, StockCommand>;

struct DecodedCommand {
  CommandMeta meta;
  AggregateType aggregate_type = AggregateType::kOrder;
  AnyCommand command;
};

// The fate of one command, published for `GET /commands/{key}`.
struct CommandOutcome {
  std::string command_id;
  AggregateType aggregate_type = AggregateType::kOrder;
  std::string aggregate_id;
  std::expected<AggregateVersion, Rejection> result;  // resulting version, or why not
  Timestamp decided_at;
  friend bool operator==(const CommandOutcome&, const CommandOutcome&) = default;
};

enum class DecodeErrorCode {
  kMalformed,    // the bytes are not a valid envelope
  kUnknownType,  // the envelope carries no body this build knows
  kInvalid,      // the body parses but breaks a domain rule of the wire format
};

struct DecodeError {
  DecodeErrorCode code = DecodeErrorCode::kMalformed;
  std::string reason;
};

[[nodiscard]] std::string_view to_string(DecodeErrorCode code);

[[nodiscard]] std::string encode_event(const EventMeta& meta, const OrderEvent& event);
[[nodiscard]] std::string encode_event(const EventMeta& meta, const ShipmentEvent& event);
[[nodiscard]] std::string encode_event(const EventMeta& meta, const StockEvent& event);
[[nodiscard]] std::expected<DecodedEvent, DecodeError> decode_event(std::string_view bytes);

[[nodiscard]] std::string encode_command(const CommandMeta& meta, const OrderCommand& command);
[[nodiscard]] std::string encode_command(const CommandMeta& meta, const ShipmentCommand& command);
[[nodiscard]] std::string encode_command(const CommandMeta& meta, const StockCommand& command);
[[nodiscard]] std::expected<DecodedCommand, DecodeError> decode_command(std::string_view bytes);

[[nodiscard]] std::string encode_outcome(const CommandOutcome& outcome);
[[nodiscard]] std::expected<CommandOutcome, DecodeError> decode_outcome(std::string_view bytes);

// The protobuf text format of an encoded event, for people and traces.
[[nodiscard]] std::string event_debug_text(std::string_view bytes);

}  // namespace orderflow::core
