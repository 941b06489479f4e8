#include "sim/world.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/http_client.h"

namespace orderflow::sim {
namespace {

using namespace std::chrono_literals;

// Answers every request with its Idempotency-Key, after ignoring the first
// `ignore` requests entirely (as a server whose responses get lost would).
class KeyEcho final : public core::HttpHandler {
 public:
  explicit KeyEcho(int ignore) : ignore_(ignore) {}
  void handle(core::HttpRequest request, core::Respond respond) override {
    keys.emplace_back(request.header("Idempotency-Key").value_or("<none>"));
    if (static_cast<int>(keys.size()) <= ignore_) return;
    respond({200, {}, keys.back()});
  }
  std::vector<std::string> keys;

 private:
  int ignore_;
};

class WorldTest : public testing::Test {
 protected:
  WorldTest()
      : world_({.seed = 5}),
        client_(world_.add_process("client")),
        server_(world_.add_process("server")),
        http_(world_, client_) {
    client_.start();
    server_.start();
  }

  static core::HttpRequest post() { return {core::HttpMethod::kPost, "/orders", {}, "{}"}; }

  std::optional<core::Result<core::HttpResponse>> call(const HttpCallOptions& options = {}) {
    std::optional<core::Result<core::HttpResponse>> result;
    http_.call("server", post(), options,
               [&](core::Result<core::HttpResponse> r) { result = std::move(r); });
    world_.kernel().run_until([&] { return result.has_value(); }, world_.kernel().now() + 60s);
    return result;
  }

  bool fault_traced(std::string_view kind) {
    for (const auto& e : world_.kernel().trace().recent()) {
      if (e.name != "fault_injected") continue;
      for (const auto& f : e.fields) {
        if (f.name == "kind" && std::get<std::string>(f.value) == kind) return true;
      }
    }
    return false;
  }

  World world_;
  Process& client_;
  Process& server_;
  HttpClient http_;
};

TEST_F(WorldTest, AClientGetsTheHandlersResponse) {
  KeyEcho echo(0);
  server_.serve_http(&echo);
  const auto result = call();
  ASSERT_TRUE(result && *result);
  EXPECT_EQ((*result)->status, 200);
  ASSERT_EQ(echo.keys.size(), 1u);
  EXPECT_EQ((*result)->body, echo.keys.front());
  EXPECT_NE(echo.keys.front(), "<none>") << "a POST gets an idempotency key";
}

TEST_F(WorldTest, RetriesReuseTheIdempotencyKey) {
  KeyEcho echo(2);
  server_.serve_http(&echo);
  const auto result = call({.timeout = 1s, .max_attempts = 5});
  ASSERT_TRUE(result && *result);
  ASSERT_EQ(echo.keys.size(), 3u);
  EXPECT_EQ(echo.keys[0], echo.keys[1]);
  EXPECT_EQ(echo.keys[1], echo.keys[2]);
  EXPECT_EQ(http_.attempts(), 3u);
}

TEST_F(WorldTest, AClientGivesUpAfterItsLastAttempt) {
  KeyEcho echo(0);
  server_.serve_http(&echo);
  world_.partition("client", "server");
  const auto start = world_.kernel().now();
  const auto result = call({.timeout = 1s, .max_attempts = 3, .backoff = 100ms});
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().code, "http_timeout");
  EXPECT_TRUE(echo.keys.empty());
  EXPECT_GE(world_.kernel().now() - start, 3s);
  EXPECT_TRUE(fault_traced("partition"));
}

TEST_F(WorldTest, ACrashedServerStopsServingUntilItServesAgain) {
  KeyEcho echo(0);
  server_.serve_http(&echo);
  world_.crash("server");
  world_.process("server").start();
  EXPECT_FALSE(call({.timeout = 500ms, .max_attempts = 2}).value());
  EXPECT_TRUE(fault_traced("crash"));

  server_.serve_http(&echo);
  EXPECT_TRUE(call().value());
}

TEST_F(WorldTest, APausedServerAnswersAfterItResumes) {
  KeyEcho echo(0);
  server_.serve_http(&echo);
  world_.pause("server");
  world_.kernel().after(1500ms, [this] { world_.resume("server"); });
  const auto result = call({.timeout = 5s, .max_attempts = 1});
  ASSERT_TRUE(result && *result);
  EXPECT_GE(world_.kernel().now() - kSimEpoch, 1500ms);
}

TEST_F(WorldTest, EveryFaultIsTraced) {
  world_.skew_clock("client", 2s);
  EXPECT_EQ(client_.clock().now() - world_.kernel().now(), 2s);
  world_.wipe_disk("server");
  world_.clog("client", "server", 1s);
  world_.duplicate("client", "server", 0.5);
  world_.drop("client", "server", 0.5);
  world_.lose_acks("client", 0.5);
  world_.broker_down(0);
  world_.broker_up(0);
  world_.heal_all();
  for (const char* kind : {"skew_clock", "wipe_disk", "clog", "duplicate", "drop", "lose_acks",
                           "broker_down", "broker_up", "heal_all"}) {
    EXPECT_TRUE(fault_traced(kind)) << kind;
  }
}

}  // namespace
}  // namespace orderflow::sim
