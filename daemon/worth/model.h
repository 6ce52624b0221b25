// Forward-looking customer-value models: BG/NBD for "how many more purchases, and is the customer
// still around", Gamma-Gamma for "how much per purchase", and a discounted CLV built from the two.
//
// Pure math: values in, values out, no I/O, no clock, no global state. Every function here may be
// called from any thread at the same time.
//
// Time unit. The models have no calendar: t_x, T, t, alpha and every horizon are in one "model time
// unit" chosen by the caller (weeks in the literature and in the CDNOW tests; days are fine too).
// Parameters fitted in one unit only make sense with inputs in that same unit. alpha scales with
// the unit (weeks -> days multiplies it by 7); r, a, b, p, q do not.
//
// Money. zbar, v and everything derived from them are in the caller's money unit (e.g. major units
// of the shop's currency, as doubles: these are estimates, not ledger amounts).
//
// References (formulas re-derived from the papers):
//   BG/NBD: P. Fader, B. Hardie, K. Lee (2005), "Counting Your Customers the Easy Way: An
//     Alternative to the Pareto/NBD Model", Marketing Science 24(2): likelihood (eq. 6), P(alive)
//     and the conditional expectation (eq. 10).
//   Gamma-Gamma: P. Fader, B. Hardie, K. Lee (2005), "RFM and CLV: Using Iso-Value Curves for
//     Customer Base Analysis", JMR 42(4); after Colombo & Jiang (1999).
#pragma once

#include <span>

#include "base/error.h"

namespace followup::worth {

// The least number of repeat buyers (customers with x > 0, summed over `count`) that either fit
// accepts. Below it the parameters are noise, so the fit refuses rather than guessing.
inline constexpr double kMinRepeatBuyers = 10;

// One distinct purchase history of the BG/NBD literature and how many customers share it.
//   x      repeat purchases: distinct purchase days after the first one (a whole number >= 0)
//   t_x    time from the first purchase to the last one (0 when x == 0), model time units
//   T      time from the first purchase to the end of the observation, model time units; t_x <= T
//   count  how many customers have exactly this (x, t_x, T); may be fractional (a weight), >= 0
struct Pattern {
  double x = 0;
  double t_x = 0;
  double T = 0;
  double count = 1;
};

// One distinct spend history for Gamma-Gamma.
//   x      repeat purchases (> 0; x == 0 carries no spend information and is skipped by the fit)
//   zbar   mean value of those x repeat purchases, money units (>= 0; 0 is skipped by the fit)
//   count  how many customers share it, >= 0
struct SpendPattern {
  double x = 0;
  double zbar = 0;
  double count = 1;
};

// BG/NBD parameters. Purchase rate ~ Gamma(shape r, rate alpha) (alpha in model time units),
// drop-out probability after each purchase ~ Beta(a, b). log_likelihood is the weighted sum of the
// customers' log-likelihoods at the fit (FHL 2005 eq. 6, no constant dropped).
struct BgNbdParams {
  double r = 0;
  double alpha = 0;
  double a = 0;
  double b = 0;
  double log_likelihood = 0;
};

// Gamma-Gamma parameters. Spend per purchase ~ Gamma(p, nu), nu ~ Gamma(q, v) across customers
// (v in money units). The population mean spend per purchase is p * v / (q - 1); a fit is only
// returned when q > 1, so that mean exists. log_likelihood is the weighted sum of the log-densities
// of the customers' zbar given x.
struct GammaGammaParams {
  double p = 0;
  double q = 0;
  double v = 0;
  double log_likelihood = 0;
};

// Maximum-likelihood BG/NBD fit over the patterns (each weighted by its count). Cost grows with the
// number of patterns (and distinct x, t_x, T values), not with the number of customers.
// Deterministic: the same patterns in the same order give the same result.
//
// Returns the parameters on success. Returns a kInvalidInput error whose message says why, in
// words for the shop owner, when:
//   - a pattern is malformed (non-finite, negative, x not whole, t_x > T, count < 0);
//   - there are fewer than kMinRepeatBuyers repeat buyers
//     ("too few repeat buyers to fit the purchase model: 3, need at least 10");
//   - the likelihood is not finite, the optimiser fails, or a parameter runs off to the edge of its
//     allowed range (the data cannot pin the model down, e.g. almost nobody ever stops buying).
Result<BgNbdParams> FitBgNbd(std::span<const Pattern> patterns);

// Maximum-likelihood Gamma-Gamma fit over the spend patterns with x > 0 and zbar > 0 (the others
// are skipped: they say nothing about spend per purchase). Deterministic.
//
// Returns the parameters on success. Returns a kInvalidInput error saying why when: a pattern is
// malformed (non-finite or negative values); fewer than kMinRepeatBuyers customers remain; the
// likelihood is not finite; the optimiser fails; a parameter runs off to the edge of its range
// (e.g. every customer always spends exactly the same); or q <= 1 (spend too uneven for an average
// order value to exist).
Result<GammaGammaParams> FitGammaGamma(std::span<const SpendPattern> patterns);

// Probability that a customer with history (x, t_x, T) is still "alive" (has not dropped out) at T.
// 1 when x == 0 (BG/NBD customers can only drop out right after a repeat purchase). For fixed x and
// T it rises with t_x. Returns NaN when the parameters or the history are invalid (non-positive or
// non-finite parameters, x < 0, t_x < 0, t_x > T).
double PAlive(const BgNbdParams& params, double x, double t_x, double T);

// Expected number of purchases in (T, T + t] for a customer with history (x, t_x, T) (FHL 2005
// eq. 10), t in model time units. 0 when t == 0; increasing in t. Needs the Gaussian hypergeometric
// 2F1 (Boost.Math), summed in whichever of its two Euler-equivalent forms stays small (heavy buyers
// and large a each overflow one of them). Cost: about a microsecond while t is within a few times
// alpha + T; it grows as z = t / (alpha + T + t) approaches 1 (tens of microseconds at t = 100
// (alpha + T)). Returns NaN for invalid parameters or history (as PAlive), t < 0 or non-finite t,
// or where 2F1 has a pole (a + b + x - 1 a non-positive whole number, possible only for x == 0 and
// a + b <= 1).
double ExpectedPurchases(const BgNbdParams& params, double t, double x, double t_x, double T);

// Conditional expected spend per purchase of a customer with x repeat purchases of mean value zbar:
// (p (v + x zbar)) / (p x + q - 1), a weighted mean of the population mean p v / (q - 1) and zbar.
// x == 0 (zbar ignored) gives the population mean. Money units. Returns NaN for invalid parameters
// (non-finite, non-positive, q <= 1) or x < 0, or zbar < 0 when x > 0.
double ExpectedOrderValue(const GammaGammaParams& params, double x, double zbar);

// The most discounting periods Clv sums (horizon / period); more gives NaN.
inline constexpr double kMaxClvPeriods = 10000;

// How far ahead to value a customer and how to discount it.
struct ClvTerms {
  double horizon = 0;         // how far ahead, model time units (> 0), e.g. 52 (weeks) = a year
  double period = 0;          // discounting step, model time units (> 0), e.g. 52.0 / 12 = a month
  double units_per_year = 0;  // model time units in a year (> 0): 52.1775 for weeks, 365.25 days
  double annual_discount_rate = 0;  // >= 0; 0.10 = money a year from now is worth 1/1.10 today
  double margin = 1;                // share of spend that is profit, in [0, 1]; 1 = value revenue
};

// Discounted expected profit from a customer over the next terms.horizon units:
//   sum over periods k = 1..ceil(horizon / period), with end e_k = min(k * period, horizon):
//     margin * ExpectedOrderValue(spend, x, zbar)
//            * (ExpectedPurchases(e_k) - ExpectedPurchases(e_{k-1}))
//            / (1 + annual_discount_rate) ^ (e_k / units_per_year)
// i.e. each period's purchases are discounted from the end of that period. Money units. Returns NaN
// when any input is invalid (see PAlive, ExpectedPurchases, ExpectedOrderValue, ClvTerms) or
// horizon / period exceeds kMaxClvPeriods; 0 when margin is 0. Costs one 2F1 per period.
double Clv(const BgNbdParams& purchase, const GammaGammaParams& spend, double x, double t_x,
           double T, double zbar, const ClvTerms& terms);

}  // namespace followup::worth
