// `promtool check metrics` (Prometheus's own parser and linter) accepts what the
// registry renders. Skipped when promtool is not installed.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/observability/metrics_registry.h"

namespace orderflow::adapters::observability {
namespace {

std::optional<std::filesystem::path> find_on_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::filesystem::path candidate = std::filesystem::path(dir) / program;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

struct Outcome {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check metrics` with `text` on its standard input.
Outcome check_metrics(const std::filesystem::path& promtool, const std::string& text) {
  std::string input = (std::filesystem::temp_directory_path() / "orderflow-metrics-XXXXXX");
  const int fd = ::mkstemp(input.data());
  if (fd < 0) return {};
  ::close(fd);
  std::ofstream(input) << text;

  const std::string command = "'" + promtool.string() + "' check metrics < '" + input + "' 2>&1";
  Outcome outcome;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) {
      outcome.output.append(buffer, n);
    }
    const int status = ::pclose(pipe);
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::filesystem::remove(input);
  return outcome;
}

TEST(PromtoolTest, AcceptsTheRenderedText) {
  const auto promtool = find_on_path("promtool");
  if (!promtool) GTEST_SKIP() << "promtool is not on PATH (Debian package `prometheus`)";

  MetricsRegistry registry;
  registry.describe("orderflow_orders_placed_total", "Orders accepted, by channel.");
  registry.describe("orderflow_http_request_duration_seconds",
                    "Time to answer a request.\nSecond line with a back\\slash.");
  registry.describe("orderflow_consumer_lag_records", "Records behind the end of the log.");
  registry.counter("orderflow_orders_placed_total", {{"channel", "web"}}).add(3);
  registry.counter("orderflow_orders_placed_total", {{"channel", "api \"v2\"\n\\"}}).add(0.5);
  registry.gauge("orderflow_consumer_lag_records", {{"topic", "orders"}, {"partition", "0"}})
      .set(1e300);
  registry.gauge("orderflow_consumer_lag_records", {{"topic", "orders"}, {"partition", "1"}})
      .set(NAN);
  registry.gauge("orderflow_consumer_lag_records", {{"topic", "orders"}, {"partition", "2"}})
      .set(-INFINITY);
  registry.gauge("orderflow_build_info", {{"version", "caf\xC3\xA9 \xFF"}}).set(1);
  const std::vector<double> buckets = {0.0005, 0.001, 0.25, 1, 2.5, 1e9};
  auto& latency = registry.histogram("orderflow_http_request_duration_seconds", buckets,
                                     {{"route", "/orders/{id}"}, {"method", "GET"}});
  for (double v : {0.0001, 0.3, 7.0, std::numeric_limits<double>::infinity()}) latency.observe(v);
  registry.histogram("orderflow_http_request_duration_seconds", buckets, {{"route", "/health"}});

  const std::string text = registry.render();
  const Outcome outcome = check_metrics(*promtool, text);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output << "\nfor\n" << text;
  EXPECT_EQ(outcome.output, "") << "for\n" << text;
}

// The check above must be able to fail.
TEST(PromtoolTest, RejectsBrokenText) {
  const auto promtool = find_on_path("promtool");
  if (!promtool) GTEST_SKIP() << "promtool is not on PATH (Debian package `prometheus`)";

  const Outcome outcome = check_metrics(*promtool, "# TYPE a_total counter\na_total{x=\"1} 1\n");
  EXPECT_NE(outcome.exit_code, 0) << outcome.output;
}

}  // namespace
}  // namespace orderflow::adapters::observability
