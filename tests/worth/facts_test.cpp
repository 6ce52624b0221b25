#include "worth/facts.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace followup::worth {
namespace {

using store::Kind;
using store::TransactionRow;

Instant At(const char* text) { return *ParseInstant(text, nullptr); }

TransactionRow Row(const char* when, Kind kind, int64_t amount,
                   std::optional<int64_t> cost = std::nullopt) {
  TransactionRow t;
  t.customer_id = 1;
  t.occurred_at = At(when);
  t.kind = kind;
  t.amount = amount;
  t.cost = cost;
  return t;
}

class FactsTest : public ::testing::Test {
 protected:
  FactsTest() {
    options_.at = At("2026-06-30");
    options_.zone = *LookupZone("UTC");
    options_.unit = TimeUnit::kDays;
    options_.default_margin = 0.3;
  }
  std::optional<double> Value(const CustomerSummary& s, const char* name) {
    auto fact = FindFact(name);
    EXPECT_TRUE(fact) << name;
    return FactValue(s, population_, options_, *fact);
  }
  FactsOptions options_;
  Population population_;
};

TEST_F(FactsTest, MoneyNetOfReturnsAndRefunds) {
  std::vector<TransactionRow> rows = {
      Row("2025-01-10", Kind::kPurchase, 10000, 6000),  // profit 40.00
      Row("2025-01-20", Kind::kReturn, 10000, 6000),    // goods back: -40.00
      Row("2026-03-01", Kind::kPurchase, 5000),         // no cost: 30% margin = 15.00
      Row("2026-03-05", Kind::kRefund, 1000),           // money back, goods kept: -10.00
  };
  auto s = Summarize(1, 0, std::nullopt, rows, options_);
  EXPECT_EQ(Value(s, "purchases"), 2);
  EXPECT_DOUBLE_EQ(*Value(s, "revenue"), 150.00);
  EXPECT_DOUBLE_EQ(*Value(s, "returns"), 110.00);
  EXPECT_DOUBLE_EQ(*Value(s, "net_revenue"), 40.00);
  EXPECT_DOUBLE_EQ(*Value(s, "profit"), 5.00);
  EXPECT_NEAR(*Value(s, "return_rate"), 110.0 / 150.0, 1e-12);
  EXPECT_DOUBLE_EQ(*Value(s, "average_order_value"), 75.00);
  // Only the last 365 days: the 2026 purchase and refund.
  EXPECT_DOUBLE_EQ(*Value(s, "revenue_12m"), 50.00);
  EXPECT_DOUBLE_EQ(*Value(s, "profit_12m"), 5.00);
}

TEST_F(FactsTest, RhythmIsTheCustomersOwnMedianGap) {
  // Purchase days 0, 30, 60, 100 (gaps 30, 30, 40: median 30); two purchases on one day count once.
  std::vector<TransactionRow> rows = {
      Row("2026-01-01T09:00:00Z", Kind::kPurchase, 1000),
      Row("2026-01-31T09:00:00Z", Kind::kPurchase, 1000),
      Row("2026-01-31T18:00:00Z", Kind::kPurchase, 500),
      Row("2026-03-02T09:00:00Z", Kind::kPurchase, 1000),
      Row("2026-04-11T09:00:00Z", Kind::kPurchase, 1000),
  };
  auto s = Summarize(1, 0, std::nullopt, rows, options_);
  EXPECT_EQ(s.purchase_days, 4);
  EXPECT_EQ(Value(s, "purchases"), 5);
  EXPECT_EQ(Value(s, "typical_gap_days"), 30);
  EXPECT_EQ(Value(s, "days_since_last_purchase"), 80);  // 2026-04-11 .. 2026-06-30
  EXPECT_NEAR(*Value(s, "overdue_ratio"), 80.0 / 30.0, 1e-9);
  EXPECT_EQ(Value(s, "days_as_customer"), 180);
  // zbar: the day-summed repeat purchases (15.00, 10.00, 10.00) average 11.67.
  EXPECT_NEAR(s.zbar, 35.0 / 3, 1e-4);
  EXPECT_EQ(FormatInstant(
                Instant{std::chrono::seconds{static_cast<int64_t>(*Value(s, "last_purchase_at"))}}),
            "2026-04-11T09:00:00Z");
}

TEST_F(FactsTest, EvenNumberOfGapsTakesTheMiddleTwo) {
  std::vector<TransactionRow> rows = {Row("2026-01-01", Kind::kPurchase, 1),
                                      Row("2026-01-11", Kind::kPurchase, 1),
                                      Row("2026-02-10", Kind::kPurchase, 1)};  // gaps 10, 30
  auto s = Summarize(1, 0, std::nullopt, rows, options_);
  EXPECT_EQ(Value(s, "typical_gap_days"), 20);
}

TEST_F(FactsTest, PurchaseDaysFollowTheBusinessZone) {
  // 23:30 and 00:30 UTC are one evening in New York (19:30 and 20:30), two days in UTC.
  std::vector<TransactionRow> rows = {Row("2026-03-10T23:30:00Z", Kind::kPurchase, 1),
                                      Row("2026-03-11T00:30:00Z", Kind::kPurchase, 1)};
  EXPECT_EQ(Summarize(1, 0, std::nullopt, rows, options_).purchase_days, 2);
  options_.zone = *LookupZone("America/New_York");
  EXPECT_EQ(Summarize(1, 0, std::nullopt, rows, options_).purchase_days, 1);
}

TEST_F(FactsTest, CustomersWithoutPurchasesGetFactsNotErrors) {
  auto s = Summarize(1, 0, At("2026-06-01"), {}, options_);
  ApplyModel(s, population_, options_);
  EXPECT_EQ(Value(s, "purchases"), 0);
  EXPECT_EQ(Value(s, "revenue"), 0);
  EXPECT_EQ(Value(s, "profit"), 0);
  EXPECT_EQ(Value(s, "referrals"), 0);
  EXPECT_EQ(Value(s, "days_as_customer"), 29);
  for (const char* undefined :
       {"first_purchase_at", "last_purchase_at", "days_since_last_purchase", "typical_gap_days",
        "overdue_ratio", "return_rate", "average_order_value", "recency_score", "p_alive",
        "expected_purchases_90d", "expected_order_value", "clv_12m"}) {
    EXPECT_FALSE(Value(s, undefined)) << undefined;
  }
}

TEST_F(FactsTest, ScoresAndPercentilesAreRelativeToEveryone) {
  std::vector<CustomerSummary> all;
  for (int i = 1; i <= 10; ++i) {
    std::vector<TransactionRow> rows;
    for (int k = 0; k < i; ++k) {
      auto r = Row("2026-01-01", Kind::kPurchase, 1000 * i);
      r.occurred_at += std::chrono::days{k * 7};
      rows.push_back(r);
    }
    all.push_back(Summarize(i, 0, std::nullopt, rows, options_));
  }
  population_ = BuildPopulation(all, options_);
  EXPECT_EQ(Value(all[0], "frequency_score"), 1);
  EXPECT_EQ(Value(all[9], "frequency_score"), 5);
  EXPECT_EQ(Value(all[9], "monetary_score"), 5);
  EXPECT_EQ(Value(all[9], "recency_score"), 5);  // bought last
  EXPECT_EQ(Value(all[0], "recency_score"), 1);
  EXPECT_DOUBLE_EQ(*Value(all[9], "profit_percentile"), 100.0);
  EXPECT_DOUBLE_EQ(*Value(all[0], "profit_percentile"), 10.0);
  // Ten customers with 0..9 repeat days cannot support the purchase model: it says so, and the
  // facts fall back to historic ones.
  EXPECT_FALSE(population_.model.bgnbd);
  EXPECT_NE(population_.model.bgnbd_note.find("too few repeat buyers"), std::string::npos);
  ApplyModel(all[9], population_, options_);
  EXPECT_FALSE(Value(all[9], "p_alive"));
  EXPECT_NEAR(*Value(all[9], "clv_12m"), *Value(all[9], "profit_12m"), 0.01);
  EXPECT_GT(*Value(all[9], "expected_purchases_90d"), 0);
}

TEST_F(FactsTest, ReferralsCountReferredCustomersWhoBought) {
  std::vector<TransactionRow> bought = {Row("2026-05-01", Kind::kPurchase, 4000),
                                        Row("2026-05-02", Kind::kReturn, 1000)};
  std::vector<CustomerSummary> all = {
      Summarize(1, 0, std::nullopt, {}, options_),
      Summarize(2, 1, std::nullopt, bought, options_),   // referred by 1, bought
      Summarize(3, 1, std::nullopt, {}, options_),       // referred by 1, not yet bought
      Summarize(4, 99, std::nullopt, bought, options_),  // referrer unknown: ignored
  };
  AddReferrals(all);
  EXPECT_EQ(Value(all[0], "referrals"), 1);
  EXPECT_DOUBLE_EQ(*Value(all[0], "referred_revenue"), 30.00);
  EXPECT_EQ(Value(all[1], "referrals"), 0);
}

TEST_F(FactsTest, MoneySumsSaturateInsteadOfWrapping) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kHuge = kMax / 2 + 1;  // two of these pass 2^63
  const double max_major = static_cast<double>(kMax) / 100;
  // Revenue wrapped to 74.63 and profit to -4.5e16 here.
  std::vector<TransactionRow> rows = {
      Row("2026-01-10", Kind::kPurchase, kHuge, 0), Row("2026-02-10", Kind::kPurchase, kHuge, 0),
      Row("2026-03-10", Kind::kPurchase, kHuge),  // no cost: the default margin
  };
  auto s = Summarize(1, 0, std::nullopt, rows, options_);
  EXPECT_DOUBLE_EQ(*Value(s, "revenue"), max_major);
  EXPECT_DOUBLE_EQ(*Value(s, "revenue_12m"), max_major);
  EXPECT_DOUBLE_EQ(*Value(s, "net_revenue"), max_major);
  EXPECT_DOUBLE_EQ(*Value(s, "profit"), max_major);
  EXPECT_DOUBLE_EQ(*Value(s, "profit_12m"), max_major);
  EXPECT_GT(*Value(s, "average_order_value"), 0);
  EXPECT_EQ(FormatFact(InfoOf(Fact::kRevenue), *Value(s, "revenue"), 2), "92233720368547758.07");
  // Losses saturate at the other end: refunds of goods that cost nothing.
  std::vector<TransactionRow> refunds = {Row("2026-01-10", Kind::kRefund, kMax),
                                         Row("2026-01-11", Kind::kRefund, kMax)};
  auto r = Summarize(2, 0, std::nullopt, refunds, options_);
  EXPECT_DOUBLE_EQ(*Value(r, "returns"), max_major);
  EXPECT_DOUBLE_EQ(*Value(r, "profit"),
                   static_cast<double>(std::numeric_limits<int64_t>::min()) / 100);
  EXPECT_DOUBLE_EQ(*Value(r, "net_revenue"), -max_major);
  // A referrer of two such customers.
  std::vector<CustomerSummary> all = {Summarize(3, 0, std::nullopt, {}, options_), s, s};
  all[1].customer_id = 4;
  all[2].customer_id = 5;
  all[1].referred_by = all[2].referred_by = 3;
  AddReferrals(all);
  EXPECT_DOUBLE_EQ(*Value(all[0], "referred_revenue"), max_major);
  EXPECT_EQ(SaturatingSub(std::numeric_limits<int64_t>::min(), 1),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(SaturatingSub(kMax, -1), kMax);
  EXPECT_EQ(SaturatingRound(1e300), kMax);
  EXPECT_EQ(SaturatingRound(-1e300), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(SaturatingRound(std::nan("")), 0);
}

TEST(FactNamesTest, EveryDocumentedNameIsThereInOrder) {
  const char* names[] = {"purchases",
                         "first_purchase_at",
                         "last_purchase_at",
                         "days_since_last_purchase",
                         "days_as_customer",
                         "typical_gap_days",
                         "overdue_ratio",
                         "revenue",
                         "returns",
                         "net_revenue",
                         "profit",
                         "return_rate",
                         "average_order_value",
                         "revenue_12m",
                         "profit_12m",
                         "referrals",
                         "referred_revenue",
                         "recency_score",
                         "frequency_score",
                         "monetary_score",
                         "profit_percentile",
                         "p_alive",
                         "expected_purchases_90d",
                         "expected_order_value",
                         "clv_12m"};
  ASSERT_EQ(AllFacts().size(), std::size(names));
  for (size_t i = 0; i < std::size(names); ++i) {
    EXPECT_EQ(AllFacts()[i].name, names[i]);
    EXPECT_EQ(static_cast<size_t>(AllFacts()[i].fact), i);
    EXPECT_FALSE(AllFacts()[i].meaning.empty());
  }
  EXPECT_FALSE(FindFact("profits"));
}

}  // namespace
}  // namespace followup::worth
