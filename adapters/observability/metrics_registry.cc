#include "adapters/observability/metrics_registry.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/check.h"

namespace orderflow::adapters::observability {

namespace {

using Type = MetricsRegistry::Type;

constexpr std::string_view kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

class AtomicCounter final : public core::Counter {
 public:
  void add(double amount) override {
    OF_CHECK(amount >= 0, "a counter only goes up: the amount is negative or NaN");
    value_.fetch_add(amount, std::memory_order_relaxed);
  }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class AtomicGauge final : public core::Gauge {
 public:
  void set(double value) override { value_.store(value, std::memory_order_relaxed); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts per bucket, not cumulative; the last bucket is +Inf. A lock rather than
// atomics keeps a rendered histogram consistent: its +Inf bucket equals its count.
class LockedHistogram final : public core::Histogram {
 public:
  struct Snapshot {
    std::vector<std::uint64_t> counts;
    double sum = 0;
    std::uint64_t count = 0;
  };

  explicit LockedHistogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

  void observe(double value) override {
    // The first bucket whose bound is >= value; NaN fits none but +Inf.
    const std::size_t bucket =
        std::isnan(value)
            ? bounds_.size()
            : static_cast<std::size_t>(std::ranges::lower_bound(bounds_, value) - bounds_.begin());
    std::lock_guard lock(mutex_);
    ++counts_[bucket];
    sum_ += value;
    ++count_;
  }

  [[nodiscard]] const std::vector<double>& bounds() const { return bounds_; }

  [[nodiscard]] Snapshot snapshot() const {
    std::lock_guard lock(mutex_);
    return {counts_, sum_, count_};
  }

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// The length of the well-formed UTF-8 sequence at `text[i]` (RFC 3629: no overlong
// forms, surrogates or code points past U+10FFFF), or 0 when there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  const std::size_t length = lead < 0xC2   ? 0
                             : lead < 0xE0 ? 2
                             : lead < 0xF0 ? 3
                             : lead < 0xF5 ? 4
                                           : 0;
  if (length == 0 || i + length > text.size()) return 0;
  // The second byte's range is what excludes overlong forms, surrogates and > U+10FFFF.
  const unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
  const unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// `text` with each byte outside a well-formed UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (const std::size_t length = utf8_sequence_length(text, i); length > 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

bool is_name_char(char c, bool first, bool colon_allowed) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  const bool digit = c >= '0' && c <= '9';
  return letter || (!first && digit) || (colon_allowed && c == ':');
}

bool is_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0, true)) return false;
  }
  return true;
}

bool is_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0, false)) return false;
  }
  return true;
}

void check_metric_name(std::string_view name) {
  if (is_metric_name(name)) [[likely]]
    return;
  core::check_failed("is_metric_name(name)", "metric name \"" + std::string(name) +
                                                 "\" does not match [a-zA-Z_:][a-zA-Z0-9_:]*");
}

std::string_view to_string(Type type) {
  switch (type) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

// Sorted by name, values made valid UTF-8; fails on bad or repeated names.
core::Labels normalized(std::string_view metric, Type type, const core::Labels& labels) {
  core::Labels sorted;
  sorted.reserve(labels.size());
  for (const core::Label& label : labels) {
    const std::string where = "label \"" + label.name + "\" of metric " + std::string(metric);
    if (!is_label_name(label.name)) {
      core::check_failed("is_label_name(label.name)",
                         where + " does not match [a-zA-Z_][a-zA-Z0-9_]* or starts with __");
    }
    if (type == Type::kHistogram && label.name == "le") {
      core::check_failed("label.name != \"le\"", where + ": a histogram reserves \"le\"");
    }
    sorted.push_back({label.name, valid_utf8(label.value)});
  }
  std::ranges::sort(sorted);
  const auto repeated = std::ranges::adjacent_find(
      sorted, [](const core::Label& a, const core::Label& b) { return a.name == b.name; });
  if (repeated != sorted.end()) {
    core::check_failed("unique label names", "label \"" + repeated->name + "\" of metric " +
                                                 std::string(metric) + " is given twice");
  }
  return sorted;
}

std::vector<double> checked_bounds(std::string_view metric, std::span<const double> buckets) {
  std::vector<double> bounds(buckets.begin(), buckets.end());
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      core::check_failed("ascending buckets", "the buckets of histogram " + std::string(metric) +
                                                  " are not strictly ascending numbers");
    }
  }
  return bounds;
}

// Integers below 2^63 without exponent or fraction; other numbers with the fewest
// digits that read back exactly, laid out as printf's %g would ("0.0005", "2.5e-07",
// "1e+300"); the special values as Prometheus (Go's ParseFloat) spells them.
void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else if (value == std::trunc(value) && std::fabs(value) < 0x1p63) {
    out += std::to_string(static_cast<std::int64_t>(value));
  } else {
    char buffer[32];
    const auto result =
        std::to_chars(std::begin(buffer), std::end(buffer), value, std::chars_format::general);
    out.append(buffer, result.ptr);
  }
}

void append_escaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quotes && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `name{a="1",b="2"}` (or `name{a="1",le="0.5"}` with a bucket bound), then the value.
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const core::Labels& labels, const std::string* le, std::string_view value) {
  out += name;
  out += suffix;
  if (!labels.empty() || le != nullptr) {
    char separator = '{';
    for (const core::Label& label : labels) {
      out += separator;
      out += label.name;
      out += "=\"";
      append_escaped(out, label.value, true);
      out += '"';
      separator = ',';
    }
    if (le != nullptr) {
      out += separator;
      out += "le=\"";
      out += *le;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

std::string number(double value) {
  std::string text;
  append_number(text, value);
  return text;
}

}  // namespace

struct MetricsRegistry::Family {
  Type type;
  std::map<core::Labels, std::unique_ptr<AtomicCounter>> counters;
  std::map<core::Labels, std::unique_ptr<AtomicGauge>> gauges;
  std::map<core::Labels, std::unique_ptr<LockedHistogram>> histograms;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

// Requires `mutex_`. Besides the type, checks that no histogram's `_bucket`, `_sum` or
// `_count` series share a name with another metric.
MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, Type type) {
  check_metric_name(name);
  if (auto it = families_.find(name); it != families_.end()) {
    if (it->second->type != type) {
      core::check_failed("one type per metric", "metric " + std::string(name) + " is a " +
                                                    std::string(to_string(it->second->type)) +
                                                    ", not a " + std::string(to_string(type)));
    }
    return *it->second;
  }
  for (std::string_view suffix : kHistogramSuffixes) {
    const bool clash =
        type == Type::kHistogram
            ? families_.contains(std::string(name) + std::string(suffix))
            : name.ends_with(suffix) && [&] {
                auto base = families_.find(name.substr(0, name.size() - suffix.size()));
                return base != families_.end() && base->second->type == Type::kHistogram;
              }();
    if (clash) {
      core::check_failed("no clash with a histogram's series", "metric " + std::string(name) +
                                                                   " clashes with a histogram's " +
                                                                   std::string(suffix) + " series");
    }
  }
  auto family = std::make_unique<Family>();
  family->type = type;
  return *families_.emplace(std::string(name), std::move(family)).first->second;
}

core::Counter& MetricsRegistry::counter(std::string_view name, const core::Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, Type::kCounter);
  auto& series = f.counters[normalized(name, Type::kCounter, labels)];
  if (!series) series = std::make_unique<AtomicCounter>();
  return *series;
}

core::Gauge& MetricsRegistry::gauge(std::string_view name, const core::Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, Type::kGauge);
  auto& series = f.gauges[normalized(name, Type::kGauge, labels)];
  if (!series) series = std::make_unique<AtomicGauge>();
  return *series;
}

core::Histogram& MetricsRegistry::histogram(std::string_view name, std::span<const double> buckets,
                                            const core::Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, Type::kHistogram);
  auto& series = f.histograms[normalized(name, Type::kHistogram, labels)];
  if (!series) series = std::make_unique<LockedHistogram>(checked_bounds(name, buckets));
  return *series;
}

void MetricsRegistry::describe(std::string_view name, std::string_view help) {
  check_metric_name(name);
  std::lock_guard lock(mutex_);
  help_.insert_or_assign(std::string(name), valid_utf8(help));
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    const auto help = help_.find(name);
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped(out, help != help_.end() ? std::string_view(help->second) : name, false);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += to_string(family->type);
    out += '\n';

    for (const auto& [labels, series] : family->counters) {
      append_sample(out, name, "", labels, nullptr, number(series->value()));
    }
    for (const auto& [labels, series] : family->gauges) {
      append_sample(out, name, "", labels, nullptr, number(series->value()));
    }
    for (const auto& [labels, series] : family->histograms) {
      const LockedHistogram::Snapshot snapshot = series->snapshot();
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < snapshot.counts.size(); ++i) {
        cumulative += snapshot.counts[i];
        const std::string le = i < series->bounds().size() ? number(series->bounds()[i]) : "+Inf";
        append_sample(out, name, "_bucket", labels, &le, std::to_string(cumulative));
      }
      append_sample(out, name, "_sum", labels, nullptr, number(snapshot.sum));
      append_sample(out, name, "_count", labels, nullptr, std::to_string(snapshot.count));
    }
  }
  return out;
}

}  // namespace orderflow::adapters::observability
