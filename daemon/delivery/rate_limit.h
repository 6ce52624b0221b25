// Delivery rates: a token bucket over the transport and one per recipient domain.
//
// Each bucket holds one token and refills at `rate` tokens per second (GCRA: the next send may
// start 1/rate after the previous one), so in any one-second window at most rate + 1 sends start.
// A send takes a token from the transport's bucket and from its domain's, or from neither.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>

namespace followup::delivery {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Messages per second over the transport and to one recipient domain; 0 (or less) = unlimited.
  RateLimiter(double per_second, double per_domain);

  // Takes a token for a message to `domain` (case-insensitive) if both buckets have one and
  // returns zero; otherwise takes nothing and returns how long until both will.
  Clock::duration TryAcquire(std::string_view domain, Clock::time_point now);

  // Waits (sleeps) for the tokens, then takes them.
  void Acquire(std::string_view domain);

  bool unlimited() const {
    return interval_ == Clock::duration::zero() && domain_interval_ == Clock::duration::zero();
  }

 private:
  Clock::duration interval_{};         // zero = unlimited
  Clock::duration domain_interval_{};  // zero = unlimited
  Clock::time_point next_{};           // when the transport's bucket has its token again
  std::unordered_map<std::string, Clock::time_point> domain_next_;
};

}  // namespace followup::delivery
