// What the services' HTTP handlers share: JSON responses, RFC 7807 problems,
// request checks and a route table that the OpenAPI document is tested against.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json/json.h"
#include "core/ports/http.h"

namespace orderflow::services {

// One operation of a service's API, as the OpenAPI document must describe it.
struct RouteSpec {
  std::string method;  // "GET", "POST"
  std::string path;    // OpenAPI template: "/orders/{id}/cancel"
  std::vector<int> statuses;
};

inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;

[[nodiscard]] core::HttpResponse json_response(int status, const core::Json& body);
// An `application/problem+json` response: `title` is the status's short name,
// `detail` says what was wrong with this request.
[[nodiscard]] core::HttpResponse problem(int status, std::string_view title,
                                         std::string_view detail);

// The path of a request target without its query, split at '/': "/orders/o-1" ->
// {"orders", "o-1"}.
[[nodiscard]] std::vector<std::string> path_segments(std::string_view target);
// A query parameter's value, if present: "?min_version=3&wait_ms=10".
[[nodiscard]] std::optional<std::string> query_parameter(std::string_view target,
                                                         std::string_view name);

// Checks a request that must carry a JSON body: its content type (415) and size
// (413); returns the parsed body or the problem to answer with (400 on bad JSON).
[[nodiscard]] std::expected<core::Json, core::HttpResponse> json_body(
    const core::HttpRequest& request);

}  // namespace orderflow::services
