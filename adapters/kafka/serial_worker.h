// `SerialWorker`: one thread that runs blocking librdkafka calls in submission order.
//
// librdkafka's transactional API, offset queries, commits and admin requests block
// the calling thread; a port user's executor must not block, so clients hand those
// calls to a worker and post the outcome back to the executor.
//
// Ownership: owned by the client that submits to it. Destroying it (or `stop`)
// waits for the job that is running, if any, and drops the jobs not yet started.
// Threading: `submit` and `stop` may be called from any thread; the thread starts
// on the first `submit`.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace orderflow::adapters::kafka {

class SerialWorker {
 public:
  SerialWorker() = default;
  ~SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  void submit(std::function<void()> job);
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace orderflow::adapters::kafka
