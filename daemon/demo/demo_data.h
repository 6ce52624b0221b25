// A seeded generator of realistic customer data in followup's import format (customers.csv and
// transactions.csv, see store/import.h): for demos, benchmarks and the shipped sample data set
// (config/sample/).
//
// The purchase process is the BG/NBD model's story, so that the worth module's fit recovers the
// parameters the data was made with (ResolveDemoModel tells them):
//   - acquisitions are independent and uniform over [start, end]; the first purchase follows the
//     account's creation by minutes;
//   - each customer buys at rate lambda ~ Gamma(r, alpha) (per day; exponential inter-purchase
//     times) and after every repeat purchase drops out with probability p ~ Beta(a, b);
//   - order values are Gamma-Gamma: value ~ Gamma(p, nu) with nu ~ Gamma(q, gamma) per customer;
//     the goods' cost is 40-70% of the value (a share per customer, a little noise per order).
// On top, and not disturbing the purchase process: returns and refunds (most customers rarely, the
// returns_heavy persona 30-60% of their purchases; a return/refund comes 2-30 days after the
// purchase it undoes and never exceeds it), referrals (an earlier, still active customer; a few
// referrers bring several friends, the friend's first purchase carries offer code FRIEND10), other
// offer codes now and then, time zones, local time of day (evening peak) and a few customers
// without email. Emails are at example.com/.org/.net (reserved domains: nothing is ever delivered).
//
// Two modes:
// clang-format off
//   population (default)  every customer from the story above; segments regular, referrer,
//                         referred, returns_heavy. Streams: memory does not grow with the number
//                         of transactions (1M customers / 20M transactions in seconds).
//   sample                a persona mix with planted cases for the shipped rules: regular (the
//                         story above), lapsed_regular, returns_heavy, referrer, referred, best,
//                         one_time. Held in memory (at most 100,000 customers); transactions
//                         sorted by time.
// clang-format on
//
// Reproducibility: same options -> byte-identical output. Randomness is std::mt19937_64 (its output
// is fixed by the C++ standard) fed through samplers written here (no std:: distributions, whose
// algorithms are implementation-defined), so the output does not depend on the standard library;
// it relies on libm's log/exp/pow/sqrt/cos being the same, which glibc's are across versions for
// all practical purposes (results are rounded to cents and seconds).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "base/error.h"

namespace followup::demo {

struct DemoDataOptions {
  int64_t customers = 500;
  uint64_t seed = 1;
  std::string start = "2024-01-01";  // first possible acquisition day (UTC, YYYY-MM-DD)
  std::string end = "2026-06-30";    // last day of history (UTC, inclusive)
  bool sample = false;               // the persona mix of the shipped sample (see above)

  // Rows of transactions.csv (purchases + returns/refunds) per customer, on average. The generator
  // solves for the BG/NBD scale alpha that yields it over the window; r, a, b below are fixed.
  // In sample mode it applies to the regular background only.
  double mean_transactions_per_customer = 6.0;
  double bgnbd_r = 0.9;  // lambda ~ Gamma(r, alpha), per day
  double bgnbd_a = 0.8;  // p ~ Beta(a, b)
  double bgnbd_b = 2.5;
  double mean_order_value = 60.0;  // in major units of `currency`; sets the Gamma-Gamma gamma

  double return_rate = 0.04;          // share of an ordinary customer's purchases returned/refunded
  double returns_heavy_share = 0.05;  // share of customers who return 30-60% of their purchases
  double referred_share = 0.10;       // share of customers referred by an earlier customer
  double referrer_share = 0.03;       // population mode: share of customers who recommend
  double no_email_share = 0.03;       // share of customers without an email address
  double offer_share = 0.05;          // share of purchases with a (seasonal/welcome) offer code
  std::string currency = "EUR";       // ISO 4217; its exponent decides the decimals written
};

// The options that made config/sample/ (`followupd demo-data --sample`): 300 customers, sample
// mode, history 2024-01-01 .. 2026-06-29 so that all of it lies before an evaluation on 2026-06-30.
DemoDataOptions SampleDemoDataOptions();

struct DemoDataCounts {
  int64_t customers = 0;
  int64_t transactions = 0;
};

// The true parameters behind the generated purchases (time unit: days): what a BG/NBD and
// Gamma-Gamma fit on the population-mode data should come near (on day-level data; a fit in weeks
// sees alpha / 7).
struct DemoModel {
  double r = 0, alpha = 0, a = 0, b = 0;    // BG/NBD
  double gg_p = 0, gg_q = 0, gg_gamma = 0;  // Gamma-Gamma, in major units of the currency
  double purchases_per_customer = 0;        // expected, including the first purchase
  double return_rows_per_purchase = 0;      // expected returns/refunds per purchase
};

// Validates `options` and solves for alpha. kInvalidInput naming the option when one is out of
// range (bad dates, end before start, a share outside [0, 1], a mean the model cannot reach ...).
Result<DemoModel> ResolveDemoModel(const DemoDataOptions& options);

// Called now and then and once at the end with customers generated so far and the total.
using DemoDataProgress = std::function<void(int64_t done, int64_t total)>;

// Writes customers.csv and transactions.csv (header row, RFC 4180, columns
//   id,email,name,created_at,referred_by,timezone,segment
//   id,customer_id,occurred_at,kind,amount,cost,currency,offer_code
// ) and returns the data rows written. A customer's referrer always comes earlier in the file. Rows
// of one customer are in time order; in population mode transactions are grouped by customer and
// customers come in order of acquisition (to within a day: the time of day is drawn afterwards), in
// sample mode customers are sorted by created_at and transactions by time. kInvalidInput for bad
// options, kRuntime when a stream fails.
Result<DemoDataCounts> GenerateDemoData(const DemoDataOptions& options, std::ostream& customers_csv,
                                        std::ostream& transactions_csv,
                                        const DemoDataProgress& progress = {});

}  // namespace followup::demo
