// `Metrics`: counters, gauges and histograms, named in Prometheus style.
//
// Names are snake_case with a unit suffix (`orderflow_txn_commit_seconds`); labels
// are a small fixed set of (name, value) pairs per series. `counter`, `gauge` and
// `histogram` return the same series object for the same name and labels, owned
// by the registry and valid as long as it lives, so callers look a series up once
// and keep the reference.
//
// Threading: called on the owning executor.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace orderflow::core {

struct Label {
  std::string name;
  std::string value;
  friend auto operator<=>(const Label&, const Label&) = default;
};
using Labels = std::vector<Label>;

class Counter {
 public:
  virtual ~Counter() = default;
  virtual void add(double amount = 1) = 0;  // amount >= 0
};

class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void set(double value) = 0;
};

class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void observe(double value) = 0;
};

class Metrics {
 public:
  virtual ~Metrics() = default;
  virtual Counter& counter(std::string_view name, const Labels& labels = {}) = 0;
  virtual Gauge& gauge(std::string_view name, const Labels& labels = {}) = 0;
  // `buckets` are upper bounds in ascending order; used on the series' first use.
  virtual Histogram& histogram(std::string_view name, std::span<const double> buckets,
                               const Labels& labels = {}) = 0;
};

}  // namespace orderflow::core
