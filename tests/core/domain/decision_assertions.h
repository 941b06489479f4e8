// GoogleTest assertions on decider outcomes, shared by the decider tests.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "core/domain/decision.h"

namespace orderflow::core {

inline std::string describe(const Rejection& rejection) {
  return std::string(to_string(rejection.code)) + ": " + rejection.reason;
}

// Passes when `decision` was refused with `code` and a reason that mentions `text`.
template <typename Event>
testing::AssertionResult refused(const Decision<Event>& decision, RejectionCode code,
                                 std::string_view text = {}) {
  if (decision) {
    return testing::AssertionFailure() << "accepted with " << decision->size() << " event(s)";
  }
  const Rejection& r = decision.error();
  if (r.code != code || r.reason.find(text) == std::string::npos) {
    return testing::AssertionFailure() << "refused with " << describe(r) << "; wanted "
                                       << to_string(code) << " mentioning '" << text << "'";
  }
  return testing::AssertionSuccess();
}

// Passes when `decision` was accepted with no events: its effect is already in the state.
template <typename Event>
testing::AssertionResult no_op(const Decision<Event>& decision) {
  if (!decision) return testing::AssertionFailure() << "refused: " << describe(decision.error());
  if (!decision->empty()) {
    return testing::AssertionFailure() << "emitted " << decision->size() << " event(s)";
  }
  return testing::AssertionSuccess();
}

// Passes when `decision` changes nothing: refused, or accepted with no events.
template <typename Event>
testing::AssertionResult changes_nothing(const Decision<Event>& decision) {
  if (!decision || decision->empty()) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "emitted " << event_type(decision->front());
}

}  // namespace orderflow::core
