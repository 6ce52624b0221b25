// Delivery paused by the sender's failure (SendResult::sender_failure): the pure state behind it.
// A drain that ends on such a failure pauses delivery; the next try is after a back-off that
// starts at `base` (delivery.retry_base) and doubles with every failed try up to `cap` (an hour);
// the first drain that goes through ends the pause. The times are the caller's (its Clock), so the
// back-off is tested in seconds without waiting. Not thread-safe: the delivery thread's.
#pragma once

#include <chrono>
#include <string>

#include "base/time.h"

namespace followup::delivery {

class DeliveryPause {
 public:
  static constexpr std::chrono::seconds kCap{3600};
  explicit DeliveryPause(std::chrono::seconds base = std::chrono::seconds{60},
                         std::chrono::seconds cap = kCap);

  // Whether delivery may be tried at `now`: not paused, or the pause's next try is due.
  bool MayTry(Instant now) const { return !paused_ || now >= next_try_; }

  // A try at `now` ended on the sender's failure `reason`: paused, the next try after the back-off
  // (base, 2 x base, 4 x base ... up to cap). True when this starts the pause (to tell once).
  bool Failed(Instant now, std::string reason);

  // A try went through: the pause ends. True when there was one (to tell once).
  bool Resumed();

  bool paused() const { return paused_; }
  const std::string& reason() const { return reason_; }  // the last failure's words
  Instant since() const { return since_; }               // when the pause began
  Instant next_try() const { return next_try_; }
  int failures() const { return failures_; }  // failed tries in this pause

 private:
  std::chrono::seconds base_, cap_;
  bool paused_ = false;
  std::string reason_;
  Instant since_{}, next_try_{};
  int failures_ = 0;
};

}  // namespace followup::delivery
