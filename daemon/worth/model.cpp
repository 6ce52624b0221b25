#include "worth/model.h"

#include <nlopt.h>

#include <algorithm>
#include <array>
#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/hypergeometric_pFq.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace followup::worth {
namespace {

namespace bmp = boost::math::policies;

// No exceptions out of Boost.Math (errors become NaN/inf, which the callers check), and no silent
// promotion of double to long double (it doubles the cost of every lgamma in the fits).
using MathPolicy =
    bmp::policy<bmp::domain_error<bmp::errno_on_error>, bmp::pole_error<bmp::errno_on_error>,
                bmp::overflow_error<bmp::errno_on_error>,
                bmp::evaluation_error<bmp::errno_on_error>, bmp::promote_float<false>,
                bmp::promote_double<false>>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double LogGamma(double v) { return boost::math::lgamma(v, MathPolicy()); }
double Digamma(double v) { return boost::math::digamma(v, MathPolicy()); }

// "%g" of a number, for messages.
std::string Num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

bool Positive(double v) { return std::isfinite(v) && v > 0; }

// Sorted distinct values, and the index of a value in them.
std::vector<double> Distinct(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}
uint32_t IndexOf(const std::vector<double>& distinct, double v) {
  return static_cast<uint32_t>(std::lower_bound(distinct.begin(), distinct.end(), v) -
                               distinct.begin());
}

// ---- The optimiser ---------------------------------------------------------------------------

// A maximum-likelihood problem over log-parameters. `evaluate` returns the mean negative
// log-likelihood per customer and, when grad != nullptr, its gradient in the log-parameters. It
// returns +inf (never throws) where the likelihood is not finite.
struct Problem {
  std::string model;  // "purchase model", for messages
  nlopt_func evaluate = nullptr;
  void* data = nullptr;
  std::vector<double> start;  // log-parameters
  std::vector<double> lower;  // log-parameters
  std::vector<double> upper;  // log-parameters
};

struct NloptDeleter {
  void operator()(nlopt_opt opt) const { nlopt_destroy(opt); }
};
using NloptPtr = std::unique_ptr<std::remove_pointer_t<nlopt_opt>, NloptDeleter>;

// Result of one optimiser run: where it stopped, the value there, and NLopt's status.
struct Run {
  std::vector<double> theta;
  double value = std::numeric_limits<double>::infinity();
  nlopt_result status = NLOPT_FAILURE;
};

Run RunNlopt(const Problem& problem, nlopt_algorithm algorithm, std::vector<double> theta) {
  const auto n = static_cast<unsigned>(theta.size());
  NloptPtr opt(nlopt_create(algorithm, n));
  Run run;
  run.theta = theta;
  if (!opt) return run;
  nlopt_set_lower_bounds(opt.get(), problem.lower.data());
  nlopt_set_upper_bounds(opt.get(), problem.upper.data());
  nlopt_set_min_objective(opt.get(), problem.evaluate, problem.data);
  nlopt_set_ftol_rel(opt.get(), 1e-13);
  nlopt_set_xtol_rel(opt.get(), 1e-10);
  nlopt_set_maxeval(opt.get(), 3000);
  if (algorithm == NLOPT_LN_BOBYQA) {
    std::vector<double> step(n, 0.1);
    nlopt_set_initial_step(opt.get(), step.data());
  }
  double value = 0;
  run.status = nlopt_optimize(opt.get(), theta.data(), &value);
  run.theta = std::move(theta);
  run.value = value;
  return run;
}

bool Converged(const Run& run) {
  // ROUNDOFF_LIMITED: L-BFGS stopped because it cannot improve further in double precision, which
  // at a smooth optimum is the expected ending; NLopt documents the result as typically useful.
  // Running out of evaluations (3000, where a fit normally takes 20 to 60) is not convergence.
  if (run.status == NLOPT_MAXEVAL_REACHED || run.status == NLOPT_MAXTIME_REACHED) return false;
  return std::isfinite(run.value) && (run.status > 0 || run.status == NLOPT_ROUNDOFF_LIMITED);
}

// L-BFGS with the analytic gradient; if it fails, a derivative-free polish (BOBYQA) from where it
// stopped. Both are deterministic. Returns the log-parameters at the optimum.
Result<std::vector<double>> Minimise(const Problem& problem) {
  std::vector<double> grad(problem.start.size());
  const double at_start = problem.evaluate(static_cast<unsigned>(problem.start.size()),
                                           problem.start.data(), grad.data(), problem.data);
  if (!std::isfinite(at_start)) {
    return InvalidInput("cannot fit the " + problem.model +
                        ": its likelihood is not finite for this history");
  }
  Run run = RunNlopt(problem, NLOPT_LD_LBFGS, problem.start);
  if (!Converged(run)) {
    const std::vector<double> from = std::isfinite(run.value) ? run.theta : problem.start;
    Run polish = RunNlopt(problem, NLOPT_LN_BOBYQA, from);
    if (Converged(polish) || (std::isfinite(polish.value) && polish.value < run.value)) {
      run = std::move(polish);
    }
  }
  if (!std::isfinite(run.value)) {
    return InvalidInput("cannot fit the " + problem.model +
                        ": its likelihood is not finite for this history");
  }
  if (!Converged(run)) {
    return InvalidInput("cannot fit the " + problem.model + ": the optimiser did not converge (" +
                        nlopt_result_to_string(run.status) + ")");
  }
  return run.theta;
}

// Parameters are bounded to [scale / kRange, scale * kRange]; a result within a factor kEdge of a
// bound means the likelihood kept improving towards it: the data cannot pin that parameter down.
constexpr double kRange = 1e6;
constexpr double kEdge = 10;

// Per parameter: -1 at its lower edge, +1 at its upper edge, 0 inside.
std::vector<int> Edges(const Problem& problem, const std::vector<double>& theta) {
  const double edge = std::log(kEdge);
  std::vector<int> edges(theta.size(), 0);
  for (size_t i = 0; i < theta.size(); ++i) {
    if (theta[i] < problem.lower[i] + edge) edges[i] = -1;
    if (theta[i] > problem.upper[i] - edge) edges[i] = 1;
  }
  return edges;
}

// " (r ran off to 1e+06, alpha ran off to 3e-05)" for the parameters at an edge.
std::string EdgeList(const std::vector<int>& edges, const std::vector<double>& theta,
                     std::span<const char* const> names) {
  std::string list;
  for (size_t i = 0; i < edges.size(); ++i) {
    if (edges[i] == 0) continue;
    list += (list.empty() ? " (" : ", ") + std::string(names[i]) + " ran off to " +
            Num(std::exp(theta[i]));
  }
  return list + ")";
}

void SetBounds(Problem& problem, const std::vector<double>& scales) {
  problem.lower.clear();
  problem.upper.clear();
  for (double scale : scales) {
    problem.lower.push_back(std::log(scale / kRange));
    problem.upper.push_back(std::log(scale * kRange));
  }
}

// ---- BG/NBD ----------------------------------------------------------------------------------
//
// Customer log-likelihood (FHL 2005, eq. 6), with A = lgamma terms that depend on x only:
//   ll = C(x) + log(exp(A3) + [x > 0] exp(A4))
//   C(x) = lgamma(r+x) - lgamma(r) + r ln(alpha) + lgamma(a+b) + lgamma(b+x) - lgamma(b)
//          - lgamma(a+b+x)
//   A3   = -(r+x) ln(alpha + T)
//   A4   = ln(a) - ln(b+x-1) - (r+x) ln(alpha + t_x)
// The C(x) terms are summed once per distinct x (weighted by the customers with that x); the
// logs of alpha + T and alpha + t_x once per distinct T and t_x; what remains per pattern is one
// exp and one log1p.

struct BgNbdRepeat {  // a pattern with x > 0
  double count;
  double x;
  uint32_t ix;   // into xs
  uint32_t it;   // into ts
  uint32_t itx;  // into txs
};

struct BgNbdData {
  std::vector<double> xs;            // distinct x
  std::vector<double> x_weight;      // customers per distinct x
  std::vector<double> ts;            // distinct T
  std::vector<double> zero_weight;   // customers with x == 0, per distinct T
  std::vector<double> txs;           // distinct t_x among x > 0
  std::vector<BgNbdRepeat> repeats;  // patterns with x > 0
  double customers = 0;              // total weight
  // Scratch, refilled by every evaluation.
  std::vector<double> log_t, inv_t, log_tx, inv_tx, log_b1, inv_b1;
};

// Log-likelihood at (r, alpha, a, b); gradient in (ln r, ln alpha, ln a, ln b) when grad !=
// nullptr.
double BgNbdLogLikelihood(BgNbdData& d, const std::array<double, 4>& params, double* grad) {
  const auto [r, alpha, a, b] = params;
  const double log_alpha = std::log(alpha);
  const double log_a = std::log(a);
  for (size_t i = 0; i < d.ts.size(); ++i) {
    d.log_t[i] = std::log(alpha + d.ts[i]);
    d.inv_t[i] = 1 / (alpha + d.ts[i]);
  }
  for (size_t i = 0; i < d.txs.size(); ++i) {
    d.log_tx[i] = std::log(alpha + d.txs[i]);
    d.inv_tx[i] = 1 / (alpha + d.txs[i]);
  }
  double ll = 0, g_r = 0, g_alpha = 0, g_a = 0, g_b = 0;

  const double lg_r = LogGamma(r), lg_b = LogGamma(b), lg_ab = LogGamma(a + b);
  const double dg_r = Digamma(r), dg_b = Digamma(b), dg_ab = Digamma(a + b);
  for (size_t i = 0; i < d.xs.size(); ++i) {
    const double x = d.xs[i], w = d.x_weight[i];
    if (x > 0) {
      d.log_b1[i] = std::log(b + x - 1);
      d.inv_b1[i] = 1 / (b + x - 1);
    }
    if (w == 0) continue;
    ll += w * (LogGamma(r + x) - lg_r + r * log_alpha + lg_ab + LogGamma(b + x) - lg_b -
               LogGamma(a + b + x));
    if (grad != nullptr) {
      const double dg_abx = Digamma(a + b + x);
      g_r += w * (Digamma(r + x) - dg_r + log_alpha);
      g_alpha += w * r / alpha;
      g_a += w * (dg_ab - dg_abx);
      g_b += w * (dg_ab + Digamma(b + x) - dg_b - dg_abx);
    }
  }
  for (size_t i = 0; i < d.ts.size(); ++i) {  // x == 0: ll = C(0) + A3 = ... - r ln(alpha + T)
    const double w = d.zero_weight[i];
    if (w == 0) continue;
    ll -= w * r * d.log_t[i];
    g_r -= w * d.log_t[i];
    g_alpha -= w * r * d.inv_t[i];
  }
  for (const BgNbdRepeat& p : d.repeats) {
    const double rx = r + p.x;
    const double a3 = -rx * d.log_t[p.it];
    const double a4 = log_a - d.log_b1[p.ix] - rx * d.log_tx[p.itx];
    // log(exp(a3) + exp(a4)) and the share w of the a4 term, without overflow.
    const double diff = a4 - a3;
    const double e = std::exp(-std::abs(diff));
    const double lse = std::max(a3, a4) + std::log1p(e);
    const double share = diff > 0 ? 1 / (1 + e) : e / (1 + e);
    ll += p.count * lse;
    if (grad != nullptr) {
      const double keep = 1 - share;
      g_r -= p.count * (keep * d.log_t[p.it] + share * d.log_tx[p.itx]);
      g_alpha -= p.count * rx * (keep * d.inv_t[p.it] + share * d.inv_tx[p.itx]);
      g_a += p.count * share / a;
      g_b -= p.count * share * d.inv_b1[p.ix];
    }
  }
  if (grad != nullptr) {
    grad[0] = g_r * r;
    grad[1] = g_alpha * alpha;
    grad[2] = g_a * a;
    grad[3] = g_b * b;
  }
  return ll;
}

double BgNbdObjective(unsigned n, const double* theta, double* grad, void* data) {
  auto& d = *static_cast<BgNbdData*>(data);
  const std::array<double, 4> params = {std::exp(theta[0]), std::exp(theta[1]), std::exp(theta[2]),
                                        std::exp(theta[3])};
  const double ll = BgNbdLogLikelihood(d, params, grad);
  bool finite = std::isfinite(ll);
  if (grad != nullptr) {
    for (unsigned i = 0; i < n; ++i) {
      grad[i] = -grad[i] / d.customers;
      finite = finite && std::isfinite(grad[i]);
    }
  }
  if (!finite) return std::numeric_limits<double>::infinity();
  return -ll / d.customers;
}

std::string PatternProblem(size_t index, const std::string& why) {
  return "purchase history pattern " + std::to_string(index + 1) + " is not valid: " + why;
}

Result<BgNbdData> PrepareBgNbd(std::span<const Pattern> patterns) {
  BgNbdData d;
  double repeat_buyers = 0;
  std::vector<double> xs, ts, txs;
  for (size_t i = 0; i < patterns.size(); ++i) {
    const Pattern& p = patterns[i];
    if (!std::isfinite(p.x) || !std::isfinite(p.t_x) || !std::isfinite(p.T) ||
        !std::isfinite(p.count)) {
      return InvalidInput(PatternProblem(i, "a value is not a finite number"));
    }
    if (p.x < 0 || p.x != std::floor(p.x)) {
      return InvalidInput(PatternProblem(
          i, "the number of repeat purchases must be a whole number >= 0, not " + Num(p.x)));
    }
    if (p.t_x < 0 || p.T < 0 || p.count < 0) {
      return InvalidInput(PatternProblem(i, "t_x, T and count must not be negative"));
    }
    if (p.t_x > p.T) {
      return InvalidInput(
          PatternProblem(i, "the last purchase (t_x = " + Num(p.t_x) +
                                ") is after the end of the history (T = " + Num(p.T) + ")"));
    }
    if (p.count == 0) continue;
    d.customers += p.count;
    xs.push_back(p.x);
    ts.push_back(p.T);
    if (p.x > 0) {
      repeat_buyers += p.count;
      txs.push_back(p.t_x);
    }
  }
  if (repeat_buyers < kMinRepeatBuyers) {
    return InvalidInput("too few repeat buyers to fit the purchase model: " + Num(repeat_buyers) +
                        ", need at least " + Num(kMinRepeatBuyers));
  }
  d.xs = Distinct(std::move(xs));
  d.ts = Distinct(std::move(ts));
  d.txs = Distinct(std::move(txs));
  d.x_weight.assign(d.xs.size(), 0);
  d.zero_weight.assign(d.ts.size(), 0);
  for (const Pattern& p : patterns) {
    if (p.count == 0) continue;
    const uint32_t ix = IndexOf(d.xs, p.x), it = IndexOf(d.ts, p.T);
    d.x_weight[ix] += p.count;
    if (p.x == 0) {
      d.zero_weight[it] += p.count;
    } else {
      d.repeats.push_back({p.count, p.x, ix, it, IndexOf(d.txs, p.t_x)});
    }
  }
  d.log_t.resize(d.ts.size());
  d.inv_t.resize(d.ts.size());
  d.log_tx.resize(d.txs.size());
  d.inv_tx.resize(d.txs.size());
  d.log_b1.assign(d.xs.size(), 0);
  d.inv_b1.assign(d.xs.size(), 0);
  return d;
}

// What parameters at the edge of their range say about the shop's history, or "" if none is.
// edges: r, alpha, a, b as from Edges().
std::string BgNbdEdgeReason(const std::vector<int>& edges) {
  const int a = edges[2], b = edges[3];
  if (a > 0 && b > 0) return "every customer seems equally likely to stop buying after a purchase";
  if (a < 0 && b < 0) return "customers seem either to stop at once or never to stop";
  if (b > 0 || a < 0) return "almost no customer seems to stop buying";
  if (a > 0 || b < 0) return "customers seem to stop buying almost at once";
  if (edges[0] > 0 || edges[1] > 0) return "customers seem to buy at almost exactly the same rate";
  if (edges[0] < 0 || edges[1] < 0) return "purchase rates vary too wildly between customers";
  return "";
}

// ---- Gamma-Gamma -----------------------------------------------------------------------------
//
// Customer log-likelihood of zbar given x (Colombo & Jiang 1999; FHL 2005 "RFM and CLV"):
//   ll = lgamma(px+q) - lgamma(px) - lgamma(q) + q ln v + (px-1) ln zbar + px ln x
//        - (px+q) ln(x zbar + v)
//      = G(x) + p x ln(x zbar) - ln zbar - (px+q) ln(x zbar + v)
// G(x) is summed once per distinct x; sum(count x ln(x zbar)) and sum(count ln zbar) do not depend
// on the parameters; per pattern one log remains.

struct SpendRow {
  double count;
  double x;
  double m;  // x * zbar
};

struct GammaGammaData {
  std::vector<double> xs, x_weight;
  std::vector<SpendRow> rows;
  double customers = 0;
  double sum_x_log_m = 0;   // sum count * x * ln(x zbar)
  double sum_log_zbar = 0;  // sum count * ln(zbar)
};

double GammaGammaLogLikelihood(const GammaGammaData& d, const std::array<double, 3>& params,
                               double* grad) {
  const auto [p, q, v] = params;
  const double log_v = std::log(v);
  const double lg_q = LogGamma(q), dg_q = Digamma(q);
  double ll = p * d.sum_x_log_m - d.sum_log_zbar;
  double g_p = d.sum_x_log_m, g_q = 0, g_v = 0;
  for (size_t i = 0; i < d.xs.size(); ++i) {
    const double x = d.xs[i], w = d.x_weight[i];
    ll += w * (LogGamma(p * x + q) - LogGamma(p * x) - lg_q + q * log_v);
    if (grad != nullptr) {
      const double dg_pxq = Digamma(p * x + q);
      g_p += w * x * (dg_pxq - Digamma(p * x));
      g_q += w * (dg_pxq - dg_q + log_v);
      g_v += w * q / v;
    }
  }
  for (const SpendRow& row : d.rows) {
    const double pxq = p * row.x + q;
    const double log_mv = std::log(row.m + v);
    ll -= row.count * pxq * log_mv;
    if (grad != nullptr) {
      g_p -= row.count * row.x * log_mv;
      g_q -= row.count * log_mv;
      g_v -= row.count * pxq / (row.m + v);
    }
  }
  if (grad != nullptr) {
    grad[0] = g_p * p;
    grad[1] = g_q * q;
    grad[2] = g_v * v;
  }
  return ll;
}

double GammaGammaObjective(unsigned n, const double* theta, double* grad, void* data) {
  const auto& d = *static_cast<const GammaGammaData*>(data);
  const std::array<double, 3> params = {std::exp(theta[0]), std::exp(theta[1]), std::exp(theta[2])};
  const double ll = GammaGammaLogLikelihood(d, params, grad);
  bool finite = std::isfinite(ll);
  if (grad != nullptr) {
    for (unsigned i = 0; i < n; ++i) {
      grad[i] = -grad[i] / d.customers;
      finite = finite && std::isfinite(grad[i]);
    }
  }
  if (!finite) return std::numeric_limits<double>::infinity();
  return -ll / d.customers;
}

// As BgNbdEdgeReason, for p, q, v.
std::string GammaGammaEdgeReason(const std::vector<int>& edges) {
  if (edges[0] > 0) return "each customer spends almost exactly the same amount every time";
  if (edges[0] < 0) return "one customer's order values vary too wildly";
  if (edges[1] > 0 || edges[2] > 0) {
    return "customers' average order values hardly differ from one another";
  }
  if (edges[1] < 0 || edges[2] < 0) {
    return "average order values vary too wildly between customers";
  }
  return "";
}

// ---- Predictions -----------------------------------------------------------------------------

bool ValidParams(const BgNbdParams& p) {
  return Positive(p.r) && Positive(p.alpha) && Positive(p.a) && Positive(p.b);
}

bool ValidHistory(double x, double t_x, double T) {
  return std::isfinite(x) && std::isfinite(t_x) && std::isfinite(T) && x >= 0 && t_x >= 0 &&
         t_x <= T;
}

// P(alive) for valid inputs: 1 / (1 + [x > 0] a / (b+x-1) ((alpha+T) / (alpha+t_x))^(r+x)).
double PAliveUnchecked(const BgNbdParams& p, double x, double t_x, double T) {
  if (x == 0) return 1;
  const double log_odds = std::log(p.a) - std::log(p.b + x - 1) +
                          (p.r + x) * (std::log(p.alpha + T) - std::log(p.alpha + t_x));
  return 1 / (1 + std::exp(log_odds));
}

// The first factor of FHL 2005 eq. 10 (the expectation if the customer is surely alive):
//   (a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)],   z = t / (alpha+T+t).
// Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) gives the same bracket as
//   1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z).
// The terms of a 2F1 series grow roughly like exp(z A B / C) before they shrink, so the plain form
// overflows for heavy buyers (x of a few hundred) and the transformed one for large a; each is used
// where its A B is the smaller. At a == 1 the factor is 0/0 with a finite limit; a within kNearOne
// of 1 is evaluated at 1 + kNearOne, which changes the result by a relative O(1e-7).
double AliveExpectation(const BgNbdParams& p, double t, double x, double T) {
  constexpr double kNearOne = 1e-7;
  const double a = std::abs(p.a - 1) < kNearOne ? 1 + kNearOne : p.a;
  const double c = a + p.b + x - 1;
  const double z = t / (p.alpha + T + t);
  const double log_one_minus_z = -std::log1p(t / (p.alpha + T));
  double exponent = 0, hyp = 0;  // bracket = 1 - (1-z)^exponent * hyp
  if (std::abs((a + p.b - 1 - p.r) * (a - 1)) <= (p.r + x) * (p.b + x)) {
    exponent = a - 1;
    hyp = boost::math::hypergeometric_pFq({a + p.b - 1 - p.r, a - 1}, {c}, z,
                                          static_cast<double*>(nullptr), MathPolicy());
  } else {
    exponent = p.r + x;
    hyp = boost::math::hypergeometric_pFq({p.r + x, p.b + x}, {c}, z, static_cast<double*>(nullptr),
                                          MathPolicy());
  }
  // 1 - e^u hyp, written so that the small-t end keeps its digits.
  const double u = exponent * log_one_minus_z;
  return c / (a - 1) * (-std::expm1(u) - std::exp(u) * (hyp - 1));
}

}  // namespace

Result<BgNbdParams> FitBgNbd(std::span<const Pattern> patterns) {
  auto prepared = PrepareBgNbd(patterns);
  if (!prepared) return tl::unexpected(prepared.error());
  BgNbdData& d = *prepared;

  // Start: r = a = b = 1 and alpha from the observed repeat rate; bounds scale with the start.
  double exposure = 0, purchases = 0;
  for (const BgNbdRepeat& p : d.repeats) purchases += p.count * p.x;
  for (const Pattern& p : patterns) exposure += p.count * p.T;
  const double alpha0 = exposure > 0 ? exposure / purchases : 1;

  Problem problem;
  problem.model = "purchase model";
  problem.evaluate = BgNbdObjective;
  problem.data = &d;
  problem.start = {0, std::log(alpha0), 0, 0};
  SetBounds(problem, {1, alpha0, 1, 1});
  auto theta = Minimise(problem);
  if (!theta) return tl::unexpected(theta.error());

  static constexpr std::array<const char*, 4> kNames = {"r", "alpha", "a", "b"};
  const std::vector<int> edges = Edges(problem, *theta);
  if (const std::string reason = BgNbdEdgeReason(edges); !reason.empty()) {
    return InvalidInput("cannot fit the purchase model to this history: " + reason +
                        EdgeList(edges, *theta, kNames) +
                        "; a longer history or more customers usually fixes this");
  }
  BgNbdParams out;
  out.r = std::exp((*theta)[0]);
  out.alpha = std::exp((*theta)[1]);
  out.a = std::exp((*theta)[2]);
  out.b = std::exp((*theta)[3]);
  out.log_likelihood = BgNbdLogLikelihood(d, {out.r, out.alpha, out.a, out.b}, nullptr);
  if (!std::isfinite(out.log_likelihood)) {
    return InvalidInput(
        "cannot fit the purchase model: its likelihood is not finite for this history");
  }
  return out;
}

Result<GammaGammaParams> FitGammaGamma(std::span<const SpendPattern> patterns) {
  GammaGammaData d;
  std::vector<double> xs;
  double spend = 0;
  for (size_t i = 0; i < patterns.size(); ++i) {
    const SpendPattern& p = patterns[i];
    if (!std::isfinite(p.x) || !std::isfinite(p.zbar) || !std::isfinite(p.count) || p.x < 0 ||
        p.zbar < 0 || p.count < 0) {
      return InvalidInput("spend pattern " + std::to_string(i + 1) +
                          " is not valid: x, zbar and count must be finite and not negative");
    }
    if (p.x == 0 || p.zbar == 0 || p.count == 0) continue;
    d.customers += p.count;
    spend += p.count * p.zbar;
    const double m = p.x * p.zbar;
    d.rows.push_back({p.count, p.x, m});
    d.sum_x_log_m += p.count * p.x * std::log(m);
    d.sum_log_zbar += p.count * std::log(p.zbar);
    xs.push_back(p.x);
  }
  if (d.customers < kMinRepeatBuyers) {
    return InvalidInput("too few repeat buyers to fit the spend model: " + Num(d.customers) +
                        ", need at least " + Num(kMinRepeatBuyers));
  }
  d.xs = Distinct(std::move(xs));
  d.x_weight.assign(d.xs.size(), 0);
  for (const SpendRow& row : d.rows) d.x_weight[IndexOf(d.xs, row.x)] += row.count;

  // Start: p = 1, q = 2, v = mean zbar (so the population mean p v / (q - 1) is the observed one).
  const double v0 = spend / d.customers;
  Problem problem;
  problem.model = "spend model";
  problem.evaluate = GammaGammaObjective;
  problem.data = &d;
  problem.start = {0, std::log(2.0), std::log(v0)};
  SetBounds(problem, {1, 1, v0});
  auto theta = Minimise(problem);
  if (!theta) return tl::unexpected(theta.error());

  static constexpr std::array<const char*, 3> kNames = {"p", "q", "v"};
  const std::vector<int> edges = Edges(problem, *theta);
  if (const std::string reason = GammaGammaEdgeReason(edges); !reason.empty()) {
    return InvalidInput("cannot fit the spend model to this history: " + reason +
                        EdgeList(edges, *theta, kNames));
  }
  GammaGammaParams out;
  out.p = std::exp((*theta)[0]);
  out.q = std::exp((*theta)[1]);
  out.v = std::exp((*theta)[2]);
  if (out.q <= 1) {
    return InvalidInput(
        "cannot fit the spend model to this history: average order values vary so wildly "
        "between customers that no population average exists (q = " +
        Num(out.q) + ", must be above 1)");
  }
  out.log_likelihood = GammaGammaLogLikelihood(d, {out.p, out.q, out.v}, nullptr);
  if (!std::isfinite(out.log_likelihood)) {
    return InvalidInput(
        "cannot fit the spend model: its likelihood is not finite for this history");
  }
  return out;
}

double PAlive(const BgNbdParams& params, double x, double t_x, double T) {
  if (!ValidParams(params) || !ValidHistory(x, t_x, T)) return kNaN;
  return PAliveUnchecked(params, x, t_x, T);
}

double ExpectedPurchases(const BgNbdParams& params, double t, double x, double t_x, double T) {
  if (!ValidParams(params) || !ValidHistory(x, t_x, T) || !std::isfinite(t) || t < 0) return kNaN;
  if (t == 0) return 0;
  return PAliveUnchecked(params, x, t_x, T) * AliveExpectation(params, t, x, T);
}

double ExpectedOrderValue(const GammaGammaParams& params, double x, double zbar) {
  if (!Positive(params.p) || !Positive(params.v) || !std::isfinite(params.q) || params.q <= 1 ||
      !std::isfinite(x) || x < 0) {
    return kNaN;
  }
  const double population = params.p * params.v / (params.q - 1);
  if (x == 0) return population;
  if (!std::isfinite(zbar) || zbar < 0) return kNaN;
  // Weighted mean: (q - 1) / (px + q - 1) of the population mean, the rest of zbar.
  const double weight = params.p * x / (params.p * x + params.q - 1);
  return (1 - weight) * population + weight * zbar;
}

double Clv(const BgNbdParams& purchase, const GammaGammaParams& spend, double x, double t_x,
           double T, double zbar, const ClvTerms& terms) {
  if (!Positive(terms.horizon) || !Positive(terms.period) || !Positive(terms.units_per_year) ||
      !std::isfinite(terms.annual_discount_rate) || terms.annual_discount_rate < 0 ||
      !std::isfinite(terms.margin) || terms.margin < 0 || terms.margin > 1) {
    return kNaN;
  }
  const double periods = std::ceil(terms.horizon / terms.period * (1 - 1e-12));
  if (periods > kMaxClvPeriods) return kNaN;
  if (!ValidParams(purchase) || !ValidHistory(x, t_x, T)) return kNaN;
  const double order_value = ExpectedOrderValue(spend, x, zbar);
  if (std::isnan(order_value)) return kNaN;

  const double alive = PAliveUnchecked(purchase, x, t_x, T);
  const double log_growth = std::log1p(terms.annual_discount_rate);
  double discounted_purchases = 0;
  double before = 0;  // expected purchases up to the previous period's end
  for (int k = 1; k <= static_cast<int>(periods); ++k) {
    const double end = std::min(k * terms.period, terms.horizon);
    const double upto = alive * AliveExpectation(purchase, end, x, T);
    discounted_purchases += (upto - before) * std::exp(-end / terms.units_per_year * log_growth);
    before = upto;
  }
  return terms.margin * order_value * discounted_purchases;
}

}  // namespace followup::worth
