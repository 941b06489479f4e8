#include <csignal>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>

#include "adapters/asio/event_loop.h"
#include "adapters/asio/native.h"

namespace orderflow::adapters::asio {

Executor::Executor() : native_(std::make_unique<Native>()) {}

Executor::~Executor() = default;

bool Executor::running_in_this_thread() const {
  return native_->io_context.get_executor().running_in_this_thread();
}

struct EventLoop::Signals {
  explicit Signals(boost::asio::io_context& io_context) : set(io_context, SIGINT, SIGTERM) {}

  void wait() {
    set.async_wait([this](const boost::system::error_code& ec, int signal) {
      // Aborted only when the loop is being destroyed: `this` may be gone.
      if (ec) return;
      wait();
      on_signal(signal);
    });
  }

  boost::asio::signal_set set;
  std::function<void(int)> on_signal;
};

EventLoop::EventLoop() = default;

EventLoop::~EventLoop() = default;

void EventLoop::handle_signals(std::function<void(int signal)> on_signal) {
  if (signals_) {
    signals_->on_signal = std::move(on_signal);
    return;
  }
  signals_ = std::make_unique<Signals>(executor_.native().io_context);
  signals_->on_signal = std::move(on_signal);
  signals_->wait();
}

void EventLoop::run() {
  auto& io_context = executor_.native().io_context;
  // Without work, `io_context::run` would return as soon as the queue drained.
  auto keep_running = boost::asio::make_work_guard(io_context);
  io_context.run();
}

void EventLoop::stop() { executor_.native().io_context.stop(); }

}  // namespace orderflow::adapters::asio
