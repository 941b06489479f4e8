// `HttpClient`: a simulated client calling a service's HTTP handler over the
// simulated network, as a real client would: with a time-out per attempt and a
// bounded number of retries. A retried POST carries the same `Idempotency-Key` as
// the first attempt (the client adds one when the request has none), so a server
// that deduplicates by key applies it once however often the client retries.
//
// The request goes from the client's network node to the server's; if the server
// process is up and serves a handler (`Process::serve_http`), the handler runs
// there and its response crosses back. Lost requests and responses, crashed or
// paused servers and partitions all look to the client like a time-out.
//
// Ownership: owned by the code driving the client process. Threading: the
// simulator's one thread; callbacks run on the client process's executor.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/ports/error.h"
#include "core/ports/http.h"
#include "sim/world.h"

namespace orderflow::sim {

struct HttpCallOptions {
  core::Duration timeout = std::chrono::seconds{2};
  int max_attempts = 3;
  core::Duration backoff = std::chrono::milliseconds{200};
};

class HttpClient {
 public:
  // `client` must be a process of `world`.
  HttpClient(World& world, Process& client) : world_(world), client_(client) {}

  // Calls the handler of process `server`; `done` gets the response, or a
  // kRetriable `http_timeout` once every attempt timed out.
  void call(const std::string& server, core::HttpRequest request, const HttpCallOptions& options,
            std::function<void(core::Result<core::HttpResponse>)> done);

  [[nodiscard]] std::uint64_t attempts() const { return attempts_; }

 private:
  struct Call;
  void attempt(const std::shared_ptr<Call>& call);

  World& world_;
  Process& client_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::uint64_t attempts_ = 0;
};

}  // namespace orderflow::sim
