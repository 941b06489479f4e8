#include "adapters/host/host_handler.h"

#include <array>
#include <chrono>
#include <memory>

#include "adapters/observability/metrics_registry.h"
#include "core/json/json.h"

namespace orderflow::adapters::host {
namespace {

constexpr std::array<double, 12> kDurationBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1.0,  2.5,   10.0};

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// The path's segments: "/orders/o-1/cancel" -> {"orders", "o-1", "cancel"}.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto end = path.find('/');
    out.push_back(path.substr(0, end));
    path = end == std::string_view::npos ? std::string_view{} : path.substr(end);
  }
  return out;
}

core::HttpResponse json_response(int status, const core::Json& body) {
  return {status, {{"Content-Type", "application/json"}}, core::serialize(body)};
}

}  // namespace

HostHandler::HostHandler(observability::MetricsRegistry& registry, Apis apis, Readiness readiness,
                         std::function<void()> before_scrape)
    : registry_(registry),
      apis_(apis),
      readiness_(std::move(readiness)),
      before_scrape_(std::move(before_scrape)) {
  registry_.describe("orderflow_http_request_duration_seconds",
                     "Time from a request reaching the service to its response, by route.");
}

std::string HostHandler::route_of(core::HttpMethod method, std::string_view path) {
  const auto s = segments(path);
  if (s.size() == 1 &&
      (s[0] == "metrics" || s[0] == "healthz" || s[0] == "readyz" || s[0] == "orders")) {
    return "/" + std::string(s[0]);
  }
  if (s.size() == 2 && s[0] == "orders") return "/orders/{id}";
  if (s.size() == 3 && s[0] == "orders" && s[2] == "cancel") return "/orders/{id}/cancel";
  if (s.size() == 2 && s[0] == "commands") return "/commands/{key}";
  if (s.size() == 3 && s[0] == "customers" && s[2] == "orders") return "/customers/{id}/orders";
  if (s.size() == 2 && s[0] == "stats") return "/stats/" + std::string(s[1]);
  (void)method;
  return "other";
}

core::HttpHandler* HostHandler::api_for(core::HttpMethod method, std::string_view path) const {
  if (apis_.orders == nullptr || apis_.query == nullptr) {
    return apis_.orders != nullptr ? apis_.orders : apis_.query;
  }
  const auto s = segments(path);
  const bool orders_write = !s.empty() && s[0] == "orders" && method != core::HttpMethod::kGet &&
                            method != core::HttpMethod::kHead;
  if (orders_write || (!s.empty() && s[0] == "commands")) return apis_.orders;
  return apis_.query;
}

void HostHandler::handle(core::HttpRequest request, core::Respond respond) {
  const std::string_view path = path_of(request.target);
  const std::string route = route_of(request.method, path);
  const auto start = std::chrono::steady_clock::now();
  core::Respond timed = [&registry = registry_, route, start,
                         respond = std::move(respond)](core::HttpResponse r) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    registry
        .histogram("orderflow_http_request_duration_seconds", kDurationBuckets,
                   {{"route", route}, {"status", std::to_string(r.status)}})
        .observe(took.count());
    respond(std::move(r));
  };

  const bool get = request.method == core::HttpMethod::kGet;
  if (get && route == "/metrics") {
    if (before_scrape_) before_scrape_();
    timed({200,
           {{"Content-Type", std::string(observability::MetricsRegistry::kContentType)}},
           registry_.render()});
  } else if (get && route == "/healthz") {
    timed(json_response(200, core::JsonObject{{"status", "ok"}}));
  } else if (get && route == "/readyz") {
    if (auto reason = readiness_()) {
      timed(json_response(503, core::JsonObject{{"status", "not_ready"}, {"reason", *reason}}));
    } else {
      timed(json_response(200, core::JsonObject{{"status", "ready"}}));
    }
  } else if (core::HttpHandler* api = api_for(request.method, path)) {
    api->handle(std::move(request), std::move(timed));
  } else {
    timed(json_response(404, core::JsonObject{{"error", "not_found"}}));
  }
}

}  // namespace orderflow::adapters::host
