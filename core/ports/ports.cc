// Small out-of-line pieces of the port headers.
#include <cctype>
#include <cmath>

#include "core/overloaded.h"
#include "core/ports/error.h"
#include "core/ports/http.h"
#include "core/ports/log.h"
#include "core/ports/random.h"

namespace orderflow::core {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kRetriable: return "retriable";
    case ErrorKind::kAbortable: return "abortable";
    case ErrorKind::kFenced: return "fenced";
    case ErrorKind::kFatal: return "fatal";
  }
  return "unknown";
}

std::string_view to_string(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet: return "GET";
    case HttpMethod::kPost: return "POST";
    case HttpMethod::kPut: return "PUT";
    case HttpMethod::kDelete: return "DELETE";
    case HttpMethod::kHead: return "HEAD";
    case HttpMethod::kOther: return "OTHER";
  }
  return "OTHER";
}

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  auto same = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i]))) {
        return false;
      }
    }
    return true;
  };
  for (const auto& h : headers) {
    if (same(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::kDebug: return "debug";
    case Severity::kInfo: return "info";
    case Severity::kWarn: return "warn";
    case Severity::kError: return "error";
  }
  return "unknown";
}

void append_fields(std::string& out, Fields fields) {
  for (const Field& field : fields) {
    out += ' ';
    out += field.name;
    out += '=';
    std::visit(Overloaded{
                   [&](std::int64_t v) { out += std::to_string(v); },
                   [&](double v) { out += std::to_string(v); },
                   [&](bool v) { out += v ? "true" : "false"; },
                   [&](std::string_view v) {
                     const bool quote = v.empty() || v.find_first_of(" \"=") != v.npos;
                     if (!quote) {
                       out += v;
                       return;
                     }
                     out += '"';
                     for (char c : v) {
                       if (c == '"' || c == '\\') out += '\\';
                       out += c;
                     }
                     out += '"';
                   },
               },
               field.value);
  }
}

double Random::exponential(double mean) {
  // 1 - unit() lies in (0, 1], so the logarithm is finite.
  return -mean * std::log(1.0 - unit());
}

std::string Random::hex_id() {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::uint64_t bits = next_u64();
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kDigits[bits & 0xf];
    bits >>= 4;
  }
  return id;
}

}  // namespace orderflow::core
