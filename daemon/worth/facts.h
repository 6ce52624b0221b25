// Customer facts: what every rule speaks in. Stable names (rules, `--json` and docs use them):
//
//   activity  purchases first_purchase_at last_purchase_at days_since_last_purchase
//             days_as_customer typical_gap_days overdue_ratio
//   money     revenue returns net_revenue profit return_rate average_order_value revenue_12m
//             profit_12m
//   referrals referrals referred_revenue
//   scores    recency_score frequency_score monetary_score profit_percentile
//   forward   p_alive expected_purchases_90d expected_order_value clv_12m
//
// The core here is pure: Summarize() folds one customer's transactions into a CustomerSummary,
// BuildPopulation() fits the models and the score cut points over all summaries, and FactValue()
// reads any fact off a summary. CustomerBase (customer_base.h) is the shell that feeds them from
// the store. Money facts are in major units of the business currency (29.33, not 2933).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "store/store.h"
#include "worth/model.h"

namespace followup::worth {

enum class TimeUnit { kDays, kWeeks };

struct FactsOptions {
  Instant at;                             // end of the observation window (`--at`, or now)
  const date::time_zone* zone = nullptr;  // business zone: purchase days are counted here
  TimeUnit unit = TimeUnit::kWeeks;       // the purchase model's time unit
  double default_margin = 0.3;            // profit share of revenue where a row has no cost
  double annual_discount_rate = 0.1;      // for clv_12m
  int currency_exponent = 2;              // minor units per major unit: 10^exponent
};

inline constexpr int32_t kNoDay = std::numeric_limits<int32_t>::min();

// One customer folded from their transactions: compact, because a million of them stay in memory.
// Money is in minor units here. Days are day numbers in the business zone.
struct CustomerSummary {
  int64_t customer_id = 0;
  int64_t referred_by = 0;        // store id of the referrer; 0 = none
  int64_t first_purchase_at = 0;  // UTC seconds; meaningful when purchases > 0
  int64_t last_purchase_at = 0;
  int64_t revenue = 0;  // purchases
  int64_t returns = 0;  // returns and refunds
  int64_t profit = 0;   // net revenue minus cost (default margin where cost is unknown)
  int64_t revenue_12m = 0;
  int64_t profit_12m = 0;
  int64_t referred_revenue = 0;  // net revenue of the customers this one referred
  int32_t purchases = 0;         // purchase transactions
  int32_t purchase_days = 0;     // distinct days with a purchase
  int32_t first_day = kNoDay;    // first purchase day
  int32_t last_day = kNoDay;     // last purchase day
  int32_t created_day = kNoDay;  // created_at's day, if known
  int32_t referrals = 0;         // referred customers who bought
  float typical_gap_days = std::numeric_limits<float>::quiet_NaN();  // median gap, 2+ days
  float zbar = 0;  // mean spend of the repeat purchase days (major units), for Gamma-Gamma
  // Filled by ApplyModel: NaN where undefined.
  float p_alive = std::numeric_limits<float>::quiet_NaN();
  float expected_purchases_90d = std::numeric_limits<float>::quiet_NaN();
  float expected_order_value = std::numeric_limits<float>::quiet_NaN();
  float clv_12m = std::numeric_limits<float>::quiet_NaN();

  bool has_purchases() const { return purchases > 0; }
  // Repeat purchase days, the BG/NBD x.
  int32_t repeat_days() const { return purchase_days > 0 ? purchase_days - 1 : 0; }
};

// Money sums in a summary saturate at the ends of int64_t (+-92233720368547758.07 in a 2-digit
// currency) instead of wrapping: a customer past that reads as that much, never as a small or
// negative sum. These are the sums' operations.
int64_t SaturatingAdd(int64_t a, int64_t b);
int64_t SaturatingSub(int64_t a, int64_t b);
// A double amount of minor units rounded to an integer, saturated likewise (NaN gives 0).
int64_t SaturatingRound(double minor_units);

// Folds one customer's transactions (ordered by time, all at or before options.at) into a summary.
// `created_at` is the customer's own record's, if any. Referral and model fields stay empty.
CustomerSummary Summarize(int64_t customer_id, int64_t referred_by,
                          std::optional<Instant> created_at,
                          std::span<const store::TransactionRow> transactions,
                          const FactsOptions& options);

// The fitted models, or why there are none.
struct ValueModel {
  std::optional<BgNbdParams> bgnbd;
  std::optional<GammaGammaParams> gamma_gamma;
  std::string bgnbd_note;        // why bgnbd is missing ("" when fitted)
  std::string gamma_gamma_note;  // why gamma_gamma is missing
  int64_t customers = 0;         // customers with a purchase, who the fit saw
  int64_t patterns = 0;          // distinct (x, t_x, T)
  int64_t spend_patterns = 0;    // distinct (x, zbar) among repeat buyers
  int64_t repeat_buyers = 0;
};

// What scores are relative to: everyone's facts at the last full computation.
struct Population {
  ValueModel model;
  // Quintile cut points (20/40/60/80%) over customers with a purchase.
  std::vector<double> recency_cuts;     // days since last purchase
  std::vector<double> frequency_cuts;   // purchases
  std::vector<double> monetary_cuts;    // net revenue (minor units)
  std::vector<int64_t> sorted_profits;  // every customer's profit, ascending
};

// The model inputs of one summary, in the options' time unit.
Pattern PatternOf(const CustomerSummary& s, const FactsOptions& options);

// Fits BG/NBD and Gamma-Gamma on the summaries and takes the score cut points. Never fails: where
// a model cannot be fitted its note says why and facts fall back to historic ones.
Population BuildPopulation(std::span<const CustomerSummary> summaries, const FactsOptions& options);

// What the purchase model says of one (x, t_x, T) pattern, whoever has it: P(alive), expected
// purchases in 90 days, and the discounted expected purchases over 12 months (monthly periods),
// which times margin and expected order value is clv_12m.
struct PatternValue {
  float p_alive = 0;
  float expected_purchases_90d = 0;
  float discounted_purchases_12m = 0;
};
PatternValue ValuePattern(const BgNbdParams& model, const Pattern& pattern,
                          const FactsOptions& options);

// Fills the forward-looking fields of one summary from the population's models (or the historic
// fallback: expected purchases at the customer's own past rate, the average order value, and the
// last 12 months' profit as clv_12m). `known`: the summary's PatternValue, if already computed.
void ApplyModel(CustomerSummary& s, const Population& population, const FactsOptions& options,
                const PatternValue* known = nullptr);

// ApplyModel for everyone, valuing each distinct pattern once, on up to `threads` threads.
void ApplyModelToAll(std::span<CustomerSummary> summaries, const Population& population,
                     const FactsOptions& options, int threads = 2);

// Adds the referral facts: for every summary with a referrer among `summaries`, counts it into the
// referrer's `referrals` (if it bought) and `referred_revenue`. `summaries` is sorted by id.
void AddReferrals(std::span<CustomerSummary> summaries);

enum class FactType {
  kCount,    // whole number
  kNumber,   // real number
  kMoney,    // major units of the business currency
  kTime,     // an instant (UTC seconds as a number in rules)
  kDays,     // a number of days
  kScore,    // 1..5
  kPercent,  // 0..100
  kRatio,    // a share: 0..1 (overdue_ratio may exceed 1)
};

// Every fact, in the documented order; the value is its index into AllFacts().
enum class Fact : uint8_t {
  kPurchases,
  kFirstPurchaseAt,
  kLastPurchaseAt,
  kDaysSinceLastPurchase,
  kDaysAsCustomer,
  kTypicalGapDays,
  kOverdueRatio,
  kRevenue,
  kReturns,
  kNetRevenue,
  kProfit,
  kReturnRate,
  kAverageOrderValue,
  kRevenue12m,
  kProfit12m,
  kReferrals,
  kReferredRevenue,
  kRecencyScore,
  kFrequencyScore,
  kMonetaryScore,
  kProfitPercentile,
  kPAlive,
  kExpectedPurchases90d,
  kExpectedOrderValue,
  kClv12m,
};

struct FactInfo {
  Fact fact;
  std::string_view name;
  FactType type;
  std::string_view meaning;  // one line for a shop owner
};

// Every fact, in the order of `Fact`.
std::span<const FactInfo> AllFacts();
// The fact with that name, if any.
std::optional<Fact> FindFact(std::string_view name);
const FactInfo& InfoOf(Fact fact);

// A defined fact value as text: money with the currency's digits (29.33), times as ISO 8601 UTC,
// counts and scores whole, days whole (or one decimal), ratios with three decimals.
std::string FormatFact(const FactInfo& info, double value, int exponent);

// The value of one fact for a summary; nullopt where it is undefined (no purchase yet, a single
// purchase day for typical_gap_days ...). Times are UTC seconds, money major units.
std::optional<double> FactValue(const CustomerSummary& s, const Population& population,
                                const FactsOptions& options, Fact fact);

}  // namespace followup::worth
