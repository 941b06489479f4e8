#include "adapters/host/http_client.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <optional>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace orderflow::adapters::host {
namespace {

using Steady = std::chrono::steady_clock;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
};

int millis_left(Steady::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

// Waits until `fd` is ready for `events`; false when the deadline passed first.
bool wait_for(int fd, short events, Steady::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, millis_left(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

core::Result<> connect_to(const Socket& socket, const HttpCall& call, Steady::time_point deadline) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(call.port);
  if (::inet_pton(AF_INET, call.host.c_str(), &address.sin_addr) != 1) {
    return core::make_error(core::ErrorKind::kFatal, "bad_address",
                            "not an IPv4 literal: " + call.host);
  }
  const int one = 1;
  ::setsockopt(socket.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    return {};
  }
  if (errno != EINPROGRESS || !wait_for(socket.fd(), POLLOUT, deadline)) {
    return core::make_error(core::ErrorKind::kRetriable, "connect_failed",
                            "cannot connect to " + call.host + ":" + std::to_string(call.port));
  }
  int error = 0;
  socklen_t size = sizeof error;
  ::getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &size);
  if (error != 0) {
    return core::make_error(core::ErrorKind::kRetriable, "connect_failed",
                            "cannot connect to " + call.host + ":" + std::to_string(call.port));
  }
  return {};
}

std::string request_bytes(const HttpCall& call) {
  std::string out = std::string(core::to_string(call.method)) + " " + call.target + " HTTP/1.1\r\n";
  out += "Host: " + call.host + ":" + std::to_string(call.port) + "\r\nConnection: close\r\n";
  for (const auto& h : call.headers) out += h.name + ": " + h.value + "\r\n";
  if (!call.body.empty() || call.method == core::HttpMethod::kPost) {
    out += "Content-Length: " + std::to_string(call.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += call.body;
  return out;
}

core::Result<> write_all(const Socket& socket, std::string_view bytes,
                         Steady::time_point deadline) {
  while (!bytes.empty()) {
    if (!wait_for(socket.fd(), POLLOUT, deadline)) {
      return core::make_error(core::ErrorKind::kRetriable, "timed_out", "writing the request");
    }
    const ssize_t n = ::send(socket.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::make_error(core::ErrorKind::kRetriable, "io_failed", "send failed");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

struct Head {
  int status = 0;
  std::vector<core::HttpHeader> headers;  // names in lower case
  std::optional<std::size_t> content_length;
};

std::optional<Head> parse_head(std::string_view head) {
  Head parsed;
  const auto line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return std::nullopt;
  const auto code = status_line.substr(9, 3);
  if (std::from_chars(code.data(), code.data() + 3, parsed.status).ec != std::errc{}) {
    return std::nullopt;
  }
  std::size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    auto end = head.find("\r\n", at);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(at, end - at);
    at = end + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    parsed.headers.push_back({lower(line.substr(0, colon)), std::string(value)});
    if (parsed.headers.back().name == "content-length") {
      std::size_t length = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), length).ec == std::errc{}) {
        parsed.content_length = length;
      }
    }
  }
  return parsed;
}

core::Result<core::HttpResponse> read_response(const Socket& socket, Steady::time_point deadline) {
  std::string data;
  std::optional<Head> head;
  std::size_t body_at = 0;
  char buffer[16 * 1024];
  for (;;) {
    if (!head) {
      if (const auto end = data.find("\r\n\r\n"); end != std::string::npos) {
        head = parse_head(std::string_view(data).substr(0, end));
        if (!head) return core::make_error(core::ErrorKind::kFatal, "bad_response", data);
        body_at = end + 4;
      }
    }
    if (head && head->content_length && data.size() - body_at >= *head->content_length) break;
    if (!wait_for(socket.fd(), POLLIN, deadline)) {
      return core::make_error(core::ErrorKind::kRetriable, "timed_out", "reading the response");
    }
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return core::make_error(core::ErrorKind::kRetriable, "io_failed", "recv failed");
    if (n == 0) {
      if (head) break;  // framed by the close
      return core::make_error(core::ErrorKind::kRetriable, "io_failed", "closed before a response");
    }
    data.append(buffer, static_cast<std::size_t>(n));
  }
  core::HttpResponse response{.status = head->status, .headers = std::move(head->headers)};
  const std::size_t length = head->content_length.value_or(data.size() - body_at);
  response.body = data.substr(body_at, length);
  return response;
}

}  // namespace

core::Result<core::HttpResponse> http_call(const HttpCall& call) {
  const auto deadline = Steady::now() + call.timeout;
  const Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (socket.fd() < 0) return core::make_error(core::ErrorKind::kRetriable, "io_failed", "socket");
  if (auto connected = connect_to(socket, call, deadline); !connected) {
    return std::unexpected(connected.error());
  }
  if (auto written = write_all(socket, request_bytes(call), deadline); !written) {
    return std::unexpected(written.error());
  }
  return read_response(socket, deadline);
}

}  // namespace orderflow::adapters::host
