#include "adapters/observability/metrics_registry.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace orderflow::adapters::observability {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(MetricsRegistryTest, AnEmptyRegistryRendersNothing) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.render(), "");
}

TEST(MetricsRegistryTest, RendersCountersAndGaugesSortedByNameThenLabels) {
  MetricsRegistry registry;
  registry.gauge("orderflow_consumer_lag", {{"topic", "orders"}, {"partition", "1"}}).set(7);
  registry.counter("orderflow_orders_placed_total", {{"channel", "web"}}).add();
  registry.counter("orderflow_orders_placed_total", {{"channel", "api"}}).add(2.5);
  registry.gauge("orderflow_consumer_lag", {{"partition", "0"}, {"topic", "orders"}}).set(-3);
  registry.counter("orderflow_commits_total").add(3);
  registry.describe("orderflow_orders_placed_total", "Orders accepted.");

  EXPECT_EQ(registry.render(),
            "# HELP orderflow_commits_total orderflow_commits_total\n"
            "# TYPE orderflow_commits_total counter\n"
            "orderflow_commits_total 3\n"
            "# HELP orderflow_consumer_lag orderflow_consumer_lag\n"
            "# TYPE orderflow_consumer_lag gauge\n"
            "orderflow_consumer_lag{partition=\"0\",topic=\"orders\"} -3\n"
            "orderflow_consumer_lag{partition=\"1\",topic=\"orders\"} 7\n"
            "# HELP orderflow_orders_placed_total Orders accepted.\n"
            "# TYPE orderflow_orders_placed_total counter\n"
            "orderflow_orders_placed_total{channel=\"api\"} 2.5\n"
            "orderflow_orders_placed_total{channel=\"web\"} 1\n");
}

TEST(MetricsRegistryTest, OneSeriesPerNameAndLabelSetWhateverTheLabelOrder) {
  MetricsRegistry registry;
  core::Counter& a = registry.counter("requests_total", {{"a", "1"}, {"b", "2"}});
  core::Counter& b = registry.counter("requests_total", {{"b", "2"}, {"a", "1"}});
  core::Counter& other = registry.counter("requests_total", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.add();
  b.add();
  EXPECT_NE(registry.render().find("requests_total{a=\"1\",b=\"2\"} 2\n"), std::string::npos);
}

TEST(MetricsRegistryTest, RendersHistogramsWithCumulativeBucketsSumAndCount) {
  MetricsRegistry registry;
  const std::vector<double> buckets = {0.005, 0.5, 1, 2.5};
  core::Histogram& web =
      registry.histogram("http_request_duration_seconds", buckets, {{"route", "/orders"}});
  for (double v : {0.00390625, 0.5, 0.75, 3.0}) web.observe(v);  // 0.5 is in le="0.5"
  registry.histogram("http_request_duration_seconds", buckets, {{"route", "/health"}});

  EXPECT_EQ(registry.render(),
            "# HELP http_request_duration_seconds http_request_duration_seconds\n"
            "# TYPE http_request_duration_seconds histogram\n"
            "http_request_duration_seconds_bucket{route=\"/health\",le=\"0.005\"} 0\n"
            "http_request_duration_seconds_bucket{route=\"/health\",le=\"0.5\"} 0\n"
            "http_request_duration_seconds_bucket{route=\"/health\",le=\"1\"} 0\n"
            "http_request_duration_seconds_bucket{route=\"/health\",le=\"2.5\"} 0\n"
            "http_request_duration_seconds_bucket{route=\"/health\",le=\"+Inf\"} 0\n"
            "http_request_duration_seconds_sum{route=\"/health\"} 0\n"
            "http_request_duration_seconds_count{route=\"/health\"} 0\n"
            "http_request_duration_seconds_bucket{route=\"/orders\",le=\"0.005\"} 1\n"
            "http_request_duration_seconds_bucket{route=\"/orders\",le=\"0.5\"} 2\n"
            "http_request_duration_seconds_bucket{route=\"/orders\",le=\"1\"} 3\n"
            "http_request_duration_seconds_bucket{route=\"/orders\",le=\"2.5\"} 3\n"
            "http_request_duration_seconds_bucket{route=\"/orders\",le=\"+Inf\"} 4\n"
            "http_request_duration_seconds_sum{route=\"/orders\"} 4.25390625\n"
            "http_request_duration_seconds_count{route=\"/orders\"} 4\n");
}

TEST(MetricsRegistryTest, HistogramBucketsAreFixedOnFirstUseAndMayEndInInf) {
  MetricsRegistry registry;
  const std::vector<double> first = {1, kInf};
  const std::vector<double> later = {5, 10};
  registry.histogram("size_bytes", first).observe(2);
  registry.histogram("size_bytes", later).observe(NAN);

  EXPECT_EQ(registry.render(),
            "# HELP size_bytes size_bytes\n"
            "# TYPE size_bytes histogram\n"
            "size_bytes_bucket{le=\"1\"} 0\n"
            "size_bytes_bucket{le=\"+Inf\"} 2\n"
            "size_bytes_sum NaN\n"
            "size_bytes_count 2\n");
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelpText) {
  MetricsRegistry registry;
  registry.gauge("g", {{"path", "C:\\dir \"x\"\nnext"}}).set(1);
  registry.describe("g", "A \"quoted\" back\\slash\nand a second line.");

  EXPECT_EQ(registry.render(),
            "# HELP g A \"quoted\" back\\\\slash\\nand a second line.\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n");
}

TEST(MetricsRegistryTest, ReplacesInvalidUtf8InLabelValues) {
  MetricsRegistry registry;
  registry.gauge("g", {{"v", "ok \xC3\xA9 bad \xFF \xC0\xAF \xED\xA0\x80 end \xE2\x82"}}).set(1);
  const std::string kBad = "\xEF\xBF\xBD";
  EXPECT_NE(registry.render().find("g{v=\"ok \xC3\xA9 bad " + kBad + " " + kBad + kBad + " " +
                                   kBad + kBad + kBad + " end " + kBad + kBad + "\"} 1\n"),
            std::string::npos)
      << registry.render();
}

TEST(MetricsRegistryTest, FormatsNumbersAsPrometheusReadsThem) {
  MetricsRegistry registry;
  const std::vector<std::pair<double, std::string>> cases = {
      {0.0, "0"},
      {-0.0, "0"},
      {42.0, "42"},
      {1e15, "1000000000000000"},
      {-123456789.0, "-123456789"},
      {0.1, "0.1"},
      {0.0005, "0.0005"},
      {0.00001, "1e-05"},
      {1234.5, "1234.5"},
      {2.5e-7, "2.5e-07"},
      {1e300, "1e+300"},
      {9007199254740992.0, "9007199254740992"},
      {1e17, "100000000000000000"},
      {-0x1p63, "-9.223372036854776e+18"},
      {NAN, "NaN"},
      {kInf, "+Inf"},
      {-kInf, "-Inf"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    registry.gauge("value", {{"case", std::to_string(10 + i)}}).set(cases[i].first);
  }
  const std::string text = registry.render();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string line =
        "value{case=\"" + std::to_string(10 + i) + "\"} " + cases[i].second + "\n";
    EXPECT_NE(text.find(line), std::string::npos) << line << "in\n" << text;
  }
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  const std::vector<double> buckets = {1};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&registry, &buckets, t] {
      for (int i = 0; i < 1000; ++i) {
        registry.counter("ops_total").add();
        registry.histogram("latency_seconds", buckets).observe(i % 2);
        registry.gauge("last", {{"thread", std::to_string(t)}}).set(i);
        if (i % 100 == 0) (void)registry.render();
      }
    });
  }
  for (auto& thread : threads) thread.join();

  const std::string text = registry.render();
  EXPECT_NE(text.find("ops_total 4000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"1\"} 4000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_sum 2000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("last{thread=\"3\"} 999\n"), std::string::npos) << text;
}

TEST(MetricsRegistryDeathTest, RejectsNamesPrometheusRejects) {
  MetricsRegistry registry;
  EXPECT_DEATH(registry.counter("orders-placed"), "metric name \"orders-placed\" does not match");
  EXPECT_DEATH(registry.counter("1st"), "does not match");
  EXPECT_DEATH(registry.counter(""), "does not match");
  EXPECT_DEATH(registry.describe("a b", "help"), "does not match");
  EXPECT_DEATH(registry.counter("ok", {{"bad-label", "x"}}), "label \"bad-label\" of metric ok");
  EXPECT_DEATH(registry.counter("ok", {{"__name__", "x"}}), "starts with __");
  EXPECT_DEATH(registry.counter("ok", {{"a:b", "x"}}), "does not match");
  EXPECT_DEATH(registry.counter("ok", {{"a", "1"}, {"a", "2"}}), "given twice");
  const std::vector<double> buckets = {1};
  EXPECT_DEATH(registry.histogram("h", buckets, {{"le", "1"}}), "reserves \"le\"");
  (void)registry.counter("ok:with_colon_total", {{"le", "1"}});  // fine outside histograms
}

TEST(MetricsRegistryDeathTest, RejectsOneNameWithTwoTypesOrClashingSeries) {
  MetricsRegistry registry;
  const std::vector<double> buckets = {1};
  (void)registry.counter("x_total");
  (void)registry.histogram("latency", buckets);
  EXPECT_DEATH(registry.gauge("x_total"), "x_total is a counter, not a gauge");
  EXPECT_DEATH(registry.counter("latency_count"), "clashes with a histogram's _count");
  (void)registry.gauge("size_sum");
  EXPECT_DEATH(registry.histogram("size", buckets), "clashes with a histogram's _sum");
}

TEST(MetricsRegistryDeathTest, RejectsBadBucketsAndNegativeIncrements) {
  MetricsRegistry registry;
  const std::vector<double> descending = {2, 1};
  const std::vector<double> repeated = {1, 1};
  const std::vector<double> nan = {NAN};
  EXPECT_DEATH(registry.histogram("a", descending), "not strictly ascending");
  EXPECT_DEATH(registry.histogram("b", repeated), "not strictly ascending");
  EXPECT_DEATH(registry.histogram("c", nan), "not strictly ascending");
  core::Counter& counter = registry.counter("c_total");
  EXPECT_DEATH(counter.add(-1), "a counter only goes up");
  EXPECT_DEATH(counter.add(NAN), "a counter only goes up");
}

}  // namespace
}  // namespace orderflow::adapters::observability
