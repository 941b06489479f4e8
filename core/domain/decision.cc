#include "core/domain/decision.h"

namespace orderflow::core {

std::string_view to_string(RejectionCode code) {
  switch (code) {
    case RejectionCode::kInvalid: return "invalid";
    case RejectionCode::kNotFound: return "not_found";
    case RejectionCode::kAlreadyExists: return "already_exists";
    case RejectionCode::kConflict: return "conflict";
    case RejectionCode::kInsufficientStock: return "insufficient_stock";
  }
  return "unknown";
}

std::expected<bool, Rejection> forward_step(std::string_view aggregate, LifecyclePosition current,
                                            LifecyclePosition target) {
  const std::string what(aggregate);
  if (current.rank == 0) return reject(RejectionCode::kNotFound, what + " does not exist");
  if (current.rank < 0) {
    return reject(RejectionCode::kConflict, what + " is " + std::string(current.name));
  }
  if (current.rank >= target.rank) return false;
  if (current.rank + 1 < target.rank) {
    return reject(RejectionCode::kConflict, what + " is " + std::string(current.name) +
                                                ", not ready to become " +
                                                std::string(target.name));
  }
  return true;
}

}  // namespace orderflow::core
