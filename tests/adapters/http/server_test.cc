// HttpServer over real loopback sockets: the loop runs on its own thread, the
// test talks to it through `RawClient` and hands work to the loop with `post`.
#include "adapters/http/server.h"

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "adapters/asio/event_loop.h"
#include "adapters/asio/scheduler.h"
#include "core/overloaded.h"
#include "tests/adapters/http/raw_client.h"

namespace orderflow::adapters::http {
namespace {

using std::chrono::milliseconds;
using test_support::get_request;
using test_support::post_request;
using test_support::RawClient;

constexpr auto kSafety = RawClient::kSafetyTimeout;

// Echoes requests, answers some paths specially, and keeps `/delay` requests
// unanswered until the test says so.
class TestHandler final : public core::HttpHandler {
 public:
  void handle(core::HttpRequest request, core::Respond respond) override {
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(request);
    }
    const std::string target = request.target;
    if (target == "/delay") {
      delayed_.push_back(std::move(respond));
      delayed_arrived_.release();
      return;
    }
    if (target == "/custom") {
      return respond({201, {{"Location", "/orders/1"}, {"Content-Length", "999"}}, "made"});
    }
    if (target == "/bad-status") return respond({42, {}, "?"});
    respond({200,
             {{"Content-Type", "text/plain"},
              {"X-Method", std::string(core::to_string(request.method))},
              {"X-Target", target}},
             std::move(request.body)});
  }

  // On the loop thread.
  void answer_delayed(std::size_t index, core::HttpResponse response) {
    delayed_.at(index)(std::move(response));
  }

  // On the test thread: waits until a `/delay` request reached the handler.
  [[nodiscard]] bool wait_for_delayed() { return delayed_arrived_.try_acquire_for(kSafety); }

  [[nodiscard]] std::vector<core::HttpRequest> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<core::HttpRequest> seen_;
  std::vector<core::Respond> delayed_;
  std::counting_semaphore<> delayed_arrived_{0};
};

class RecordingLog final : public core::Log {
 public:
  using Event = std::map<std::string, std::string>;  // field name -> value as text

  void event(core::Severity, std::string_view name, core::Fields fields) override {
    Event event{{"event", std::string(name)}};
    for (const core::Field& field : fields) {
      event[std::string(field.name)] =
          std::visit(core::Overloaded{[](std::string_view v) { return std::string(v); },
                                      [](bool v) { return std::string(v ? "true" : "false"); },
                                      [](auto v) { return std::to_string(v); }},
                     field.value);
    }
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }

  [[nodiscard]] std::vector<Event> events(std::string_view name) const {
    std::lock_guard lock(mutex_);
    std::vector<Event> out;
    for (const Event& e : events_) {
      if (e.at("event") == name) out.push_back(e);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = {}) {
    options.log = &log_;
    server_.emplace(loop_.executor(), handler_, std::move(options));
    const auto started = server_->start();
    ASSERT_TRUE(started.has_value()) << started.error().message;
    loop_thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    if (!loop_thread_.joinable()) return;
    EXPECT_EQ(begin_shutdown().wait_for(kSafety), std::future_status::ready);
    loop_.stop();
    loop_thread_.join();
  }

  // Runs `task` on the loop thread and waits until it ran.
  void on_loop(std::function<void()> task) {
    std::promise<void> ran;
    scheduler_.post([&] {
      task();
      ran.set_value();
    });
    ASSERT_EQ(ran.get_future().wait_for(kSafety), std::future_status::ready);
  }

  // Asks the server to shut down; the future becomes ready when it has.
  std::shared_future<void> begin_shutdown() {
    auto done = std::make_shared<std::promise<void>>();
    std::shared_future<void> finished = done->get_future().share();
    scheduler_.post([this, done] { server_->shutdown([done] { done->set_value(); }); });
    return finished;
  }

  [[nodiscard]] std::uint16_t port() const { return server_->port(); }

  asio::EventLoop loop_;
  asio::AsioScheduler scheduler_{loop_.executor()};
  RecordingLog log_;
  TestHandler handler_;
  std::optional<HttpServer> server_;
  std::thread loop_thread_;
};

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send(post_request("/echo", "hello", "X-Test: yes\r\n")));
  const auto first = client.read_response();
  ASSERT_TRUE(client.send(get_request("/echo?x=1")));
  const auto second = client.read_response();

  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "hello");
  EXPECT_EQ(first->header("x-method"), "POST");
  EXPECT_EQ(first->header("content-type"), "text/plain");
  EXPECT_NE(first->header("connection"), "close");
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->header("x-method"), "GET");
  EXPECT_EQ(second->header("x-target"), "/echo?x=1");
  const auto seen = handler_.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, core::HttpMethod::kPost);
  EXPECT_EQ(seen[0].target, "/echo");
  EXPECT_EQ(seen[0].header("x-test"), "yes");
  EXPECT_EQ(seen[0].body, "hello");
  EXPECT_EQ(seen[1].method, core::HttpMethod::kGet);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send(get_request("/a") + post_request("/b", "body") + get_request("/c")));

  for (const std::string target : {"/a", "/b", "/c"}) {
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->header("x-target"), target);
  }
}

TEST_F(HttpServerTest, MethodsMapToThePortsMethods) {
  start();
  RawClient client(port());

  for (const std::string method : {"PUT", "DELETE", "PATCH"}) {
    ASSERT_TRUE(client.send(method + " /m HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
    ASSERT_TRUE(client.read_response());
  }

  const auto seen = handler_.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, core::HttpMethod::kPut);
  EXPECT_EQ(seen[1].method, core::HttpMethod::kDelete);
  EXPECT_EQ(seen[2].method, core::HttpMethod::kOther);
}

TEST_F(HttpServerTest, HandlerStatusAndHeadersPassThroughButFramingIsTheServers) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send(get_request("/custom")));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->header("location"), "/orders/1");
  EXPECT_EQ(response->header("content-length"), "4");
  EXPECT_EQ(response->body, "made");
}

TEST_F(HttpServerTest, HeadAnswerHasTheLengthButNoBody) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send("HEAD /custom HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto head = client.read_response(/*head=*/true);
  ASSERT_TRUE(client.send(get_request("/after")));
  const auto after = client.read_response();

  ASSERT_TRUE(head && after);
  EXPECT_EQ(head->header("content-length"), "4");
  EXPECT_EQ(after->header("x-target"), "/after");
  EXPECT_EQ(handler_.seen().at(0).method, core::HttpMethod::kHead);
}

TEST_F(HttpServerTest, InvalidHandlerStatusBecomes500) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send(get_request("/bad-status")));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(log_.events("http_invalid_status").size(), 1u);
}

TEST_F(HttpServerTest, ExpectContinueGetsA100BeforeTheBody) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  const auto interim = client.read_response();
  ASSERT_TRUE(client.send("12345"));
  const auto response = client.read_response();

  ASSERT_TRUE(interim && response);
  EXPECT_EQ(interim->status, 100);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "12345");
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveIsClosedAfterTheResponse) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send("GET /old HTTP/1.0\r\n\r\n"));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(HttpServerTest, ClientAskingToCloseIsClosedAfterTheResponse) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send(get_request("/bye", "Connection: close\r\n")));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(HttpServerTest, OversizedBodyGets413AndTheConnectionCloses) {
  start({.max_body_bytes = 1024});
  RawClient client(port());

  ASSERT_TRUE(client.send(post_request("/echo", std::string(2048, 'x'))));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(response->body, R"({"error":"request body exceeds 1024 bytes"})");
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client.wait_closed());
  EXPECT_TRUE(handler_.seen().empty());
}

TEST_F(HttpServerTest, OversizedChunkedBodyGets413) {
  start({.max_body_bytes = 1024});
  RawClient client(port());

  ASSERT_TRUE(
      client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "800\r\n" +
                  std::string(2048, 'x') + "\r\n0\r\n\r\n"));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(HttpServerTest, OversizedHeaderGets431AndTheConnectionCloses) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send(get_request("/echo", "X-Big: " + std::string(10'000, 'a') + "\r\n")));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(response->body, R"({"error":"request header exceeds 8192 bytes"})");
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(HttpServerTest, GarbageGets400WithAJsonErrorAndTheConnectionCloses) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send("THIS IS NOT HTTP\r\n\r\n"));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(response->body.rfind(R"({"error":"malformed request: )", 0), 0u) << response->body;
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(HttpServerTest, BadContentLengthGets400) {
  start();
  RawClient client(port());

  ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ten\r\n\r\n"));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
}

TEST_F(HttpServerTest, SlowHeaderIsClosedAtTheReadTimeout) {
  start({.read_timeout = milliseconds(200)});
  const auto begin = std::chrono::steady_clock::now();
  RawClient client(port());

  ASSERT_TRUE(client.send("GET /echo HTTP/1.1\r\nHost: t\r\n"));

  EXPECT_TRUE(client.wait_closed());
  EXPECT_GE(std::chrono::steady_clock::now() - begin, milliseconds(200));
  EXPECT_TRUE(handler_.seen().empty());
}

TEST_F(HttpServerTest, SilentConnectionIsClosedAtTheReadTimeout) {
  start({.read_timeout = milliseconds(200)});
  RawClient client(port());

  EXPECT_TRUE(client.wait_closed());
}

// The deadline covers the whole request: bytes arriving now and then do not
// extend it.
TEST_F(HttpServerTest, TricklingClientIsClosedAtTheRequestDeadline) {
  start({.read_timeout = milliseconds(300)});
  const auto begin = std::chrono::steady_clock::now();
  RawClient client(port());

  ASSERT_TRUE(client.send("GET /echo HTTP/1.1\r\nX-Slow: "));
  while (!client.readable(milliseconds(50)) &&
         std::chrono::steady_clock::now() - begin < std::chrono::seconds(5)) {
    client.send("a");
  }

  EXPECT_TRUE(client.wait_closed());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(3));
}

TEST_F(HttpServerTest, IdleKeptAliveConnectionIsClosedAtTheIdleTimeout) {
  start({.idle_timeout = milliseconds(200)});
  RawClient client(port());

  ASSERT_TRUE(client.send(get_request("/echo")));
  ASSERT_TRUE(client.read_response());

  EXPECT_TRUE(client.wait_closed());
}

TEST_F(HttpServerTest, MissingBearerTokenGets401BeforeTheBodyIsRead) {
  start({.bearer_token = "s3cret"});
  RawClient client(port());

  // The body never comes: the answer must not wait for it.
  ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n"));
  const auto response = client.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(response->header("www-authenticate"), "Bearer");
  EXPECT_EQ(response->body, R"({"error":"missing or invalid bearer token"})");
  EXPECT_TRUE(client.wait_closed());
  EXPECT_TRUE(handler_.seen().empty());
}

TEST_F(HttpServerTest, WrongBearerTokenGets401) {
  start({.bearer_token = "s3cret"});

  for (const std::string auth : {"Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret"}) {
    RawClient client(port());
    ASSERT_TRUE(client.send(get_request("/echo", "Authorization: " + auth + "\r\n")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 401) << auth;
  }
}

TEST_F(HttpServerTest, RightBearerTokenIsServed) {
  start({.bearer_token = "s3cret"});
  RawClient client(port());

  ASSERT_TRUE(client.send(get_request("/echo", "Authorization: Bearer s3cret\r\n")));
  const auto first = client.read_response();
  ASSERT_TRUE(client.send(get_request("/echo", "authorization: bearer s3cret\r\n")));
  const auto second = client.read_response();

  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 200);
}

TEST_F(HttpServerTest, ProbesNeedNoTokenButMetricsAndWritesDo) {
  start({.bearer_token = "s3cret"});

  const auto status_of = [&](const std::string& request) {
    RawClient client(port());
    EXPECT_TRUE(client.send(request));
    const auto response = client.read_response();
    return response ? response->status : 0;
  };
  EXPECT_EQ(status_of(get_request("/healthz")), 200);
  EXPECT_EQ(status_of(get_request("/readyz?verbose=1")), 200);
  EXPECT_EQ(status_of(post_request("/healthz", "")), 401);
  EXPECT_EQ(status_of(get_request("/metrics")), 401);
  EXPECT_EQ(status_of(get_request("/healthz/../echo")), 401);
}

TEST_F(HttpServerTest, ConnectionOverTheLimitGets503) {
  start({.max_connections = 1});
  RawClient first(port());
  ASSERT_TRUE(first.send(get_request("/echo")));
  ASSERT_TRUE(first.read_response());  // the first connection is registered now

  RawClient second(port());
  const auto response = second.read_response();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, R"({"error":"too many connections"})");
  EXPECT_TRUE(second.wait_closed());
  EXPECT_EQ(log_.events("http_connection_rejected").size(), 1u);
}

TEST_F(HttpServerTest, ShutdownClosesIdleConnectionsAndWaitsForAnInFlightResponse) {
  start();
  RawClient idle(port());
  ASSERT_TRUE(idle.send(get_request("/echo")));
  ASSERT_TRUE(idle.read_response());
  RawClient busy(port());
  ASSERT_TRUE(busy.send(get_request("/delay")));
  ASSERT_TRUE(handler_.wait_for_delayed());

  const auto done = begin_shutdown();

  EXPECT_TRUE(idle.wait_closed());
  // The listening socket closed before the idle connection did.
  EXPECT_THROW(RawClient{port()}, std::runtime_error);
  // The delayed request is unanswered, so the shutdown cannot have completed.
  EXPECT_EQ(done.wait_for(milliseconds(0)), std::future_status::timeout);

  on_loop([&] { handler_.answer_delayed(0, {200, {}, "late"}); });
  const auto late = busy.read_response();

  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 200);
  EXPECT_EQ(late->body, "late");
  EXPECT_EQ(late->header("connection"), "close");
  EXPECT_TRUE(busy.wait_closed());
  EXPECT_EQ(done.wait_for(kSafety), std::future_status::ready);
  on_loop([&] { EXPECT_EQ(server_->connections(), 0u); });
}

TEST_F(HttpServerTest, ShutdownGraceCutsOffAnUnansweredRequest) {
  start({.shutdown_grace = milliseconds(200)});
  RawClient busy(port());
  ASSERT_TRUE(busy.send(get_request("/delay")));
  ASSERT_TRUE(handler_.wait_for_delayed());

  const auto done = begin_shutdown();

  EXPECT_EQ(done.wait_for(kSafety), std::future_status::ready);
  EXPECT_TRUE(busy.wait_closed());
  EXPECT_EQ(log_.events("http_shutdown_cut_off").size(), 1u);
  // The connection is gone: answering now does nothing.
  on_loop([&] { handler_.answer_delayed(0, {200, {}, "too late"}); });
}

TEST_F(HttpServerTest, RespondAfterTheClientLeftDoesNothing) {
  start();
  {
    RawClient gone(port());
    ASSERT_TRUE(gone.send(get_request("/delay")));
    ASSERT_TRUE(handler_.wait_for_delayed());
  }
  on_loop([&] { handler_.answer_delayed(0, {200, {}, "nobody listens"}); });

  RawClient next(port());
  ASSERT_TRUE(next.send(get_request("/echo")));
  const auto response = next.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, AccessLogHasOneEventPerRequest) {
  start();
  {
    RawClient client(port());
    ASSERT_TRUE(client.send(post_request("/echo?q=1", "abc")));
    ASSERT_TRUE(client.read_response());
  }
  {
    RawClient client(port());
    ASSERT_TRUE(client.send("NOT HTTP\r\n\r\n"));
    ASSERT_TRUE(client.read_response());
  }

  // Every event is written by the time the shutdown completes.
  ASSERT_EQ(begin_shutdown().wait_for(kSafety), std::future_status::ready);

  auto events = log_.events("http_request");
  ASSERT_EQ(events.size(), 2u);
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.at("status") < b.at("status"); });
  EXPECT_EQ(events[0].at("method"), "POST");
  EXPECT_EQ(events[0].at("target"), "/echo?q=1");
  EXPECT_EQ(events[0].at("status"), "200");
  EXPECT_EQ(events[0].at("bytes"), "3");
  EXPECT_GE(std::stod(events[0].at("duration_ms")), 0.0);
  EXPECT_EQ(events[1].at("status"), "400");
  EXPECT_EQ(events[1].at("method"), "");
}

TEST_F(HttpServerTest, StartFailsOnAPortInUse) {
  start();
  core::Result<> started;

  on_loop([&] {
    HttpServer second(loop_.executor(), handler_, {.port = port()});
    started = second.start();
  });

  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code, "bind_failed");
}

TEST_F(HttpServerTest, StartFailsOnABadAddress) {
  HttpServer server(loop_.executor(), handler_, {.bind_address = "localhost"});

  const auto started = server.start();

  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code, "bad_bind_address");
}

}  // namespace
}  // namespace orderflow::adapters::http
