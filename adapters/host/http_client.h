// `http_call`: one blocking HTTP/1.1 request over a loopback or LAN TCP socket.
//
// The demo's simulated customers and the host tests talk to real servers with it.
// Each call opens a fresh connection, sends `Connection: close`, and reads one
// response framed by Content-Length (or by the close). It is deliberately small:
// no TLS, no chunked bodies, IPv4 literals only.
//
//   auto r = http_call({.host = "127.0.0.1", .port = 8080, .target = "/healthz"});
//   if (r && r->status == 200) ...
//
// Threading: reentrant; any number of threads may call it at once.
// Errors: kRetriable "connect_failed", "io_failed" or "timed_out"; kFatal
// "bad_address" or "bad_response".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ports/error.h"
#include "core/ports/http.h"
#include "core/time.h"

namespace orderflow::adapters::host {

struct HttpCall {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  core::HttpMethod method = core::HttpMethod::kGet;
  std::string target = "/";
  std::vector<core::HttpHeader> headers;
  std::string body;
  // Bounds the whole call: connect, write and read.
  core::Duration timeout = std::chrono::seconds(10);
};

[[nodiscard]] core::Result<core::HttpResponse> http_call(const HttpCall& call);

}  // namespace orderflow::adapters::host
