// `EventLoop`: runs a process's `Executor` on the calling thread until stopped.
//
// `main` makes one loop, builds the services and adapters on `executor()`, asks
// for SIGINT/SIGTERM with `handle_signals`, and calls `run`. A graceful shutdown
// is the signal callback starting it (`HttpServer::shutdown`, closing consumers)
// and calling `stop` once it completes:
//
//   EventLoop loop;
//   AsioScheduler scheduler(loop.executor());
//   HttpServer server(loop.executor(), api, options);
//   loop.handle_signals([&](int) { server.shutdown([&] { loop.stop(); }); });
//   loop.run();
//
// `run` keeps going while it has nothing to do: only `stop` ends it. Tasks still
// queued then are destroyed, without running, with the loop. A task that throws
// ends `run` with its exception: ports never throw, so that is a bug.
//
// Ownership: owns the `Executor`; destroy everything built on it first.
// Threading: `run` is called once, from one thread, which then runs every task.
// `stop` may be called from any thread, also before `run` (which then returns at
// once). `handle_signals` is called before `run` or on the loop thread.
#pragma once

#include <functional>
#include <memory>

#include "adapters/asio/executor.h"

namespace orderflow::adapters::asio {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  [[nodiscard]] Executor& executor() { return executor_; }

  // From now until the loop is destroyed, each SIGINT or SIGTERM the process
  // receives calls `on_signal` with its number, on the loop thread, instead of
  // ending the process. A later call replaces the callback.
  void handle_signals(std::function<void(int signal)> on_signal);

  void run();
  void stop();

 private:
  struct Signals;

  Executor executor_;
  std::unique_ptr<Signals> signals_;
};

}  // namespace orderflow::adapters::asio
