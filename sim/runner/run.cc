#include "sim/runner/run.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>

#include "core/codec/codec.h"
#include "core/json/json.h"
#include "core/sim_hooks.h"
#include "services/instances.h"
#include "services/orders/http_api.h"
#include "services/topics.h"
#include "sim/checkers/kafka_history.h"
#include "sim/http_client.h"
#include "sim/runner/checks.h"
#include "sim/runner/swarm.h"
#include "sim/world.h"

namespace orderflow::sim {
namespace {

using namespace std::chrono_literals;
namespace hooks = core::hooks;

// Groups have formed and the warehouse is stocked before customers arrive.
constexpr core::Duration kWarmup = 3s;

class RunHooks final : public hooks::SimHooks {
 public:
  RunHooks(const Scenario& scenario, const std::vector<v1::FaultPoint>& points, Prng random,
           std::map<std::string, std::uint64_t>& probes)
      : random_(std::move(random)), probes_(probes) {
    for (const auto& name : scenario.canaries()) {
      if (auto c = hooks::canary_from_string(name)) canaries_.insert(*c);
    }
    for (const auto& p : points) points_[p.name()] = p.probability();
  }
  bool canary(hooks::Canary canary) override { return canaries_.contains(canary); }
  bool fault_point(std::string_view name) override {
    const auto it = points_.find(std::string(name));
    return it != points_.end() && random_.bernoulli(it->second);
  }
  void probe(std::string_view name) override { ++probes_[std::string(name)]; }

 private:
  std::set<hooks::Canary> canaries_;
  std::map<std::string, double> points_;
  Prng random_;
  std::map<std::string, std::uint64_t>& probes_;
};

// Installed for one run; uninstalled however the run ends.
class HooksGuard {
 public:
  explicit HooksGuard(hooks::SimHooks& h) { hooks::install(&h); }
  ~HooksGuard() { hooks::uninstall(); }
  HooksGuard(const HooksGuard&) = delete;
  HooksGuard& operator=(const HooksGuard&) = delete;
};

services::InstanceEnv env_of(World& world, Process& self, core::Guarantee guarantee) {
  return {world.broker(self),
          self.scheduler(),
          self.clock(),
          self.log(),
          [&self](const std::string& name, core::Partition p) -> core::StateStore& {
            return self.disk().store(name + "-" + std::to_string(p.value()));
          },
          self.name(),
          guarantee};
}

template <typename Instance, typename... Args>
Process::Boot boot(World& world, core::Guarantee guarantee, Args... args) {
  return [&world, guarantee, args...](Process& self) {
    auto instance = std::make_shared<Instance>(env_of(world, self, guarantee), args...);
    if constexpr (requires { instance->http(); }) self.serve_http(&instance->http());
    return instance;
  };
}

class Run {
 public:
  Run(const Scenario& scenario, const RunOptions& options, RunResult& result)
      : s_(scenario),
        options_(options),
        result_(result),
        world_({.seed = options.seed,
                .cluster = {.brokers = scenario.topology().brokers(),
                            .default_partitions = scenario.topology().partitions()}}),
        workload_(world_.kernel().random().fork("workload")) {
    world_.cluster().enable_history();
    if (s_.has_swarm()) {
      Prng swarm = world_.kernel().random().fork("swarm");
      auto draw = draw_swarm(s_, swarm);
      result_.schedule = std::move(draw.faults);
      result_.fault_points = std::move(draw.fault_points);
    } else {
      result_.schedule.assign(s_.faults().begin(), s_.faults().end());
      result_.fault_points.assign(s_.fault_points().begin(), s_.fault_points().end());
    }
    for (auto name : hooks::kProbes) result_.probes[std::string(name)] = 0;
    hooks_ = std::make_unique<RunHooks>(
        s_, result_.fault_points, world_.kernel().random().fork("fault-points"), result_.probes);
  }

  void execute() {
    HooksGuard installed(*hooks_);
    if (!options_.trace_path.empty()) trace_file_.open(options_.trace_path);
    if (trace_file_.is_open() || options_.trace_sink) {
      world_.kernel().trace().set_sink([this](const TraceEvent& e) {
        if (trace_file_.is_open()) trace_file_ << to_json(e) << '\n';
        if (options_.trace_sink) options_.trace_sink(e);
      });
    }
    if (options_.timeline) world_.kernel().trace().keep_all();
    build();
    const core::Timestamp load_start = world_.kernel().now() + kWarmup;
    const core::Timestamp load_end = load_start + duration_of(s_.duration());
    for (const auto& fault : result_.schedule) {
      world_.kernel().at(load_start + duration_of(fault.at()), [this, fault] { inject(fault); });
    }
    world_.kernel().at(load_start, [this, load_end] {
      next_order(load_end);
      next_read(load_end);
    });
    world_.kernel().at(load_end, [this] { stop_faults(); });
    world_.kernel().run_until(load_end + duration_of(s_.liveness_window()));
    check();
    // Tearing the world down traces its processes' ends: not part of the run.
    world_.kernel().trace().set_sink({});
  }

 private:
  [[nodiscard]] core::Guarantee guarantee() const {
    return s_.mode() == v1::AT_LEAST_ONCE ? core::Guarantee::kAtLeastOnce
                                          : core::Guarantee::kExactlyOnce;
  }

  void build() {
    const auto& t = s_.topology();
    for (auto spec : services::service_topics(t.partitions())) {
      spec.replication_factor = t.replication();
      world_.cluster().create_topic(spec);
    }
    const auto add = [this](const std::string& name, Process::Boot b) {
      Process& p = world_.add_process(name);
      p.set_boot(std::move(b));
      p.start();
    };
    for (int i = 1; i <= t.orders(); ++i) {
      add("orders-" + std::to_string(i), boot<services::OrdersInstance>(world_, guarantee()));
    }
    for (int i = 1; i <= t.shipping(); ++i) {
      add("shipping-" + std::to_string(i),
          boot<services::ShippingInstance>(world_, guarantee(), services::ShippingTimings{}));
    }
    // The read side runs at least once in every mode: its projections are
    // idempotent by version, and it writes nothing but its own stores.
    for (int i = 1; i <= t.query(); ++i) {
      add("query-" + std::to_string(i),
          boot<services::QueryInstance>(world_, core::Guarantee::kAtLeastOnce, t.partitions()));
    }
    clients_ = &world_.add_process("clients");
    clients_->start();
    http_ = std::make_unique<HttpClient>(world_, *clients_);
    warehouse_ = world_.broker(*clients_).make_producer({.client_id = "warehouse"});
    for (int sku = 0; sku < s_.workload().skus(); ++sku) restock(sku);
  }

  void restock(int sku) {
    const std::string id = "sku-" + std::to_string(sku);
    warehouse_->send(
        {services::kStockCommands,
         services::kWarehouse,
         core::encode_command({"restock-" + id, id, world_.kernel().now(), "", ""},
                              core::StockCommand{core::Restock{
                                  core::Sku{id}, core::Quantity{s_.workload().stock_per_sku()}}}),
         {},
         std::nullopt},
        [](core::Result<core::RecordMetadata>) {});
  }

  [[nodiscard]] HttpCallOptions call_options() const {
    return {.timeout = duration_of(s_.workload().client_timeout()),
            .max_attempts = s_.workload().client_attempts(),
            .backoff = duration_of(s_.workload().client_backoff())};
  }

  [[nodiscard]] std::string any_of(const char* service, int count) {
    return std::string(service) + "-" + std::to_string(1 + workload_.uniform(count));
  }

  void next_order(core::Timestamp load_end) {
    const double gap_s = workload_.exponential(1.0 / s_.workload().orders_per_second());
    const auto gap =
        std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(gap_s));
    if (world_.kernel().now() + gap >= load_end) return;
    world_.kernel().after(gap, [this, load_end] {
      place_order();
      next_order(load_end);
    });
  }

  void place_order() {
    const int n = result_.stats.orders_attempted++;
    const auto& w = s_.workload();
    const std::string key = "place-" + std::to_string(n);
    const std::string body =
        R"({"customer_id": "c-)" + std::to_string(workload_.uniform(w.customers())) +
        R"(", "items": [{"sku": "sku-)" + std::to_string(workload_.uniform(w.skus())) +
        R"(", "quantity": )" + std::to_string(1 + workload_.uniform(3)) +
        R"(, "unit_price_cents": 999}], "shipping_address": {"name": "Ada", "street": "1 Way", )"
        R"("city": "London", "country": "GB"}})";
    post(any_of("orders", s_.topology().orders()), "/orders", body, key,
         [this](const core::HttpResponse& response) {
           if (auto json = core::parse(response.body)) {
             if (const auto* id = json->find("order_id")) {
               const std::string order = *id->as_string();
               if (result_.stats.orders_acknowledged++,
                   history_.acked_orders.insert(order).second) {
                 acked_.push_back(order);
               }
             }
           }
         });
    if (workload_.bernoulli(w.cancel_ratio())) {
      const std::string order = services::OrdersApi::order_id_for(key);
      const auto delay = std::chrono::milliseconds{workload_.uniform_between(0, 3000)};
      world_.kernel().after(delay, [this, order] {
        post(any_of("orders", s_.topology().orders()), "/orders/" + order + "/cancel",
             R"({"reason": "changed my mind"})", "cancel-" + order,
             [this](const core::HttpResponse&) { ++result_.stats.cancels_acknowledged; });
      });
    }
  }

  void post(const std::string& server, const std::string& target, std::string body,
            const std::string& key, std::function<void(const core::HttpResponse&)> on_accepted) {
    core::HttpRequest request{core::HttpMethod::kPost,
                              target,
                              {{"Content-Type", "application/json"}, {"Idempotency-Key", key}},
                              std::move(body)};
    http_->call(
        server, std::move(request), call_options(),
        [this, key, on_accepted = std::move(on_accepted)](core::Result<core::HttpResponse> r) {
          if (!r) {
            ++result_.stats.client_gave_up;
            return;
          }
          if (r->status != 202) return;
          history_.acked_commands.emplace(key, world_.kernel().now());
          on_accepted(*r);
        });
  }

  void next_read(core::Timestamp load_end) {
    const double rate = s_.workload().reads_per_second();
    const auto gap = std::chrono::duration_cast<core::Duration>(
        std::chrono::duration<double>(workload_.exponential(1.0 / rate)));
    if (world_.kernel().now() + gap >= load_end) return;
    world_.kernel().after(gap, [this, load_end] {
      read_order();
      next_read(load_end);
    });
  }

  void read_order() {
    if (acked_.empty()) return;
    const std::string order = acked_[workload_.uniform(acked_.size())];
    const std::string server = any_of("query", s_.topology().query());
    http_->call(
        server, {core::HttpMethod::kGet, "/orders/" + order, {}, ""},
        {.timeout = 1s, .max_attempts = 1},
        [this, server, order](core::Result<core::HttpResponse> r) {
          if (!r || r->status != 200) return;
          const auto json = core::parse(r->body);
          const auto* version = json ? json->find("version") : nullptr;
          if (version == nullptr || !version->as_int()) return;
          ++result_.stats.reads;
          history_.reads.push_back({world_.kernel().now(), server, order, *version->as_int()});
        });
  }

  void note(std::string_view what, const v1::Fault& f) {
    world_.kernel().record("runner", core::Severity::kInfo, what,
                           {{"kind", v1::FaultKind_Name(f.kind())}, {"target", f.target()}});
  }

  void inject(const v1::Fault& f) {
    const core::Duration d = duration_of(f.duration());
    const auto later = [&](std::function<void()> undo) {
      if (d > core::Duration::zero()) {
        world_.kernel().after(d, [this, f, undo = std::move(undo)] {
          if (stopped_) return;
          note("fault_ended", f);
          undo();
        });
      }
    };
    Process* target = f.target().empty() ? nullptr : &world_.process(f.target());
    switch (f.kind()) {
      case v1::CRASH:
        if (!target->up()) return;
        world_.crash(f.target());
        later([target] { target->start(); });
        break;
      case v1::WIPE_DISK:
        if (!target->up()) return;
        world_.crash(f.target());
        world_.wipe_disk(f.target());
        later([target] { target->start(); });
        break;
      case v1::PAUSE:
        if (!target->up() || target->paused()) return;
        world_.pause(f.target());
        later([this, target] {
          if (target->paused()) world_.resume(target->name());
        });
        break;
      case v1::SKEW_CLOCK:
        world_.skew_clock(f.target(), duration_of(f.skew()));
        later([this, f] { world_.skew_clock(f.target(), core::Duration::zero()); });
        break;
      case v1::PARTITION:
        world_.partition(f.target(), f.peer());
        later([this, f] { world_.heal(f.target(), f.peer()); });
        break;
      case v1::ISOLATE:
        world_.isolate(f.target());
        later([this, f] {  // heals the isolated node's links only, not other partitions
          for (const auto& name : process_names(s_)) {
            if (name != f.target()) world_.heal(f.target(), name);
          }
          for (int b = 0; b < world_.cluster().broker_count(); ++b) {
            world_.heal(f.target(), "broker-" + std::to_string(b));
          }
        });
        break;
      case v1::DROP:
        world_.drop(f.target(), f.peer(), f.probability());
        later([this, f] { world_.drop(f.target(), f.peer(), 0); });
        break;
      case v1::DUPLICATE:
        world_.duplicate(f.target(), f.peer(), f.probability());
        later([this, f] { world_.duplicate(f.target(), f.peer(), 0); });
        break;
      case v1::CLOG: world_.clog(f.target(), f.peer(), d); break;
      case v1::LOSE_ACKS:
        world_.lose_acks(f.target(), f.probability());
        later([this, f] { world_.lose_acks(f.target(), 0); });
        break;
      case v1::BROKER_DOWN:
        if (!world_.cluster().broker_up(f.broker())) return;
        world_.broker_down(f.broker());
        later([this, f] {
          if (!world_.cluster().broker_up(f.broker())) world_.broker_up(f.broker());
        });
        break;
      case v1::MOVE_LEADER:
        if (world_.cluster().partition_count(f.topic()).value_or(0) <= f.partition()) return;
        world_.move_leader({f.topic(), core::Partition{f.partition()}});
        break;
      case v1::REBALANCE: world_.force_rebalance(f.group()); break;
      default: break;
    }
  }

  // The end of the load phase: every fault is lifted and stays lifted.
  void stop_faults() {
    stopped_ = true;
    world_.kernel().record("runner", core::Severity::kInfo, "faults_stopped", {});
    world_.heal_all();
    for (const auto& name : process_names(s_)) {
      world_.drop(name, name, 0);
      world_.lose_acks(name, 0);
      world_.skew_clock(name, core::Duration::zero());
      Process& p = world_.process(name);
      if (p.paused()) world_.resume(name);
      if (!p.up()) p.start();
    }
    for (const auto& f : result_.schedule) {
      if (f.kind() == v1::DROP) world_.drop(f.target(), f.peer(), 0);
      if (f.kind() == v1::DUPLICATE) world_.duplicate(f.target(), f.peer(), 0);
    }
    for (int b = 0; b < world_.cluster().broker_count(); ++b) {
      if (!world_.cluster().broker_up(b)) world_.broker_up(b);
    }
    hooks_ = std::make_unique<RunHooks>(s_, std::vector<v1::FaultPoint>{},
                                        world_.kernel().random().fork("no-faults"), result_.probes);
    hooks::install(hooks_.get());
  }

  void check() {
    auto& v = result_.violations;
    CheckSummary summary;
    const RecordedLogs logs = recorded_logs(world_.cluster());
    for (auto& x : check_event_sourcing(logs, history_, s_.mode() == v1::AT_LEAST_ONCE, summary))
      v.push_back(std::move(x));
    std::vector<QueryModels> models;
    for (int i = 1; i <= s_.topology().query(); ++i) {
      Process& q = world_.process("query-" + std::to_string(i));
      models.push_back({q.name(), [&q](const std::string& store, int p) -> const core::StateStore& {
                          return q.disk().store(store + "-" + std::to_string(p));
                        }});
    }
    for (auto& x : check_cqrs(logs, history_, models, s_.topology().partitions())) {
      v.push_back(std::move(x));
    }
    for (auto& x : check_liveness(logs)) v.push_back(std::move(x));
    for (auto& x : check_kafka_history(world_.cluster())) v.push_back(std::move(x));
    std::stable_sort(v.begin(), v.end(),
                     [](const Violation& a, const Violation& b) { return a.at < b.at; });
    result_.checks = invariant_names();
    if (options_.timeline && !v.empty()) timeline(v.front());
    result_.trace_hash = world_.kernel().trace().hash();
    result_.stats.trace_events = world_.kernel().trace().count();
    result_.stats.simulated = world_.kernel().now() - world_.kernel().start();
    result_.stats.delivered = summary.delivered;
    result_.stats.cancelled = summary.cancelled;
    result_.stats.not_terminal = summary.not_terminal;
  }

  // The trace events up to the first violation's evidence (or the run's last ones).
  void timeline(const Violation& first) {
    constexpr std::size_t kLines = 40;
    const auto& events = world_.kernel().trace().recent();
    auto end = events.end();
    if (first.at != core::Timestamp{}) {
      end = std::upper_bound(events.begin(), events.end(), first.at,
                             [](core::Timestamp t, const TraceEvent& e) { return t < e.time; });
    }
    auto begin = end - std::min<std::ptrdiff_t>(kLines, end - events.begin());
    for (auto it = begin; it != end; ++it) {
      result_.timeline.push_back(to_text(*it, world_.kernel().start()));
    }
  }

  const Scenario& s_;
  const RunOptions& options_;
  RunResult& result_;
  World world_;
  Prng workload_;
  std::unique_ptr<RunHooks> hooks_;
  std::ofstream trace_file_;
  Process* clients_ = nullptr;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<core::Producer> warehouse_;
  ClientHistory history_;
  std::vector<std::string> acked_;
  bool stopped_ = false;
};

}  // namespace

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  RunResult result;
  result.seed = options.seed;
  {
    Run run(scenario, options, result);
    run.execute();
  }
  return result;
}

Scenario with_schedule(const Scenario& scenario, const RunResult& result) {
  Scenario fixed = scenario;
  fixed.clear_swarm();
  fixed.clear_faults();
  fixed.clear_fault_points();
  for (const auto& f : result.schedule) *fixed.add_faults() = f;
  for (const auto& p : result.fault_points) *fixed.add_fault_points() = p;
  return fixed;
}

}  // namespace orderflow::sim
