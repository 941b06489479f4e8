// `Trace`: what happened in a simulated run, as named events with typed fields.
//
// Every event is stamped with simulated time and the process it happened in, and
// folded into a running 64-bit hash: two runs of one seed on one build have the
// same hash, and the first event whose hash differs is where they diverged. The
// trace keeps the per-event hashes (cheap) and the most recent events in full for
// timelines; a sink can stream every event as JSON lines.
//
// Threading: the simulator's one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/ports/log.h"
#include "core/time.h"

namespace orderflow::sim {

struct TraceField {
  std::string name;
  std::variant<std::int64_t, double, bool, std::string> value;
};

struct TraceEvent {
  std::uint64_t index = 0;
  core::Timestamp time;
  std::string process;
  core::Severity severity = core::Severity::kInfo;
  std::string name;
  std::vector<TraceField> fields;
};

// One line of text: `+12.345678s process name field=value ...`.
[[nodiscard]] std::string to_text(const TraceEvent& event, core::Timestamp start);
// One JSON object, no trailing newline.
[[nodiscard]] std::string to_json(const TraceEvent& event);

class Trace {
 public:
  using Sink = std::function<void(const TraceEvent&)>;

  explicit Trace(std::size_t keep_recent = 256) : keep_recent_(keep_recent) {}

  void record(core::Timestamp time, std::string_view process, core::Severity severity,
              std::string_view name, std::span<const core::Field> fields);
  void record(core::Timestamp time, std::string_view process, core::Severity severity,
              std::string_view name, core::Fields fields) {
    record(time, process, severity, name,
           std::span<const core::Field>(fields.begin(), fields.size()));
  }

  [[nodiscard]] std::uint64_t hash() const { return hash_; }
  [[nodiscard]] std::uint64_t count() const { return event_hashes_.size(); }
  [[nodiscard]] const std::vector<std::uint64_t>& event_hashes() const { return event_hashes_; }
  [[nodiscard]] const std::deque<TraceEvent>& recent() const { return recent_; }

  // Called with every event from now on (for `--trace FILE.jsonl`).
  void set_sink(Sink sink) { sink_ = std::move(sink); }
  // Keep every event in full from now on instead of only the recent ones.
  void keep_all() { keep_recent_ = SIZE_MAX; }

 private:
  std::size_t keep_recent_;
  std::uint64_t hash_ = 0x84222325cbf29ce4ULL;
  std::vector<std::uint64_t> event_hashes_;
  std::deque<TraceEvent> recent_;
  Sink sink_;
};

}  // namespace orderflow::sim
