// `Executor`: the one event loop that a process's services and adapters share.
//
// An opaque handle to a Boost.Asio `io_context`, so that the scheduler, the HTTP
// server and the Kafka adapter queue their work on the same thread without their
// public headers including Boost. Adapters that need the `io_context` itself
// include `adapters/asio/native.h` from their .cc files; nothing else should.
//
// Ownership: `EventLoop` owns the only `Executor` of a process; everything built
// on it (`AsioScheduler`, `HttpServer`) must be destroyed before the loop.
// Threading: the executor runs tasks on the one thread inside `EventLoop::run`.
#pragma once

#include <memory>

namespace orderflow::adapters::asio {

class Executor {
 public:
  // Defined in native.h.
  struct Native;

  Executor();
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // True on the thread that is running the loop, inside a task.
  [[nodiscard]] bool running_in_this_thread() const;

  [[nodiscard]] Native& native() { return *native_; }

 private:
  std::unique_ptr<Native> native_;
};

}  // namespace orderflow::adapters::asio
