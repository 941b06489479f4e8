// `MetricsRegistry`: the `Metrics` port, rendered in the Prometheus text format.
//
// Series are identified by metric name and label set, labels in any order. The
// registry owns every series it hands out for as long as it lives. `render` writes
// text exposition format 0.0.4 for a scrape: families sorted by name, series by
// labels, histograms as cumulative `_bucket` series with an `le` label plus `_sum`
// and `_count`.
//
//   MetricsRegistry registry;
//   registry.describe("orderflow_orders_placed_total", "Orders accepted.");
//   registry.counter("orderflow_orders_placed_total", {{"channel", "web"}}).add();
//   http_body = registry.render();  // served with content type `kContentType`
//
// Names must match Prometheus's rules (`[a-zA-Z_:][a-zA-Z0-9_:]*` for metrics,
// `[a-zA-Z_][a-zA-Z0-9_]*` without a leading `__` for labels, and no `le` label on a
// histogram); one name has one type; a histogram's buckets ascend. Breaking these is a
// programming error and fails an invariant check. Label values and help texts that are
// not valid UTF-8 have the bad bytes replaced by U+FFFD.
//
// Threading: thread-safe. Counters and gauges are atomics; a histogram takes its own
// short lock per observation; lookups and `render` take the registry's lock.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "core/ports/metrics.h"

namespace orderflow::adapters::observability {

class MetricsRegistry final : public core::Metrics {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  enum class Type { kCounter, kGauge, kHistogram };

  MetricsRegistry();
  ~MetricsRegistry() override;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  core::Counter& counter(std::string_view name, const core::Labels& labels = {}) override;
  core::Gauge& gauge(std::string_view name, const core::Labels& labels = {}) override;
  // A trailing +Inf bound may be given or left out; the +Inf bucket is always rendered.
  core::Histogram& histogram(std::string_view name, std::span<const double> buckets,
                             const core::Labels& labels = {}) override;

  // Sets the `# HELP` text of metric `name`, before or after its first use. Without
  // one, the help text is the name.
  void describe(std::string_view name, std::string_view help);

  [[nodiscard]] std::string render() const;

 private:
  struct Family;

  Family& family(std::string_view name, Type type);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
  std::map<std::string, std::string, std::less<>> help_;
};

}  // namespace orderflow::adapters::observability
