// `HttpServer`: serves a `core::HttpHandler` over HTTP/1.1 with Boost.Beast.
//
// The transport side of `core/ports/http.h`: it parses the wire, enforces the
// limits and time-outs of `HttpServerOptions`, answers what the handler must not
// see, and hands whole requests to the handler on the process's executor.
//
// - Malformed request: 400; header over `max_header_bytes`: 431; body over
//   `max_body_bytes`: 413. Each with a `{"error": "..."}` JSON body, after which
//   the connection is closed (the server reads what the client is still sending
//   for a moment first, so the client sees the answer rather than a reset).
// - `read_timeout` bounds one whole request, from its first byte (or the
//   accept) to its last, so a client trickling its header is cut off too. A
//   time-out closes the connection without an answer.
// - `idle_timeout` bounds the wait for the next request on a kept-alive
//   connection; `write_timeout` bounds writing one response.
// - Over `max_connections`, a new connection gets a 503 and is closed.
// - With a `bearer_token`, a request without `Authorization: Bearer <token>`
//   gets a 401 (with `WWW-Authenticate: Bearer`) and the connection is closed,
//   before its body is read. `GET`/`HEAD` of `public_paths` (the probes by
//   default) need no token; `/metrics` is not public by default, because
//   Prometheus can send a token and metrics name internal state.
// - Each answered request, also one the server answered itself, writes one
//   `http_request` event to `log`: method, target, status, duration_ms (first
//   byte read to response written) and bytes (response body). A request cut off
//   by a time-out, the client or the shutdown grace writes none.
//
// Usage, with an `EventLoop` (adapters/asio/event_loop.h):
//
//   HttpServer server(loop.executor(), api, {.port = 8080, .log = &log});
//   if (auto started = server.start(); !started) return fail(started.error());
//   loop.handle_signals([&](int) { server.shutdown([&] { loop.stop(); }); });
//   loop.run();
//
// Ownership: borrows the executor, the handler and the log, which must outlive
// the server. Destroying a running server closes every connection at once and
// drops pending `shutdown` callbacks; `shutdown` first is the graceful way.
// Threading: every method, the handler and the log run on the executor's loop
// thread (or before the loop runs). A handler's `Respond` must be called on it
// too (an `OF_CHECK` enforces it, and that it is called once); calling it after
// the connection went away does nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/asio/executor.h"
#include "core/ports/error.h"
#include "core/ports/http.h"
#include "core/ports/log.h"
#include "core/time.h"

namespace orderflow::adapters::http {

struct HttpServerOptions {
  // An IP address literal; "0.0.0.0" or "::" for every interface.
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the kernel picks one; see `HttpServer::port`
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  core::Duration read_timeout = std::chrono::seconds(10);
  core::Duration write_timeout = std::chrono::seconds(10);
  core::Duration idle_timeout = std::chrono::seconds(30);
  // How long `shutdown` waits for in-flight requests before closing them.
  core::Duration shutdown_grace = std::chrono::seconds(30);
  std::size_t max_connections = 1024;
  // Read by the caller from a secret file; empty means no authentication.
  std::optional<std::string> bearer_token;
  // Paths (without query) that GET and HEAD may reach without the token.
  std::vector<std::string> public_paths = {"/healthz", "/readyz"};
  core::Log* log = nullptr;  // optional; the access log and transport warnings
};

class HttpServer {
 public:
  HttpServer(asio::Executor& executor, core::HttpHandler& handler, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens, then accepts on the executor. Fails with kFatal
  // "bad_bind_address" or "bind_failed". Call once.
  [[nodiscard]] core::Result<> start();

  // The bound port, once `start` succeeded: the ephemeral one when asked for 0.
  [[nodiscard]] std::uint16_t port() const;

  // Connections open right now, including those being closed.
  [[nodiscard]] std::size_t connections() const;

  // Stops accepting, closes idle connections, lets requests in flight finish
  // (their responses carry `Connection: close`) and then calls `on_done` from a
  // fresh task. Requests still unanswered after `shutdown_grace` are cut off.
  // Calling it again adds another `on_done`.
  void shutdown(std::function<void()> on_done);

 private:
  struct Impl;

  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::adapters::http
