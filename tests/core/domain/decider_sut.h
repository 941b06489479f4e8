// The system under test of the decider model tests: a decider's state, every
// event it emitted and the clock that decisions are made at.
#pragma once

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "core/domain/decision.h"
#include "core/time.h"

namespace orderflow::core {

inline constexpr Timestamp kModelStart = from_unix_millis(1'700'000'000'000);

template <Decider D>
struct DeciderSut {
  bool compare_with_model = true;
  typename D::State state = D::initial();
  std::vector<typename D::Event> log;
  Timestamp now = kModelStart;

  Decision<typename D::Event> decide(const typename D::Command& command, Duration advance) {
    now += advance;
    auto decision = D::decide(state, command, now);
    if (!decision) return decision;
    for (const auto& event : *decision) {
      state = D::evolve(state, event);
      log.push_back(event);
    }
    return decision;
  }
};

// How a model predicts a decision: "rejected: <code>", "no events" or "N event(s)".
template <typename Event>
std::string verdict(const Decision<Event>& decision) {
  if (!decision) return "rejected: " + std::string(to_string(decision.error().code));
  if (decision->empty()) return "no events";
  return std::to_string(decision->size()) + (decision->size() == 1 ? " event" : " events");
}

// True when the log holds an event of type `Wanted`.
template <typename Wanted, typename Event>
bool logged(const std::vector<Event>& log) {
  return std::ranges::any_of(log, [](const Event& e) { return std::holds_alternative<Wanted>(e); });
}

}  // namespace orderflow::core
