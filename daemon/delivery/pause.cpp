#include "delivery/pause.h"

#include <algorithm>

namespace followup::delivery {

DeliveryPause::DeliveryPause(std::chrono::seconds base, std::chrono::seconds cap)
    : base_(std::max(base, std::chrono::seconds{1})), cap_(std::max(cap, base_)) {}

bool DeliveryPause::Failed(Instant now, std::string reason) {
  const bool starts = !paused_;
  if (starts) {
    paused_ = true;
    since_ = now;
    failures_ = 0;
  }
  ++failures_;
  reason_ = std::move(reason);
  // base x 2^(failures - 1), without overflowing: doubling stops at the cap.
  std::chrono::seconds wait = base_;
  for (int i = 1; i < failures_ && wait < cap_; ++i) wait *= 2;
  next_try_ = now + std::min(wait, cap_);
  return starts;
}

bool DeliveryPause::Resumed() {
  const bool was = paused_;
  paused_ = false;
  failures_ = 0;
  reason_.clear();
  return was;
}

}  // namespace followup::delivery
