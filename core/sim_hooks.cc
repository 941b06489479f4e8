#include "core/sim_hooks.h"

#include <utility>

namespace orderflow::core::hooks {
namespace {

// Null in production. Per thread, so that parallel sweeps keep runs apart.
thread_local SimHooks* installed = nullptr;

constexpr std::array<std::pair<Canary, std::string_view>, kCanaryCount> kNames = {{
    {Canary::kCommitBeforeProduce, "commit-before-produce"},
    {Canary::kNoTransactions, "no-transactions"},
    {Canary::kProjectionWithoutVersionCheck, "projection-without-version-check"},
    {Canary::kSkipStoreRestore, "skip-store-restore"},
    {Canary::kNoCompensationOnCancel, "no-compensation-on-cancel"},
    {Canary::kNonIdempotentRetries, "non-idempotent-retries"},
    {Canary::kDispatchWithoutApproval, "dispatch-without-approval"},
}};

}  // namespace

std::string_view to_string(Canary canary) {
  for (const auto& [c, name] : kNames) {
    if (c == canary) return name;
  }
  return "unknown";
}

std::optional<Canary> canary_from_string(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

void install(SimHooks* hooks) { installed = hooks; }
void uninstall() { installed = nullptr; }

bool canary(Canary canary) { return installed != nullptr && installed->canary(canary); }
bool fault_point(std::string_view name) {
  return installed != nullptr && installed->fault_point(name);
}
void probe(std::string_view name) {
  if (installed != nullptr) installed->probe(name);
}

}  // namespace orderflow::core::hooks
