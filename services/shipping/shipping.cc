#include "services/shipping/shipping.h"

#include <cstdio>
#include <optional>
#include <vector>

#include "core/overloaded.h"
#include "core/sim_hooks.h"
#include "services/aggregate.h"
#include "services/topics.h"

namespace orderflow::services {
namespace {

using core::CommandMeta;
using core::Poison;
using core::ShipmentCommand;
using core::ShipmentDecider;
using core::StockDecider;
using core::hooks::Canary;

std::string shipment_id(const std::string& order) { return "s-" + order; }

// Timer keys sort by due time: "<20-digit micros>/<order>/<kind>".
std::string timer_key(core::Timestamp due, const std::string& order, const std::string& kind) {
  char micros[24];
  std::snprintf(micros, sizeof micros, "%020lld",
                static_cast<long long>(due.time_since_epoch().count()));
  return std::string(micros) + "/" + order + "/" + kind;
}

class ShipmentProcessor final : public core::Processor {
 public:
  explicit ShipmentProcessor(ShippingTimings timings) : timings_(timings) {}

  std::expected<void, Poison> process(const core::ConsumerRecord& record,
                                      core::TaskContext& ctx) override {
    if (!record.key || !record.value) return std::unexpected(Poison{"record without key or value"});
    if (record.tp.topic == kShippingCommands) return on_command(record, ctx);
    auto decoded = core::decode_event(*record.value);
    if (!decoded) return std::unexpected(Poison{decoded.error().reason});
    const auto* event = std::get_if<core::OrderEvent>(&decoded->event);
    if (event == nullptr) return std::unexpected(Poison{"not an order event"});
    on_order_event(*event, decoded->meta, *record.key, ctx);
    return {};
  }

  void on_wall_clock(core::TaskContext& ctx) override {
    core::StateStore& timers = ctx.store(kShippingTimersStore);
    const std::string until = timer_key(ctx.now(), "~", "~");
    std::vector<std::string> due;
    timers.scan("", until, [&](std::string_view key, std::string_view) {
      due.emplace_back(key);
      return true;
    });
    for (const auto& key : due) {
      timers.erase(key);
      const auto first = key.find('/');
      const auto last = key.rfind('/');
      const std::string order = key.substr(first + 1, last - first - 1);
      const std::string kind = key.substr(last + 1);
      const CommandMeta meta{"timer/" + key, shipment_id(order), ctx.now(), "", order};
      if (kind == "pack") {
        run(ctx, order, core::PackShipment{}, meta);
      } else {
        run(ctx, order, core::DeliverShipment{}, meta);
      }
    }
  }

 private:
  std::expected<void, Poison> on_command(const core::ConsumerRecord& record,
                                         core::TaskContext& ctx) {
    auto decoded = core::decode_command(*record.value);
    if (!decoded) return std::unexpected(Poison{decoded.error().reason});
    const auto* command = std::get_if<ShipmentCommand>(&decoded->command);
    if (command == nullptr) return std::unexpected(Poison{"not a shipment command"});
    run(ctx, *record.key, *command, decoded->meta);
    return {};
  }

  void on_order_event(const core::OrderEvent& event, const core::EventMeta& cause,
                      const std::string& order, core::TaskContext& ctx) {
    const CommandMeta meta{"ship/" + cause.event_id.str(), shipment_id(order), ctx.now(),
                           cause.event_id.str(), cause.correlation_id};
    std::visit(
        core::Overloaded{
            [&](const core::OrderPlaced& e) {
              std::vector<core::ShipmentLine> lines;
              for (const auto& l : e.lines) lines.push_back({l.sku, l.quantity});
              run(ctx, order,
                  core::RequestShipment{core::ShipmentId{shipment_id(order)}, e.order, lines},
                  meta);
            },
            [&](const core::OrderCancelled& e) {
              run(ctx, order, core::CancelShipment{"order cancelled: " + e.reason}, meta);
            },
            [&](const core::OrderDispatchApproved&) {
              run(ctx, order, core::DispatchShipment{"dhl", "TRK-" + order}, meta);
            },
            [](const auto&) {},
        },
        event);
  }

  // Executes a shipment command; its events also go to the stock keeper, and
  // allocation and dispatch start the packing and delivery timers.
  void run(core::TaskContext& ctx, const std::string& order, const ShipmentCommand& command,
           const CommandMeta& meta) {
    core::StateStore& store = ctx.store(kShipmentsStore);
    const auto before = load<ShipmentDecider>(store, shipment_id(order)).version;
    auto result = execute<ShipmentDecider>(ctx, store, shipment_id(order), command, meta,
                                           {kShipmentEvents, order});
    if (!result) {
      ctx.log().event(core::Severity::kDebug, "shipment_command_refused",
                      {{"order_id", order}, {"reason", result.error().reason}});
      return;
    }
    const auto events = load_events<ShipmentDecider>(store, shipment_id(order));
    for (auto i = static_cast<std::size_t>(before.value()); i < events.size(); ++i) {
      follow_up(ctx, order, events[i], meta,
                core::AggregateVersion{static_cast<std::int64_t>(i + 1)});
    }
  }

  void follow_up(core::TaskContext& ctx, const std::string& order, const core::ShipmentEvent& e,
                 const CommandMeta& meta, core::AggregateVersion version) {
    core::StateStore& timers = ctx.store(kShippingTimersStore);
    if (std::holds_alternative<core::ShipmentAllocated>(e)) {
      timers.put(timer_key(ctx.now() + timings_.packing, order, "pack"), "");
    } else if (std::holds_alternative<core::ShipmentDispatched>(e)) {
      timers.put(timer_key(ctx.now() + timings_.delivery, order, "deliver"), "");
    } else if (std::holds_alternative<core::ShipmentPacked>(e) &&
               core::hooks::canary(Canary::kDispatchWithoutApproval)) {
      const CommandMeta dispatch{meta.command_id + "/dispatch", meta.aggregate_id, ctx.now(),
                                 meta.causation_id, meta.correlation_id};
      run(ctx, order, core::DispatchShipment{"dhl", "TRK-" + order}, dispatch);
    }
    const bool for_stock = std::holds_alternative<core::ShipmentRequested>(e) ||
                           std::holds_alternative<core::ShipmentCancelled>(e) ||
                           std::holds_alternative<core::ShipmentDispatched>(e);
    if (!for_stock) return;
    const core::EventMeta event_meta{
        core::EventId{meta.command_id + "/" + std::to_string(version.value())},
        shipment_id(order),
        version,
        ctx.now(),
        meta.command_id,
        meta.correlation_id};
    ctx.send({kStockRequests, kWarehouse, core::encode_event(event_meta, e), {}, std::nullopt});
  }

  ShippingTimings timings_;
};

// The stock keeper of one warehouse.
class StockProcessor final : public core::Processor {
 public:
  std::expected<void, Poison> process(const core::ConsumerRecord& record,
                                      core::TaskContext& ctx) override {
    if (!record.value) return std::unexpected(Poison{"record without value"});
    if (record.tp.topic == kStockCommands) return on_restock(record, ctx);
    auto decoded = core::decode_event(*record.value);
    if (!decoded) return std::unexpected(Poison{decoded.error().reason});
    const auto* event = std::get_if<core::ShipmentEvent>(&decoded->event);
    if (event == nullptr) return std::unexpected(Poison{"not a shipment event"});
    const std::string order = decoded->meta.aggregate_id.substr(2);  // "s-<order>"
    const CommandMeta meta{"stock/" + decoded->meta.event_id.str(), order, ctx.now(),
                           decoded->meta.event_id.str(), decoded->meta.correlation_id};
    std::visit(core::Overloaded{
                   [&](const core::ShipmentRequested& e) { allocate(ctx, order, e.lines, meta); },
                   // Whatever the shipment knew when it was cancelled, the keeper
                   // releases what it holds: a request it already served may have
                   // crossed the cancel.
                   [&](const core::ShipmentCancelled&) {
                     if (core::hooks::canary(Canary::kNoCompensationOnCancel)) return;
                     settle(ctx, order, meta, true);
                   },
                   [&](const core::ShipmentDispatched&) { settle(ctx, order, meta, false); },
                   [](const auto&) {},
               },
               *event);
    return {};
  }

 private:
  std::expected<void, Poison> on_restock(const core::ConsumerRecord& record,
                                         core::TaskContext& ctx) {
    auto decoded = core::decode_command(*record.value);
    if (!decoded) return std::unexpected(Poison{decoded.error().reason});
    const auto* command = std::get_if<core::StockCommand>(&decoded->command);
    const auto* restock = command ? std::get_if<core::Restock>(command) : nullptr;
    if (restock == nullptr) return std::unexpected(Poison{"only restocks come from outside"});
    (void)execute<StockDecider>(ctx, ctx.store(kStockStore), restock->sku.str(), *command,
                                decoded->meta, {kStockEvents, restock->sku.str()});
    return {};
  }

  // All lines or none: every reservation is decided before any is made.
  void allocate(core::TaskContext& ctx, const std::string& order,
                const std::vector<core::ShipmentLine>& lines, const CommandMeta& meta) {
    core::StateStore& stock = ctx.store(kStockStore);
    std::optional<std::string> refusal;
    bool short_of_stock = false;
    for (const auto& line : lines) {
      const auto state = load<StockDecider>(stock, line.sku.str());
      auto d = StockDecider::decide(state, core::ReserveStock{core::OrderId{order}, line.quantity},
                                    ctx.now());
      if (!d) refusal = line.sku.str() + ": " + d.error().reason;
      short_of_stock |= !d && d.error().code == core::RejectionCode::kInsufficientStock;
    }
    if (short_of_stock) core::hooks::probe("shipping.out_of_stock");
    if (refusal) return answer(ctx, order, core::FailAllocation{*refusal}, meta);
    std::string skus;
    for (const auto& line : lines) {
      const CommandMeta per_line{meta.command_id + "/" + line.sku.str(), line.sku.str(),
                                 meta.issued_at, meta.causation_id, meta.correlation_id};
      (void)execute<StockDecider>(ctx, stock, line.sku.str(),
                                  core::ReserveStock{core::OrderId{order}, line.quantity}, per_line,
                                  {kStockEvents, line.sku.str()});
      skus += line.sku.str() + "\n";
    }
    ctx.store(kAllocationsStore).put(order, skus);
    answer(ctx, order, core::AllocateShipment{core::WarehouseId{kWarehouse}}, meta);
  }

  // Releases (cancelled) or ships (dispatched) what the order reserved.
  void settle(core::TaskContext& ctx, const std::string& order, const CommandMeta& meta,
              bool release) {
    const auto skus = ctx.store(kAllocationsStore).get(order);
    if (!skus) return;
    std::size_t at = 0;
    while (at < skus->size()) {
      const auto end = skus->find('\n', at);
      const std::string sku = skus->substr(at, end - at);
      at = end + 1;
      const CommandMeta per_line{meta.command_id + "/" + sku, sku, meta.issued_at,
                                 meta.causation_id, meta.correlation_id};
      const core::StockCommand command =
          release ? core::StockCommand{core::ReleaseStock{core::OrderId{order}}}
                  : core::StockCommand{core::ShipStock{core::OrderId{order}}};
      (void)execute<StockDecider>(ctx, ctx.store(kStockStore), sku, command, per_line,
                                  {kStockEvents, sku});
    }
  }

  void answer(core::TaskContext& ctx, const std::string& order, const ShipmentCommand& command,
              const CommandMeta& cause) {
    const CommandMeta meta{cause.command_id + "/answer", shipment_id(order), ctx.now(),
                           cause.causation_id, cause.correlation_id};
    ctx.send({kShippingCommands, order, core::encode_command(meta, command), {}, std::nullopt});
  }
};

}  // namespace

core::SubTopology shipment_topology(ShippingTimings timings) {
  return {.source_topics = {kOrderEvents, kShippingCommands},
          .stores = {kShipmentsStore, kShippingTimersStore},
          .make_processor = [timings](core::Partition) {
            return std::make_unique<ShipmentProcessor>(timings);
          }};
}

core::SubTopology stock_topology() {
  return {.source_topics = {kStockRequests, kStockCommands},
          .stores = {kStockStore, kAllocationsStore},
          .make_processor = [](core::Partition) { return std::make_unique<StockProcessor>(); }};
}

}  // namespace orderflow::services
