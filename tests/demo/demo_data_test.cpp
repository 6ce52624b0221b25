#include "demo/demo_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace followup::demo {
namespace {

struct Output {
  std::string customers;
  std::string transactions;
  DemoDataCounts counts;
};

Output Generate(const DemoDataOptions& options) {
  std::ostringstream customers, transactions;
  auto counts = GenerateDemoData(options, customers, transactions);
  EXPECT_TRUE(counts.has_value()) << (counts ? "" : counts.error().ToString());
  return {customers.str(), transactions.str(), counts.value_or(DemoDataCounts{})};
}

using Row = std::vector<std::string>;

// The generator writes no quoted fields (names are plain ASCII), so a split on ',' is enough.
std::vector<Row> Parse(const std::string& csv) {
  EXPECT_EQ(csv.find('"'), std::string::npos);
  std::vector<Row> rows;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    Row row;
    size_t from = 0;
    for (;;) {
      size_t comma = line.find(',', from);
      row.push_back(line.substr(from, comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Columns.
enum { kId, kEmail, kName, kCreated, kReferredBy, kTimezone, kSegment };
enum { kTxId, kTxCustomer, kTxAt, kTxKind, kTxAmount, kTxCost, kTxCurrency, kTxOffer };

int64_t Cents(const std::string& text) { return std::llround(std::stod(text) * 100); }

// Days from 1970-01-01 of "YYYY-MM-DD..." (enough for comparisons of dates in this century).
int64_t Day(const std::string& text) {
  int y = std::stoi(text.substr(0, 4)), m = std::stoi(text.substr(5, 2)),
      d = std::stoi(text.substr(8, 2));
  y -= m <= 2;
  const int era = y / 400, yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

DemoDataOptions Population(int64_t customers, uint64_t seed = 1) {
  DemoDataOptions o;
  o.customers = customers;
  o.seed = seed;
  return o;
}

TEST(DemoData, SameSeedGivesIdenticalBytes) {
  for (bool sample : {false, true}) {
    DemoDataOptions o = sample ? SampleDemoDataOptions() : Population(2000, 42);
    Output a = Generate(o), b = Generate(o);
    EXPECT_EQ(a.customers, b.customers);
    EXPECT_EQ(a.transactions, b.transactions);
  }
}

TEST(DemoData, DifferentSeedGivesDifferentData) {
  for (bool sample : {false, true}) {
    DemoDataOptions o = sample ? SampleDemoDataOptions() : Population(2000, 42);
    Output a = Generate(o);
    o.seed += 1;
    Output b = Generate(o);
    EXPECT_NE(a.customers, b.customers);
    EXPECT_NE(a.transactions, b.transactions);
  }
}

TEST(DemoData, CountsMatchTheRowsWritten) {
  for (bool sample : {false, true}) {
    DemoDataOptions o = sample ? SampleDemoDataOptions() : Population(3000, 7);
    Output out = Generate(o);
    auto customers = Parse(out.customers), transactions = Parse(out.transactions);
    ASSERT_FALSE(customers.empty());
    ASSERT_FALSE(transactions.empty());
    EXPECT_EQ(customers[0],
              (Row{"id", "email", "name", "created_at", "referred_by", "timezone", "segment"}));
    EXPECT_EQ(transactions[0], (Row{"id", "customer_id", "occurred_at", "kind", "amount", "cost",
                                    "currency", "offer_code"}));
    EXPECT_EQ(out.counts.customers, o.customers);
    EXPECT_EQ(out.counts.customers, static_cast<int64_t>(customers.size()) - 1);
    EXPECT_EQ(out.counts.transactions, static_cast<int64_t>(transactions.size()) - 1);
    for (const Row& r : customers) EXPECT_EQ(r.size(), 7u);
    for (const Row& r : transactions) EXPECT_EQ(r.size(), 8u);
  }
}

TEST(DemoData, NoCustomersWritesHeadersOnly) {
  Output out = Generate(Population(0));
  EXPECT_EQ(out.counts.customers, 0);
  EXPECT_EQ(out.counts.transactions, 0);
  EXPECT_EQ(Parse(out.customers).size(), 1u);
  EXPECT_EQ(Parse(out.transactions).size(), 1u);
}

TEST(DemoData, IdsAreUniqueAndReferrersComeEarlier) {
  for (bool sample : {false, true}) {
    DemoDataOptions o = sample ? SampleDemoDataOptions() : Population(5000, 3);
    Output out = Generate(o);
    auto customers = Parse(out.customers);
    std::map<std::string, size_t> position;
    std::set<std::string> emails;
    std::map<std::string, int> friends;
    int64_t referred = 0;
    for (size_t i = 1; i < customers.size(); ++i) {
      const Row& c = customers[i];
      EXPECT_TRUE(position.emplace(c[kId], i).second) << "duplicate " << c[kId];
      if (!c[kEmail].empty()) {
        EXPECT_TRUE(emails.insert(c[kEmail]).second) << c[kEmail];
      }
      if (c[kReferredBy].empty()) continue;
      ++referred;
      ++friends[c[kReferredBy]];
      auto it = position.find(c[kReferredBy]);
      ASSERT_NE(it, position.end()) << c[kId] << " referred by a later or unknown customer";
      EXPECT_LT(customers[it->second][kCreated], c[kCreated]) << c[kId];
      EXPECT_EQ(c[kSegment], "referred");
    }
    // About 10% referred, and a few referrers bring several.
    EXPECT_GT(referred, o.customers * 7 / 100);
    EXPECT_LT(referred, o.customers * 13 / 100);
    int most = 0;
    for (auto& [id, n] : friends) most = std::max(most, n);
    EXPECT_GE(most, 3);

    auto transactions = Parse(out.transactions);
    std::set<std::string> tx_ids;
    for (size_t i = 1; i < transactions.size(); ++i) {
      EXPECT_TRUE(position.count(transactions[i][kTxCustomer])) << transactions[i][kTxCustomer];
      EXPECT_TRUE(tx_ids.insert(transactions[i][kTxId]).second) << transactions[i][kTxId];
    }
  }
}

TEST(DemoData, AmountsArePositiveAndReturnsNeverExceedTheirPurchase) {
  for (bool sample : {false, true}) {
    DemoDataOptions o = sample ? SampleDemoDataOptions() : Population(5000, 11);
    Output out = Generate(o);
    auto transactions = Parse(out.transactions);
    struct Seen {
      std::string last_at;
      std::vector<int64_t> purchases;  // not yet undone
      int64_t bought = 0, undone = 0;
    };
    std::map<std::string, Seen> seen;
    int64_t returns = 0, refunds = 0, offers = 0;
    for (size_t i = 1; i < transactions.size(); ++i) {
      const Row& t = transactions[i];
      ASSERT_EQ(t[kTxAmount].find('-'), std::string::npos) << t[kTxId];
      ASSERT_EQ(t[kTxAmount].size() - t[kTxAmount].find('.'), 3u) << t[kTxAmount];
      const int64_t amount = Cents(t[kTxAmount]);
      EXPECT_GT(amount, 0) << t[kTxId];
      EXPECT_EQ(t[kTxCurrency], "EUR");
      if (!t[kTxCost].empty()) {
        EXPECT_EQ(t[kTxCost].find('-'), std::string::npos) << t[kTxId];
        EXPECT_LE(Cents(t[kTxCost]), amount) << t[kTxId];
      }
      Seen& s = seen[t[kTxCustomer]];
      EXPECT_LE(s.last_at, t[kTxAt]) << t[kTxId] << ": a customer's rows are in time order";
      s.last_at = t[kTxAt];
      if (t[kTxKind] == "purchase") {
        EXPECT_FALSE(t[kTxCost].empty()) << t[kTxId];
        s.purchases.push_back(amount);
        s.bought += amount;
        offers += !t[kTxOffer].empty();
        continue;
      }
      ASSERT_TRUE(t[kTxKind] == "return" || t[kTxKind] == "refund") << t[kTxKind];
      (t[kTxKind] == "return" ? returns : refunds) += 1;
      EXPECT_TRUE(t[kTxOffer].empty());
      if (t[kTxKind] == "refund") {
        EXPECT_TRUE(t[kTxCost].empty()) << t[kTxId];
      }
      // Undo the smallest earlier purchase that covers it.
      auto best = s.purchases.end();
      for (auto it = s.purchases.begin(); it != s.purchases.end(); ++it)
        if (*it >= amount && (best == s.purchases.end() || *it < *best)) best = it;
      ASSERT_NE(best, s.purchases.end()) << t[kTxId] << " undoes more than any earlier purchase";
      s.purchases.erase(best);
      s.undone += amount;
      EXPECT_LE(s.undone, s.bought) << t[kTxId];
    }
    EXPECT_GT(returns, 0);
    EXPECT_GT(refunds, 0);
    EXPECT_GT(offers, 0);
  }
}

TEST(DemoData, AllTimesLieInsideTheWindow) {
  for (bool sample : {false, true}) {
    DemoDataOptions o = sample ? SampleDemoDataOptions() : Population(5000, 5);
    if (!sample) {
      o.start = "2025-02-01";
      o.end = "2025-03-31";
    }
    const std::string from = o.start + "T00:00:00Z", to = o.end + "T23:59:59Z";
    Output out = Generate(o);
    std::map<std::string, std::string> created;
    for (const Row& c : Parse(out.customers)) {
      if (c[kId] == "id") continue;
      EXPECT_GE(c[kCreated], from);
      EXPECT_LE(c[kCreated], to);
      EXPECT_EQ(c[kCreated].size(), 20u);
      created[c[kId]] = c[kCreated];
    }
    std::map<std::string, std::string> first;
    int at_the_last_second = 0;
    for (const Row& t : Parse(out.transactions)) {
      if (t[kTxId] == "id") continue;
      at_the_last_second += t[kTxAt] == to;  // no pile-up of events clamped into the window
      EXPECT_GE(t[kTxAt], from) << t[kTxId];
      EXPECT_LE(t[kTxAt], to) << t[kTxId];
      EXPECT_LE(created[t[kTxCustomer]], t[kTxAt]) << t[kTxId] << " before its customer";
      first.emplace(t[kTxCustomer], t[kTxAt]);
    }
    // Every customer bought at least once.
    EXPECT_EQ(first.size(), created.size());
    EXPECT_LE(at_the_last_second, 1);
  }
}

TEST(DemoData, MeanTransactionsPerCustomerIsNearTheOption) {
  for (double mean : {4.0, 6.0, 12.0}) {
    DemoDataOptions o = Population(20000, 99);
    o.mean_transactions_per_customer = mean;
    Output out = Generate(o);
    double got = static_cast<double>(out.counts.transactions) / 20000;
    EXPECT_NEAR(got, mean, 0.1 * mean) << "mean " << mean;
  }
}

TEST(DemoData, ModelIsResolvedAndBadOptionsAreRefused) {
  auto model = ResolveDemoModel(DemoDataOptions{});
  ASSERT_TRUE(model.has_value());
  EXPECT_GT(model->alpha, 1);
  EXPECT_LT(model->alpha, 365);
  EXPECT_NEAR(model->purchases_per_customer * (1 + model->return_rows_per_purchase), 6.0, 0.01);

  auto refused = [](auto change) {
    DemoDataOptions o;
    change(o);
    std::ostringstream c, t;
    auto r = GenerateDemoData(o, c, t);
    return !r.has_value() && r.error().code == ErrorCode::kInvalidInput;
  };
  EXPECT_TRUE(refused([](DemoDataOptions& o) { o.start = "2024-13-01"; }));
  EXPECT_TRUE(refused([](DemoDataOptions& o) { o.end = "yesterday"; }));
  EXPECT_TRUE(refused([](DemoDataOptions& o) { o.end = "2023-12-31"; }));
  EXPECT_TRUE(refused([](DemoDataOptions& o) { o.customers = -1; }));
  EXPECT_TRUE(refused([](DemoDataOptions& o) { o.mean_transactions_per_customer = 1; }));
  EXPECT_TRUE(refused([](DemoDataOptions& o) { o.referred_share = 1.5; }));
  EXPECT_TRUE(refused([](DemoDataOptions& o) { o.currency = "euro"; }));
  EXPECT_TRUE(refused([](DemoDataOptions& o) {
    o.sample = true;
    o.customers = 5;
  }));
}

TEST(DemoData, ProgressEndsWithTheTotal) {
  std::vector<std::pair<int64_t, int64_t>> calls;
  std::ostringstream c, t;
  auto r = GenerateDemoData(Population(40000), c, t,
                            [&](int64_t done, int64_t total) { calls.emplace_back(done, total); });
  ASSERT_TRUE(r.has_value());
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.back(), (std::pair<int64_t, int64_t>{40000, 40000}));
  EXPECT_TRUE(std::is_sorted(calls.begin(), calls.end()));
}

TEST(DemoData, OtherCurrencyExponents) {
  DemoDataOptions o = Population(200);
  o.currency = "JPY";
  o.mean_order_value = 6000;
  for (const Row& t : Parse(Generate(o).transactions)) {
    if (t[kTxId] == "id") continue;
    EXPECT_EQ(t[kTxAmount].find('.'), std::string::npos) << t[kTxAmount];
    EXPECT_EQ(t[kTxCurrency], "JPY");
  }
}

// The shipped sample's planted cases (config/sample/README.md).
TEST(DemoData, SampleContainsEveryPersona) {
  const DemoDataOptions o = SampleDemoDataOptions();
  Output out = Generate(o);
  auto customers = Parse(out.customers);
  auto transactions = Parse(out.transactions);
  std::map<std::string, std::string> segment;
  std::map<std::string, int> per_segment;
  std::set<std::string> zones;
  int without_email = 0;
  for (size_t i = 1; i < customers.size(); ++i) {
    segment[customers[i][kId]] = customers[i][kSegment];
    ++per_segment[customers[i][kSegment]];
    zones.insert(customers[i][kTimezone]);
    without_email += customers[i][kEmail].empty();
  }
  for (const char* s :
       {"regular", "lapsed_regular", "returns_heavy", "referrer", "referred", "best", "one_time"})
    EXPECT_GE(per_segment[s], 5) << s;
  EXPECT_EQ(per_segment.size(), 7u);
  EXPECT_GE(without_email, 2);
  EXPECT_GE(zones.size(), 4u);  // "" (the business's) and a few named ones

  struct History {
    std::vector<int64_t> purchase_days;
    int64_t bought = 0, returned = 0, profit = 0;
    int purchases = 0, returns = 0;
  };
  std::map<std::string, History> history;
  for (size_t i = 1; i < transactions.size(); ++i) {
    const Row& t = transactions[i];
    if (i > 1) {
      EXPECT_LE(transactions[i - 1][kTxAt], t[kTxAt]) << "sample rows sorted by time";
    }
    History& h = history[t[kTxCustomer]];
    int64_t amount = Cents(t[kTxAmount]), cost = t[kTxCost].empty() ? 0 : Cents(t[kTxCost]);
    if (t[kTxKind] == "purchase") {
      h.purchase_days.push_back(Day(t[kTxAt]));
      h.bought += amount;
      h.profit += amount - cost;
      ++h.purchases;
    } else {
      h.returned += amount;
      h.profit -= amount - cost;
      ++h.returns;
    }
  }
  const int64_t eval = Day("2026-06-30");
  int recent_friends = 0, older_friends = 0;
  std::vector<std::pair<int64_t, std::string>> by_profit;
  for (auto& [id, h] : history) {
    const std::string& s = segment[id];
    by_profit.emplace_back(h.profit, s);
    const int64_t first = h.purchase_days.front(), last = h.purchase_days.back();
    if (s == "lapsed_regular") {
      // Monthly for about a year, then silent for 3-5 of their gaps.
      EXPECT_GE(h.purchases, 12) << id;
      double gap = static_cast<double>(last - first) / (h.purchases - 1);
      EXPECT_NEAR(gap, 30, 6) << id;
      EXPECT_GE(static_cast<double>(eval - last), 2.5 * gap) << id;
      EXPECT_LE(static_cast<double>(eval - last), 5.5 * gap) << id;
    } else if (s == "one_time") {
      EXPECT_EQ(h.purchases, 1) << id;
      EXPECT_EQ(h.returns, 0) << id;
    } else if (s == "returns_heavy") {
      EXPECT_GE(h.purchases, 3) << id;
    } else if (s == "referred") {
      (eval - first <= 40 ? recent_friends : older_friends) += 1;
    } else if (s == "best" || s == "referrer") {
      EXPECT_LE(eval - last, 60) << id << " still buying";
    }
  }
  EXPECT_GE(recent_friends, 5);
  EXPECT_GE(older_friends, 5);
  // Returns-heavy customers return a large share of what they buy, everyone else little.
  int64_t heavy_bought = 0, heavy_returned = 0, other_bought = 0, other_returned = 0;
  for (auto& [id, h] : history) {
    bool heavy = segment[id] == "returns_heavy";
    (heavy ? heavy_bought : other_bought) += h.bought;
    (heavy ? heavy_returned : other_returned) += h.returned;
  }
  EXPECT_GT(static_cast<double>(heavy_returned) / static_cast<double>(heavy_bought), 0.2);
  EXPECT_LT(static_cast<double>(other_returned) / static_cast<double>(other_bought), 0.06);
  // The ten most profitable customers are mostly the planted best ones.
  std::sort(by_profit.rbegin(), by_profit.rend());
  int best_in_top = 0;
  for (int i = 0; i < 10; ++i) best_in_top += by_profit[static_cast<size_t>(i)].second == "best";
  EXPECT_GE(best_in_top, 7);
}

#ifdef FOLLOWUP_SOURCE_DIR
// config/sample/ is what the generator makes with SampleDemoDataOptions(): regenerate it
// (config/sample/README.md) whenever this fails after a change to the generator.
TEST(DemoData, ShippedSampleIsReproducible) {
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const std::string dir = std::string(FOLLOWUP_SOURCE_DIR) + "/config/sample/";
  Output out = Generate(SampleDemoDataOptions());
  EXPECT_EQ(out.customers, read(dir + "customers.csv"));
  EXPECT_EQ(out.transactions, read(dir + "transactions.csv"));
}
#endif

}  // namespace
}  // namespace followup::demo
