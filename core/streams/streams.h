// `StreamsRuntime`: Kafka-Streams-style record processing on the ports.
//
// An application is one or more sub-topologies, each naming its source topics
// (co-partitioned), its state stores and a `Processor` factory. Sub-topologies
// connect through topics: one sends records keyed anew to a topic that another
// reads (a repartition). The runtime joins the consumer group named by the
// application id and runs one task per sub-topology and input partition number:
// the task's processor sees that partition's records in offset order, reads and
// writes its stores and sends output records. Every store has a changelog topic,
// `<application>-<store>-changelog`, partitioned like its sub-topology's input; a
// task's stores are restored from it before the task processes anything.
//
// Punctuation: `Processor::on_wall_clock` runs on every task every
// `wall_clock_punctuation` of scheduler time, and `on_stream_time` whenever a
// task's stream time (the largest record timestamp it has seen) crosses a
// multiple of `stream_time_punctuation` — how windows close.
//
// Exactly-once (the default): one transactional producer per instance
// (`transactional.id` = `<application>-<instance>`). Outputs, changelog records
// and the input offsets of one commit interval commit atomically; readers with
// `read_committed` see all of it or none. A commit that fails retriably (a timeout)
// is tried again a few times, then counts as failed. When a transaction fails the runtime
// aborts it, wipes the tasks' stores and restores them, and resumes from the
// committed input offsets; when its producer is fenced (its transaction timed out
// during a long pause, or a newer incarnation took its id) it drops its tasks,
// makes a new producer and starts them again from the changelogs and the
// committed offsets. At-least-once is a
// configuration, for comparison: outputs and changelogs are flushed before the
// input offsets are committed, so a crash replays and duplicates.
//
// Records the processor rejects as poison (undecodable, unknown type) go to
// `<topic>.dlq` with the reason, source topic, partition and offset in headers,
// within the same unit of work; processing goes on.
//
// Threading: everything runs on the instance's Scheduler. Ownership: the runtime
// owns its producer, consumers, tasks and processors; it borrows the broker,
// scheduler, clock, log and the stores of `StoreProvider`, which must outlive it.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ports/broker.h"
#include "core/ports/clock.h"
#include "core/ports/log.h"
#include "core/ports/metrics.h"
#include "core/ports/scheduler.h"
#include "core/ports/state_store.h"

namespace orderflow::core {

// What a processor sees of the runtime while it handles one record.
class TaskContext {
 public:
  virtual ~TaskContext() = default;
  [[nodiscard]] virtual Partition partition() const = 0;
  [[nodiscard]] virtual Timestamp now() const = 0;
  // The largest timestamp of the records this task has processed.
  [[nodiscard]] virtual Timestamp stream_time() const = 0;
  [[nodiscard]] virtual StateStore& store(const std::string& name) = 0;
  // Sends within the task's unit of work.
  virtual void send(ProducerRecord record) = 0;
  [[nodiscard]] virtual Log& log() = 0;
};

// Why a record cannot be processed; it goes to the dead-letter topic.
struct Poison {
  std::string reason;
};

class Processor {
 public:
  virtual ~Processor() = default;
  virtual std::expected<void, Poison> process(const ConsumerRecord& record,
                                              TaskContext& context) = 0;
  virtual void on_wall_clock(TaskContext& /*context*/) {}
  virtual void on_stream_time(TaskContext& /*context*/, Timestamp /*stream_time*/) {}
};

// Source topics (co-partitioned), stores and processor of one sub-topology.
struct SubTopology {
  std::vector<std::string> source_topics;
  std::vector<std::string> stores;  // names unique across the application
  std::function<std::unique_ptr<Processor>(Partition)> make_processor;
};

enum class Guarantee { kExactlyOnce, kAtLeastOnce };

struct StreamsConfig {
  std::string application_id;  // the consumer group; prefix of changelogs and txn ids
  std::string instance_id;     // unique per instance; stable across its restarts
  std::vector<SubTopology> topologies;
  Guarantee guarantee = Guarantee::kExactlyOnce;
  Duration commit_interval = std::chrono::milliseconds{100};
  Duration wall_clock_punctuation{0};   // zero: never
  Duration stream_time_punctuation{0};  // zero: never
  Duration session_timeout = std::chrono::seconds{10};
  Duration heartbeat_interval = std::chrono::seconds{3};
  Duration transaction_timeout = std::chrono::seconds{10};
  // Where a deployment exports commit latency and consumer lag; none in simulation.
  Metrics* metrics = nullptr;
  Duration lag_report_interval = std::chrono::seconds{5};
};

// The store `name` of the task for `partition`; owned by the environment (the
// simulated disk, RocksDB), so that it outlives crashes of the instance.
using StoreProvider = std::function<StateStore&(const std::string& name, Partition partition)>;

struct StreamsStats {
  std::uint64_t processed = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t commits = 0;
  std::uint64_t aborts = 0;
  std::uint64_t restored_records = 0;
};

class StreamsRuntime final : public ConsumerHandler {
 public:
  enum class State { kCreated, kRunning, kClosed };

  StreamsRuntime(Broker& broker, Scheduler& scheduler, Clock& clock, Log& log, StoreProvider stores,
                 StreamsConfig config);
  ~StreamsRuntime() override;

  // Creates the topics' changelogs if missing, initialises the producer and joins
  // the group.
  void start();
  // Commits what is done (or aborts), leaves the group and stops.
  void close(Completion done);

  [[nodiscard]] State state() const { return state_; }
  // True when partitions are assigned and every task has restored its stores.
  [[nodiscard]] bool ready() const;
  [[nodiscard]] const StreamsStats& stats() const { return stats_; }
  [[nodiscard]] std::string changelog_topic(const std::string& store) const {
    return config_.application_id + "-" + store + "-changelog";
  }

  // ConsumerHandler of the main consumer.
  void on_assigned(const std::vector<TopicPartition>& partitions) override;
  void on_revoked(const std::vector<TopicPartition>& partitions) override;
  void on_revoked_async(const std::vector<TopicPartition>& partitions,
                        std::function<void()> done) override;
  void on_lost(const std::vector<TopicPartition>& partitions) override;
  void on_records(const std::vector<ConsumerRecord>& records) override;
  void on_error(const Error& error) override;

 private:
  class Task;
  class RestoreHandler;
  struct TaskId {
    std::size_t topology = 0;
    Partition partition;
    friend auto operator<=>(const TaskId&, const TaskId&) = default;
  };

  [[nodiscard]] bool exactly_once() const { return config_.guarantee == Guarantee::kExactlyOnce; }
  [[nodiscard]] std::weak_ptr<int> token() const;
  [[nodiscard]] std::optional<std::size_t> topology_of(const std::string& topic) const;
  void create_changelogs(std::size_t topology, std::shared_ptr<std::vector<TopicSpec>> specs);
  bool retry_start(const Error& error, const char* event,
                   std::shared_ptr<std::vector<TopicSpec>> specs,
                   std::optional<std::size_t> topology = std::nullopt);
  void join();
  void create_producer();
  void init_producer();
  void create_task(TaskId id);
  void start_restore(Task& task);
  void fetch_restore_end(Task& task, const std::string& name,
                         std::shared_ptr<std::size_t> remaining);
  void check_restored(Task& task);
  void finish_restore(Task& task);
  void drop_restorer(Task& task);
  [[nodiscard]] Task* restoring(TaskId id, std::uint64_t restore);
  void schedule_processing();
  void process_some();
  bool ensure_transaction();
  void send_in_round(ProducerRecord record);
  void dead_letter(const ConsumerRecord& record, const Poison& poison);
  void schedule_wall_clock();
  void schedule_lag_report();
  void schedule_commit();
  void commit_inputs_early(const Task& task);
  void commit(std::function<void()> then);
  void run_commit_step(std::function<void(Completion)> step, Completion finish, int attempt);
  void finish_commit(const std::map<TaskId, std::map<std::string, Offset>>& changelog_ends);
  void fail_round(const Error& error);
  void run_after_commit();
  void reset_tasks();
  void reposition(const std::vector<TaskId>& ids);
  void fetch_positions(std::map<TaskId, std::uint64_t> waiting);
  [[nodiscard]] Task* positioning(TaskId id, std::uint64_t serial);

  Broker& broker_;
  Scheduler& scheduler_;
  Clock& clock_;
  Log& log_;
  StoreProvider stores_;
  StreamsConfig config_;
  State state_ = State::kCreated;
  StreamsStats stats_;

  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Consumer> consumer_;
  std::map<TaskId, std::unique_ptr<Task>> tasks_;

  bool producer_ready_ = false;
  bool in_transaction_ = false;
  bool committing_ = false;
  bool processing_posted_ = false;
  std::uint64_t round_ = 0;                          // the current unit of work
  std::uint64_t restores_ = 0;                       // restores started, to number them
  std::optional<Error> round_error_;                 // a send of this round failed
  std::vector<std::function<void()>> after_commit_;  // waiting for the commit in flight
  std::size_t round_pending_ = 0;                    // sends of this round without a report
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace orderflow::core
