#include "service/job.h"

#include <boost/asio/post.hpp>

namespace followup::service {

Job::Job(Strand& strand, const std::atomic<bool>& stopping, std::function<void()> fn,
         std::function<void()> after)
    : strand_(strand), stopping_(stopping), fn_(std::move(fn)), after_(std::move(after)) {}

void Job::Request() {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  if (running_) {
    again_ = true;
    return;
  }
  running_ = true;
  boost::asio::post(strand_, [this] { Run(); });
}

void Job::Run() {
  for (;;) {
    if (!stopping_) fn_();
    if (after_) after_();
    std::lock_guard lock(mutex_);
    if (!again_ || stopping_) {
      running_ = false;
      return;
    }
    again_ = false;
  }
}

}  // namespace followup::service
