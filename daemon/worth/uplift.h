// What a follow-up earned, measured: the difference between customers who were contacted and
// customers who were held out, with a 95% interval that is right for small groups and never leaves
// what is possible. `followupd report` and the console show these.
//
// Pure math: values in, values out; any thread.
//
// References:
//   Rates: R. G. Newcombe (1998), "Interval estimation for the difference between independent
//     proportions: comparison of eleven methods", Statistics in Medicine 17: 873-890; method 10,
//     the hybrid score interval built from the two Wilson score intervals. Unlike the Wald interval
//     it stays within [-1, 1] and is not empty when a group has no conversions.
//   Means: Welch's t interval, with the Welch-Satterthwaite degrees of freedom.
#pragma once

#include <cstdint>
#include <optional>

namespace followup::worth {

// Fewer customers than this (with a closed window) in either group and the report says "too few
// to tell" instead of an interval: the interval would be wide enough to say nothing, and the
// normal approximations under it are poor.
inline constexpr int64_t kMinCustomersPerGroup = 10;

// An estimate of a difference a - b and its interval; low <= estimate <= high.
struct Interval {
  double estimate = 0;
  double low = 0;
  double high = 0;
};

// The Wilson score interval for a proportion of `successes` out of `n` (0 < n, 0 <= successes <= n)
// at `confidence`: always within [0, 1].
Interval WilsonInterval(int64_t successes, int64_t n, double confidence = 0.95);

// p_a - p_b for successes_a of n_a against successes_b of n_b, with Newcombe's hybrid score
// interval: always within [-1, 1]. nullopt when a group is empty or a count is out of range.
std::optional<Interval> RateDifference(int64_t successes_a, int64_t n_a, int64_t successes_b,
                                       int64_t n_b, double confidence = 0.95);

// Count, mean and variance of a sample, added one value at a time (Welford's method: no loss of
// precision when values are large and alike).
class Moments {
 public:
  void Add(double value);
  int64_t n() const { return n_; }
  double mean() const { return mean_; }
  double sum() const { return mean_ * static_cast<double>(n_); }
  // The sample variance (n - 1 in the denominator); 0 with fewer than two values.
  double variance() const;

 private:
  int64_t n_ = 0;
  double mean_ = 0;
  double m2_ = 0;
};

// mean_a - mean_b with Welch's t interval. nullopt when a group has fewer than two values, or when
// both groups have no spread at all (every value alike: nothing to estimate the noise from).
std::optional<Interval> MeanDifference(const Moments& a, const Moments& b,
                                       double confidence = 0.95);

}  // namespace followup::worth
