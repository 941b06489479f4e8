// The outcome of a decider: the events a command produces, or why it was refused.
//
// Business outcomes are values, never exceptions. An accepted command may produce
// no events: that means its effect is already part of the state (a saga signal that
// was delivered twice, a second cancel), so retries and redeliveries are harmless.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.h"

namespace orderflow::core {

enum class RejectionCode {
  kInvalid,            // the command itself is malformed; `reason` names the field
  kNotFound,           // the aggregate does not exist yet
  kAlreadyExists,      // creation of an aggregate that exists with other contents
  kConflict,           // the command contradicts the aggregate's current state
  kInsufficientStock,  // a reservation larger than what is available
};

[[nodiscard]] std::string_view to_string(RejectionCode code);

struct Rejection {
  RejectionCode code;
  std::string reason;

  friend bool operator==(const Rejection&, const Rejection&) = default;
};

template <typename Event>
using Decision = std::expected<std::vector<Event>, Rejection>;

[[nodiscard]] inline std::unexpected<Rejection> reject(RejectionCode code, std::string reason) {
  return std::unexpected(Rejection{code, std::move(reason)});
}

// The rule shared by the forward lifecycles of Order and Shipment. `rank` is a
// status's position on the forward line (0 for "does not exist", negative for a
// terminal state off the line, such as cancelled). Returns true when the step to
// `target` is to be taken now, false when the aggregate is already at or past it,
// and a rejection when it does not exist, left the line, or is not there yet.
struct LifecyclePosition {
  int rank;
  std::string_view name;
};
[[nodiscard]] std::expected<bool, Rejection> forward_step(std::string_view aggregate,
                                                          LifecyclePosition current,
                                                          LifecyclePosition target);

// A decider type names its state, command and event types and provides
// `initial()`, `decide(state, command, now)` and `evolve(state, event)`.
template <typename D>
concept Decider = requires(const typename D::State& state, const typename D::Command& command,
                           const typename D::Event& event, Timestamp now) {
  { D::initial() } -> std::same_as<typename D::State>;
  { D::decide(state, command, now) } -> std::same_as<Decision<typename D::Event>>;
  { D::evolve(state, event) } -> std::same_as<typename D::State>;
};

// Replays `events` from the initial state: the state an event log describes.
template <Decider D, typename Range>
[[nodiscard]] typename D::State fold(const Range& events) {
  typename D::State state = D::initial();
  for (const auto& event : events) {
    state = D::evolve(std::move(state), event);
  }
  return state;
}

}  // namespace orderflow::core
