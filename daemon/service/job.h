// The job coalescer (docs/architecture.md, the rooms of the service): a piece of work that runs on
// a strand one at a time. A request while it runs makes it run once more afterwards (work that
// arrives during a run is never left waiting for the next timer); requests while it waits to run
// are one run. Nothing runs once `stopping` is set.
//
// Thread safety: Request from any thread; the work runs on the strand.
#pragma once

#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <mutex>

namespace followup::service {

using Strand = boost::asio::strand<boost::asio::thread_pool::executor_type>;

class Job {
 public:
  // Borrows `strand` and `stopping`. `after` runs after every run of `fn`, even when stopping (a
  // heartbeat, say).
  Job(Strand& strand, const std::atomic<bool>& stopping, std::function<void()> fn,
      std::function<void()> after = {});

  void Request();

 private:
  void Run();

  Strand& strand_;
  const std::atomic<bool>& stopping_;
  const std::function<void()> fn_, after_;
  std::mutex mutex_;
  bool running_ = false, again_ = false;
};

}  // namespace followup::service
