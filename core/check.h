// Invariant checks that stay on in release builds.
//
// `OF_CHECK(cond, message)` aborts through `check_failed` with the condition, the
// message and the source location when `cond` is false. The simulator installs a
// handler that records the failure as a trace event and prints the replay command
// before aborting; production keeps the default, which writes to stderr.
#pragma once

#include <source_location>
#include <string_view>

namespace orderflow::core {

using CheckHandler = void (*)(std::string_view condition, std::string_view message,
                              const std::source_location& where);

// Installs `handler` for subsequent check failures and returns the previous one.
// The handler must not return; if it does, the process aborts anyway.
CheckHandler set_check_handler(CheckHandler handler);

[[noreturn]] void check_failed(std::string_view condition, std::string_view message,
                               const std::source_location& where = std::source_location::current());

}  // namespace orderflow::core

#define OF_CHECK(cond, message)                          \
  do {                                                   \
    if (!(cond)) [[unlikely]] {                          \
      ::orderflow::core::check_failed(#cond, (message)); \
    }                                                    \
  } while (false)
