// Errors that cross a port boundary.
//
// Ports never throw: a failure is an `Error` value whose `kind` tells the caller
// what it may do next, following the Kafka client's classification.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace orderflow::core {

enum class ErrorKind {
  kRetriable,  // transient (leader moving, timeout, broker down): retry the same call
  kAbortable,  // the open transaction is doomed: abort it, then retry the work
  kFenced,     // a newer instance owns this producer id or group generation: close
               // the tasks, discard local uncommitted work, rejoin
  kFatal,      // a programming or configuration error: stop the instance
};

[[nodiscard]] std::string_view to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kFatal;
  std::string code;     // stable machine-readable name, e.g. "not_leader_for_partition"
  std::string message;  // for humans and logs

  friend bool operator==(const Error&, const Error&) = default;
};

template <typename T = void>
using Result = std::expected<T, Error>;

[[nodiscard]] inline std::unexpected<Error> make_error(ErrorKind kind, std::string code,
                                                       std::string message) {
  return std::unexpected(Error{kind, std::move(code), std::move(message)});
}

}  // namespace orderflow::core
