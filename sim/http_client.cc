#include "sim/http_client.h"

namespace orderflow::sim {

struct HttpClient::Call {
  std::string server;
  core::HttpRequest request;
  HttpCallOptions options;
  std::function<void(core::Result<core::HttpResponse>)> done;
  int attempt = 0;
  bool finished = false;
};

void HttpClient::call(const std::string& server, core::HttpRequest request,
                      const HttpCallOptions& options,
                      std::function<void(core::Result<core::HttpResponse>)> done) {
  if (request.method == core::HttpMethod::kPost && !request.header("Idempotency-Key")) {
    request.headers.push_back({"Idempotency-Key", client_.random().hex_id()});
  }
  auto c = std::make_shared<Call>(Call{server, std::move(request), options, std::move(done)});
  attempt(c);
}

void HttpClient::attempt(const std::shared_ptr<Call>& c) {
  ++attempts_;
  const int number = ++c->attempt;
  std::weak_ptr<int> token = alive_;
  client_.log().event(core::Severity::kDebug, "http_attempt",
                      {{"server", c->server}, {"target", c->request.target}, {"attempt", number}});

  // Exactly one of the response and the time-out settles an attempt.
  auto settled = std::make_shared<bool>(false);
  client_.scheduler().schedule_after(c->options.timeout, [this, c, settled, number, token] {
    if (token.expired() || *settled || c->finished) return;
    *settled = true;
    client_.log().event(core::Severity::kDebug, "http_attempt_timed_out",
                        {{"target", c->request.target}, {"attempt", number}});
    if (number >= c->options.max_attempts) {
      c->finished = true;
      c->done(core::make_error(core::ErrorKind::kRetriable, "http_timeout",
                               "no response after " + std::to_string(number) + " attempts"));
      return;
    }
    client_.scheduler().schedule_after(c->options.backoff, [this, c, token] {
      if (!token.expired() && !c->finished) attempt(c);
    });
  });

  Network& net = world_.network();
  const NodeId from = world_.node(client_.name());
  const NodeId to = world_.node(c->server);
  Process& server = world_.process(c->server);
  Process& client = client_;
  auto on_response = [c, settled, token](core::HttpResponse response) {
    if (token.expired() || *settled || c->finished) return;
    *settled = true;
    c->finished = true;
    c->done(std::move(response));
  };
  net.send(from, to,
           server.bind([&net, &server, &client, from, to, request = c->request, on_response] {
             core::HttpHandler* handler = server.http_handler();
             if (handler == nullptr) return;  // nothing listens: the client times out
             handler->handle(request, [&net, &client, from, to, on_response](core::HttpResponse r) {
               net.send(to, from, client.bind([on_response, r = std::move(r)] { on_response(r); }));
             });
           }));
}

}  // namespace orderflow::sim
