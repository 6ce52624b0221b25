// A synthetic shop for the benchmarks that need customers' facts without a store: purchases,
// returns and referrals per customer, shaped like a real shop's (the demo-data story: gamma
// purchase rates, beta drop-out, returns, referrals), summarized into a CustomerBase, and each
// customer's contact record (3% without an email address).
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "rules/engine.h"
#include "worth/customer_base.h"

namespace followup::bench {

struct SyntheticShop {
  worth::CustomerBase base;
  std::vector<rules::Contact> contacts;  // customer ids 1..N, in order
};

// `customers` customers with ids 1..customers and ~900 days of history before `now` (seed 7).
inline SyntheticShop MakeSyntheticShop(int64_t customers, Instant now,
                                       const date::time_zone* zone) {
  std::mt19937_64 rng(7);
  std::gamma_distribution<double> rate(0.9, 1.0 / 30);  // purchases a day
  std::uniform_real_distribution<double> unit(0, 1);
  std::lognormal_distribution<double> spend(3.8, 0.6);
  worth::FactsOptions fo;
  fo.at = now;
  fo.zone = zone;
  std::vector<worth::CustomerSummary> summaries;
  summaries.reserve(customers);
  std::vector<rules::Contact> contacts;
  contacts.reserve(customers);
  std::vector<store::TransactionRow> rows;
  for (int64_t id = 1; id <= customers; ++id) {
    rows.clear();
    double lambda = rate(rng);
    double p_drop = unit(rng) * 0.3;
    double t = unit(rng) * 900;  // days before now of the first purchase
    while (t > 0) {
      store::TransactionRow r;
      r.customer_id = id;
      r.kind = store::Kind::kPurchase;
      r.amount = static_cast<int64_t>(spend(rng) * 100);
      r.occurred_at = now - std::chrono::seconds{static_cast<int64_t>(t * 86400)};
      rows.push_back(r);
      if (unit(rng) < 0.05) {
        r.kind = store::Kind::kReturn;
        r.occurred_at += std::chrono::days{2};
        if (r.occurred_at < now) rows.push_back(r);
      }
      if (unit(rng) < p_drop) break;
      t -= -std::log(1 - unit(rng)) / std::max(lambda, 1e-4);
    }
    int64_t referrer =
        (id > 10 && unit(rng) < 0.1) ? 1 + static_cast<int64_t>(unit(rng) * (id - 1)) : 0;
    summaries.push_back(worth::Summarize(id, referrer, std::nullopt, rows, fo));
    rules::Contact c;
    c.id = id;
    c.external_id = "c" + std::to_string(id);
    c.has_email = unit(rng) > 0.03;
    c.referred_by = referrer;
    contacts.push_back(std::move(c));
  }
  return {worth::CustomerBase::FromSummaries(std::move(summaries), fo), std::move(contacts)};
}

}  // namespace followup::bench
