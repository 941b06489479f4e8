// `Kernel`: the simulator's clock, event queue, random source and trace.
//
// Simulated time stands still while an event runs and jumps to the next event's
// time between events. Events run in (time, sequence) order, the sequence being
// the order in which they were scheduled, so a run is a pure function of its seed.
//
//   Kernel k(seed);
//   k.after(std::chrono::milliseconds{5}, [&] { ... });
//   k.run_until(k.now() + std::chrono::seconds{10});
//
// Threading: one thread; events must not block. Events may schedule and cancel
// other events, including ones at the current time (they run after the current
// event, in scheduling order).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/time.h"
#include "sim/prng.h"
#include "sim/trace.h"

namespace orderflow::sim {

// The simulated epoch: every run starts at 2027-01-01T00:00:00Z.
inline constexpr core::Timestamp kSimEpoch{std::chrono::seconds{1'798'761'600}};

struct EventHandle {
  std::uint64_t seq = 0;
  friend auto operator<=>(EventHandle, EventHandle) = default;
};

class Kernel {
 public:
  using Action = std::function<void()>;

  explicit Kernel(std::uint64_t seed);

  [[nodiscard]] core::Timestamp now() const { return now_; }
  [[nodiscard]] core::Timestamp start() const { return kSimEpoch; }
  [[nodiscard]] std::uint64_t seed() const { return seed_; }

  EventHandle at(core::Timestamp when, Action action);
  EventHandle after(core::Duration delay, Action action) {
    return at(now_ + delay, std::move(action));
  }
  // True when the event had not run or been cancelled yet.
  bool cancel(EventHandle handle);

  // Runs the next event; false when none is left.
  bool step();
  // Runs every event up to and including `deadline`, then sets the clock to it.
  void run_until(core::Timestamp deadline);
  // Runs events until `done()` holds (checked after each event) or `deadline`
  // passes; returns whether `done()` held.
  bool run_until(const std::function<bool()>& done, core::Timestamp deadline);

  [[nodiscard]] std::size_t pending() const { return queue_.size() - cancelled_in_queue_; }
  [[nodiscard]] std::uint64_t events_run() const { return events_run_; }

  // The run's root random stream; subsystems fork their own from it.
  [[nodiscard]] Prng& random() { return random_; }
  [[nodiscard]] Trace& trace() { return trace_; }

  // Records a trace event at the current time.
  void record(std::string_view process, core::Severity severity, std::string_view name,
              core::Fields fields) {
    trace_.record(now_, process, severity, name, fields);
  }

 private:
  // The heap holds small plain entries; the actions wait in `actions_`, so heap
  // moves copy 24 bytes instead of moving closures.
  struct Entry {
    core::Timestamp when;
    std::uint64_t seq;
    std::uint32_t slot;
  };
  // Min-heap on (when, seq).
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.when != b.when ? a.when > b.when : a.seq > b.seq;
    }
  };

  // The earliest entry that was not cancelled, dropping cancelled ones on the way.
  const Entry* next_live();

  std::uint64_t seed_;
  core::Timestamp now_ = kSimEpoch;
  std::uint64_t next_seq_ = 1;
  std::uint64_t events_run_ = 0;
  std::vector<Entry> queue_;
  std::vector<Action> actions_;  // by slot
  std::vector<std::uint32_t> free_slots_;
  // finished_[seq]: the event ran or was cancelled. One bit per event ever
  // scheduled, cheaper than any set on the hot path.
  std::vector<bool> finished_{false};
  std::size_t cancelled_in_queue_ = 0;
  Prng random_;
  Trace trace_;
};

}  // namespace orderflow::sim
