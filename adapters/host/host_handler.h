// `HostHandler`: the HTTP front of a service process.
//
// It answers the probes and the scrape itself and hands every other request to
// the service APIs the process runs, timing each one:
//
//   GET /metrics   the registry in Prometheus text format
//   GET /healthz   200 while the event loop runs (it answers on the loop)
//   GET /readyz    200 when `readiness` reports nothing missing, else 503 with
//                  {"status": "not_ready", "reason": ...}
//   otherwise      the orders API (POST /orders, POST /orders/{id}/cancel,
//                  /commands/...) or the query API (GET /orders/{id},
//                  /customers/..., /stats/...); with only one of them, that one
//
// Every request observes `orderflow_http_request_duration_seconds` labelled with
// its route template (never the raw path, to bound the series) and status.
//
// Ownership: borrows the registry and the APIs, which must outlive it.
// Threading: the process's loop thread, as `core::HttpHandler` requires.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/ports/http.h"

namespace orderflow::adapters::observability {
class MetricsRegistry;
}

namespace orderflow::adapters::host {

class HostHandler final : public core::HttpHandler {
 public:
  struct Apis {
    core::HttpHandler* orders = nullptr;  // null when the process runs no orders service
    core::HttpHandler* query = nullptr;
  };
  // Why the process is not ready, or nothing when it is.
  using Readiness = std::function<std::optional<std::string>()>;

  HostHandler(observability::MetricsRegistry& registry, Apis apis, Readiness readiness,
              std::function<void()> before_scrape);

  void set_apis(Apis apis) { apis_ = apis; }
  void handle(core::HttpRequest request, core::Respond respond) override;

  // The route template of a request path, for metric labels: "/orders/{id}".
  [[nodiscard]] static std::string route_of(core::HttpMethod method, std::string_view path);

 private:
  [[nodiscard]] core::HttpHandler* api_for(core::HttpMethod method, std::string_view path) const;

  observability::MetricsRegistry& registry_;
  Apis apis_;
  Readiness readiness_;
  std::function<void()> before_scrape_;
};

}  // namespace orderflow::adapters::host
