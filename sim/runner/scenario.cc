#include "sim/runner/scenario.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include "core/sim_hooks.h"

namespace orderflow::sim {
namespace {

namespace pb = google::protobuf;

// Collects the parser's first complaint with its line.
class FirstError final : public pb::io::ErrorCollector {
 public:
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (message_.empty()) {
      message_ = std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
    }
  }
  void AddWarning(int, pb::io::ColumnNumber, const std::string&) override {}
  [[nodiscard]] const std::string& message() const { return message_; }

 private:
  std::string message_;
};

// Locates fields for messages: "FILE:LINE: ...".
class Locator {
 public:
  Locator(const std::string& origin, const pb::TextFormat::ParseInfoTree& tree)
      : origin_(origin), tree_(tree) {}

  [[nodiscard]] std::string at(const pb::Message& message, const std::string& field, int index = -1,
                               const pb::TextFormat::ParseInfoTree* tree = nullptr) const {
    const pb::FieldDescriptor* fd = message.GetDescriptor()->FindFieldByName(field);
    const auto where = (tree != nullptr ? tree : &tree_)->GetLocation(fd, index);
    return origin_ + ":" + (where.line >= 0 ? std::to_string(where.line + 1) : "?") + ": ";
  }
  [[nodiscard]] const pb::TextFormat::ParseInfoTree* nested(const pb::Message& message,
                                                            const std::string& field,
                                                            int index = -1) const {
    const pb::FieldDescriptor* fd = message.GetDescriptor()->FindFieldByName(field);
    return tree_.GetTreeForNested(fd, index);
  }

 private:
  const std::string& origin_;
  const pb::TextFormat::ParseInfoTree& tree_;
};

void fill_defaults(Scenario& s) {
  auto& t = *s.mutable_topology();
  if (t.orders() == 0) t.set_orders(2);
  if (t.shipping() == 0) t.set_shipping(2);
  if (t.query() == 0) t.set_query(1);
  if (t.brokers() == 0) t.set_brokers(3);
  if (t.partitions() == 0) t.set_partitions(3);
  if (t.replication() == 0) t.set_replication(std::min(3, t.brokers()));
  auto& w = *s.mutable_workload();
  if (w.orders_per_second() == 0) w.set_orders_per_second(20);
  if (w.customers() == 0) w.set_customers(20);
  if (w.skus() == 0) w.set_skus(5);
  if (w.stock_per_sku() == 0) w.set_stock_per_sku(500);
  if (w.client_timeout().empty()) w.set_client_timeout("2s");
  if (w.client_attempts() == 0) w.set_client_attempts(8);
  if (w.client_backoff().empty()) w.set_client_backoff("500ms");
  if (w.reads_per_second() == 0) w.set_reads_per_second(10);
  if (s.duration().empty()) s.set_duration("20s");
  if (s.liveness_window().empty()) s.set_liveness_window("60s");
  if (s.has_swarm()) {
    auto& sw = *s.mutable_swarm();
    if (sw.max_per_minute() == 0) sw.set_max_per_minute(6);
    if (sw.max_duration().empty()) sw.set_max_duration("10s");
    if (sw.max_fault_point_probability() == 0) sw.set_max_fault_point_probability(0.05);
  }
}

bool is_process(const Scenario& s, const std::string& name) {
  const auto names = process_names(s);
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_node(const Scenario& s, const std::string& name) {
  if (is_process(s, name)) return true;
  for (int b = 0; b < s.topology().brokers(); ++b) {
    if (name == "broker-" + std::to_string(b)) return true;
  }
  return false;
}

// Checks one fault; returns an error message without its location, or "".
std::string check_fault(const Scenario& s, const v1::Fault& f) {
  using v1::FaultKind;
  const auto needs_target = [&]() -> std::string {
    if (f.target().empty()) return "this fault needs a target process";
    if (!is_process(s, f.target())) return "no process named \"" + f.target() + "\"";
    return "";
  };
  const auto needs_peer = [&]() -> std::string {
    if (f.peer().empty()) return "this fault needs a peer";
    if (!is_node(s, f.peer())) return "no process or broker named \"" + f.peer() + "\"";
    return "";
  };
  const auto needs_probability = [&]() -> std::string {
    if (f.probability() <= 0 || f.probability() > 1) return "probability must be in (0, 1]";
    return "";
  };
  switch (f.kind()) {
    case FaultKind::FAULT_KIND_UNSPECIFIED: return "a fault needs a kind";
    case FaultKind::CRASH:
    case FaultKind::PAUSE:
    case FaultKind::WIPE_DISK:
    case FaultKind::ISOLATE: return needs_target();
    case FaultKind::SKEW_CLOCK:
      if (auto e = needs_target(); !e.empty()) return e;
      if (!parse_duration(f.skew())) return "skew: " + parse_duration(f.skew()).error();
      return "";
    case FaultKind::PARTITION:
    case FaultKind::CLOG:
      if (auto e = needs_target(); !e.empty()) return e;
      return needs_peer();
    case FaultKind::DROP:
    case FaultKind::DUPLICATE:
      if (auto e = needs_target(); !e.empty()) return e;
      if (auto e = needs_peer(); !e.empty()) return e;
      return needs_probability();
    case FaultKind::LOSE_ACKS:
      if (auto e = needs_target(); !e.empty()) return e;
      return needs_probability();
    case FaultKind::BROKER_DOWN:
      if (f.broker() < 0 || f.broker() >= s.topology().brokers()) {
        return "broker " + std::to_string(f.broker()) + " does not exist";
      }
      return "";
    case FaultKind::MOVE_LEADER:
      if (f.topic().empty()) return "move_leader needs a topic";
      if (f.partition() < 0) return "partition must not be negative";
      return "";
    case FaultKind::REBALANCE:
      if (f.group().empty()) return "rebalance needs a group";
      return "";
    default: return "unknown fault kind";
  }
}

std::expected<void, ScenarioError> validate(const Scenario& s, const Locator& where) {
  const auto fail = [](std::string at, std::string what) {
    return std::unexpected(ScenarioError{std::move(at) + std::move(what)});
  };
  const auto& t = s.topology();
  const auto* tt = where.nested(s, "topology");
  for (const auto& [field, value, low, high] :
       std::initializer_list<std::tuple<const char*, int, int, int>>{
           {"orders", t.orders(), 1, 9},
           {"shipping", t.shipping(), 1, 9},
           {"query", t.query(), 1, 9},
           {"brokers", t.brokers(), 1, 9},
           {"partitions", t.partitions(), 1, 64}}) {
    if (value < low || value > high) {
      return fail(where.at(t, field, -1, tt), std::string("topology.") + field +
                                                  " must be between " + std::to_string(low) +
                                                  " and " + std::to_string(high));
    }
  }
  if (t.replication() < 1 || t.replication() > t.brokers()) {
    return fail(where.at(t, "replication", -1, tt),
                "topology.replication must be between 1 and the number of brokers");
  }
  const auto& w = s.workload();
  const auto* wt = where.nested(s, "workload");
  if (w.orders_per_second() < 0 || w.orders_per_second() > 10000) {
    return fail(where.at(w, "orders_per_second", -1, wt), "orders_per_second out of range");
  }
  if (w.cancel_ratio() < 0 || w.cancel_ratio() > 1) {
    return fail(where.at(w, "cancel_ratio", -1, wt), "cancel_ratio must be in [0, 1]");
  }
  for (const auto& [field, value, low, high] :
       std::initializer_list<std::tuple<const char*, double, double, double>>{
           {"orders_per_second", w.orders_per_second(), 0.01, 10000},
           {"customers", w.customers(), 1, 1e6},
           {"skus", w.skus(), 1, 1000},
           {"stock_per_sku", w.stock_per_sku(), 0, 1e9},
           {"client_attempts", w.client_attempts(), 1, 100},
           {"reads_per_second", w.reads_per_second(), 0.01, 10000}}) {
    if (value < low || value > high) {
      return fail(where.at(w, field, -1, wt), std::string("workload.") + field + " out of range");
    }
  }
  for (const char* field : {"client_timeout", "client_backoff"}) {
    const auto* fd = w.GetDescriptor()->FindFieldByName(field);
    const std::string text = w.GetReflection()->GetString(w, fd);
    if (auto d = parse_duration(text); !d || *d <= core::Duration::zero()) {
      return fail(where.at(w, field, -1, wt),
                  std::string(field) + ": " + (d ? "must be positive" : d.error()));
    }
  }
  for (const char* field : {"duration", "liveness_window"}) {
    const auto* fd = s.GetDescriptor()->FindFieldByName(field);
    const std::string text = s.GetReflection()->GetString(s, fd);
    if (auto d = parse_duration(text); !d || *d <= core::Duration::zero()) {
      return fail(where.at(s, field),
                  std::string(field) + ": " + (d ? "must be positive" : d.error()));
    }
  }
  const core::Duration load = duration_of(s.duration());
  for (int i = 0; i < s.faults_size(); ++i) {
    const auto& f = s.faults(i);
    const auto* ft = where.nested(s, "faults", i);
    const std::string at = where.at(s, "faults", i);
    auto when = parse_duration(f.at());
    if (!when || *when < core::Duration::zero()) {
      return fail(at, "fault.at: " + (when ? std::string("must not be negative") : when.error()));
    }
    if (*when > load) return fail(at, "fault.at lies after the load phase (" + s.duration() + ")");
    if (!f.duration().empty()) {
      if (auto d = parse_duration(f.duration()); !d || *d < core::Duration::zero()) {
        return fail(where.at(f, "duration", -1, ft),
                    "fault.duration: " + (d ? std::string("must not be negative") : d.error()));
      }
    }
    if (auto e = check_fault(s, f); !e.empty()) return fail(at, e);
  }
  for (int i = 0; i < s.canaries_size(); ++i) {
    if (!core::hooks::canary_from_string(s.canaries(i))) {
      return fail(where.at(s, "canaries", i), "no canary named \"" + s.canaries(i) + "\"");
    }
  }
  const auto known_point = [](const std::string& name) {
    return std::find(core::hooks::kFaultPoints.begin(), core::hooks::kFaultPoints.end(), name) !=
           core::hooks::kFaultPoints.end();
  };
  for (int i = 0; i < s.fault_points_size(); ++i) {
    const auto& p = s.fault_points(i);
    if (!known_point(p.name())) {
      return fail(where.at(s, "fault_points", i), "no fault point named \"" + p.name() + "\"");
    }
    if (p.probability() < 0 || p.probability() > 1) {
      return fail(where.at(s, "fault_points", i), "a fault point's probability is in [0, 1]");
    }
  }
  if (s.has_swarm()) {
    const auto& sw = s.swarm();
    const auto* st = where.nested(s, "swarm");
    if (sw.max_per_minute() <= 0) {
      return fail(where.at(sw, "max_per_minute", -1, st), "max_per_minute must be positive");
    }
    if (auto d = parse_duration(sw.max_duration()); !d || *d < std::chrono::milliseconds{100}) {
      return fail(where.at(sw, "max_duration", -1, st),
                  "max_duration: " + (d ? std::string("must be at least 100ms") : d.error()));
    }
    for (int i = 0; i < sw.kinds_size(); ++i) {
      if (sw.kinds(i) == v1::FAULT_KIND_UNSPECIFIED) {
        return fail(where.at(sw, "kinds", i, st), "swarm kinds must name fault kinds");
      }
    }
    if (sw.max_fault_point_probability() <= 0 || sw.max_fault_point_probability() > 1) {
      return fail(where.at(sw, "max_fault_point_probability", -1, st),
                  "max_fault_point_probability must be in (0, 1]");
    }
    for (int i = 0; i < sw.fault_points_size(); ++i) {
      if (!known_point(sw.fault_points(i))) {
        return fail(where.at(sw, "fault_points", i, st),
                    "no fault point named \"" + sw.fault_points(i) + "\"");
      }
    }
    if (s.faults_size() > 0) return fail(where.at(s, "swarm"), "use faults or swarm, not both");
  }
  return {};
}

}  // namespace

std::expected<core::Duration, std::string> parse_duration(std::string_view text) {
  if (text.empty()) return std::unexpected("a duration is required, such as \"5s\"");
  const bool negative = text.front() == '-';
  std::string_view rest = negative ? text.substr(1) : text;
  std::int64_t number = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
  if (ec != std::errc{} || end == rest.data() || number < 0 || number > 1'000'000'000) {
    return std::unexpected("\"" + std::string(text) + "\" is not a duration such as \"250ms\"");
  }
  const std::string_view unit(end, rest.data() + rest.size() - end);
  core::Duration d{};
  if (unit == "ms") {
    d = std::chrono::milliseconds{number};
  } else if (unit == "s") {
    d = std::chrono::seconds{number};
  } else if (unit == "m") {
    d = std::chrono::minutes{number};
  } else {
    return std::unexpected("\"" + std::string(text) + "\": the unit must be ms, s or m");
  }
  return negative ? -d : d;
}

std::string format_duration(core::Duration duration) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

core::Duration duration_of(const std::string& text) {
  if (text.empty()) return core::Duration::zero();
  return parse_duration(text).value_or(core::Duration::zero());
}

std::vector<std::string> process_names(const Scenario& scenario) {
  std::vector<std::string> names;
  const auto add = [&](const char* service, int count) {
    for (int i = 1; i <= count; ++i)
      names.push_back(std::string(service) + "-" + std::to_string(i));
  };
  add("orders", scenario.topology().orders());
  add("shipping", scenario.topology().shipping());
  add("query", scenario.topology().query());
  names.emplace_back("clients");
  return names;
}

std::expected<Scenario, ScenarioError> parse_scenario(std::string_view text,
                                                      const std::string& origin) {
  Scenario scenario;
  pb::TextFormat::Parser parser;
  FirstError errors;
  pb::TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  pb::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  if (!parser.Parse(&input, &scenario)) {
    return std::unexpected(ScenarioError{origin + ":" + errors.message()});
  }
  fill_defaults(scenario);
  if (auto ok = validate(scenario, Locator(origin, tree)); !ok) {
    return std::unexpected(ok.error());
  }
  return scenario;
}

std::expected<Scenario, ScenarioError> load_scenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected(ScenarioError{path + ": cannot read the scenario file"});
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path);
}

std::string to_text(const Scenario& scenario) {
  std::string out;
  pb::TextFormat::Printer printer;
  printer.PrintToString(scenario, &out);
  return out;
}

}  // namespace orderflow::sim
