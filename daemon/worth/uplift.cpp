#include "worth/uplift.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>

namespace followup::worth {
namespace {

// The two-sided critical value of the standard normal distribution.
double NormalQuantile(double confidence) {
  boost::math::normal normal;
  return boost::math::quantile(normal, 0.5 + confidence / 2);
}

}  // namespace

Interval WilsonInterval(int64_t successes, int64_t n, double confidence) {
  const double z = NormalQuantile(confidence);
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double centre = p + z2 / (2 * nn);
  const double spread = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  const double scale = 1 + z2 / nn;
  Interval out;
  out.estimate = p;
  out.low = std::clamp((centre - spread) / scale, 0.0, p);
  out.high = std::clamp((centre + spread) / scale, p, 1.0);
  return out;
}

std::optional<Interval> RateDifference(int64_t successes_a, int64_t n_a, int64_t successes_b,
                                       int64_t n_b, double confidence) {
  if (n_a <= 0 || n_b <= 0) return std::nullopt;
  if (successes_a < 0 || successes_a > n_a || successes_b < 0 || successes_b > n_b)
    return std::nullopt;
  const Interval a = WilsonInterval(successes_a, n_a, confidence);
  const Interval b = WilsonInterval(successes_b, n_b, confidence);
  Interval out;
  out.estimate = a.estimate - b.estimate;
  out.low = out.estimate - std::hypot(a.estimate - a.low, b.high - b.estimate);
  out.high = out.estimate + std::hypot(a.high - a.estimate, b.estimate - b.low);
  out.low = std::clamp(out.low, -1.0, out.estimate);
  out.high = std::clamp(out.high, out.estimate, 1.0);
  return out;
}

void Moments::Add(double value) {
  ++n_;
  const double delta = value - mean_;
  mean_ += delta / static_cast<double>(n_);
  m2_ += delta * (value - mean_);
}

double Moments::variance() const {
  return n_ < 2 ? 0.0 : std::max(0.0, m2_ / static_cast<double>(n_ - 1));
}

std::optional<Interval> MeanDifference(const Moments& a, const Moments& b, double confidence) {
  if (a.n() < 2 || b.n() < 2) return std::nullopt;
  const double va = a.variance() / static_cast<double>(a.n());
  const double vb = b.variance() / static_cast<double>(b.n());
  if (va + vb <= 0) return std::nullopt;
  // Welch-Satterthwaite: how many degrees of freedom the two variances together are worth.
  const double df =
      (va + vb) * (va + vb) /
      (va * va / static_cast<double>(a.n() - 1) + vb * vb / static_cast<double>(b.n() - 1));
  boost::math::students_t t(df);
  const double q = boost::math::quantile(t, 0.5 + confidence / 2);
  const double se = std::sqrt(va + vb);
  Interval out;
  out.estimate = a.mean() - b.mean();
  out.low = out.estimate - q * se;
  out.high = out.estimate + q * se;
  return out;
}

}  // namespace followup::worth
