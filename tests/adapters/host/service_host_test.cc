// `ServiceHost` serving all three services on its own embedded cluster, over real
// HTTP: an order placed through the API becomes visible and is delivered; the
// probes and the scrape answer; the record on the wire decodes with protoc; and
// the `orderflow serve` binary shuts down cleanly on SIGTERM.
#include "adapters/host/service_host.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/host/http_client.h"
#include "core/codec/codec.h"
#include "core/json/json.h"
#include "services/shipping/shipping.h"
#include "services/topics.h"

namespace orderflow::adapters::host {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// The body of a response with status `status`, parsed; nothing otherwise.
std::optional<core::Json> json_body(const core::Result<core::HttpResponse>& r, int status) {
  if (!r || r->status != status) return std::nullopt;
  auto json = core::parse(r->body);
  if (!json) return std::nullopt;
  return std::move(*json);
}

bool on_path(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

core::ProducerRecord restock(const std::string& sku) {
  return {
      services::kStockCommands,
      services::kWarehouse,
      core::encode_command({"restock-" + sku, sku, core::Timestamp{}, "", ""},
                           core::StockCommand{core::Restock{core::Sku{sku}, core::Quantity{1000}}}),
      {},
      std::nullopt};
}

core::HttpResponse get(std::uint16_t port, const std::string& target) {
  auto r = http_call({.port = port, .target = target, .timeout = 15s});
  EXPECT_TRUE(r.has_value()) << target << ": " << (r ? "" : r.error().message);
  return r ? *r : core::HttpResponse{.status = 0};
}

std::string header(const core::HttpResponse& r, const std::string& name) {
  for (const auto& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return "";
}

class ServeAllTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_ = std::make_unique<ServiceHost>(ServiceHostOptions{
        .service = ServiceKind::kAll, .initial_records = {restock("sku-1")}, .access_log = false});
    std::promise<Serving> serving;
    auto future = serving.get_future();
    thread_ = std::thread(
        [&] { exit_code_ = host_->run([&](const Serving& s) { serving.set_value(s); }); });
    ASSERT_EQ(future.wait_for(60s), std::future_status::ready) << "the host never served";
    serving_ = future.get();
  }

  void TearDown() override {
    if (!thread_.joinable()) return;
    host_->request_stop();
    thread_.join();
    EXPECT_EQ(exit_code_, 0) << "the graceful shutdown failed";
  }

  bool eventually_ready() {
    const auto deadline = Steady::now() + 30s;
    while (Steady::now() < deadline) {
      if (get(serving_.http_port, "/readyz").status == 200) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  // Places an order; returns its id.
  std::string place() {
    auto r = http_call(
        {.port = serving_.http_port,
         .method = core::HttpMethod::kPost,
         .target = "/orders",
         .headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", "host-test-1"}},
         .body = R"({"customer_id": "c-1", "items": [{"sku": "sku-1", )"
                 R"("quantity": 2, "unit_price_cents": 500}], "shipping_address": )"
                 R"({"name": "Ada", "street": "1 Way", "city": "London", )"
                 R"("country": "GB"}})"});
    EXPECT_TRUE(r && r->status == 202) << (r ? r->body : r.error().message);
    const auto json = json_body(r, 202);
    const core::Json* id = json ? json->find("order_id") : nullptr;
    return id != nullptr && id->as_string() != nullptr ? *id->as_string() : "";
  }

  std::string status_of(const std::string& order) {
    const auto json = json_body(get(serving_.http_port, "/orders/" + order), 200);
    const core::Json* status = json ? json->find("status") : nullptr;
    return status != nullptr && status->as_string() != nullptr ? *status->as_string() : "";
  }

  std::unique_ptr<ServiceHost> host_;
  std::thread thread_;
  int exit_code_ = -1;
  Serving serving_;
};

TEST_F(ServeAllTest, PlacedOrderBecomesVisibleAndIsDelivered) {
  EXPECT_EQ(get(serving_.http_port, "/healthz").status, 200);
  ASSERT_TRUE(eventually_ready()) << get(serving_.http_port, "/readyz").body;

  const std::string order = place();
  ASSERT_FALSE(order.empty());
  const auto visible = get(serving_.http_port, "/orders/" + order + "?min_version=1&wait_ms=10000");
  EXPECT_EQ(visible.status, 200) << visible.body;

  const auto deadline = Steady::now() + 30s;
  std::string status;
  while (Steady::now() < deadline && (status = status_of(order)) != "delivered") {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(status, "delivered");

  const auto metrics = get(serving_.http_port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("orderflow_records_processed_total{service=\"orders\"}"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("orderflow_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(header(metrics, "content-type").find("version=0.0.4"), std::string::npos);
}

TEST_F(ServeAllTest, MetricsPassPromtool) {
  ASSERT_TRUE(eventually_ready());
  (void)place();
  const auto metrics = get(serving_.http_port, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  if (!on_path("promtool")) GTEST_SKIP() << "promtool is not installed";
  const auto file =
      std::filesystem::temp_directory_path() / ("host-metrics-" + std::to_string(::getpid()));
  std::ofstream(file) << metrics.body;
  const int rc = std::system(
      ("promtool check metrics < " + file.string() + " > " + file.string() + ".out 2>&1").c_str());
  EXPECT_EQ(rc, 0) << slurp(file.string() + ".out") << "\n" << metrics.body;
  std::filesystem::remove(file);
  std::filesystem::remove(file.string() + ".out");
}

TEST_F(ServeAllTest, EventOnTheWireDecodesWithProtoc) {
  if (!on_path("kcat") || !on_path("protoc")) GTEST_SKIP() << "kcat or protoc is not installed";
  ASSERT_TRUE(eventually_ready());
  const std::string order = place();
  ASSERT_FALSE(order.empty());
  ASSERT_EQ(get(serving_.http_port, "/orders/" + order + "?min_version=1&wait_ms=10000").status,
            200);

  const auto dir =
      std::filesystem::temp_directory_path() / ("host-wire-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string record = (dir / "record.bin").string();
  const std::string decoded = (dir / "decoded.txt").string();
  const std::string kcat = "kcat -C -b " + serving_.bootstrap_servers + " -t " +
                           services::kOrderEvents + " -o beginning -c 1 -e -D '' -f '%s' > " +
                           record + " 2>" + (dir / "kcat.err").string();
  ASSERT_EQ(std::system(kcat.c_str()), 0) << slurp(dir / "kcat.err");
  std::string protoc =
      "protoc --decode=orderflow.v1.EventEnvelope --proto_path=" + std::string(ORDERFLOW_PROTO_DIR);
  if (std::filesystem::exists("/usr/include/google/protobuf/timestamp.proto")) {
    protoc += " --proto_path=/usr/include";
  }
  protoc += " orderflow/v1/envelope.proto < " + record + " > " + decoded + " 2>&1";
  ASSERT_EQ(std::system(protoc.c_str()), 0) << slurp(decoded);
  EXPECT_NE(slurp(decoded).find(order), std::string::npos) << slurp(decoded);
  std::filesystem::remove_all(dir);
}

// The `orderflow serve all` binary: serves, then exits 0 on SIGTERM.
TEST(ServeBinaryTest, SigtermShutsDownGracefully) {
  int err[2];
  ASSERT_EQ(::pipe2(err, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(err[1], STDERR_FILENO);
    ::execl(ORDERFLOW_BINARY, ORDERFLOW_BINARY, "serve", "all", "--http", "127.0.0.1:0",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(err[1]);

  std::string output;
  const auto deadline = Steady::now() + 60s;
  while (output.find("\"event\":\"serving\"") == std::string::npos && Steady::now() < deadline) {
    pollfd p{err[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(err[0], buffer, sizeof buffer);
    if (n <= 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
  }
  ASSERT_NE(output.find("\"event\":\"serving\""), std::string::npos) << output;

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  const auto wait_deadline = Steady::now() + 40s;
  pid_t waited = 0;
  while ((waited = ::waitpid(pid, &status, WNOHANG)) == 0 && Steady::now() < wait_deadline) {
    pollfd p{err[0], POLLIN, 0};  // keep draining, so the child never blocks on a full pipe
    if (::poll(&p, 1, 100) > 0) {
      char buffer[4096];
      if (const ssize_t n = ::read(err[0], buffer, sizeof buffer); n > 0) {
        output.append(buffer, static_cast<std::size_t>(n));
      }
    }
  }
  if (waited == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "orderflow serve did not exit within 40 s of SIGTERM:\n" << output;
  }
  ::close(err[0]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
}

}  // namespace
}  // namespace orderflow::adapters::host
