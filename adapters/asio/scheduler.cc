#include "adapters/asio/scheduler.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "adapters/asio/native.h"
#include "core/check.h"

namespace orderflow::adapters::asio {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Far enough to mean "never", near enough that adding it to the steady clock
// cannot overflow.
constexpr auto kMaxDelay = std::chrono::hours(24 * 365 * 100);

}  // namespace

// The timer queue. Shared with the Asio wait handler through a weak pointer, so
// that a wake-up arriving after the scheduler is gone does nothing.
class AsioScheduler::Timers : public std::enable_shared_from_this<Timers> {
 public:
  explicit Timers(boost::asio::io_context& io_context) : timer_(io_context) {}

  core::TimerId add(core::Duration delay, core::Task task) {
    const auto clamped = std::clamp<core::Duration>(delay, core::Duration::zero(), kMaxDelay);
    const Key key{SteadyClock::now() + clamped, next_id_++};
    const auto it = queue_.emplace(key, std::move(task)).first;
    deadlines_.emplace(key.second, key.first);
    if (it == queue_.begin()) arm();
    return core::TimerId{key.second};
  }

  bool remove(core::TimerId timer) {
    const auto found = deadlines_.find(timer.value);
    if (found == deadlines_.end()) return false;
    const auto node = queue_.extract(Key{found->second, timer.value});
    deadlines_.erase(found);
    // `node` owns the task until here: its destructor may re-enter the scheduler.
    return true;
  }

  // The owning scheduler is gone: run nothing more.
  void close() {
    closed_ = true;
    timer_.cancel();
  }

 private:
  using Key = std::pair<SteadyClock::time_point, std::uint64_t>;

  void arm() {
    if (queue_.empty()) {
      timer_.cancel();
      return;
    }
    // Re-arming aborts the previous wait; only a wait that expired runs `fire`.
    timer_.expires_at(queue_.begin()->first.first);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (auto self = weak.lock()) self->fire();
    });
  }

  // Runs the timers that are due, in queue order. A timer scheduled by one of them
  // waits for the next wake-up, so a task re-scheduling itself with no delay
  // cannot starve posted tasks.
  void fire() {
    const auto self = shared_from_this();  // a task may destroy the scheduler
    const auto now = SteadyClock::now();
    const std::uint64_t first_new = next_id_;
    while (!closed_ && !queue_.empty()) {
      auto node = queue_.begin();
      const auto [deadline, id] = node->first;
      if (deadline > now || id >= first_new) break;
      core::Task task = std::move(node->second);
      queue_.erase(node);
      deadlines_.erase(id);
      task();
    }
    if (!closed_) arm();
  }

  boost::asio::steady_timer timer_;
  std::map<Key, core::Task> queue_;
  std::unordered_map<std::uint64_t, SteadyClock::time_point> deadlines_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

AsioScheduler::AsioScheduler(Executor& executor)
    : executor_(executor), timers_(std::make_shared<Timers>(executor.native().io_context)) {}

AsioScheduler::~AsioScheduler() { timers_->close(); }

void AsioScheduler::post(core::Task task) {
  OF_CHECK(task != nullptr, "AsioScheduler::post needs a task");
  boost::asio::post(executor_.native().io_context, std::move(task));
}

core::TimerId AsioScheduler::schedule_after(core::Duration delay, core::Task task) {
  OF_CHECK(task != nullptr, "AsioScheduler::schedule_after needs a task");
  return timers_->add(delay, std::move(task));
}

bool AsioScheduler::cancel(core::TimerId timer) { return timers_->remove(timer); }

}  // namespace orderflow::adapters::asio
