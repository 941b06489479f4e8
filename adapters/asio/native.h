// The Boost.Asio side of `Executor`, for the .cc files of the adapters only.
//
// Including this header pulls in Asio; keep it out of every other header so that
// services and tests that only use the ports compile without Boost.
#pragma once

#include <boost/asio/io_context.hpp>

#include "adapters/asio/executor.h"

namespace orderflow::adapters::asio {

struct Executor::Native {
  // The hint says one thread runs the loop, which lets Asio keep that thread's
  // own posts off the shared, locked queue; posting from other threads stays safe.
  boost::asio::io_context io_context{1};
};

}  // namespace orderflow::adapters::asio
