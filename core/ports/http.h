// `Http`: transport-free HTTP for service handlers.
//
// A service implements `HttpHandler`; production serves it with Boost.Beast
// (adapters/http) and the simulator calls it directly from simulated clients. The
// transport parses the wire, enforces size limits and time-outs, and answers
// malformed requests itself; handlers see whole, well-formed requests.
//
// Threading: `handle` runs on the service's executor; `respond` must be called
// exactly once, on that executor, and may be called later (a long poll) — the
// handler keeps it until then. If the connection goes away meanwhile, calling
// `respond` is still safe and does nothing.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace orderflow::core {

enum class HttpMethod { kGet, kPost, kPut, kDelete, kHead, kOther };

[[nodiscard]] std::string_view to_string(HttpMethod method);

struct HttpHeader {
  std::string name;
  std::string value;
  friend bool operator==(const HttpHeader&, const HttpHeader&) = default;
};

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string target;  // path and query, as sent: "/orders/o-1?min_version=3"
  std::vector<HttpHeader> headers;
  std::string body;

  // The first header of that name, compared case-insensitively.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<HttpHeader> headers;
  std::string body;
};

using Respond = std::function<void(HttpResponse)>;

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual void handle(HttpRequest request, Respond respond) = 0;
};

}  // namespace orderflow::core
