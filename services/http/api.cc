#include "services/http/api.h"

#include <charconv>

namespace orderflow::services {

core::HttpResponse json_response(int status, const core::Json& body) {
  return {status, {{"Content-Type", "application/json"}}, core::serialize(body)};
}

core::HttpResponse problem(int status, std::string_view title, std::string_view detail) {
  const core::Json body{core::JsonObject{
      {"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}}};
  return {status, {{"Content-Type", "application/problem+json"}}, core::serialize(body)};
}

std::vector<std::string> path_segments(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  std::vector<std::string> segments;
  std::size_t at = 0;
  while (at < path.size()) {
    if (path[at] == '/') {
      ++at;
      continue;
    }
    const auto end = std::min(path.find('/', at), path.size());
    segments.emplace_back(path.substr(at, end - at));
    at = end;
  }
  return segments;
}

std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    }
    query.remove_prefix(std::min(amp + 1, query.size()));
  }
  return std::nullopt;
}

std::expected<core::Json, core::HttpResponse> json_body(const core::HttpRequest& request) {
  const auto type = request.header("Content-Type");
  if (!type || type->substr(0, type->find(';')) != "application/json") {
    return std::unexpected(problem(415, "Unsupported Media Type",
                                   "the body must be sent as Content-Type: application/json"));
  }
  if (request.body.size() > kMaxBodyBytes) {
    return std::unexpected(problem(413, "Content Too Large",
                                   "the body is " + std::to_string(request.body.size()) +
                                       " bytes; at most " + std::to_string(kMaxBodyBytes) +
                                       " are accepted"));
  }
  auto body = core::parse(request.body);
  if (!body) {
    return std::unexpected(
        problem(400, "Bad Request", "malformed JSON: " + body.error().to_string()));
  }
  return std::move(*body);
}

}  // namespace orderflow::services
