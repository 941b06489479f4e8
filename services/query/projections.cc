#include "services/query/projections.h"

#include <cstdio>

#include "core/codec/codec.h"
#include "core/sim_hooks.h"
#include "services/aggregate.h"
#include "services/topics.h"

namespace orderflow::services {
namespace {

using core::Poison;

// Within the views store: "o/<order>" holds the order's events, "s/<order>" its
// shipment's.
std::string order_key(const std::string& order) { return "o/" + order; }
std::string shipment_key(const std::string& order) { return "s/" + order; }

std::string minute_key(core::Timestamp t) {
  const auto minute = std::chrono::floor<std::chrono::minutes>(t.time_since_epoch());
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020lld",
                static_cast<long long>(std::chrono::duration_cast<core::Duration>(minute).count()));
  return digits;
}

class Projector final : public core::Processor {
 public:
  explicit Projector(ProjectionWatch& watch) : watch_(watch) {}

  std::expected<void, Poison> process(const core::ConsumerRecord& record,
                                      core::TaskContext& ctx) override {
    if (!record.key || !record.value) return std::unexpected(Poison{"record without key or value"});
    auto decoded = core::decode_event(*record.value);
    if (!decoded) return std::unexpected(Poison{decoded.error().reason});
    const std::string& order = *record.key;
    const bool is_order = record.tp.topic == kOrderEvents;
    if (is_order != std::holds_alternative<core::OrderEvent>(decoded->event)) {
      return std::unexpected(Poison{"event of the wrong aggregate on " + record.tp.topic});
    }
    const std::string key = is_order ? order_key(order) : shipment_key(order);
    if (!apply_once(ctx, key, decoded->meta, *record.value)) return {};
    if (is_order) project_order(ctx, order, *decoded);
    watch_.changed(order);
    return {};
  }

 private:
  // Appends the event to the log under `key` unless its version was applied
  // already; returns whether it was applied.
  bool apply_once(core::TaskContext& ctx, const std::string& key, const core::EventMeta& meta,
                  const std::string& bytes) {
    core::StateStore& views = ctx.store(kOrderViewsStore);
    std::string log = views.get(key).value_or("");
    const auto applied = static_cast<std::int64_t>(split_framed(log).size());
    const bool check = !core::hooks::canary(core::hooks::Canary::kProjectionWithoutVersionCheck);
    if (check && meta.version.value() <= applied) {
      ++watch_.duplicates_skipped;
      return false;
    }
    if (meta.version.value() > applied + 1) {
      ++watch_.gaps;
      ctx.log().event(core::Severity::kWarn, "projection_gap",
                      {{"aggregate_id", meta.aggregate_id},
                       {"expected_version", applied + 1},
                       {"got_version", meta.version.value()}});
    }
    append_framed(log, bytes);
    views.put(key, log);
    return true;
  }

  void project_order(core::TaskContext& ctx, const std::string& order,
                     const core::DecodedEvent& decoded) {
    const auto view = read_order_view(ctx.store(kOrderViewsStore), order);
    if (!view) return;
    const core::OrderState& o = view->order;
    ctx.store(kCustomerOrdersStore)
        .put(o.customer.str() + "/" + order,
             std::string(to_string(o.status)) + "," + std::to_string(o.total().value()));
    if (std::holds_alternative<core::OrderPlaced>(std::get<core::OrderEvent>(decoded.event))) {
      core::StateStore& minutes = ctx.store(kOrdersPerMinuteStore);
      const std::string minute = minute_key(decoded.meta.event_time);
      const std::int64_t count = std::stoll(minutes.get(minute).value_or("0")) + 1;
      minutes.put(minute, std::to_string(count));
    }
  }

  ProjectionWatch& watch_;
};

template <core::Decider D>
typename D::State fold_log(const core::StateStore& store, const std::string& key) {
  typename D::State state = D::initial();
  const auto log = store.get(key);
  if (!log) return state;
  for (std::string_view bytes : split_framed(*log)) {
    auto decoded = core::decode_event(bytes);
    if (!decoded) continue;
    if (const auto* e = std::get_if<typename D::Event>(&decoded->event))
      state = D::evolve(state, *e);
  }
  return state;
}

}  // namespace

std::optional<OrderView> read_order_view(const core::StateStore& store, const std::string& order) {
  OrderView view{fold_log<core::OrderDecider>(store, order_key(order)),
                 fold_log<core::ShipmentDecider>(store, shipment_key(order))};
  if (view.order.status == core::OrderStatus::kNone) return std::nullopt;
  return view;
}

std::vector<CustomerOrder> read_customer_orders(const core::StateStore& store,
                                                const std::string& customer) {
  std::vector<CustomerOrder> orders;
  const std::string from = customer + "/";
  const std::string to = customer + "0";  // '0' follows '/'
  store.scan(from, to, [&](std::string_view key, std::string_view value) {
    const auto comma = value.find(',');
    orders.push_back({std::string(key.substr(from.size())), std::string(value.substr(0, comma)),
                      std::stoll(std::string(value.substr(comma + 1)))});
    return true;
  });
  return orders;
}

std::map<core::Timestamp, std::int64_t> read_orders_per_minute(const core::StateStore& store) {
  std::map<core::Timestamp, std::int64_t> counts;
  store.scan("", "", [&](std::string_view key, std::string_view value) {
    const core::Timestamp minute{core::Duration{std::stoll(std::string(key))}};
    counts[minute] += std::stoll(std::string(value));
    return true;
  });
  return counts;
}

core::SubTopology projection_topology(ProjectionWatch& watch) {
  return {
      .source_topics = {kOrderEvents, kShipmentEvents},
      .stores = {kOrderViewsStore, kCustomerOrdersStore, kOrdersPerMinuteStore},
      .make_processor = [&watch](core::Partition) { return std::make_unique<Projector>(watch); }};
}

}  // namespace orderflow::services
