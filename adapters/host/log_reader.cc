#include "adapters/host/log_reader.h"

#include <iostream>
#include <memory>
#include <optional>

#include "adapters/asio/clock.h"
#include "adapters/asio/event_loop.h"
#include "adapters/asio/scheduler.h"
#include "adapters/kafka/kafka_broker.h"
#include "adapters/observability/json_line_log.h"

namespace orderflow::adapters::host {
namespace {

using namespace std::chrono_literals;

// Reads on the loop thread; `finish` stops the loop once.
class Reader final : public core::ConsumerHandler {
 public:
  Reader(core::Broker& broker, core::Scheduler& scheduler, asio::EventLoop& loop,
         const LogReadOptions& options)
      : broker_(broker), scheduler_(scheduler), loop_(loop), options_(options) {}

  void start() {
    scheduler_.schedule_after(options_.timeout, [this] {
      finish(core::make_error(core::ErrorKind::kRetriable, "read_timed_out",
                              "the logs were not read to their high watermarks in time"));
    });
    count_partitions(0);
  }

  [[nodiscard]] core::Result<TopicLogs> take_result() { return std::move(*result_); }

  void on_assigned(const std::vector<core::TopicPartition>&) override {}
  void on_revoked(const std::vector<core::TopicPartition>&) override {}
  void on_lost(const std::vector<core::TopicPartition>&) override {}
  void on_records(const std::vector<core::ConsumerRecord>& records) override {
    for (const auto& r : records) logs_[r.tp.topic].push_back(r);
    check_done();
  }
  void on_error(const core::Error& error) override {
    if (error.kind == core::ErrorKind::kFatal) finish(std::unexpected(error));
  }

 private:
  void count_partitions(std::size_t topic) {
    if (topic == options_.topics.size()) return assign();
    const std::string& name = options_.topics[topic];
    broker_.partition_count(name, [this, topic, name](core::Result<int> n) {
      if (!n) return finish(std::unexpected(n.error()));
      for (int p = 0; p < *n; ++p) partitions_.push_back({name, core::Partition{p}});
      count_partitions(topic + 1);
    });
  }

  void assign() {
    consumer_ = broker_.make_consumer({.group_id = "",
                                       .client_id = "orderflow-log-reader",
                                       .isolation = core::IsolationLevel::kReadCommitted},
                                      *this);
    std::vector<core::TopicPartitionOffset> from_start;
    for (const auto& tp : partitions_) from_start.push_back({tp, core::Offset{0}});
    consumer_->assign(from_start);
    for (const auto& tp : partitions_) {
      consumer_->watermarks(tp, [this, tp](core::Result<core::Watermarks> w) {
        if (!w) return finish(std::unexpected(w.error()));
        highs_[tp] = w->high;
        check_done();
      });
    }
    poll_positions();
  }

  // Positions also move past transaction markers, which deliver no record.
  void poll_positions() {
    scheduler_.schedule_after(100ms, [this] {
      if (result_) return;
      check_done();
      poll_positions();
    });
  }

  void check_done() {
    if (result_ || highs_.size() < partitions_.size()) return;
    for (const auto& [tp, high] : highs_) {
      if (high.value() == 0) continue;
      const auto position = consumer_->position(tp);
      if (!position || *position < high) return;
    }
    TopicLogs logs;
    for (auto& [topic, records] : logs_) {
      for (auto& r : records) {
        if (r.offset < highs_.at(r.tp)) logs[topic].push_back(std::move(r));
      }
    }
    for (const auto& topic : options_.topics) logs[topic];
    finish(std::move(logs));
  }

  void finish(core::Result<TopicLogs> result) {
    if (result_) return;
    result_ = std::move(result);
    loop_.stop();
  }

  core::Broker& broker_;
  core::Scheduler& scheduler_;
  asio::EventLoop& loop_;
  const LogReadOptions& options_;
  std::vector<core::TopicPartition> partitions_;
  std::map<core::TopicPartition, core::Offset> highs_;
  TopicLogs logs_;
  std::unique_ptr<core::Consumer> consumer_;
  std::optional<core::Result<TopicLogs>> result_;
};

}  // namespace

core::Result<TopicLogs> read_committed_logs(const LogReadOptions& options) {
  asio::EventLoop loop;
  asio::SystemClock clock;
  observability::JsonLineLog log(std::cerr, clock, core::Severity::kError);
  auto scheduler = std::make_unique<asio::AsioScheduler>(loop.executor());
  auto broker = std::make_unique<kafka::KafkaBroker>(
      kafka::KafkaBrokerConfig{.bootstrap_servers = options.bootstrap_servers,
                               .properties = options.properties,
                               .executor = scheduler.get(),
                               .log = &log,
                               .client_id = "orderflow-log-reader-admin"});
  auto reader = std::make_unique<Reader>(*broker, *scheduler, loop, options);
  scheduler->post([&reader] { reader->start(); });
  loop.run();
  auto result = reader->take_result();
  reader.reset();
  broker.reset();
  scheduler.reset();
  return result;
}

}  // namespace orderflow::adapters::host
