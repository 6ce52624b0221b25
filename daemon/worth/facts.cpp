#include "worth/facts.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "base/money.h"

namespace followup::worth {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kYearSeconds = 365 * 86400;

constexpr std::array<FactInfo, 25> kFacts = {{
    {Fact::kPurchases, "purchases", FactType::kCount, "purchases made (returns not subtracted)"},
    {Fact::kFirstPurchaseAt, "first_purchase_at", FactType::kTime, "when they first bought"},
    {Fact::kLastPurchaseAt, "last_purchase_at", FactType::kTime, "when they last bought"},
    {Fact::kDaysSinceLastPurchase, "days_since_last_purchase", FactType::kDays,
     "days since their last purchase"},
    {Fact::kDaysAsCustomer, "days_as_customer", FactType::kDays,
     "days since they became a customer (record or first purchase, whichever is earlier)"},
    {Fact::kTypicalGapDays, "typical_gap_days", FactType::kDays,
     "their own usual days between purchases (median; needs two purchase days)"},
    {Fact::kOverdueRatio, "overdue_ratio", FactType::kRatio,
     "days since last purchase / typical gap: above 1 is later than their habit"},
    {Fact::kRevenue, "revenue", FactType::kMoney, "money taken from their purchases"},
    {Fact::kReturns, "returns", FactType::kMoney, "money given back for returns and refunds"},
    {Fact::kNetRevenue, "net_revenue", FactType::kMoney, "revenue minus returns"},
    {Fact::kProfit, "profit", FactType::kMoney,
     "net revenue minus the cost of the goods kept (default margin where cost is unknown)"},
    {Fact::kReturnRate, "return_rate", FactType::kRatio, "returns / revenue"},
    {Fact::kAverageOrderValue, "average_order_value", FactType::kMoney, "revenue / purchases"},
    {Fact::kRevenue12m, "revenue_12m", FactType::kMoney, "revenue in the last 365 days"},
    {Fact::kProfit12m, "profit_12m", FactType::kMoney, "profit in the last 365 days"},
    {Fact::kReferrals, "referrals", FactType::kCount, "customers they referred who have bought"},
    {Fact::kReferredRevenue, "referred_revenue", FactType::kMoney,
     "net revenue of the customers they referred"},
    {Fact::kRecencyScore, "recency_score", FactType::kScore,
     "1-5: how recently they bought, against all buyers (5 = most recent fifth)"},
    {Fact::kFrequencyScore, "frequency_score", FactType::kScore,
     "1-5: how often they bought, against all buyers (5 = most frequent fifth)"},
    {Fact::kMonetaryScore, "monetary_score", FactType::kScore,
     "1-5: how much they spent net, against all buyers (5 = top fifth)"},
    {Fact::kProfitPercentile, "profit_percentile", FactType::kPercent,
     "share of all customers whose profit is at most theirs"},
    {Fact::kPAlive, "p_alive", FactType::kRatio,
     "probability they are still an active customer (BG/NBD)"},
    {Fact::kExpectedPurchases90d, "expected_purchases_90d", FactType::kNumber,
     "purchases to expect from them in the next 90 days"},
    {Fact::kExpectedOrderValue, "expected_order_value", FactType::kMoney,
     "what their next order is likely worth (Gamma-Gamma)"},
    {Fact::kClv12m, "clv_12m", FactType::kMoney,
     "expected profit from them over the next 12 months, discounted"},
}};

double UnitDays(TimeUnit unit) { return unit == TimeUnit::kWeeks ? 7.0 : 1.0; }

std::optional<double> Defined(double v) {
  if (std::isnan(v)) return std::nullopt;
  return v;
}

// Quintile cut points (values at 20, 40, 60, 80%) of `values` (sorted in place).
std::vector<double> Quintiles(std::vector<double>& values) {
  std::vector<double> cuts;
  if (values.empty()) return cuts;
  std::sort(values.begin(), values.end());
  for (int q = 1; q <= 4; ++q) {
    size_t i = std::min(values.size() - 1, values.size() * q / 5);
    cuts.push_back(values[i]);
  }
  return cuts;
}

// 1 + how many cut points `v` is above: 1..5.
int Score(double v, const std::vector<double>& cuts) {
  int score = 1;
  for (double c : cuts)
    if (v > c) ++score;
  return score;
}

// "Today" in the business zone. Facts ask for it on every read, so the last answer is kept.
int64_t Today(const FactsOptions& o) {
  thread_local Instant at = Instant::min();
  thread_local const date::time_zone* zone = nullptr;
  thread_local int64_t day = 0;
  if (o.at != at || o.zone != zone) {
    at = o.at;
    zone = o.zone;
    day = LocalDay(o.at, o.zone);
  }
  return day;
}

// 10^exponent for the currency exponents there are (0..4).
double Scale(int exponent) {
  static constexpr double kPowers[] = {1, 10, 100, 1000, 10000};
  return exponent >= 0 && exponent <= 4 ? kPowers[exponent] : std::pow(10.0, exponent);
}

double DaysSinceLast(const CustomerSummary& s, const FactsOptions& o) {
  return s.has_purchases() ? static_cast<double>(Today(o) - s.last_day) : kNaN;
}

// The distinct-pattern key of a buyer: x, t_x and T in days, packed.
uint64_t PatternKey(const CustomerSummary& s, int64_t today) {
  const uint64_t x = static_cast<uint64_t>(s.repeat_days());
  const uint64_t tx = static_cast<uint64_t>(s.last_day - s.first_day);
  const uint64_t age = static_cast<uint64_t>(today - s.first_day);
  return (x << 42) | (tx << 21) | age;
}

}  // namespace

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t difference;
  if (!__builtin_sub_overflow(a, b, &difference)) return difference;
  return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

int64_t SaturatingRound(double minor_units) {
  constexpr double kTwo63 = 9223372036854775808.0;  // 2^63, the first double past int64_t
  if (std::isnan(minor_units)) return 0;
  if (minor_units >= kTwo63) return std::numeric_limits<int64_t>::max();
  if (minor_units <= -kTwo63) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(std::llround(minor_units));
}

CustomerSummary Summarize(int64_t customer_id, int64_t referred_by,
                          std::optional<Instant> created_at,
                          std::span<const store::TransactionRow> transactions,
                          const FactsOptions& o) {
  CustomerSummary s;
  s.customer_id = customer_id;
  s.referred_by = referred_by;
  DayCounter day_of(o.zone);
  if (created_at) s.created_day = static_cast<int32_t>(day_of(*created_at));
  const int64_t year_ago = o.at.time_since_epoch().count() - kYearSeconds;
  const double margin = o.default_margin;
  thread_local std::vector<int32_t> gaps;
  gaps.clear();
  double day_total = 0;     // spend on the current purchase day
  double repeat_total = 0;  // spend on the repeat purchase days
  for (const auto& t : transactions) {
    const int64_t when = t.occurred_at.time_since_epoch().count();
    const bool recent = when > year_ago;
    double profit = 0;
    if (t.kind == store::Kind::kPurchase) {
      profit = t.cost ? static_cast<double>(t.amount - *t.cost) : t.amount * margin;
      s.revenue = SaturatingAdd(s.revenue, t.amount);
      if (recent) s.revenue_12m = SaturatingAdd(s.revenue_12m, t.amount);
      ++s.purchases;
      auto day = static_cast<int32_t>(day_of(t.occurred_at));
      if (s.purchase_days == 0) {
        s.first_day = day;
        s.first_purchase_at = when;
        s.purchase_days = 1;
        day_total = 0;
      } else if (day != s.last_day) {
        gaps.push_back(day - s.last_day);
        if (s.purchase_days > 1) repeat_total += day_total;
        ++s.purchase_days;
        day_total = 0;
      }
      day_total += static_cast<double>(t.amount);
      s.last_day = day;
      s.last_purchase_at = when;
    } else {
      // A return brings the goods back (their cost is recovered); a refund does not.
      if (t.kind == store::Kind::kReturn)
        profit = -(t.cost ? static_cast<double>(t.amount - *t.cost) : t.amount * margin);
      else
        profit = -static_cast<double>(t.amount);
      s.returns = SaturatingAdd(s.returns, t.amount);
    }
    s.profit = SaturatingAdd(s.profit, SaturatingRound(profit));
    if (recent) s.profit_12m = SaturatingAdd(s.profit_12m, SaturatingRound(profit));
  }
  if (s.purchase_days > 1) {
    repeat_total += day_total;
    s.zbar = static_cast<float>(repeat_total / (s.purchase_days - 1) /
                                std::pow(10.0, o.currency_exponent));
    std::nth_element(gaps.begin(), gaps.begin() + gaps.size() / 2, gaps.end());
    double median = gaps[gaps.size() / 2];
    if (gaps.size() % 2 == 0) {
      double lower = *std::max_element(gaps.begin(), gaps.begin() + gaps.size() / 2);
      median = (median + lower) / 2;
    }
    s.typical_gap_days = static_cast<float>(median);
  }
  return s;
}

Pattern PatternOf(const CustomerSummary& s, const FactsOptions& o) {
  const double unit = UnitDays(o.unit);
  Pattern p;
  p.x = s.repeat_days();
  p.t_x = (s.last_day - s.first_day) / unit;
  p.T = (Today(o) - s.first_day) / unit;
  p.count = 1;
  return p;
}

Population BuildPopulation(std::span<const CustomerSummary> summaries, const FactsOptions& o) {
  Population pop;
  // Distinct (x, t_x, T) and (x, zbar) patterns: the fits cost what the patterns do.
  std::unordered_map<uint64_t, double> patterns;
  std::unordered_map<uint64_t, double> spend;
  std::vector<double> recency, frequency, monetary;
  pop.sorted_profits.reserve(summaries.size());
  recency.reserve(summaries.size());
  frequency.reserve(summaries.size());
  monetary.reserve(summaries.size());
  const int64_t today = Today(o);
  for (const auto& s : summaries) {
    pop.sorted_profits.push_back(s.profit);
    if (!s.has_purchases() || s.first_day > today) continue;
    ++pop.model.customers;
    patterns[PatternKey(s, today)] += 1;
    const uint64_t x = static_cast<uint64_t>(s.repeat_days());
    if (x > 0 && s.zbar > 0) {
      uint32_t bits;
      std::memcpy(&bits, &s.zbar, sizeof bits);
      spend[(x << 32) | bits] += 1;
      ++pop.model.repeat_buyers;
    }
    recency.push_back(static_cast<double>(today - s.last_day));
    frequency.push_back(s.purchases);
    monetary.push_back(static_cast<double>(s.revenue - s.returns));
  }
  std::sort(pop.sorted_profits.begin(), pop.sorted_profits.end());
  pop.recency_cuts = Quintiles(recency);
  pop.frequency_cuts = Quintiles(frequency);
  pop.monetary_cuts = Quintiles(monetary);

  const double unit = UnitDays(o.unit);
  std::vector<Pattern> fit_patterns;
  fit_patterns.reserve(patterns.size());
  for (const auto& [key, count] : patterns) {
    double x = static_cast<double>(key >> 42);
    double tx = static_cast<double>((key >> 21) & ((1u << 21) - 1)) / unit;
    double age = static_cast<double>(key & ((1u << 21) - 1)) / unit;
    fit_patterns.push_back({x, tx, age, count});
  }
  // Deterministic order whatever the hash map did.
  std::sort(fit_patterns.begin(), fit_patterns.end(), [](const Pattern& a, const Pattern& b) {
    return std::tie(a.x, a.t_x, a.T) < std::tie(b.x, b.t_x, b.T);
  });
  std::vector<SpendPattern> spend_patterns;
  spend_patterns.reserve(spend.size());
  for (const auto& [key, count] : spend) {
    uint32_t bits = static_cast<uint32_t>(key & 0xffffffffu);
    float zbar;
    std::memcpy(&zbar, &bits, sizeof zbar);
    spend_patterns.push_back({static_cast<double>(key >> 32), zbar, count});
  }
  std::sort(spend_patterns.begin(), spend_patterns.end(),
            [](const SpendPattern& a, const SpendPattern& b) {
              return std::tie(a.x, a.zbar) < std::tie(b.x, b.zbar);
            });
  // What the fits do not need is freed before they run (memory peaks here on large stores).
  patterns = {};
  spend = {};
  pop.model.patterns = static_cast<int64_t>(fit_patterns.size());
  pop.model.spend_patterns = static_cast<int64_t>(spend_patterns.size());
  if (auto fit = FitBgNbd(fit_patterns))
    pop.model.bgnbd = *fit;
  else
    pop.model.bgnbd_note = fit.error().message;
  if (auto fit = FitGammaGamma(spend_patterns))
    pop.model.gamma_gamma = *fit;
  else
    pop.model.gamma_gamma_note = fit.error().message;
  return pop;
}

PatternValue ValuePattern(const BgNbdParams& model, const Pattern& p, const FactsOptions& o) {
  const double unit = UnitDays(o.unit);
  PatternValue v;
  v.p_alive = static_cast<float>(PAlive(model, p.x, p.t_x, p.T));
  v.expected_purchases_90d =
      static_cast<float>(ExpectedPurchases(model, 90 / unit, p.x, p.t_x, p.T));
  ClvTerms terms;
  terms.units_per_year = 365.25 / unit;
  terms.horizon = terms.units_per_year;
  terms.period = terms.horizon / 12;
  terms.annual_discount_rate = o.annual_discount_rate;
  terms.margin = 1;
  // With p = 1, q = 2, v = zbar = 1 the expected order value is 1 whatever x: Clv is then the
  // discounted expected purchases alone.
  const GammaGammaParams unit_spend{1, 2, 1, 0};
  v.discounted_purchases_12m =
      static_cast<float>(Clv(model, unit_spend, p.x, p.t_x, p.T, 1, terms));
  return v;
}

void ApplyModel(CustomerSummary& s, const Population& pop, const FactsOptions& o,
                const PatternValue* known) {
  s.p_alive = s.expected_purchases_90d = s.expected_order_value = s.clv_12m =
      std::numeric_limits<float>::quiet_NaN();
  if (!s.has_purchases()) return;
  const double scale = Scale(o.currency_exponent);
  const double net = static_cast<double>(s.revenue - s.returns);
  const double margin =
      net > 0 ? std::clamp(static_cast<double>(s.profit) / net, 0.0, 1.0) : o.default_margin;
  const Pattern p = PatternOf(s, o);
  const auto& m = pop.model;
  double order_value = m.gamma_gamma ? ExpectedOrderValue(*m.gamma_gamma, p.x, s.zbar) : kNaN;
  // Without a spend model: the customer's own average order value.
  if (std::isnan(order_value)) order_value = s.revenue / scale / s.purchases;
  s.expected_order_value = static_cast<float>(order_value);
  if (m.bgnbd && p.T >= 0) {
    PatternValue v = known ? *known : ValuePattern(*m.bgnbd, p, o);
    s.p_alive = v.p_alive;
    s.expected_purchases_90d = v.expected_purchases_90d;
    s.clv_12m = static_cast<float>(margin * order_value * v.discounted_purchases_12m);
  } else {
    // Historic fallback: their own past rate of purchase days and last year's profit.
    const double days = std::max<int64_t>(1, Today(o) - s.first_day + 1);
    s.expected_purchases_90d = static_cast<float>(s.purchase_days / days * 90);
    s.clv_12m = static_cast<float>(s.profit_12m / scale);
  }
}

void ApplyModelToAll(std::span<CustomerSummary> summaries, const Population& pop,
                     const FactsOptions& o, int threads) {
  if (!pop.model.bgnbd) {
    for (auto& s : summaries) ApplyModel(s, pop, o);
    return;
  }
  // Each distinct pattern is valued once (the series behind it are the expensive part).
  const int64_t today = Today(o);
  std::unordered_map<uint64_t, uint32_t> index;
  std::vector<Pattern> distinct;
  std::vector<uint32_t> slot(summaries.size(), UINT32_MAX);
  for (size_t i = 0; i < summaries.size(); ++i) {
    const auto& s = summaries[i];
    if (!s.has_purchases() || s.first_day > today) continue;
    auto [it, fresh] = index.emplace(PatternKey(s, today), static_cast<uint32_t>(distinct.size()));
    if (fresh) distinct.push_back(PatternOf(s, o));
    slot[i] = it->second;
  }
  index = {};
  std::vector<PatternValue> values(distinct.size());
  auto work = [&](size_t begin, size_t end) {
    for (size_t k = begin; k < end; ++k) values[k] = ValuePattern(*pop.model.bgnbd, distinct[k], o);
  };
  threads = std::max(1, std::min<int>(threads, static_cast<int>(distinct.size() / 1024) + 1));
  std::vector<std::thread> pool;
  const size_t chunk = (distinct.size() + threads - 1) / threads;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(work, std::min(distinct.size(), t * chunk),
                      std::min(distinct.size(), (t + 1) * chunk));
  work(0, std::min(distinct.size(), chunk));
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < summaries.size(); ++i)
    ApplyModel(summaries[i], pop, o, slot[i] == UINT32_MAX ? nullptr : &values[slot[i]]);
}

void AddReferrals(std::span<CustomerSummary> summaries) {
  for (auto& s : summaries) {
    s.referrals = 0;
    s.referred_revenue = 0;
  }
  for (const auto& s : summaries) {
    if (s.referred_by == 0) continue;
    auto it =
        std::lower_bound(summaries.begin(), summaries.end(), s.referred_by,
                         [](const CustomerSummary& c, int64_t id) { return c.customer_id < id; });
    if (it == summaries.end() || it->customer_id != s.referred_by) continue;
    if (s.has_purchases()) ++it->referrals;
    it->referred_revenue = SaturatingAdd(it->referred_revenue, s.revenue - s.returns);
  }
}

std::string FormatFact(const FactInfo& info, double value, int exponent) {
  char buf[64];
  switch (info.type) {
    case FactType::kMoney:
      return FormatAmount(SaturatingRound(value * std::pow(10.0, exponent)), exponent);
    case FactType::kTime:
      return FormatInstant(Instant{std::chrono::seconds{static_cast<int64_t>(value)}});
    case FactType::kCount:
    case FactType::kScore:
      std::snprintf(buf, sizeof buf, "%.0f", value);
      return buf;
    case FactType::kDays:
      std::snprintf(buf, sizeof buf, value == std::floor(value) ? "%.0f" : "%.1f", value);
      return buf;
    case FactType::kPercent:
      std::snprintf(buf, sizeof buf, "%.1f", value);
      return buf;
    case FactType::kRatio:
      std::snprintf(buf, sizeof buf, "%.3f", value);
      return buf;
    case FactType::kNumber:
      std::snprintf(buf, sizeof buf, "%.2f", value);
      return buf;
  }
  return "-";
}

std::span<const FactInfo> AllFacts() { return kFacts; }

std::optional<Fact> FindFact(std::string_view name) {
  for (const auto& f : kFacts)
    if (f.name == name) return f.fact;
  return std::nullopt;
}

const FactInfo& InfoOf(Fact fact) { return kFacts[static_cast<size_t>(fact)]; }

std::optional<double> FactValue(const CustomerSummary& s, const Population& pop,
                                const FactsOptions& o, Fact fact) {
  const double scale = Scale(o.currency_exponent);
  const bool bought = s.has_purchases();
  switch (fact) {
    case Fact::kPurchases:
      return s.purchases;
    case Fact::kFirstPurchaseAt:
      return bought ? std::optional<double>(s.first_purchase_at) : std::nullopt;
    case Fact::kLastPurchaseAt:
      return bought ? std::optional<double>(s.last_purchase_at) : std::nullopt;
    case Fact::kDaysSinceLastPurchase:
      return Defined(DaysSinceLast(s, o));
    case Fact::kDaysAsCustomer: {
      int32_t since = s.created_day;
      if (bought && (since == kNoDay || s.first_day < since)) since = s.first_day;
      if (since == kNoDay) return std::nullopt;
      return static_cast<double>(std::max<int64_t>(0, Today(o) - since));
    }
    case Fact::kTypicalGapDays:
      return Defined(s.typical_gap_days);
    case Fact::kOverdueRatio:
      if (!(s.typical_gap_days > 0)) return std::nullopt;
      return DaysSinceLast(s, o) / s.typical_gap_days;
    case Fact::kRevenue:
      return s.revenue / scale;
    case Fact::kReturns:
      return s.returns / scale;
    case Fact::kNetRevenue:
      return (s.revenue - s.returns) / scale;
    case Fact::kProfit:
      return s.profit / scale;
    case Fact::kReturnRate:
      if (s.revenue == 0) return std::nullopt;
      return static_cast<double>(s.returns) / static_cast<double>(s.revenue);
    case Fact::kAverageOrderValue:
      if (!bought) return std::nullopt;
      return s.revenue / scale / s.purchases;
    case Fact::kRevenue12m:
      return s.revenue_12m / scale;
    case Fact::kProfit12m:
      return s.profit_12m / scale;
    case Fact::kReferrals:
      return s.referrals;
    case Fact::kReferredRevenue:
      return s.referred_revenue / scale;
    case Fact::kRecencyScore:
      if (!bought || pop.recency_cuts.empty()) return std::nullopt;
      return 6 - Score(DaysSinceLast(s, o), pop.recency_cuts);
    case Fact::kFrequencyScore:
      if (!bought || pop.frequency_cuts.empty()) return std::nullopt;
      return Score(s.purchases, pop.frequency_cuts);
    case Fact::kMonetaryScore:
      if (!bought || pop.monetary_cuts.empty()) return std::nullopt;
      return Score(static_cast<double>(s.revenue - s.returns), pop.monetary_cuts);
    case Fact::kProfitPercentile: {
      if (pop.sorted_profits.empty()) return std::nullopt;
      auto at_most =
          std::upper_bound(pop.sorted_profits.begin(), pop.sorted_profits.end(), s.profit);
      return 100.0 * static_cast<double>(at_most - pop.sorted_profits.begin()) /
             static_cast<double>(pop.sorted_profits.size());
    }
    case Fact::kPAlive:
      return Defined(s.p_alive);
    case Fact::kExpectedPurchases90d:
      return Defined(s.expected_purchases_90d);
    case Fact::kExpectedOrderValue:
      return Defined(s.expected_order_value);
    case Fact::kClv12m:
      return Defined(s.clv_12m);
  }
  return std::nullopt;
}

}  // namespace followup::worth
