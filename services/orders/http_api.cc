#include "services/orders/http_api.h"

#include <cstdio>

#include "core/hash.h"
#include "core/sim_hooks.h"
#include "services/topics.h"

namespace orderflow::services {
namespace {

using core::HttpMethod;
using core::Json;
using core::JsonObject;
using core::ObjectReader;

constexpr std::size_t kMaxIdempotencyKey = 128;

std::expected<core::PlaceOrder, std::string> read_order(const Json& body, std::string order) {
  ObjectReader reader(body);
  core::PlaceOrder command{core::OrderId{std::move(order)},
                           core::CustomerId{reader.required_string("customer_id")},
                           {},
                           {}};
  for (ObjectReader& item : reader.required_objects("items")) {
    command.lines.push_back({core::Sku{item.required_string("sku")},
                             core::Quantity{item.required_int("quantity")},
                             core::Cents{item.required_int("unit_price_cents")}});
    item.reject_unknown();
  }
  ObjectReader address = reader.required_object("shipping_address");
  command.ship_to = {address.required_string("name"), address.required_string("street"),
                     address.required_string("city"),
                     address.optional_string("postal_code").value_or(""),
                     address.required_string("country")};
  address.reject_unknown();
  reader.reject_unknown();
  if (reader.error()) return std::unexpected(reader.error()->to_string());
  if (auto valid = core::validate(command); !valid) return std::unexpected(valid.error().reason);
  return command;
}

int status_of(core::RejectionCode code) {
  switch (code) {
    case core::RejectionCode::kInvalid: return 400;
    case core::RejectionCode::kNotFound: return 404;
    case core::RejectionCode::kAlreadyExists:
    case core::RejectionCode::kConflict:
    case core::RejectionCode::kInsufficientStock: return 409;
  }
  return 409;
}

const char* title_of(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    default: return "Conflict";
  }
}

}  // namespace

// --- outcomes ----------------------------------------------------------------

void OutcomeTable::start(core::Broker& broker) {
  consumer_ = broker.make_consumer({.group_id = "", .client_id = "outcomes"}, *this);
  broker.partition_count(kOrderOutcomes,
                         [this, alive = std::weak_ptr<int>(alive_)](core::Result<int> n) {
                           if (alive.expired() || !n) return;
                           std::vector<core::TopicPartitionOffset> all;
                           for (int p = 0; p < *n; ++p)
                             all.push_back({{kOrderOutcomes, core::Partition{p}}, core::Offset{0}});
                           consumer_->assign(all);
                         });
}

const core::CommandOutcome* OutcomeTable::find(const std::string& command_id) const {
  auto it = outcomes_.find(command_id);
  return it == outcomes_.end() ? nullptr : &it->second;
}

void OutcomeTable::on_records(const std::vector<core::ConsumerRecord>& records) {
  for (const auto& r : records) {
    if (!r.value) continue;
    if (auto outcome = core::decode_outcome(*r.value)) {
      outcomes_.insert_or_assign(outcome->command_id, *outcome);
    }
  }
}

// --- the API -----------------------------------------------------------------

std::vector<RouteSpec> OrdersApi::routes() {
  return {{"POST", "/orders", {202, 400, 413, 415, 503}},
          {"POST", "/orders/{id}/cancel", {202, 400, 413, 415, 503}},
          {"GET", "/commands/{key}", {200, 400, 404, 409}}};
}

std::string OrdersApi::order_id_for(std::string_view idempotency_key) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%016llx",
                static_cast<unsigned long long>(core::fnv1a(idempotency_key)));
  return std::string("o-") + digits;
}

void OrdersApi::handle(core::HttpRequest request, core::Respond respond) {
  const auto path = path_segments(request.target);
  const bool orders = !path.empty() && path[0] == "orders";
  if (orders && path.size() == 1) {
    if (request.method != HttpMethod::kPost) {
      return respond(problem(405, "Method Not Allowed", "use POST /orders"));
    }
    return place(request, std::move(respond));
  }
  if (orders && path.size() == 3 && path[2] == "cancel") {
    if (request.method != HttpMethod::kPost) {
      return respond(problem(405, "Method Not Allowed", "use POST /orders/{id}/cancel"));
    }
    return cancel(request, path[1], std::move(respond));
  }
  if (path.size() == 2 && path[0] == "commands") {
    if (request.method != HttpMethod::kGet) {
      return respond(problem(405, "Method Not Allowed", "use GET /commands/{key}"));
    }
    return outcome(path[1], respond);
  }
  respond(problem(404, "Not Found", "no such resource: " + request.target));
}

void OrdersApi::place(const core::HttpRequest& request, core::Respond respond) {
  const auto key = request.header("Idempotency-Key");
  if (!key || key->empty() || key->size() > kMaxIdempotencyKey) {
    return respond(problem(400, "Bad Request",
                           "the Idempotency-Key header is required (1 to 128 characters)"));
  }
  auto body = json_body(request);
  if (!body) return respond(body.error());
  auto command = read_order(*body, order_id_for(*key));
  if (!command) return respond(problem(400, "Bad Request", command.error()));
  const std::string order = command->order.str();
  submit({std::string(*key), order, clock_.now(), "", std::string(*key)}, *command,
         std::move(respond));
}

void OrdersApi::cancel(const core::HttpRequest& request, const std::string& order,
                       core::Respond respond) {
  std::string reason = "cancelled by the customer";
  if (!request.body.empty()) {
    auto body = json_body(request);
    if (!body) return respond(body.error());
    ObjectReader reader(*body);
    reason = reader.optional_string("reason").value_or(reason);
    reader.reject_unknown();
    if (reader.error()) return respond(problem(400, "Bad Request", reader.error()->to_string()));
  }
  const std::string key =
      std::string(request.header("Idempotency-Key").value_or("cancel/" + order));
  submit({key, order, clock_.now(), "", key}, core::CancelOrder{reason}, std::move(respond));
}

void OrdersApi::submit(const core::CommandMeta& meta, const core::OrderCommand& command,
                       core::Respond respond) {
  const Json accepted{JsonObject{{"order_id", meta.aggregate_id},
                                 {"command_id", meta.command_id},
                                 {"status_url", "/commands/" + meta.command_id}}};
  producer_.send(
      {kOrderCommands, meta.aggregate_id, core::encode_command(meta, command), {}, std::nullopt},
      [this, accepted, respond = std::move(respond), command_id = meta.command_id,
       alive = std::weak_ptr<int>(alive_)](core::Result<core::RecordMetadata> r) {
        if (alive.expired()) return;
        // Fault point orders.produce_times_out: the delivery report is a timeout although
        // the broker may have stored the command, as when an acknowledgement is lost.
        if (r && core::hooks::fault_point("orders.produce_times_out")) {
          r = core::make_error(core::ErrorKind::kRetriable, "delivery_timed_out",
                               "fault point orders.produce_times_out");
        }
        if (!r) {
          log_.event(core::Severity::kWarn, "command_not_sent",
                     {{"command_id", command_id}, {"code", r.error().code}});
          return respond(problem(503, "Service Unavailable",
                                 "the command could not be stored; retry with the same "
                                 "Idempotency-Key"));
        }
        respond(json_response(202, accepted));
      });
}

void OrdersApi::outcome(const std::string& key, const core::Respond& respond) const {
  const core::CommandOutcome* found = outcomes_.find(key);
  if (found == nullptr) {
    return respond(problem(404, "Not Found", "no outcome for command " + key + " (yet)"));
  }
  if (!found->result) {
    const int status = status_of(found->result.error().code);
    return respond(problem(status, title_of(status), found->result.error().reason));
  }
  respond(json_response(200, Json{JsonObject{{"command_id", found->command_id},
                                             {"order_id", found->aggregate_id},
                                             {"status", "accepted"},
                                             {"version", found->result->value()}}}));
}

}  // namespace orderflow::services
