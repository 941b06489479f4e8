// `RawClient`: a blocking HTTP/1.1 client on a plain loopback socket, for tests.
//
// It writes whatever bytes a test gives it, garbage included, and reads responses
// framed by Content-Length, so tests can see exactly what the server sends and
// when it closes. Every read gives up after `kSafetyTimeout` so that a broken
// server fails a test instead of hanging it; no test relies on that time-out.
//
// Threading: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace orderflow::adapters::http::test_support {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  [[nodiscard]] std::string header(const std::string& lower_name) const;
};

class RawClient {
 public:
  static constexpr auto kSafetyTimeout = std::chrono::seconds(10);

  explicit RawClient(std::uint16_t port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // False when the connection is closed or reset.
  bool send(std::string_view bytes);

  // One response; nullopt when the connection closed before a whole one came.
  // `head` says the request was HEAD, so the body is not read.
  std::optional<RawResponse> read_response(bool head = false);

  // Waits until the server closes the connection (EOF or reset); false when it
  // sent more bytes instead, or the safety time-out passed.
  bool wait_closed();

  // True when data or a close is waiting to be read, after up to `timeout`.
  bool readable(std::chrono::milliseconds timeout);

 private:
  // Reads more into `pending_`; false on close, error or safety time-out.
  bool fill();

  int fd_ = -1;
  std::string pending_;
};

// "GET /path HTTP/1.1" with a Host header and `extra` header lines ("Name: v\r\n").
std::string get_request(std::string_view target, std::string_view extra = "");
std::string post_request(std::string_view target, std::string_view body,
                         std::string_view extra = "");

}  // namespace orderflow::adapters::http::test_support
