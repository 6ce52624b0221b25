#include "worth/uplift.h"

#include <gtest/gtest.h>

#include <cmath>

namespace followup::worth {
namespace {

// Newcombe (1998), Table II, method 10 (the hybrid score interval), 95%: the published limits to
// four places, for the eight pairs of the paper, small groups and zero counts among them.
struct Published {
  int64_t xa, na, xb, nb;
  double low, high;
};
constexpr Published kNewcombeTableII[] = {
    {56, 70, 48, 80, 0.0524, 0.3339}, {9, 10, 3, 10, 0.1705, 0.8090},
    {6, 7, 2, 7, 0.0582, 0.8062},     {5, 56, 0, 29, -0.0381, 0.1926},
    {0, 10, 0, 20, -0.1611, 0.2775},  {0, 10, 0, 10, -0.2775, 0.2775},
    {10, 10, 0, 20, 0.6791, 1.0000},  {10, 10, 0, 10, 0.6075, 1.0000},
};

TEST(RateDifference, MatchesNewcombesPublishedIntervals) {
  for (const auto& p : kNewcombeTableII) {
    auto d = RateDifference(p.xa, p.na, p.xb, p.nb);
    ASSERT_TRUE(d) << p.xa << "/" << p.na << " - " << p.xb << "/" << p.nb;
    EXPECT_NEAR(d->estimate, double(p.xa) / p.na - double(p.xb) / p.nb, 1e-12);
    EXPECT_NEAR(d->low, p.low, 5e-5) << p.xa << "/" << p.na << " - " << p.xb << "/" << p.nb;
    EXPECT_NEAR(d->high, p.high, 5e-5) << p.xa << "/" << p.na << " - " << p.xb << "/" << p.nb;
  }
}

TEST(RateDifference, NeverLeavesWhatIsPossibleAndAlwaysHoldsTheEstimate) {
  // Every pair of small groups, where the Wald interval goes past -1 or +1 and collapses to a point
  // at zero conversions.
  for (int64_t na = 1; na <= 25; ++na)
    for (int64_t nb = 1; nb <= 25; ++nb)
      for (int64_t xa = 0; xa <= na; ++xa)
        for (int64_t xb = 0; xb <= nb; ++xb) {
          auto d = RateDifference(xa, na, xb, nb);
          ASSERT_TRUE(d);
          ASSERT_GE(d->low, -1.0);
          ASSERT_LE(d->high, 1.0);
          ASSERT_LE(d->low, d->estimate);
          ASSERT_GE(d->high, d->estimate);
          ASSERT_LT(d->low, d->high) << xa << "/" << na << " - " << xb << "/" << nb;
        }
}

TEST(RateDifference, TheWaldCaseThatWentPastMinusOneStaysInside) {
  // 0 of 10 contacted converted against 9 of 10 held out: Wald says [-1.086, -0.714]; the hybrid
  // score interval is [-0.9821, -0.4883] (the formula worked by hand).
  auto d = RateDifference(0, 10, 9, 10);
  ASSERT_TRUE(d);
  EXPECT_NEAR(d->estimate, -0.9, 1e-12);
  EXPECT_NEAR(d->low, -0.9821, 5e-5);
  EXPECT_NEAR(d->high, -0.4883, 5e-5);
}

TEST(RateDifference, RefusesEmptyGroupsAndImpossibleCounts) {
  EXPECT_FALSE(RateDifference(0, 0, 1, 10));
  EXPECT_FALSE(RateDifference(1, 10, 0, 0));
  EXPECT_FALSE(RateDifference(11, 10, 1, 10));
  EXPECT_FALSE(RateDifference(-1, 10, 1, 10));
}

TEST(WilsonInterval, MatchesTheTextbookValue) {
  // 81 of 263 (Wilson's own kind of example; Agresti & Coull 1998): [0.2553, 0.3662].
  auto w = WilsonInterval(81, 263);
  EXPECT_NEAR(w.low, 0.2553, 5e-5);
  EXPECT_NEAR(w.high, 0.3662, 5e-5);
  auto none = WilsonInterval(0, 10);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, 0.2775, 5e-5);
}

TEST(Moments, MeanAndVarianceOfLargeAlikeValuesKeepTheirPrecision) {
  Moments m;
  for (double v : {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16}) m.Add(v);
  EXPECT_EQ(m.n(), 4);
  EXPECT_DOUBLE_EQ(m.mean(), 1e9 + 10);
  EXPECT_NEAR(m.variance(), 30.0, 1e-6);
}

TEST(MeanDifference, EqualGroupsUseTheTQuantileOfTheirPooledDegreesOfFreedom) {
  // Two groups of five with the same variance (2.5): Welch's degrees of freedom are 8, the
  // standard error 1, and t(0.975, 8) = 2.306004 (every t table).
  Moments a, b;
  for (double v : {1, 2, 3, 4, 5}) a.Add(v);
  for (double v : {3, 4, 5, 6, 7}) b.Add(v);
  auto d = MeanDifference(a, b);
  ASSERT_TRUE(d);
  EXPECT_NEAR(d->estimate, -2.0, 1e-12);
  EXPECT_NEAR(d->low, -2.0 - 2.306004, 1e-5);
  EXPECT_NEAR(d->high, -2.0 + 2.306004, 1e-5);
}

TEST(MeanDifference, LargeGroupsApproachTheNormalInterval) {
  Moments a, b;
  for (int i = 0; i < 100000; ++i) {
    a.Add(i % 2 ? 10.0 : 0.0);  // mean 5, variance ~25
    b.Add(i % 2 ? 6.0 : 0.0);   // mean 3, variance ~9
  }
  auto d = MeanDifference(a, b);
  ASSERT_TRUE(d);
  double se = std::sqrt(a.variance() / a.n() + b.variance() / b.n());
  EXPECT_NEAR(d->estimate, 2.0, 1e-9);
  EXPECT_NEAR(d->high - d->estimate, 1.959964 * se, 1e-4 * se);
}

TEST(MeanDifference, SaysNothingWithoutTwoValuesEachOrAnySpread) {
  Moments one, two, flat_a, flat_b;
  one.Add(5);
  two.Add(1);
  two.Add(2);
  EXPECT_FALSE(MeanDifference(one, two));
  EXPECT_FALSE(MeanDifference(two, one));
  for (int i = 0; i < 20; ++i) {
    flat_a.Add(0);
    flat_b.Add(0);
  }
  // Nobody bought anything in either group: a zero-width interval would claim certainty.
  EXPECT_FALSE(MeanDifference(flat_a, flat_b));
}

}  // namespace
}  // namespace followup::worth
