#include "services/orders/command_processor.h"

#include <optional>

#include "core/overloaded.h"
#include "core/sim_hooks.h"
#include "services/aggregate.h"
#include "services/topics.h"

namespace orderflow::services {
namespace {

using core::AggregateType;
using core::CommandMeta;
using core::OrderCommand;
using core::Poison;

// The order command a shipment event calls for, if any.
std::optional<OrderCommand> saga_step(const core::ShipmentEvent& event,
                                      const core::ShipmentId& id) {
  return std::visit(
      core::Overloaded{
          [&](const core::ShipmentAllocated&) -> std::optional<OrderCommand> {
            return core::ConfirmOrder{id};
          },
          [&](const core::ShipmentPacked&) -> std::optional<OrderCommand> {
            return core::ApproveDispatch{id};
          },
          [&](const core::ShipmentDispatched& e) -> std::optional<OrderCommand> {
            return core::MarkShipped{id, e.carrier, e.tracking};
          },
          [&](const core::ShipmentDelivered&) -> std::optional<OrderCommand> {
            return core::MarkDelivered{id};
          },
          [&](const core::ShipmentAllocationFailed& e) -> std::optional<OrderCommand> {
            return core::CancelOrder{"out of stock: " + e.reason, core::CancelInitiator::kSystem};
          },
          [](const auto&) -> std::optional<OrderCommand> { return std::nullopt; },
      },
      event);
}

class OrderCommandProcessor final : public core::Processor {
 public:
  std::expected<void, Poison> process(const core::ConsumerRecord& record,
                                      core::TaskContext& ctx) override {
    if (!record.key || !record.value) return std::unexpected(Poison{"record without key or value"});
    if (record.tp.topic == kShipmentEvents) return on_shipment_event(record, ctx);
    auto decoded = core::decode_command(*record.value);
    if (!decoded) return std::unexpected(Poison{decoded.error().reason});
    const auto* command = std::get_if<OrderCommand>(&decoded->command);
    if (command == nullptr) return std::unexpected(Poison{"not an order command"});
    if (decoded->meta.aggregate_id != *record.key) {
      return std::unexpected(
          Poison{"command for " + decoded->meta.aggregate_id + " keyed " + *record.key});
    }
    handle(ctx, decoded->meta, *command);
    return {};
  }

 private:
  std::expected<void, Poison> on_shipment_event(const core::ConsumerRecord& record,
                                                core::TaskContext& ctx) {
    auto decoded = core::decode_event(*record.value);
    if (!decoded) return std::unexpected(Poison{decoded.error().reason});
    const auto* event = std::get_if<core::ShipmentEvent>(&decoded->event);
    if (event == nullptr) return std::unexpected(Poison{"not a shipment event"});
    const auto command = saga_step(*event, core::ShipmentId{decoded->meta.aggregate_id});
    if (!command) return {};
    const CommandMeta meta{"saga/" + decoded->meta.event_id.str(), *record.key, ctx.now(),
                           decoded->meta.event_id.str(), decoded->meta.correlation_id};
    handle(ctx, meta, *command);
    return {};
  }

  void handle(core::TaskContext& ctx, const CommandMeta& meta, const OrderCommand& command) {
    core::StateStore& seen = ctx.store(kOrderCommandsSeenStore);
    if (seen.get(meta.command_id)) {
      core::hooks::probe("orders.command_deduplicated");
      ctx.log().event(core::Severity::kDebug, "order_command_duplicate",
                      {{"command_id", meta.command_id}});
      return;
    }
    auto result = execute<core::OrderDecider>(ctx, ctx.store(kOrdersStore), meta.aggregate_id,
                                              command, meta, {kOrderEvents, meta.aggregate_id});
    // Only dispatch approval moves an order past the point where it can be cancelled.
    if (!result && result.error().code == core::RejectionCode::kConflict &&
        std::holds_alternative<core::CancelOrder>(command)) {
      core::hooks::probe("orders.cancel_refused");
    }
    const core::CommandOutcome outcome{meta.command_id, AggregateType::kOrder, meta.aggregate_id,
                                       std::move(result), ctx.now()};
    std::string bytes = core::encode_outcome(outcome);
    seen.put(meta.command_id, bytes);
    ctx.send({kOrderOutcomes, meta.command_id, std::move(bytes), {}, std::nullopt});
  }
};

}  // namespace

std::unique_ptr<core::Processor> make_order_command_processor() {
  return std::make_unique<OrderCommandProcessor>();
}

core::SubTopology order_command_topology() {
  return {.source_topics = {kOrderCommands, kShipmentEvents},
          .stores = {kOrdersStore, kOrderCommandsSeenStore},
          .make_processor = [](core::Partition) { return make_order_command_processor(); }};
}

}  // namespace orderflow::services
