#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "rules/expression.h"
#include "rules/expression_test_util.h"

namespace followup::rules {
namespace {

using testing::Compile;
using testing::Eval;
using testing::MapSource;
using worth::Fact;

TEST(ExpressionTest, Functions) {
  MapSource c{{Fact::kPurchases, 4}, {Fact::kTypicalGapDays, std::nullopt}};
  EXPECT_EQ(Eval("min(3, 1, 2)"), 1);
  EXPECT_EQ(Eval("max(3, 1, 2)"), 3);
  EXPECT_EQ(Eval("min(5)"), 5);
  EXPECT_EQ(Eval("max(purchases, 10)", c), 10);
  EXPECT_EQ(Eval("min(purchases, 10)", c), 4);
  EXPECT_EQ(Eval("abs(-2.5)"), 2.5);
  EXPECT_EQ(Eval("abs(0 - purchases)", c), 4);
  EXPECT_EQ(Eval("round(2.4)"), 2);
  EXPECT_EQ(Eval("round(2.5)"), 3);
  EXPECT_EQ(Eval("round(-2.5)"), -3);
  EXPECT_EQ(Eval("coalesce(null, 2, 3)"), 2);
  EXPECT_EQ(Eval("coalesce(typical_gap_days, purchases)", c), 4);
  EXPECT_EQ(Eval("coalesce(null, null)"), std::nullopt);
  EXPECT_EQ(Eval("defined(null)"), 0);
  EXPECT_EQ(Eval("defined(0)"), 1);
  EXPECT_EQ(Eval("defined(purchases)", c), 1);
  EXPECT_EQ(Eval("defined(typical_gap_days)", c), 0);
  EXPECT_EQ(Eval("defined(p_alive)", c), 0);  // not in the map at all
  EXPECT_EQ(Eval("days(30)"), 30);
  EXPECT_EQ(Eval("weeks(2)"), 14);
  EXPECT_EQ(Eval("weeks(purchases)", c), 28);
  EXPECT_EQ(Eval("max(1, min(2, 3), abs(-4))"), 4);
  // Null in, null out (coalesce and defined aside).
  for (const char* text : {"min(1, null)", "max(null, 1)", "min(purchases, typical_gap_days)",
                           "abs(typical_gap_days)", "round(null)", "days(null)", "weeks(null)"}) {
    EXPECT_EQ(Eval(text, c), std::nullopt) << text;
  }
}

// Three-valued logic: every combination of true, false and null, both folded at compile time
// (literals) and evaluated at run time (facts).
TEST(ExpressionTest, NullTruthTables) {
  const std::optional<double> t = 1, f = 0, n = std::nullopt;
  struct Row {
    std::optional<double> a, b, and_, or_;
  };
  const std::vector<Row> rows = {
      {t, t, t, t}, {t, f, f, t}, {t, n, n, t}, {f, t, f, t}, {f, f, f, f},
      {f, n, f, n}, {n, t, n, t}, {n, f, f, n}, {n, n, n, n},
  };
  auto literal = [](std::optional<double> v) -> std::string {
    return !v ? "null" : *v != 0 ? "true" : "false";
  };
  for (const Row& r : rows) {
    const std::string a = literal(r.a), b = literal(r.b);
    EXPECT_EQ(Eval(a + " and " + b), r.and_) << a << " and " << b;
    EXPECT_EQ(Eval(a + " or " + b), r.or_) << a << " or " << b;
    MapSource c{{Fact::kPurchases, r.a}, {Fact::kReferrals, r.b}};
    EXPECT_EQ(Eval("purchases and referrals", c), r.and_) << a << " and " << b;
    EXPECT_EQ(Eval("purchases or referrals", c), r.or_) << a << " or " << b;
  }
  EXPECT_EQ(Eval("not true"), 0);
  EXPECT_EQ(Eval("not false"), 1);
  EXPECT_EQ(Eval("not null"), std::nullopt);
  MapSource undefined;
  EXPECT_EQ(Eval("not purchases", undefined), std::nullopt);
  // Any non-zero number is true.
  EXPECT_EQ(Eval("5 and -1"), 1);
  EXPECT_EQ(Eval("0.5 or 0"), 1);
}

TEST(ExpressionTest, NullInComparisonsAndArithmetic) {
  MapSource c{{Fact::kPurchases, 3}};  // typical_gap_days undefined
  for (const char* op : {"<", "<=", ">", ">=", "==", "!="}) {
    const std::string fact_null = std::string("typical_gap_days ") + op + " 3";
    const std::string null_fact = std::string("3 ") + op + " typical_gap_days";
    EXPECT_EQ(Eval(fact_null, c), std::nullopt) << fact_null;
    EXPECT_EQ(Eval(null_fact, c), std::nullopt) << null_fact;
    EXPECT_FALSE(Compile(fact_null).Matches(c));
    // not (null) is still null: a rule with `not` does not select undefined customers either.
    EXPECT_FALSE(Compile("not (" + fact_null + ")").Matches(c));
  }
  for (const char* op : {"+", "-", "*", "/"}) {
    const std::string text = std::string("purchases ") + op + " typical_gap_days";
    EXPECT_EQ(Eval(text, c), std::nullopt) << text;
    EXPECT_EQ(Eval(std::string("1 ") + op + " null"), std::nullopt) << op;
  }
  EXPECT_EQ(Eval("-typical_gap_days", c), std::nullopt);
  // A NaN from the source is undefined too.
  MapSource nan{{Fact::kPurchases, std::numeric_limits<double>::quiet_NaN()}};
  EXPECT_EQ(Eval("purchases", nan), std::nullopt);
  EXPECT_EQ(Eval("defined(purchases)", nan), 0);
}

TEST(ExpressionTest, DivisionByZeroIsNull) {
  EXPECT_EQ(Eval("1 / 0"), std::nullopt);
  EXPECT_EQ(Eval("0 / 0"), std::nullopt);
  EXPECT_EQ(Eval("1 / 0 or true"), 1);
  EXPECT_EQ(Eval("1 / 0 and false"), 0);
  EXPECT_EQ(Eval("coalesce(1 / 0, -1)"), -1);
  MapSource c{{Fact::kReturns, 10}, {Fact::kRevenue, 0}};
  EXPECT_EQ(Eval("returns / revenue", c), std::nullopt);
  EXPECT_EQ(Eval("returns / revenue > 0.5", c), std::nullopt);
  EXPECT_EQ(Eval("revenue / returns", c), 0);
}

// explain names the clause of a top-level `and` that left a customer out, as written, with the
// facts it reads; any other expression is named whole.
TEST(ExpressionTest, FailingClauseIsTheFirstTopLevelClauseNotTrue) {
  auto where =
      Compile("purchases >= 3 and (overdue_ratio >= 2 or p_alive < 0.1)\n  and return_rate < 30%");
  MapSource fine{{Fact::kPurchases, 5}, {Fact::kOverdueRatio, 3}, {Fact::kReturnRate, 0.1}};
  EXPECT_FALSE(where.FailingClause(fine));

  MapSource few{{Fact::kPurchases, 1}, {Fact::kOverdueRatio, 3}, {Fact::kReturnRate, 0.5}};
  auto failed = where.FailingClause(few);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->text, "purchases >= 3");
  EXPECT_EQ(failed->facts, std::vector<Fact>{Fact::kPurchases});

  // Null is not true either: p_alive undefined, overdue_ratio too low.
  MapSource away{{Fact::kPurchases, 5}, {Fact::kOverdueRatio, 1}, {Fact::kReturnRate, 0.1}};
  failed = where.FailingClause(away);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->text, "(overdue_ratio >= 2 or p_alive < 0.1)");
  EXPECT_EQ(failed->facts, (std::vector<Fact>{Fact::kOverdueRatio, Fact::kPAlive}));

  MapSource returns{{Fact::kPurchases, 5}, {Fact::kOverdueRatio, 3}, {Fact::kReturnRate, 0.5}};
  failed = where.FailingClause(returns);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->text, "return_rate < 30%") << "on its own line, as written";

  auto either = Compile("purchases >= 3 or return_rate < 30%");
  failed = either.FailingClause(returns);
  EXPECT_FALSE(failed);
  failed = either.FailingClause(MapSource{{Fact::kPurchases, 1}});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->text, "purchases >= 3 or return_rate < 30%");
  EXPECT_EQ(failed->facts, (std::vector<Fact>{Fact::kPurchases, Fact::kReturnRate}));
  auto grouped = Compile("(purchases >= 3 and return_rate < 30%)");
  failed = grouped.FailingClause(MapSource{{Fact::kPurchases, 1}});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->text, "(purchases >= 3 and return_rate < 30%)") << "not a top-level and";
}

TEST(ExpressionTest, Matches) {
  MapSource c{{Fact::kPurchases, 3}};
  EXPECT_TRUE(Compile("purchases >= 3").Matches(c));
  EXPECT_FALSE(Compile("purchases > 3").Matches(c));
  EXPECT_FALSE(Compile("null").Matches(c));
  EXPECT_FALSE(Compile("0").Matches(c));
  EXPECT_TRUE(Compile("0.1").Matches(c));
  EXPECT_TRUE(Compile("purchases").Matches(c));
  EXPECT_FALSE(Compile("typical_gap_days > 0").Matches(c));
  EXPECT_TRUE(Compile("typical_gap_days > 0 or purchases > 0").Matches(c));
}

TEST(ExpressionTest, DefaultIsTrue) {
  Expression everyone;
  EXPECT_EQ(everyone.text(), "true");
  EXPECT_TRUE(everyone.facts().empty());
  EXPECT_EQ(everyone.Evaluate(MapSource()), 1);
  EXPECT_TRUE(everyone.Matches(MapSource()));
}

TEST(ExpressionTest, TimeFactsAreSeconds) {
  MapSource c{{Fact::kFirstPurchaseAt, 1767225600},  // 2026-01-01T00:00:00Z
              {Fact::kLastPurchaseAt, 1767225600 + 10 * 86400}};
  EXPECT_EQ(Eval("(last_purchase_at - first_purchase_at) / 86400", c), 10);
  EXPECT_EQ(Eval("last_purchase_at <= first_purchase_at + weeks(2) * 86400", c), 1);
}

TEST(ExpressionTest, ReadsEachFactOnceAndSkipsDecidedSides) {
  MapSource c{{Fact::kPurchases, 5}, {Fact::kReferrals, 0}};
  Expression twice = Compile("purchases > 1 and purchases < 10 and purchases != 7");
  EXPECT_TRUE(twice.Matches(c));
  EXPECT_EQ(c.Reads(Fact::kPurchases), 1);

  MapSource d{{Fact::kPurchases, 5}, {Fact::kReferrals, 0}};
  EXPECT_FALSE(Compile("referrals >= 1 and purchases > 0").Matches(d));
  EXPECT_EQ(d.Reads(Fact::kPurchases), 0);  // `and` already false
  EXPECT_TRUE(Compile("purchases > 0 or p_alive > 0.5").Matches(d));
  EXPECT_EQ(d.Reads(Fact::kPAlive), 0);  // `or` already true
  // A null left side decides nothing: the right side is read.
  EXPECT_EQ(Eval("p_alive > 0.5 and referrals > 0", d), 0);
  EXPECT_EQ(Eval("p_alive > 0.5 or purchases > 0", d), 1);
}

TEST(ExpressionTest, CopiesEvaluateAlike) {
  Expression a = Compile("purchases * 2");
  Expression b = a;
  MapSource c{{Fact::kPurchases, 21}};
  EXPECT_EQ(a.Evaluate(c), 42);
  EXPECT_EQ(b.Evaluate(c), 42);
  EXPECT_EQ(b.text(), "purchases * 2");
}

// ---- The audiences of the shipped rules ----

TEST(ExpressionTest, ShippedAudiences) {
  Expression win_back =
      Compile("purchases >= 3 and overdue_ratio >= 2 and p_alive >= 0.3 and return_rate < 0.3");
  Expression best = Compile("profit_percentile >= 90");
  Expression referral = Compile("referrals >= 1");
  EXPECT_EQ(
      std::vector<Fact>(win_back.facts().begin(), win_back.facts().end()),
      (std::vector<Fact>{Fact::kPurchases, Fact::kOverdueRatio, Fact::kPAlive, Fact::kReturnRate}));

  // A loyal customer gone quiet: 5 purchases, 3 gaps late, probably still alive, few returns.
  MapSource lapsed{{Fact::kPurchases, 5},     {Fact::kOverdueRatio, 3.0},    {Fact::kPAlive, 0.45},
                   {Fact::kReturnRate, 0.05}, {Fact::kProfitPercentile, 70}, {Fact::kReferrals, 0}};
  EXPECT_TRUE(win_back.Matches(lapsed));
  EXPECT_FALSE(best.Matches(lapsed));
  EXPECT_FALSE(referral.Matches(lapsed));

  // On schedule: not overdue.
  MapSource regular = lapsed;
  regular.Set(Fact::kOverdueRatio, 0.8);
  EXPECT_FALSE(win_back.Matches(regular));

  // Returns too much.
  MapSource returner = lapsed;
  returner.Set(Fact::kReturnRate, 0.3);
  EXPECT_FALSE(win_back.Matches(returner));

  // Probably gone for good.
  MapSource gone = lapsed;
  gone.Set(Fact::kPAlive, 0.1);
  EXPECT_FALSE(win_back.Matches(gone));

  // A single purchase day: no rhythm, so overdue_ratio is undefined: not selected.
  MapSource one_time{{Fact::kPurchases, 1},
                     {Fact::kOverdueRatio, std::nullopt},
                     {Fact::kPAlive, 0.9},
                     {Fact::kReturnRate, 0.0}};
  EXPECT_FALSE(win_back.Matches(one_time));
  EXPECT_EQ(win_back.Evaluate(one_time), 0);  // purchases >= 3 is already false

  // No model: p_alive undefined, the rest true: null, not selected.
  MapSource no_model = lapsed;
  no_model.Set(Fact::kPAlive, std::nullopt);
  EXPECT_EQ(win_back.Evaluate(no_model), std::nullopt);
  EXPECT_FALSE(win_back.Matches(no_model));

  // Best customers: the top tenth by profit, boundary included.
  MapSource top{{Fact::kProfitPercentile, 90}};
  EXPECT_TRUE(best.Matches(top));
  top.Set(Fact::kProfitPercentile, 99.5);
  EXPECT_TRUE(best.Matches(top));
  top.Set(Fact::kProfitPercentile, 89.99);
  EXPECT_FALSE(best.Matches(top));
  EXPECT_FALSE(best.Matches(MapSource()));

  // Referral thank-you: at least one referred customer who bought.
  EXPECT_TRUE(referral.Matches(MapSource{{Fact::kReferrals, 1}}));
  EXPECT_TRUE(referral.Matches(MapSource{{Fact::kReferrals, 4}}));
  EXPECT_FALSE(referral.Matches(MapSource{{Fact::kReferrals, 0}}));
}

}  // namespace
}  // namespace followup::rules
