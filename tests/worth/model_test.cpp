#include "worth/model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace followup::worth {
namespace {

struct Customer {
  double x, t_x, T, zbar;
};

// The CDNOW 1/10 sample's calibration summary: ID,x,t_x,T,zbar (weeks, dollars).
std::vector<Customer> LoadCdnow() {
  const std::string path =
      std::string(FOLLOWUP_TEST_DATA_DIR) + "/cdnow/cdnow_customers_summary_with_transactions.csv";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<Customer> customers;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string id, x, t_x, T, zbar;
    std::getline(fields, id, ',');
    std::getline(fields, x, ',');
    std::getline(fields, t_x, ',');
    std::getline(fields, T, ',');
    std::getline(fields, zbar, ',');
    customers.push_back({std::stod(x), std::stod(t_x), std::stod(T), std::stod(zbar)});
  }
  return customers;
}

std::vector<Pattern> Patterns(const std::vector<Customer>& customers) {
  std::map<std::tuple<double, double, double>, double> counts;
  for (const Customer& c : customers) counts[{c.x, c.t_x, c.T}] += 1;
  std::vector<Pattern> patterns;
  for (const auto& [key, count] : counts) {
    patterns.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), count});
  }
  return patterns;
}

std::vector<SpendPattern> SpendPatterns(const std::vector<Customer>& customers) {
  std::map<std::pair<double, double>, double> counts;
  for (const Customer& c : customers) {
    if (c.x > 0) counts[{c.x, c.zbar}] += 1;
  }
  std::vector<SpendPattern> patterns;
  for (const auto& [key, count] : counts) patterns.push_back({key.first, key.second, count});
  return patterns;
}

double Millis(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The lifetimes library's BG/NBD fit of the same data (its documentation prints
// r = 0.242593, alpha = 4.413532, a = 0.792886, b = 2.425752), for prediction tests that should not
// depend on our optimiser.
constexpr BgNbdParams kLifetimesBgNbd = {0.242593, 4.413532, 0.792886, 2.425752, 0};

TEST(FitBgNbdTest, ReproducesThePublishedCdnowFit) {
  const auto customers = LoadCdnow();
  ASSERT_EQ(customers.size(), 2357u);
  const auto patterns = Patterns(customers);
  const auto start = std::chrono::steady_clock::now();
  const auto fit = FitBgNbd(patterns);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(fit.has_value()) << fit.error().message;
  // Fader, Hardie & Lee (2005), Marketing Science 24(2), section 4.
  EXPECT_NEAR(fit->r, 0.243, 0.001);
  EXPECT_NEAR(fit->alpha, 4.414, 0.005);
  EXPECT_NEAR(fit->a, 0.793, 0.001);
  EXPECT_NEAR(fit->b, 2.426, 0.005);
  EXPECT_NEAR(fit->log_likelihood, -9582.4, 0.05);
  std::printf(
      "BG/NBD on CDNOW (%zu patterns): r=%.6f alpha=%.6f a=%.6f b=%.6f ll=%.4f in %.2f ms\n",
      patterns.size(), fit->r, fit->alpha, fit->a, fit->b, fit->log_likelihood, Millis(took));
}

TEST(FitBgNbdTest, OneRowPerCustomerGivesTheSameFitAsCollapsedPatterns) {
  const auto customers = LoadCdnow();
  std::vector<Pattern> rows;
  for (const Customer& c : customers) rows.push_back({c.x, c.t_x, c.T, 1});
  const auto per_row = FitBgNbd(rows);
  const auto collapsed = FitBgNbd(Patterns(customers));
  ASSERT_TRUE(per_row.has_value()) << per_row.error().message;
  ASSERT_TRUE(collapsed.has_value()) << collapsed.error().message;
  EXPECT_NEAR(per_row->r, collapsed->r, 1e-5);
  EXPECT_NEAR(per_row->alpha, collapsed->alpha, 1e-4);
  EXPECT_NEAR(per_row->a, collapsed->a, 1e-5);
  EXPECT_NEAR(per_row->b, collapsed->b, 1e-4);
  EXPECT_NEAR(per_row->log_likelihood, collapsed->log_likelihood, 1e-6);
}

TEST(FitBgNbdTest, IsDeterministic) {
  const auto patterns = Patterns(LoadCdnow());
  const auto first = FitBgNbd(patterns);
  const auto second = FitBgNbd(patterns);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->r, second->r);
  EXPECT_EQ(first->alpha, second->alpha);
  EXPECT_EQ(first->a, second->a);
  EXPECT_EQ(first->b, second->b);
}

TEST(FitBgNbdTest, ScalesAlphaWithTheTimeUnit) {
  // The same history in days instead of weeks: alpha is 7 times larger, the shapes are unchanged,
  // and the log-likelihood drops by (sum of x) * ln 7 (the density of t_x is per day, not per
  // week).
  const auto customers = LoadCdnow();
  std::vector<Pattern> days;
  double repeats = 0;
  for (const Customer& c : customers) {
    days.push_back({c.x, c.t_x * 7, c.T * 7, 1});
    repeats += c.x;
  }
  const auto weeks = FitBgNbd(Patterns(customers));
  const auto in_days = FitBgNbd(days);
  ASSERT_TRUE(weeks && in_days);
  EXPECT_NEAR(in_days->r, weeks->r, 1e-4);
  EXPECT_NEAR(in_days->alpha, 7 * weeks->alpha, 1e-3);
  EXPECT_NEAR(in_days->a, weeks->a, 1e-4);
  EXPECT_NEAR(in_days->b, weeks->b, 1e-3);
  EXPECT_NEAR(in_days->log_likelihood, weeks->log_likelihood - repeats * std::log(7.0), 1e-3);
}

TEST(FitBgNbdTest, RefusesTooFewRepeatBuyers) {
  std::vector<Pattern> patterns = {{0, 0, 30, 500}, {1, 10, 30, 2}, {3, 25, 30, 1}};
  const auto fit = FitBgNbd(patterns);
  ASSERT_FALSE(fit.has_value());
  EXPECT_EQ(fit.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(fit.error().message,
            "too few repeat buyers to fit the purchase model: 3, need at least 10");
}

TEST(FitBgNbdTest, RefusesEmptyAndAllZeroHistories) {
  const auto empty = FitBgNbd({});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(empty.error().message.find("too few repeat buyers"), std::string::npos);

  std::vector<Pattern> zeros(50, Pattern{0, 0, 0, 1});
  const auto all_zero = FitBgNbd(zeros);
  ASSERT_FALSE(all_zero.has_value());
  EXPECT_EQ(all_zero.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(all_zero.error().message.find("too few repeat buyers"), std::string::npos);

  std::vector<Pattern> no_counts(50, Pattern{2, 5, 10, 0});
  EXPECT_FALSE(FitBgNbd(no_counts).has_value());
}

TEST(FitBgNbdTest, RefusesMalformedPatterns) {
  auto patterns = Patterns(LoadCdnow());
  patterns[5].t_x = patterns[5].T + 1;
  patterns[5].x = 1;
  auto fit = FitBgNbd(patterns);
  ASSERT_FALSE(fit.has_value());
  EXPECT_NE(fit.error().message.find("pattern 6"), std::string::npos) << fit.error().message;
  EXPECT_NE(fit.error().message.find("after the end"), std::string::npos) << fit.error().message;

  patterns = Patterns(LoadCdnow());
  patterns[0].x = 1.5;
  fit = FitBgNbd(patterns);
  ASSERT_FALSE(fit.has_value());
  EXPECT_NE(fit.error().message.find("whole number"), std::string::npos) << fit.error().message;

  patterns = Patterns(LoadCdnow());
  patterns[0].count = std::nan("");
  EXPECT_FALSE(FitBgNbd(patterns).has_value());
  patterns[0].count = -1;
  EXPECT_FALSE(FitBgNbd(patterns).has_value());
}

TEST(FitBgNbdTest, RefusesAHistoryWhereNobodyEverStops) {
  // Every customer buys every week up to the end: nobody lapses (a runs off to 0) and everyone buys
  // at the same rate (r and alpha run off to infinity); the fit must refuse and say so.
  std::vector<Pattern> patterns;
  for (int weeks = 5; weeks <= 40; ++weeks) {
    const double T = weeks;
    patterns.push_back({T, T, T, 3});
  }
  const auto fit = FitBgNbd(patterns);
  ASSERT_FALSE(fit.has_value());
  EXPECT_EQ(fit.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(fit.error().message.find("cannot fit the purchase model to this history: almost no "
                                     "customer seems to stop buying"),
            std::string::npos)
      << fit.error().message;
  std::printf("refusal: %s\n", fit.error().message.c_str());
}

TEST(FitGammaGammaTest, ReproducesThePublishedCdnowFit) {
  const auto customers = LoadCdnow();
  const auto patterns = SpendPatterns(customers);
  double repeat_buyers = 0;
  for (const auto& p : patterns) repeat_buyers += p.count;
  ASSERT_EQ(repeat_buyers, 946);
  const auto start = std::chrono::steady_clock::now();
  const auto fit = FitGammaGamma(patterns);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(fit.has_value()) << fit.error().message;
  // Fader, Hardie & Lee (2005), "RFM and CLV", JMR 42(4): p = 6.25, q = 3.74, gamma = 15.44.
  EXPECT_NEAR(fit->p, 6.25, 0.01);
  EXPECT_NEAR(fit->q, 3.74, 0.01);
  EXPECT_NEAR(fit->v, 15.44, 0.02);
  std::printf("Gamma-Gamma on CDNOW (%zu patterns): p=%.6f q=%.6f v=%.6f ll=%.4f in %.2f ms\n",
              patterns.size(), fit->p, fit->q, fit->v, fit->log_likelihood, Millis(took));
}

TEST(FitGammaGammaTest, SkipsCustomersWithoutRepeatPurchases) {
  const auto customers = LoadCdnow();
  auto patterns = SpendPatterns(customers);
  const auto without = FitGammaGamma(patterns);
  patterns.push_back({0, 0, 1411});
  patterns.push_back({0, 99, 3});
  const auto with = FitGammaGamma(patterns);
  ASSERT_TRUE(without && with);
  EXPECT_EQ(without->p, with->p);
  EXPECT_EQ(without->q, with->q);
  EXPECT_EQ(without->v, with->v);
}

TEST(FitGammaGammaTest, RefusesTooFewRepeatBuyers) {
  std::vector<SpendPattern> patterns = {{0, 0, 100}, {1, 20, 2}, {2, 35, 1}, {4, 12.5, 1}};
  const auto fit = FitGammaGamma(patterns);
  ASSERT_FALSE(fit.has_value());
  EXPECT_EQ(fit.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(fit.error().message,
            "too few repeat buyers to fit the spend model: 4, need at least 10");

  const auto empty = FitGammaGamma({});
  ASSERT_FALSE(empty.has_value());
  std::vector<SpendPattern> zeros(100, SpendPattern{0, 0, 1});
  const auto all_zero = FitGammaGamma(zeros);
  ASSERT_FALSE(all_zero.has_value());
  EXPECT_NE(all_zero.error().message.find("too few repeat buyers"), std::string::npos);
}

TEST(FitGammaGammaTest, RefusesIdenticalSpend) {
  // Everyone always spends exactly 20: there is no spread to model.
  std::vector<SpendPattern> patterns;
  for (int x = 1; x <= 20; ++x) patterns.push_back({static_cast<double>(x), 20, 5});
  const auto fit = FitGammaGamma(patterns);
  ASSERT_FALSE(fit.has_value());
  EXPECT_EQ(fit.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(fit.error().message.find("cannot fit the spend model"), std::string::npos)
      << fit.error().message;
  std::printf("refusal: %s\n", fit.error().message.c_str());
}

TEST(FitGammaGammaTest, RefusesMalformedPatterns) {
  auto patterns = SpendPatterns(LoadCdnow());
  patterns[3].zbar = -2;
  const auto fit = FitGammaGamma(patterns);
  ASSERT_FALSE(fit.has_value());
  EXPECT_NE(fit.error().message.find("spend pattern 4"), std::string::npos) << fit.error().message;
}

TEST(PredictionTest, ExpectedPurchasesMatchesThePublishedExample) {
  // FHL (2005) and the lifetimes docs: a customer with x = 2, t_x = 30.43, T = 38.86 (weeks) is
  // expected to make 1.226 purchases in the next 39 weeks (lifetimes: predict(39, 2, 30.43, 38.86)
  // = 1.2259).
  EXPECT_NEAR(ExpectedPurchases(kLifetimesBgNbd, 39, 2, 30.43, 38.86), 1.2259, 0.0001);
  const auto fit = FitBgNbd(Patterns(LoadCdnow()));
  ASSERT_TRUE(fit.has_value());
  EXPECT_NEAR(ExpectedPurchases(*fit, 39, 2, 30.43, 38.86), 1.226, 0.001);
}

TEST(PredictionTest, ExpectedPurchasesAgainstTheUntransformedSeries) {
  // Independent check of the Euler-transformed 2F1: FHL eq. 10 with the plain Gauss series of
  // 2F1(r+x, b+x; a+b+x-1; z), summed here term by term in long double (whose range holds the
  // ~1e70 the plain series reaches for x = 400).
  auto direct = [](const BgNbdParams& p, double t, double x, double t_x, double T) {
    const long double z = t / (p.alpha + T + t);
    const long double A = p.r + x, B = p.b + x, C = p.a + p.b + x - 1;
    long double term = 1, sum = 1;
    for (int n = 0; n < 20000; ++n) {
      term *= (A + n) * (B + n) / ((C + n) * (n + 1)) * z;
      sum += term;
    }
    const long double head =
        C / (p.a - 1) * (1 - std::pow((long double)(p.alpha + T) / (p.alpha + T + t), A) * sum);
    const long double odds =
        x > 0 ? p.a / (p.b + x - 1) * std::pow((long double)(p.alpha + T) / (p.alpha + t_x), A) : 0;
    return static_cast<double>(head / (1 + odds));
  };
  // CDNOW's a < 1, and a large a (the model then sums the other form of 2F1 for small x).
  for (const BgNbdParams& params : {kLifetimesBgNbd, BgNbdParams{0.5, 10, 30, 60, 0}}) {
    for (double x : {0.0, 1.0, 3.0, 10.0, 400.0}) {
      for (double t : {1.0, 13.0, 52.0, 104.0}) {
        const double t_x = x > 0 ? 30 : 0;
        const double expected = direct(params, t, x, t_x, 38.86);
        EXPECT_NEAR(ExpectedPurchases(params, t, x, t_x, 38.86), expected,
                    1e-9 * std::max(1.0, expected))
            << "a=" << params.a << " x=" << x << " t=" << t;
      }
    }
  }
  // Very large a and b (a nearly fixed drop-out chance of 0.2): finite, and close to the fixed-p
  // limit for a surely-alive customer, E = (1 - exp(-lambda p t)) / p with lambda its posterior
  // mean (r + x) / (alpha + T) (an approximation: it ignores the spread of lambda).
  const BgNbdParams fixed_p = {200, 100, 5e4, 2e5, 0};
  const double e = ExpectedPurchases(fixed_p, 52, 0, 0, 38.86);
  const double lambda = 200.0 / (100 + 38.86);
  EXPECT_TRUE(std::isfinite(e));
  EXPECT_NEAR(e, (1 - std::exp(-lambda * 0.2 * 52)) / 0.2, 0.01);
}

TEST(PredictionTest, ExpectedPurchasesIsZeroAtZeroAndGrowsWithTheHorizon) {
  EXPECT_EQ(ExpectedPurchases(kLifetimesBgNbd, 0, 2, 30.43, 38.86), 0);
  double previous = 0;
  for (double t = 1; t <= 520; t *= 2) {
    const double e = ExpectedPurchases(kLifetimesBgNbd, t, 2, 30.43, 38.86);
    EXPECT_GT(e, previous) << "t=" << t;
    previous = e;
  }
  // A heavy buyer: large x must not overflow (the untransformed 2F1 passes 1e308 near x = 500),
  // and stays below the customer's own rate (4 a week) times the horizon: drop-out can only cut it.
  const double heavy = ExpectedPurchases(kLifetimesBgNbd, 52, 800, 199, 200);
  EXPECT_TRUE(std::isfinite(heavy));
  EXPECT_GT(heavy, 0.5 * 52 * 4);
  EXPECT_LT(heavy, 52 * 4);
}

TEST(PredictionTest, ExpectedPurchasesNearAEqualToOne) {
  BgNbdParams p = kLifetimesBgNbd;
  p.a = 1;
  const double at_one = ExpectedPurchases(p, 39, 2, 30.43, 38.86);
  p.a = 1 - 1e-4;
  const double below = ExpectedPurchases(p, 39, 2, 30.43, 38.86);
  p.a = 1 + 1e-4;
  const double above = ExpectedPurchases(p, 39, 2, 30.43, 38.86);
  EXPECT_TRUE(std::isfinite(at_one));
  EXPECT_NEAR(at_one, (below + above) / 2, 1e-6);
}

TEST(PredictionTest, InvalidInputsGiveNaN) {
  EXPECT_TRUE(std::isnan(ExpectedPurchases(kLifetimesBgNbd, -1, 2, 30, 38)));
  EXPECT_TRUE(std::isnan(ExpectedPurchases(kLifetimesBgNbd, 10, 2, 40, 38)));
  EXPECT_TRUE(std::isnan(PAlive(kLifetimesBgNbd, -1, 0, 38)));
  EXPECT_TRUE(std::isnan(PAlive(BgNbdParams{}, 1, 10, 38)));
  EXPECT_TRUE(std::isnan(ExpectedOrderValue(GammaGammaParams{6, 0.9, 15, 0}, 1, 10)));
}

TEST(PredictionTest, PAlive) {
  // No repeat purchase: a BG/NBD customer can only drop out right after a repeat purchase.
  EXPECT_EQ(PAlive(kLifetimesBgNbd, 0, 0, 38.86), 1);
  EXPECT_EQ(PAlive(kLifetimesBgNbd, 0, 0, 1000), 1);
  // Worked by hand (not a published number): a / (b + 1) = 0.231449,
  // ((4.413532 + 38.86) / (4.413532 + 30.43))^2.242593 = 1.62566, P = 1 / (1 + 0.376258) = 0.72661.
  EXPECT_NEAR(PAlive(kLifetimesBgNbd, 2, 30.43, 38.86), 0.72661, 1e-4);
  // A recent last purchase means more likely alive; a long silence less.
  double previous = 0;
  for (double t_x = 0; t_x <= 38.86; t_x += 2) {
    const double p = PAlive(kLifetimesBgNbd, 5, t_x, 38.86);
    EXPECT_GT(p, previous);
    EXPECT_LE(p, 1);
    previous = p;
  }
  EXPECT_NEAR(PAlive(kLifetimesBgNbd, 5, 38.86, 38.86), 1 / (1 + 0.792886 / (2.425752 + 4)), 1e-12);
  EXPECT_LT(PAlive(kLifetimesBgNbd, 5, 1, 100), 0.01);
}

TEST(PredictionTest, ExpectedOrderValueMatchesTheLifetimesDocs) {
  // lifetimes docs, GammaGammaFitter on the same 946 customers, conditional_expected_average_profit
  // for CDNOW customers 1..5: 24.658616, 18.911480, 35.171002, 35.171002, 35.171002 (an older
  // version of the docs prints 24.658619, 18.911489, 35.170981: optimiser noise in the last
  // digits).
  const auto customers = LoadCdnow();
  const auto fit = FitGammaGamma(SpendPatterns(customers));
  ASSERT_TRUE(fit.has_value());
  const double expected[] = {24.658616, 18.911480, 35.171002, 35.171002, 35.171002};
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(ExpectedOrderValue(*fit, customers[i].x, customers[i].zbar), expected[i], 0.0001)
        << "customer " << i + 1;
  }
  // x == 0: the population mean p v / (q - 1), whatever zbar says.
  EXPECT_DOUBLE_EQ(ExpectedOrderValue(*fit, 0, 1e6), fit->p * fit->v / (fit->q - 1));
  // Many purchases: close to the customer's own average.
  EXPECT_NEAR(ExpectedOrderValue(*fit, 1000, 80), 80, 0.5);
}

TEST(ClvTest, UndiscountedClvIsOrderValueTimesExpectedPurchases) {
  const GammaGammaParams spend = {6.25, 3.74, 15.44, 0};
  const ClvTerms terms = {.horizon = 52,
                          .period = 52.0 / 12,
                          .units_per_year = 52,
                          .annual_discount_rate = 0,
                          .margin = 1};
  const double clv = Clv(kLifetimesBgNbd, spend, 2, 30.43, 38.86, 22.35, terms);
  EXPECT_NEAR(
      clv,
      ExpectedOrderValue(spend, 2, 22.35) * ExpectedPurchases(kLifetimesBgNbd, 52, 2, 30.43, 38.86),
      1e-9);
  ClvTerms one_step = terms;
  one_step.period = 52;
  EXPECT_NEAR(Clv(kLifetimesBgNbd, spend, 2, 30.43, 38.86, 22.35, one_step), clv, 1e-9);
}

TEST(ClvTest, DiscountingAndMargin) {
  const GammaGammaParams spend = {6.25, 3.74, 15.44, 0};
  ClvTerms terms = {.horizon = 3 * 52.0,
                    .period = 52.0 / 12,
                    .units_per_year = 52,
                    .annual_discount_rate = 0,
                    .margin = 1};
  const double undiscounted = Clv(kLifetimesBgNbd, spend, 2, 30.43, 38.86, 22.35, terms);
  terms.annual_discount_rate = 0.10;
  const double discounted = Clv(kLifetimesBgNbd, spend, 2, 30.43, 38.86, 22.35, terms);
  EXPECT_LT(discounted, undiscounted);
  // Every purchase is discounted by at most 3 years at 10%.
  EXPECT_GT(discounted, undiscounted / std::pow(1.1, 3));
  terms.margin = 0.3;
  EXPECT_NEAR(Clv(kLifetimesBgNbd, spend, 2, 30.43, 38.86, 22.35, terms), 0.3 * discounted, 1e-9);

  // By hand: the same sum written out with ExpectedPurchases differences.
  double sum = 0;
  for (int k = 1; k <= 36; ++k) {
    const double end = k * 52.0 / 12, begin = (k - 1) * 52.0 / 12;
    sum += (ExpectedPurchases(kLifetimesBgNbd, end, 2, 30.43, 38.86) -
            ExpectedPurchases(kLifetimesBgNbd, begin, 2, 30.43, 38.86)) /
           std::pow(1.1, end / 52);
  }
  EXPECT_NEAR(discounted, ExpectedOrderValue(spend, 2, 22.35) * sum, 1e-9);

  // A lapsed-looking customer is worth less than a recent one with the same history length.
  terms.margin = 1;
  EXPECT_LT(Clv(kLifetimesBgNbd, spend, 2, 5, 38.86, 22.35, terms),
            Clv(kLifetimesBgNbd, spend, 2, 38, 38.86, 22.35, terms));
  // Invalid terms.
  terms.period = 0;
  EXPECT_TRUE(std::isnan(Clv(kLifetimesBgNbd, spend, 2, 30.43, 38.86, 22.35, terms)));
}

// ---- Larger synthetic bases: parameter recovery and speed ---------------------------------------

struct Synthetic {
  std::vector<Pattern> patterns;
  std::vector<SpendPattern> spend;
  size_t customers = 0;
};

// Customers drawn from known BG/NBD and Gamma-Gamma parameters (days; cohorts over three years;
// times rounded to whole days, spend to cents), collapsed into patterns.
Synthetic Simulate(size_t n, const BgNbdParams& truth, const GammaGammaParams& spend_truth) {
  std::mt19937_64 rng(20240601);
  std::gamma_distribution<double> rate(truth.r, 1 / truth.alpha);
  std::gamma_distribution<double> drop_a(truth.a, 1), drop_b(truth.b, 1);
  std::gamma_distribution<double> nu(spend_truth.q, 1 / spend_truth.v);
  std::uniform_int_distribution<int> age(1, 3 * 365);
  std::uniform_real_distribution<double> unit(0, 1);
  std::map<std::tuple<double, double, double>, double> counts;
  std::map<std::pair<double, double>, double> spend_counts;
  for (size_t i = 0; i < n; ++i) {
    const double lambda = rate(rng);
    const double ga = drop_a(rng), gb = drop_b(rng);
    const double p = ga / (ga + gb);
    const double T = age(rng);
    double t = 0, t_x = 0, x = 0;
    while (true) {
      t += std::exponential_distribution<double>(lambda)(rng);
      if (t > T) break;
      x += 1;
      t_x = t;
      if (unit(rng) < p) break;
    }
    t_x = std::min(std::round(t_x), T);
    counts[{x, x > 0 ? t_x : 0, T}] += 1;
    if (x > 0) {
      std::gamma_distribution<double> z(spend_truth.p * x, 1 / nu(rng));
      const double zbar = std::max(0.01, std::round(z(rng) / x * 100) / 100);
      spend_counts[{x, zbar}] += 1;
    }
  }
  Synthetic s;
  s.customers = n;
  for (const auto& [k, c] : counts) {
    s.patterns.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), c});
  }
  for (const auto& [k, c] : spend_counts) s.spend.push_back({k.first, k.second, c});
  return s;
}

TEST(SyntheticTest, RecoversKnownParametersOnAMillionCustomers) {
  const BgNbdParams truth = {0.25, 30, 0.8, 2.5, 0};
  const GammaGammaParams spend_truth = {6, 4, 15, 0};
  const Synthetic s = Simulate(1000000, truth, spend_truth);

  auto start = std::chrono::steady_clock::now();
  const auto fit = FitBgNbd(s.patterns);
  const double bgnbd_ms = Millis(std::chrono::steady_clock::now() - start);
  start = std::chrono::steady_clock::now();
  const auto spend_fit = FitGammaGamma(s.spend);
  const double gg_ms = Millis(std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(fit.has_value()) << fit.error().message;
  ASSERT_TRUE(spend_fit.has_value()) << spend_fit.error().message;
  std::printf(
      "1e6 customers: BG/NBD %zu patterns r=%.4f alpha=%.3f a=%.4f b=%.4f in %.1f ms; "
      "Gamma-Gamma %zu patterns p=%.3f q=%.3f v=%.3f in %.1f ms\n",
      s.patterns.size(), fit->r, fit->alpha, fit->a, fit->b, bgnbd_ms, s.spend.size(), spend_fit->p,
      spend_fit->q, spend_fit->v, gg_ms);
  // Rounding t_x to whole days biases little at this scale; 5% is far outside sampling noise.
  EXPECT_NEAR(fit->r, truth.r, 0.05 * truth.r);
  EXPECT_NEAR(fit->alpha, truth.alpha, 0.05 * truth.alpha);
  EXPECT_NEAR(fit->a, truth.a, 0.05 * truth.a);
  EXPECT_NEAR(fit->b, truth.b, 0.05 * truth.b);
  EXPECT_NEAR(spend_fit->p, spend_truth.p, 0.05 * spend_truth.p);
  EXPECT_NEAR(spend_fit->q, spend_truth.q, 0.05 * spend_truth.q);
  EXPECT_NEAR(spend_fit->v, spend_truth.v, 0.05 * spend_truth.v);
}

}  // namespace
}  // namespace followup::worth
