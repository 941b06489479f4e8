#include "services/query/http_api.h"

#include <charconv>

#include "core/murmur2.h"

namespace orderflow::services {
namespace {

using core::Json;
using core::JsonArray;
using core::JsonObject;

constexpr std::int64_t kMaxWaitMs = 30'000;

// A non-negative integer query parameter; nullopt when absent, an error when bad.
std::expected<std::optional<std::int64_t>, std::string> count_parameter(std::string_view target,
                                                                        std::string_view name) {
  const auto text = query_parameter(target, name);
  if (!text) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value < 0) {
    return std::unexpected(std::string(name) + ": expected a non-negative integer");
  }
  return value;
}

Json view_json(const OrderView& v) {
  JsonArray lines;
  for (const auto& l : v.order.lines) {
    lines.push_back(JsonObject{{"sku", l.sku.str()},
                               {"quantity", l.quantity.value()},
                               {"unit_price_cents", l.unit_price.value()}});
  }
  JsonObject shipment{{"status", to_string(v.shipment.status)}};
  if (!v.shipment.carrier.empty()) {
    shipment.emplace_back("carrier", v.shipment.carrier);
    shipment.emplace_back("tracking", v.shipment.tracking);
  }
  return JsonObject{
      {"order_id", v.order.order.str()},        {"customer_id", v.order.customer.str()},
      {"status", to_string(v.order.status)},    {"version", v.order.version.value()},
      {"total_cents", v.order.total().value()}, {"items", std::move(lines)},
      {"shipment", std::move(shipment)}};
}

}  // namespace

QueryApi::QueryApi(Stores stores, int partitions, ProjectionWatch& watch,
                   core::Scheduler& scheduler)
    : stores_(std::move(stores)), partitions_(partitions), scheduler_(scheduler) {
  watch.on_change([this, alive = std::weak_ptr<int>(alive_)](const std::string& order) {
    if (!alive.expired()) on_change(order);
  });
}

QueryApi::~QueryApi() {
  for (auto& w : waiters_) scheduler_.cancel(w.timer);
}

std::vector<RouteSpec> QueryApi::routes() {
  return {{"GET", "/orders/{id}", {200, 400, 404}},
          {"GET", "/customers/{id}/orders", {200}},
          {"GET", "/stats/orders-per-minute", {200}}};
}

void QueryApi::handle(core::HttpRequest request, core::Respond respond) {
  const auto path = path_segments(request.target);
  if (request.method != core::HttpMethod::kGet) {
    return respond(problem(405, "Method Not Allowed", "the query API only answers GET"));
  }
  if (path.size() == 2 && path[0] == "orders") return order(path[1], request, std::move(respond));
  if (path.size() == 3 && path[0] == "customers" && path[2] == "orders") {
    return respond(customer_orders(path[1]));
  }
  if (path.size() == 2 && path[0] == "stats" && path[1] == "orders-per-minute") {
    return respond(orders_per_minute());
  }
  respond(problem(404, "Not Found", "no such resource: " + request.target));
}

std::optional<OrderView> QueryApi::view(const std::string& id) const {
  const int p = core::partition_for_key(id, partitions_).value();
  return read_order_view(stores_(kOrderViewsStore, p), id);
}

void QueryApi::order(const std::string& id, const core::HttpRequest& request,
                     core::Respond respond) {
  const auto min_version = count_parameter(request.target, "min_version");
  const auto wait_ms = count_parameter(request.target, "wait_ms");
  if (!min_version) return respond(problem(400, "Bad Request", min_version.error()));
  if (!wait_ms) return respond(problem(400, "Bad Request", wait_ms.error()));

  const std::int64_t wanted = min_version->value_or(1);
  const auto current = view(id);
  const bool satisfied = current && current->order.version.value() >= wanted;
  if (satisfied || wait_ms->value_or(0) == 0) return answer_order(id, respond);

  const auto wait = std::chrono::milliseconds{std::min(**wait_ms, kMaxWaitMs)};
  auto it = waiters_.insert(waiters_.end(), Waiter{id, wanted, std::move(respond), {}});
  it->timer = scheduler_.schedule_after(wait, [this, it, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired()) return;
    answer_order(it->order, it->respond);
    waiters_.erase(it);
  });
}

void QueryApi::on_change(const std::string& order) {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    const auto current = it->order == order ? view(order) : std::nullopt;
    if (!current || current->order.version.value() < it->min_version) {
      ++it;
      continue;
    }
    scheduler_.cancel(it->timer);
    answer_order(order, it->respond);
    it = waiters_.erase(it);
  }
}

void QueryApi::answer_order(const std::string& id, const core::Respond& respond) const {
  const auto current = view(id);
  if (!current) return respond(problem(404, "Not Found", "no order " + id));
  respond(json_response(200, view_json(*current)));
}

core::HttpResponse QueryApi::customer_orders(const std::string& customer) const {
  JsonArray orders;
  std::int64_t total = 0;
  for (int p = 0; p < partitions_; ++p) {
    for (const auto& o : read_customer_orders(stores_(kCustomerOrdersStore, p), customer)) {
      orders.push_back(JsonObject{
          {"order_id", o.order_id}, {"status", o.status}, {"total_cents", o.total_cents}});
      total += o.total_cents;
    }
  }
  return json_response(
      200,
      JsonObject{{"customer_id", customer}, {"orders", std::move(orders)}, {"total_cents", total}});
}

core::HttpResponse QueryApi::orders_per_minute() const {
  std::map<core::Timestamp, std::int64_t> counts;
  for (int p = 0; p < partitions_; ++p) {
    for (const auto& [minute, n] : read_orders_per_minute(stores_(kOrdersPerMinuteStore, p))) {
      counts[minute] += n;
    }
  }
  JsonArray minutes;
  for (const auto& [minute, n] : counts) {
    minutes.push_back(JsonObject{{"minute_start_ms", core::to_unix_millis(minute)}, {"orders", n}});
  }
  return json_response(200, JsonObject{{"minutes", std::move(minutes)}});
}

}  // namespace orderflow::services
