#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "rules/expression.h"
#include "rules/expression_test_util.h"

namespace followup::rules {
namespace {

using testing::Compile;
using testing::Eval;
using testing::kWhere;
using testing::MapSource;
using worth::Fact;

Error CompileError(std::string_view text, const Location& where = kWhere,
                   int continuation_column = 1) {
  auto e = Expression::Compile(text, where, continuation_column);
  EXPECT_FALSE(e) << text << " compiled";
  if (e) return Error{};
  EXPECT_EQ(e.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(e.error().where.file, where.file);
  return e.error();
}

// "line:column: message", for compact assertions.
std::string Where(const Error& error) {
  return std::to_string(error.where.line) + ":" + std::to_string(error.where.column) + ": " +
         error.message;
}

TEST(ExpressionTest, Literals) {
  EXPECT_EQ(Eval("3"), 3);
  EXPECT_EQ(Eval("0.25"), 0.25);
  EXPECT_EQ(Eval(".5"), 0.5);
  EXPECT_EQ(Eval("1e3"), 1000);
  EXPECT_EQ(Eval("2.5E-1"), 0.25);
  EXPECT_EQ(Eval("1e+2"), 100);
  EXPECT_EQ(Eval("true"), 1);
  EXPECT_EQ(Eval("false"), 0);
  EXPECT_EQ(Eval("null"), std::nullopt);
  EXPECT_EQ(Eval("  42  "), 42);
}

TEST(ExpressionTest, PercentLiterals) {
  EXPECT_DOUBLE_EQ(*Eval("30%"), 0.30);
  EXPECT_DOUBLE_EQ(*Eval("12.5%"), 0.125);
  EXPECT_DOUBLE_EQ(*Eval("100%"), 1.0);
  EXPECT_DOUBLE_EQ(*Eval("-5%"), -0.05);
  MapSource c{{Fact::kReturnRate, 0.25}};
  EXPECT_EQ(Eval("return_rate < 30%", c), 1);
  EXPECT_EQ(Eval("return_rate < 20%", c), 0);
}

TEST(ExpressionTest, PrecedenceAndAssociativity) {
  EXPECT_EQ(Eval("1 + 2 * 3"), 7);
  EXPECT_EQ(Eval("(1 + 2) * 3"), 9);
  EXPECT_EQ(Eval("-2 * 3"), -6);
  EXPECT_EQ(Eval("2 * -3"), -6);
  EXPECT_EQ(Eval("-(2 + 3)"), -5);
  EXPECT_EQ(Eval("- -2"), 2);
  EXPECT_EQ(Eval("10 - 4 - 3"), 3);
  EXPECT_EQ(Eval("8 / 4 / 2"), 1);
  EXPECT_EQ(Eval("1 + 2 < 4"), 1);     // arithmetic before comparison
  EXPECT_EQ(Eval("not 0 and 0"), 0);   // (not 0) and 0, not: not (0 and 0)
  EXPECT_EQ(Eval("1 or 1 and 0"), 1);  // 1 or (1 and 0)
  EXPECT_EQ(Eval("0 and 1 or 1"), 1);  // (0 and 1) or 1
  EXPECT_EQ(Eval("not 0 == 5"), 1);    // not (0 == 5), as in SQL
  EXPECT_EQ(Eval("not not 3"), 1);

  // The same through facts, so that nothing is folded at compile time.
  MapSource c{{Fact::kPurchases, 1}, {Fact::kReferrals, 1}, {Fact::kRecencyScore, 0}};
  EXPECT_EQ(Eval("not purchases and recency_score", c), 0);
  EXPECT_EQ(Eval("purchases or referrals and recency_score", c), 1);
  EXPECT_EQ(Eval("not purchases >= 3", c), 1);  // not (1 >= 3)
  EXPECT_EQ(Eval("10 - purchases - 3", c), 6);
  EXPECT_EQ(Eval("-purchases * 3", c), -3);
  EXPECT_EQ(Eval("purchases + referrals * 3", c), 4);
}

TEST(ExpressionTest, EveryFactCompilesAndReadsItself) {
  for (const worth::FactInfo& info : worth::AllFacts()) {
    MapSource c{{info.fact, 7}};
    Expression e = Compile(info.name);
    EXPECT_EQ(e.Evaluate(c), 7) << info.name;
    ASSERT_EQ(e.facts().size(), 1u);
    EXPECT_EQ(e.facts()[0], info.fact);
  }
}

TEST(ExpressionTest, FactsListsDistinctFactsInOrder) {
  Expression e = Compile(
      "purchases >= 3 and overdue_ratio > 2 and purchases < 10 or defined(p_alive) and "
      "overdue_ratio < 100");
  EXPECT_EQ(std::vector<Fact>(e.facts().begin(), e.facts().end()),
            (std::vector<Fact>{Fact::kPurchases, Fact::kOverdueRatio, Fact::kPAlive}));
  EXPECT_TRUE(Compile("1 + 2 > 2 and not false").facts().empty());
  EXPECT_EQ(Compile(" purchases >= 3 ").text(), " purchases >= 3 ");
}

// ---- Errors: message and exact line:column (kWhere is line 4, column 10) ----

TEST(ExpressionErrorTest, UnknownFactSuggestsNearest) {
  EXPECT_EQ(Where(CompileError("overdue_ration > 2")),
            "4:10: unknown fact 'overdue_ration' (did you mean overdue_ratio?)");
  EXPECT_EQ(Where(CompileError("purchases >= 3 and overdue_ration > 2")),
            "4:29: unknown fact 'overdue_ration' (did you mean overdue_ratio?)");
  EXPECT_EQ(CompileError("purchse > 1").message,
            "unknown fact 'purchse' (did you mean purchases?)");
  EXPECT_EQ(CompileError("Purchases > 1").message,
            "unknown fact 'Purchases' (did you mean purchases?)");
  EXPECT_EQ(CompileError("percentile > 90").message,
            "unknown fact 'percentile' (did you mean profit_percentile?)");
  // Nothing near: the whole list.
  const std::string message = CompileError("xyzzy > 1").message;
  EXPECT_EQ(message.rfind("unknown fact 'xyzzy' (the facts are: purchases, first_purchase_at, ", 0),
            0u)
      << message;
  EXPECT_NE(message.find("clv_12m)"), std::string::npos) << message;
}

TEST(ExpressionErrorTest, TrailingGarbage) {
  EXPECT_EQ(Where(CompileError("purchases >= 3 foo")),
            "4:25: unexpected 'foo' after a complete expression (missing an operator, 'and' or "
            "'or'?)");
  EXPECT_EQ(Where(CompileError("purchases >= 3 AND referrals > 0")),
            "4:25: unexpected 'AND' after a complete expression (did you mean 'and'? keywords are "
            "lower case)");
  EXPECT_EQ(Where(CompileError("purchases >= 3)")),
            "4:24: unexpected ')': there is no '(' to close");
  EXPECT_EQ(Where(CompileError("(purchases >= 3 referrals)")),
            "4:26: unexpected 'referrals' inside '(...)' (missing an operator, 'and' or 'or'?)");
}

TEST(ExpressionErrorTest, MissingOperand) {
  EXPECT_EQ(Where(CompileError("and purchases > 1")),
            "4:10: expected a number, a fact or '(' but found 'and'");
  EXPECT_EQ(Where(CompileError("purchases >= 3 and")),
            "4:28: expected a number, a fact or '(' but found the end of the expression");
  EXPECT_EQ(Where(CompileError("purchases >= * 3")),
            "4:23: expected a number, a fact or '(' but found '*'");
  EXPECT_EQ(Where(CompileError("min(1, )")),
            "4:17: expected a number, a fact or '(' but found ')'");
  EXPECT_EQ(Where(CompileError("()")), "4:11: expected a number, a fact or '(' but found ')'");
}

TEST(ExpressionErrorTest, UnclosedParenthesis) {
  EXPECT_EQ(Where(CompileError("(purchases >= 3 and referrals > 0")), "4:10: unclosed '('");
  EXPECT_EQ(Where(CompileError("purchases >= 3 and ((referrals > 0)")), "4:29: unclosed '('");
  EXPECT_EQ(Where(CompileError("min(purchases, 3")), "4:13: unclosed '(' of min()");
  EXPECT_EQ(Where(CompileError("min(purchases 3)")),
            "4:24: expected ',' or ')' after an argument of min() but found '3'");
}

TEST(ExpressionErrorTest, Functions) {
  EXPECT_EQ(Where(CompileError("maxx(purchases, 2) > 1")),
            "4:10: unknown function 'maxx' (did you mean max?)");
  EXPECT_EQ(CompileError("frobnicate(1)").message,
            "unknown function 'frobnicate' (the functions are: min, max, abs, round, coalesce, "
            "defined, days, weeks)");
  EXPECT_EQ(Where(CompileError("purchases > 1 and purchases(2)")),
            "4:28: 'purchases' is a fact, not a function");
  EXPECT_EQ(Where(CompileError("min > 1")), "4:10: min is a function: write min(...)");
  EXPECT_EQ(Where(CompileError("1 + min()")), "4:14: min() needs at least 1 argument, not 0");
  EXPECT_EQ(CompileError("max()").message, "max() needs at least 1 argument, not 0");
  EXPECT_EQ(CompileError("abs(1, 2)").message, "abs() needs exactly 1 argument, not 2");
  EXPECT_EQ(CompileError("round()").message, "round() needs exactly 1 argument, not 0");
  EXPECT_EQ(CompileError("coalesce(purchases)").message,
            "coalesce() needs at least 2 arguments, not 1");
  EXPECT_EQ(CompileError("defined(purchases, p_alive)").message,
            "defined() needs exactly 1 argument, not 2");
  EXPECT_EQ(CompileError("days(1, 2)").message, "days() needs exactly 1 argument, not 2");
  EXPECT_EQ(CompileError("weeks()").message, "weeks() needs exactly 1 argument, not 0");
}

TEST(ExpressionErrorTest, BadNumbers) {
  EXPECT_EQ(Where(CompileError("purchases > 1.2.3")), "4:22: bad number '1.2.3'");
  EXPECT_EQ(Where(CompileError("1e")), "4:10: bad number '1e'");
  EXPECT_EQ(Where(CompileError("3x + 1")), "4:10: bad number '3x'");
  EXPECT_EQ(Where(CompileError("5.")), "4:10: bad number '5.'");
  EXPECT_EQ(Where(CompileError("days_since_last_purchase > 30d")),
            "4:37: bad number '30d' (write days(30))");
  EXPECT_EQ(CompileError("x > 2weeks").message, "bad number '2weeks' (write weeks(2))");
  EXPECT_EQ(Where(CompileError("1e999")), "4:10: number '1e999' is out of range");
  EXPECT_EQ(Where(CompileError("return_rate < 30 %")),
            "4:27: '%' must follow a number directly, as in 30%");
}

TEST(ExpressionErrorTest, WrongOperators) {
  EXPECT_EQ(Where(CompileError("purchases = 3")), "4:20: write '==' to compare, not '='");
  EXPECT_EQ(Where(CompileError("purchases <> 3")), "4:20: write '!=' for 'not equal', not '<>'");
  EXPECT_EQ(Where(CompileError("a && b")).substr(0, 5), "4:12:");
  EXPECT_EQ(CompileError("purchases > 1 && referrals > 1").message, "write 'and' instead of '&&'");
  EXPECT_EQ(CompileError("purchases > 1 || referrals > 1").message, "write 'or' instead of '||'");
  EXPECT_EQ(CompileError("!defined(p_alive)").message, "write 'not' instead of '!'");
  EXPECT_EQ(Where(CompileError("purchases > 1 # comment")), "4:24: unexpected character '#'");
  EXPECT_EQ(Where(CompileError("purchases ≥ 3")), "4:20: unexpected character '≥'");
  EXPECT_EQ(Where(CompileError("1 < purchases < 5")),
            "4:24: comparisons cannot be chained: write 'a < b and b < c'");
}

TEST(ExpressionErrorTest, ObviousMistakes) {
  EXPECT_EQ(Where(CompileError("p_alive == null")),
            "4:21: a comparison with null is never true: write defined(x) or not defined(x)");
  EXPECT_EQ(Where(CompileError("null != p_alive")),
            "4:10: a comparison with null is never true: write defined(x) or not defined(x)");
  EXPECT_EQ(Where(CompileError("profit_percentile >= 90%")),
            "4:31: profit_percentile goes from 0 to 100: write 90, not 90%");
  EXPECT_EQ(Where(CompileError("95% < profit_percentile")),
            "4:10: profit_percentile goes from 0 to 100: write 95, not 95%");
  EXPECT_EQ(Where(CompileError("NOT purchases")),
            "4:10: unknown fact 'NOT' (did you mean not? keywords are lower case)");
}

TEST(ExpressionErrorTest, Empty) {
  EXPECT_EQ(Where(CompileError("")),
            "4:10: empty expression: write a condition such as 'purchases >= 1'");
  EXPECT_EQ(Where(CompileError("  \n  ")),
            "4:10: empty expression: write a condition such as 'purchases >= 1'");
}

TEST(ExpressionErrorTest, NestingDepth) {
  const std::string ok = std::string(64, '(') + "1" + std::string(64, ')');
  EXPECT_EQ(Eval(ok), 1);
  const std::string deep = std::string(65, '(') + "1" + std::string(65, ')');
  // The 65th '(' is at offset 64.
  EXPECT_EQ(Where(CompileError(deep)),
            "4:74: expression is nested too deeply: at most 64 levels of parentheses, function "
            "calls, 'not' and '-'");
  std::string negations;
  for (int i = 0; i < 65; ++i) negations += "not ";
  EXPECT_EQ(CompileError(negations + "1").where.column, 10 + 64 * 4);
  std::string calls;
  for (int i = 0; i < 65; ++i) calls += "abs(";
  EXPECT_EQ(CompileError(calls + "1" + std::string(65, ')')).where.column, 10 + 64 * 4 + 3);
}

TEST(ExpressionErrorTest, TooLong) {
  std::string longest = "1" + std::string(Expression::kMaxTextBytes - 1, ' ');
  EXPECT_EQ(Eval(longest), 1);
  EXPECT_EQ(Where(CompileError(longest + " ")),
            "4:10: expression is too long: 4097 bytes, at most 4096");
}

TEST(ExpressionErrorTest, TooManyNodes) {
  // n ones and n - 1 pluses are 2n - 1 nodes: 128 ones fit in 256, 129 do not.
  auto sum = [](int n, const std::string& term) {
    std::string text = term;
    for (int i = 1; i < n; ++i) text += " + " + term;
    return text;
  };
  EXPECT_EQ(Eval(sum(128, "1")), 128);
  MapSource c{{Fact::kPurchases, 1}};
  EXPECT_EQ(Eval(sum(128, "purchases"), c), 128);
  const Error error = CompileError(sum(129, "1"));
  EXPECT_EQ(error.message,
            "expression is too complex: at most 256 numbers, facts, operators and function calls");
  // The 257th node is the last '+', at offset 2 + 4 * 127.
  EXPECT_EQ(error.where.column, 10 + 2 + 4 * 127);
  EXPECT_FALSE(Expression::Compile(sum(129, "purchases"), kWhere));
  // Many arguments count too.
  EXPECT_FALSE(Expression::Compile("min(" + std::string(300 * 2, ',') + ")", kWhere));
  std::string args = "1";
  for (int i = 0; i < 300; ++i) args += ", purchases";
  EXPECT_FALSE(Expression::Compile("max(" + args + ")", kWhere));
}

TEST(ExpressionErrorTest, MultiLinePositions) {
  const std::string text = "purchases >= 3\n  and overdue_ration > 2";
  // Line 2 of the text is line 5 of the file; its columns count from 1.
  EXPECT_EQ(Where(CompileError(text)),
            "5:7: unknown fact 'overdue_ration' (did you mean overdue_ratio?)");
  // A YAML block scalar indented by 4: its lines start at column 5.
  EXPECT_EQ(Where(CompileError(text, kWhere, 5)),
            "5:11: unknown fact 'overdue_ration' (did you mean overdue_ratio?)");
  EXPECT_EQ(Where(CompileError("purchases >= 3 and\r\n\r\nreturn_rate < 0.3 )")),
            "6:19: unexpected ')': there is no '(' to close");
  EXPECT_EQ(Where(CompileError("(purchases >= 3\n and")),
            "5:5: expected a number, a fact or '(' "
            "but found the end of the expression");
  // Unknown positions count as line 1, column 1.
  EXPECT_EQ(Where(CompileError("1 +", Location{"x", 0, 0})),
            "1:4: expected a number, a fact or '(' but found the end of the expression");
}

}  // namespace
}  // namespace followup::rules
