#include "delivery/rate_limit.h"

#include <algorithm>
#include <thread>

#include "base/ascii.h"

namespace followup::delivery {
namespace {

RateLimiter::Clock::duration IntervalFor(double rate) {
  if (!(rate > 0)) return RateLimiter::Clock::duration::zero();
  auto interval = std::chrono::duration_cast<RateLimiter::Clock::duration>(
      std::chrono::duration<double>(1.0 / rate));
  return std::max(interval, RateLimiter::Clock::duration(1));
}

}  // namespace

RateLimiter::RateLimiter(double per_second, double per_domain)
    : interval_(IntervalFor(per_second)), domain_interval_(IntervalFor(per_domain)) {}

RateLimiter::Clock::duration RateLimiter::TryAcquire(std::string_view domain,
                                                     Clock::time_point now) {
  Clock::duration wait = Clock::duration::zero();
  if (interval_ > Clock::duration::zero() && next_ > now) wait = next_ - now;

  Clock::time_point* domain_next = nullptr;
  if (domain_interval_ > Clock::duration::zero()) {
    const std::string key = AsciiLower(domain);
    if (domain_next_.size() > 4096) {  // forget domains whose bucket is full again
      std::erase_if(domain_next_, [&](const auto& entry) { return entry.second <= now; });
    }
    domain_next = &domain_next_[key];
    if (*domain_next > now) wait = std::max(wait, *domain_next - now);
  }
  if (wait > Clock::duration::zero()) return wait;

  if (interval_ > Clock::duration::zero()) next_ = std::max(next_, now) + interval_;
  if (domain_next) *domain_next = std::max(*domain_next, now) + domain_interval_;
  return Clock::duration::zero();
}

void RateLimiter::Acquire(std::string_view domain) {
  while (true) {
    Clock::duration wait = TryAcquire(domain, Clock::now());
    if (wait == Clock::duration::zero()) return;
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace followup::delivery
