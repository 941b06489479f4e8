// Simulation hooks: canaries, fault points and coverage probes in service code.
//
// Production never installs hooks, so every query below answers "off" and every
// probe is a no-op there. The simulator installs a `SimHooks` for the duration of
// one run (on its own thread) to
//   - switch on a canary: a deliberate bug the checkers must catch;
//   - fire a fault point: a failure injected at a named place in the code;
//   - count probes: how often a rare path (fencing, restore, an abort) was taken,
//     so that a sweep can report paths it never reached.
//
//   if (hooks::canary(hooks::Canary::kSkipStoreRestore)) return finish_restore(task);
//   if (hooks::fault_point("streams.commit_fails")) return fail_commit(...);
//   hooks::probe("streams.instance_fenced");
//
// Every canary and probe is listed here, so that a sweep knows what it did not see.
// The fault points, and what firing one does:
//   streams.commit_fails          the last commit step reports a retriable timeout
//   streams.abort_before_commit   the open transaction aborts instead of committing
//   orders.produce_times_out      a command's delivery report says it timed out (it
//                                 was stored: the client gets 503 and retries)
// Threading: the installed hooks are per thread; one simulated run per thread.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace orderflow::core::hooks {

enum class Canary {
  kCommitBeforeProduce,            // input offsets committed before the outputs are sent
  kNoTransactions,                 // exactly-once runs as plain at-least-once
  kProjectionWithoutVersionCheck,  // read models apply redelivered events again
  kSkipStoreRestore,               // tasks start without replaying their changelogs
  kNoCompensationOnCancel,         // a cancel after reservation keeps the stock reserved
  kNonIdempotentRetries,           // the command producer retries without idempotence
  kDispatchWithoutApproval,        // shipping dispatches without the order's approval
};
inline constexpr int kCanaryCount = 7;

[[nodiscard]] std::string_view to_string(Canary canary);
[[nodiscard]] std::optional<Canary> canary_from_string(std::string_view name);

// The coverage probes: rare paths a sweep should reach.
inline constexpr std::array<std::string_view, 10> kProbes = {
    "streams.instance_fenced",          // a zombie's producer was fenced and replaced
    "streams.revoked_mid_transaction",  // partitions revoked with a transaction open
    "streams.lost_mid_transaction",     // partitions lost with a transaction open
    "streams.store_restored",           // a task replayed a non-empty changelog
    "streams.transaction_aborted",      // a transaction was aborted
    "streams.commit_retried",           // a commit failed retriably
    "streams.dead_lettered",            // a record went to a dead-letter topic
    "orders.cancel_refused",            // a cancel lost the race with dispatch
    "shipping.out_of_stock",            // a reservation found too little stock
    "orders.command_deduplicated",      // a retried or redelivered command was seen before
};

// The fault points the code has (see the list above).
inline constexpr std::array<std::string_view, 3> kFaultPoints = {
    "streams.commit_fails", "streams.abort_before_commit", "orders.produce_times_out"};

class SimHooks {
 public:
  virtual ~SimHooks() = default;
  [[nodiscard]] virtual bool canary(Canary canary) = 0;
  [[nodiscard]] virtual bool fault_point(std::string_view name) = 0;
  virtual void probe(std::string_view name) = 0;
};

// Installs `hooks` on this thread until `uninstall` (or another install).
void install(SimHooks* hooks);
void uninstall();

[[nodiscard]] bool canary(Canary canary);
[[nodiscard]] bool fault_point(std::string_view name);
void probe(std::string_view name);

}  // namespace orderflow::core::hooks
