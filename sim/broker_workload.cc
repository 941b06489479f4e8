#include "sim/broker_workload.h"

#include <memory>
#include <string>
#include <vector>

#include "sim/world.h"

namespace orderflow::sim {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTopic = "workload";

struct Counters {
  std::uint64_t acked = 0;
  std::uint64_t delivered = 0;
};

// A producer application: sends keyed records at exponential intervals; the
// transactional one groups them into transactions, a tenth of which abort.
class ProducerApp {
 public:
  ProducerApp(Process& process, core::Broker& broker, bool transactional,
              const BrokerWorkloadOptions& options, Counters& counters)
      : process_(process), options_(options), counters_(counters), transactional_(transactional) {
    core::ProducerOptions po{.client_id = process.name()};
    if (transactional) po.transactional_id = process.name();
    producer_ = broker.make_producer(po);
    if (!transactional_) {
      tick();
      return;
    }
    producer_->init_transactions([this](core::Result<> r) {
      if (r) return begin();
      process_.log().event(core::Severity::kWarn, "init_failed", {{"code", r.error().code}});
    });
  }

 private:
  void tick() {
    const double mean_us = 1e6 / options_.records_per_second;
    const auto delay =
        core::Duration{static_cast<std::int64_t>(process_.random().exponential(mean_us))};
    process_.scheduler().schedule_after(delay, [this] {
      send_some();
      tick();
    });
  }

  void send_some() {
    for (int i = 0; i < options_.records_per_send; ++i) {
      const std::string key = "k" + std::to_string(process_.random().uniform(64));
      producer_->send({kTopic, key, process_.name() + "-" + std::to_string(sent_++), {}, {}},
                      [this](core::Result<core::RecordMetadata> r) {
                        if (r) ++counters_.acked;
                      });
    }
  }

  void begin() {
    if (!producer_->begin_transaction()) return;
    const int sends = 1 + static_cast<int>(process_.random().uniform(5));
    for (int i = 0; i < sends; ++i) send_some();
    const bool commit = !process_.random().bernoulli(0.1);
    auto done = [this, commit](core::Result<> r) {
      process_.log().event(r ? core::Severity::kDebug : core::Severity::kWarn, "txn_done",
                           {{"commit", commit}, {"ok", r.has_value()}});
      if (!r && r.error().kind == core::ErrorKind::kFenced) return;
      if (!r) {
        producer_->abort_transaction([this](core::Result<>) { pause_then_begin(); });
        return;
      }
      pause_then_begin();
    };
    if (commit) {
      producer_->commit_transaction(done);
    } else {
      producer_->abort_transaction(done);
    }
  }

  void pause_then_begin() {
    const double mean_us = 1e6 / options_.records_per_second;
    const auto delay =
        core::Duration{static_cast<std::int64_t>(process_.random().exponential(mean_us))};
    process_.scheduler().schedule_after(delay, [this] { begin(); });
  }

  Process& process_;
  const BrokerWorkloadOptions& options_;
  Counters& counters_;
  bool transactional_;
  std::unique_ptr<core::Producer> producer_;
  std::uint64_t sent_ = 0;
};

// A consumer application: counts what it is given and commits every second.
class ConsumerApp final : public core::ConsumerHandler {
 public:
  ConsumerApp(Process& process, core::Broker& broker, Counters& counters)
      : process_(process), counters_(counters) {
    core::ConsumerOptions co{.group_id = "workload", .client_id = process.name()};
    co.session_timeout = 6s;
    co.heartbeat_interval = 1s;
    consumer_ = broker.make_consumer(co, *this);
    consumer_->subscribe({kTopic});
    commit_later();
  }

  void on_assigned(const std::vector<core::TopicPartition>& partitions) override {
    process_.log().event(core::Severity::kInfo, "assigned",
                         {{"partitions", static_cast<std::int64_t>(partitions.size())}});
  }
  void on_revoked(const std::vector<core::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) next_.erase(tp);
  }
  void on_lost(const std::vector<core::TopicPartition>& partitions) override {
    process_.log().event(core::Severity::kWarn, "lost",
                         {{"partitions", static_cast<std::int64_t>(partitions.size())}});
    for (const auto& tp : partitions) next_.erase(tp);
  }
  void on_records(const std::vector<core::ConsumerRecord>& records) override {
    counters_.delivered += records.size();
    // Only each partition's last record matters for the next commit.
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (i + 1 == records.size() || records[i + 1].tp != records[i].tp) {
        next_[records[i].tp] = records[i].offset.next();
      }
    }
  }
  void on_error(const core::Error& error) override {
    process_.log().event(core::Severity::kWarn, "consumer_error", {{"code", error.code}});
  }

 private:
  void commit_later() {
    process_.scheduler().schedule_after(1s, [this] {
      std::vector<core::TopicPartitionOffset> offsets;
      for (const auto& [tp, offset] : next_) offsets.push_back({tp, offset});
      if (!offsets.empty()) consumer_->commit(offsets, [](core::Result<>) {});
      commit_later();
    });
  }

  Process& process_;
  Counters& counters_;
  std::unique_ptr<core::Consumer> consumer_;
  std::map<core::TopicPartition, core::Offset> next_;
};

void schedule_faults(World& world, const BrokerWorkloadOptions& options) {
  Prng random = world.kernel().random().fork("faults");
  const auto span = options.duration.count();
  auto at = [&](double fraction) {
    return world.kernel().start() + core::Duration{static_cast<std::int64_t>(span * fraction)};
  };
  Kernel& k = world.kernel();
  const double lose_at = 0.1 + 0.2 * random.unit();
  k.at(at(lose_at), [&world] { world.lose_acks("producer-idem", 0.2); });
  k.at(at(lose_at + 0.1), [&world] { world.lose_acks("producer-idem", 0); });
  const auto moved = core::Partition{static_cast<std::int32_t>(random.uniform(options.partitions))};
  k.at(at(0.2 + 0.3 * random.unit()), [&world, moved] { world.move_leader({kTopic, moved}); });
  const double pause_at = 0.3 + 0.2 * random.unit();
  k.at(at(pause_at), [&world] { world.pause("consumer-1"); });
  k.at(at(pause_at) + 8s, [&world] { world.resume("consumer-1"); });
  k.at(at(0.5 + 0.3 * random.unit()), [&world] { world.force_rebalance("workload"); });
  const double crash_at = 0.4 + 0.3 * random.unit();
  k.at(at(crash_at), [&world] { world.crash("producer-txn"); });
  k.at(at(crash_at) + 2s, [&world] { world.process("producer-txn").start(); });
}

}  // namespace

BrokerWorkloadResult run_broker_workload(const BrokerWorkloadOptions& options) {
  World world({.seed = options.seed, .cluster = {.brokers = 3}});
  if (options.trace_sink) world.kernel().trace().set_sink(options.trace_sink);
  world.cluster().create_topic({kTopic, options.partitions, 3, false});
  Counters counters;

  auto producer = [&](const std::string& name, bool transactional) {
    Process& p = world.add_process(name);
    p.set_boot([&world, &options, &counters, transactional](Process& self) {
      return std::make_shared<ProducerApp>(self, world.broker(self), transactional, options,
                                           counters);
    });
    p.start();
  };
  auto consumer = [&](const std::string& name) {
    Process& p = world.add_process(name);
    p.set_boot([&world, &counters](Process& self) {
      return std::make_shared<ConsumerApp>(self, world.broker(self), counters);
    });
    p.start();
  };
  producer("producer-idem", false);
  producer("producer-txn", true);
  consumer("consumer-1");
  consumer("consumer-2");
  if (options.faults) schedule_faults(world, options);

  world.kernel().run_until(world.kernel().start() + options.duration);
  return {world.kernel().trace().hash(), world.kernel().trace().count(),
          world.kernel().events_run(), counters.acked, counters.delivered};
}

}  // namespace orderflow::sim
