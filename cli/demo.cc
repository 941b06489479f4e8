#include "cli/demo.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "adapters/host/http_client.h"
#include "adapters/host/log_reader.h"
#include "adapters/host/service_host.h"
#include "adapters/kafka/embedded_cluster.h"
#include "cli/relay.h"
#include "core/codec/codec.h"
#include "core/json/json.h"
#include "services/shipping/shipping.h"
#include "services/topics.h"
#include "sim/runner/checks.h"

namespace orderflow::cli {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using adapters::host::http_call;
using adapters::host::HttpCall;
using adapters::host::ServiceKind;

constexpr int kSkus = 10;
constexpr int kCustomers = 50;
constexpr int kWorkers = 64;
constexpr auto kFinishWait = 30s;

core::Timestamp wall_now() {
  return core::Timestamp{std::chrono::duration_cast<core::Duration>(
      std::chrono::system_clock::now().time_since_epoch())};
}

// The body of a response with status `status`, parsed; nothing otherwise.
std::optional<core::Json> json_body(const core::Result<core::HttpResponse>& r, int status) {
  if (!r || r->status != status) return std::nullopt;
  auto json = core::parse(r->body);
  if (!json) return std::nullopt;
  return std::move(*json);
}

double millis(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Jobs run on a pool of threads at or after their due time.
class Workers {
 public:
  explicit Workers(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
  }
  ~Workers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void at(Steady::time_point due, std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push({due, sequence_++, std::move(job)});
    }
    changed_.notify_all();
  }

  // True once no job is queued or running; waits at most `timeout`.
  bool idle_within(Steady::duration timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return jobs_.empty() && running_ == 0; });
  }

 private:
  struct Job {
    Steady::time_point due;
    std::uint64_t sequence;
    std::function<void()> run;
    bool operator>(const Job& other) const {
      return std::tie(due, sequence) > std::tie(other.due, other.sequence);
    }
  };

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (stopping_) return;
      if (jobs_.empty()) {
        changed_.wait(lock);
        continue;
      }
      if (const auto due = jobs_.top().due; due > Steady::now()) {
        changed_.wait_until(lock, due);  // a copy: a push may move the queue's elements
        continue;
      }
      auto run = jobs_.top().run;
      jobs_.pop();
      ++running_;
      lock.unlock();
      run();
      lock.lock();
      --running_;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::priority_queue<Job, std::vector<Job>, std::greater<>> jobs_;
  std::uint64_t sequence_ = 0;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// A `ServiceHost` on a thread of its own.
class RunningHost {
 public:
  RunningHost(adapters::host::ServiceHostOptions options)
      : host_(std::make_unique<adapters::host::ServiceHost>(std::move(options))) {
    thread_ = std::thread([this] {
      exit_code_ = host_->run([this](const adapters::host::Serving& s) { serving_.set_value(s); });
    });
  }
  ~RunningHost() { stop(); }

  std::optional<adapters::host::Serving> wait_serving(Steady::duration timeout) {
    auto future = serving_.get_future();
    if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return future.get();
  }
  int stop() {
    if (thread_.joinable()) {
      host_->request_stop();
      thread_.join();
    }
    return exit_code_;
  }

 private:
  std::unique_ptr<adapters::host::ServiceHost> host_;
  std::promise<adapters::host::Serving> serving_;
  std::thread thread_;
  int exit_code_ = 1;
};

std::vector<core::ProducerRecord> restocks() {
  std::vector<core::ProducerRecord> records;
  for (int sku = 0; sku < kSkus; ++sku) {
    const std::string id = "sku-" + std::to_string(sku);
    records.push_back({services::kStockCommands,
                       services::kWarehouse,
                       core::encode_command({"restock-" + id, id, wall_now(), "", ""},
                                            core::StockCommand{core::Restock{
                                                core::Sku{id}, core::Quantity{1'000'000}}}),
                       {},
                       std::nullopt});
  }
  return records;
}

// What the customers did and saw; shared by the worker threads.
struct Customers {
  std::uint16_t orders_port = 0;
  std::uint16_t query_port = 0;

  std::mutex mutex;
  sim::ClientHistory history;
  std::vector<std::string> orders;  // acknowledged placements
  std::vector<double> visible_ms;   // POST sent to the order readable on the query service
  int attempted = 0;
  int failed = 0;
  int cancels_sent = 0;
  int cancels_accepted = 0;

  core::Result<core::HttpResponse> post(const std::string& target, const std::string& key,
                                        const std::string& body) {
    core::Result<core::HttpResponse> r;
    for (int attempt = 0; attempt < 3; ++attempt) {
      r = http_call({.port = orders_port,
                     .method = core::HttpMethod::kPost,
                     .target = target,
                     .headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", key}},
                     .body = body,
                     .timeout = 5s});
      if (r && r->status < 500) return r;
      std::this_thread::sleep_for(200ms);
    }
    return r;
  }

  void place(int n, Workers& workers) {
    const std::string key = "demo-place-" + std::to_string(n);
    const std::string body =
        R"({"customer_id": "c-)" + std::to_string(n % kCustomers) +
        R"(", "items": [{"sku": "sku-)" + std::to_string(n % kSkus) + R"(", "quantity": )" +
        std::to_string(1 + n % 3) +
        R"(, "unit_price_cents": 999}], "shipping_address": {"name": "Ada", "street": "1 Way", )"
        R"("city": "London", "country": "GB"}})";
    const auto sent = Steady::now();
    {
      std::lock_guard lock(mutex);
      ++attempted;
    }
    const auto r = post("/orders", key, body);
    const auto json = json_body(r, 202);
    const core::Json* id = json ? json->find("order_id") : nullptr;
    if (id == nullptr || id->as_string() == nullptr) {
      std::lock_guard lock(mutex);
      ++failed;
      return;
    }
    const std::string order = *id->as_string();
    {
      std::lock_guard lock(mutex);
      history.acked_commands.emplace(key, wall_now());
      if (history.acked_orders.insert(order).second) orders.push_back(order);
    }
    const auto v = http_call({.port = query_port,
                              .target = "/orders/" + order + "?min_version=1&wait_ms=10000",
                              .timeout = 15s});
    if (v && v->status == 200) {
      std::lock_guard lock(mutex);
      visible_ms.push_back(millis(Steady::now() - sent));
    }
    // Every fourth customer changes their mind, some time after placing.
    if (n % 4 == 0) {
      workers.at(Steady::now() + std::chrono::milliseconds((n * 37) % 1500),
                 [this, order] { cancel(order); });
    }
  }

  void cancel(const std::string& order) {
    const std::string key = "demo-cancel-" + order;
    const auto r = post("/orders/" + order + "/cancel", key, R"({"reason": "changed my mind"})");
    std::lock_guard lock(mutex);
    ++cancels_sent;
    if (r && r->status == 202) {
      ++cancels_accepted;
      history.acked_commands.emplace(key, wall_now());
    }
  }

  void progress(std::string_view phase, Steady::time_point start) {
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "[%5.1fs] %s: attempted=%d placed=%zu visible=%zu failed=%d cancels=%d\n",
                 millis(Steady::now() - start) / 1000, std::string(phase).c_str(), attempted,
                 orders.size(), visible_ms.size(), failed, cancels_accepted);
  }
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::ranges::sort(values);
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

struct Final {
  std::map<std::string, std::string> status;  // terminal orders
  std::map<std::string, std::string> shipment;
};

// Polls the query service until every order is delivered or cancelled, or time runs out.
Final wait_terminal(Customers& customers, Steady::time_point start) {
  Final final;
  std::vector<std::string> pending = customers.orders;
  const auto deadline = Steady::now() + kFinishWait;
  auto next_progress = Steady::now() + 1s;
  while (!pending.empty() && Steady::now() < deadline) {
    std::vector<std::string> still;
    for (const auto& order : pending) {
      const auto r = http_call({.port = customers.query_port, .target = "/orders/" + order});
      const auto json = json_body(r, 200);
      const core::Json* status = json ? json->find("status") : nullptr;
      const std::string s = status && status->as_string() ? *status->as_string() : "";
      if (s == "delivered" || s == "cancelled") {
        final.status[order] = s;
        const core::Json* shipment = json->find("shipment");
        const core::Json* ss = shipment ? shipment->find("status") : nullptr;
        if (ss && ss->as_string()) final.shipment[order] = *ss->as_string();
      } else {
        still.push_back(order);
      }
    }
    pending = std::move(still);
    if (Steady::now() >= next_progress) {
      std::fprintf(stderr, "[%5.1fs] finishing: %zu orders not yet delivered or cancelled\n",
                   millis(Steady::now() - start) / 1000, pending.size());
      next_progress += 1s;
    }
    if (!pending.empty()) std::this_thread::sleep_for(250ms);
  }
  return final;
}

core::Result<sim::RecordedLogs> recorded_logs(const std::string& bootstrap) {
  auto logs = adapters::host::read_committed_logs(
      {.bootstrap_servers = bootstrap,
       .topics = {services::kOrderEvents, services::kShipmentEvents, services::kStockEvents,
                  services::kOrderOutcomes}});
  if (!logs) return std::unexpected(logs.error());
  sim::RecordedLogs recorded;
  for (const auto& [topic, records] : *logs) {
    auto& out = recorded[topic];
    for (const auto& r : records) {
      if (r.value) out.push_back({r.tp, r.offset, *r.value, r.timestamp});
    }
  }
  return recorded;
}

adapters::host::ServiceHostOptions host_options(ServiceKind kind,
                                                adapters::kafka::EmbeddedCluster& cluster) {
  return {.service = kind,
          .cluster = &cluster,
          .min_severity = core::Severity::kWarn,
          .access_log = false};
}

bool wait_ready(std::uint16_t port, Steady::duration timeout) {
  const auto deadline = Steady::now() + timeout;
  while (Steady::now() < deadline) {
    const auto r = http_call({.port = port, .target = "/readyz", .timeout = 2s});
    if (r && r->status == 200) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

}  // namespace

CLI::App* add_demo_command(CLI::App& app, DemoOptions& options) {
  auto* demo = app.add_subcommand(
      "demo", "Orders, shipping and query on an embedded cluster, with customers over HTTP");
  demo->add_option("--seconds", options.seconds, "Seconds of load")->check(CLI::Range(1, 3600));
  demo->add_option("--rate", options.rate, "Orders per second")->check(CLI::Range(0.1, 1000.0));
  demo->add_option("--relay", options.relay,
                   "Then relay this many records with raw librdkafka on the same cluster")
      ->check(CLI::Range(0, 10'000'000));
  return demo;
}

int run_demo(const DemoOptions& options) {
  const auto start = Steady::now();
  adapters::kafka::EmbeddedCluster cluster(3);
  auto shipping_options = host_options(ServiceKind::kShipping, cluster);
  shipping_options.initial_records = restocks();
  RunningHost shipping(std::move(shipping_options));
  RunningHost orders(host_options(ServiceKind::kOrders, cluster));
  RunningHost query(host_options(ServiceKind::kQuery, cluster));
  const auto orders_at = orders.wait_serving(60s);
  const auto shipping_at = shipping.wait_serving(60s);
  const auto query_at = query.wait_serving(60s);
  if (!orders_at || !shipping_at || !query_at ||
      !(wait_ready(orders_at->http_port, 60s) && wait_ready(shipping_at->http_port, 60s) &&
        wait_ready(query_at->http_port, 60s))) {
    std::cerr << "error: the services did not become ready within 60 s\n";
    return 1;
  }
  std::fprintf(stderr, "[%5.1fs] ready: orders %s, shipping %s, query %s, kafka %s\n",
               millis(Steady::now() - start) / 1000, orders_at->http_address.c_str(),
               shipping_at->http_address.c_str(), query_at->http_address.c_str(),
               cluster.bootstrap_servers().c_str());

  Customers customers{.orders_port = orders_at->http_port, .query_port = query_at->http_port};
  const auto load_start = Steady::now();
  {
    Workers workers(kWorkers);
    const int total = static_cast<int>(options.seconds * options.rate);
    for (int n = 0; n < total; ++n) {
      const auto due = load_start + std::chrono::duration_cast<Steady::duration>(
                                        std::chrono::duration<double>(n / options.rate));
      workers.at(due, [&customers, &workers, n] { customers.place(n, workers); });
    }
    while (!workers.idle_within(1s)) customers.progress("load", start);
  }
  const double load_seconds = millis(Steady::now() - load_start) / 1000;
  const Final final = wait_terminal(customers, start);
  const double pipeline_seconds = millis(Steady::now() - load_start) / 1000;
  const int orders_code = orders.stop();
  const int shipping_code = shipping.stop();
  const int query_code = query.stop();

  std::fprintf(stderr, "[%5.1fs] reading the committed logs back\n",
               millis(Steady::now() - start) / 1000);
  const auto logs = recorded_logs(cluster.bootstrap_servers());
  sim::CheckSummary summary;
  sim::Violations violations;
  if (logs) {
    violations = sim::check_recorded_logs(*logs, customers.history, false, summary);
  } else {
    violations.push_back({"demo", "logs_unreadable", logs.error().message});
  }

  int delivered = 0;
  int cancelled = 0;
  int shipped = 0;
  for (const auto& [order, status] : final.status) {
    (status == "delivered" ? delivered : cancelled)++;
    const auto it = final.shipment.find(order);
    if (it != final.shipment.end() && (it->second == "dispatched" || it->second == "delivered")) {
      ++shipped;
    }
  }
  const int placed = static_cast<int>(customers.orders.size());
  const int unfinished = placed - static_cast<int>(final.status.size());
  std::printf("orders placed:   %d (attempted %d, failed %d)\n", placed, customers.attempted,
              customers.failed);
  std::printf(
      "shipped:         %d\ndelivered:       %d\ncancelled:       %d (%d cancels "
      "accepted)\nnot finished:    %d\n",
      shipped, delivered, cancelled, customers.cancels_accepted, unfinished);
  std::printf("POST to visible: p50 %.1f ms, p99 %.1f ms (%zu orders)\n",
              percentile(customers.visible_ms, 0.50), percentile(customers.visible_ms, 0.99),
              customers.visible_ms.size());
  std::printf(
      "throughput:      %.1f orders/s offered over %.1f s; %.1f orders/s finished "
      "(placed to every order delivered or cancelled: %.1f s)\n",
      placed / load_seconds, load_seconds, final.status.size() / pipeline_seconds,
      pipeline_seconds);
  bool relay_ok = true;
  if (options.relay > 0) {
    (void)cluster.create_topic("relay.in", 3, 1);
    (void)cluster.create_topic("relay.out", 3, 1);
    const RelayResult relay =
        run_relay(cluster.bootstrap_servers(), "relay.in", "relay.out", options.relay);
    relay_ok = relay.ok;
    if (relay.ok) {
      std::printf(
          "raw relay:       %.0f records/s (librdkafka consume->produce, %d records of "
          "200 bytes, same cluster)\n",
          relay.records / relay.seconds, relay.records);
    } else {
      std::printf("raw relay:       failed: %s\n", relay.error.c_str());
    }
  }
  std::printf(
      "checkers:        %s (%zu violations; %d orders, %d delivered, %d cancelled in "
      "the logs)\n",
      violations.empty() ? "PASS" : "FAIL", violations.size(), summary.orders, summary.delivered,
      summary.cancelled);
  for (const auto& v : violations) {
    std::printf("  %s/%s: %s\n", v.checker.c_str(), v.kind.c_str(), v.detail.c_str());
  }
  std::printf("shutdown:        orders %d, shipping %d, query %d\n", orders_code, shipping_code,
              query_code);
  std::fflush(stdout);
  const bool ok = relay_ok && violations.empty() && unfinished == 0 && placed > 0 &&
                  orders_code == 0 && shipping_code == 0 && query_code == 0;
  return ok ? 0 : 1;
}

}  // namespace orderflow::cli
