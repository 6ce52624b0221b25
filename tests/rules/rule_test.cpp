#include "rules/rule.h"

#include <date/tz.h>
#include <gtest/gtest.h>

#include "support/test_util.h"

namespace followup::rules {
namespace {

class RuleTest : public ::testing::Test {
 protected:
  RuleTest() {
    dir_.Write("templates/hello/subject.mustache", "Hi");
    options_.rules_dir = dir_ / "rules";
    options_.templates_dir = dir_ / "templates";
    options_.now = *ParseInstant("2026-06-30T12:00:00Z", nullptr);
    options_.zone = *LookupZone("UTC");
    std::filesystem::create_directories(options_.rules_dir);
  }

  // Parses one rule; returns the problems as "LINE:COL: message".
  std::vector<std::string> Problems(const std::string& yaml) {
    std::vector<Error> errors;
    ParseRule(yaml, "r.yaml", options_, errors);
    std::vector<std::string> out;
    for (const auto& e : errors)
      out.push_back(std::to_string(e.where.line) + ":" + std::to_string(e.where.column) + ": " +
                    e.message);
    return out;
  }

  testing::TempDir dir_;
  LoadOptions options_;
};

constexpr const char* kGood = R"(name: welcome
trigger:
  event: first_purchase
  wait: 2d
audience:
  where: purchases >= 1 and profit > 10
  top: 25% by profit
action:
  send: hello
  to: customer
  values:
    code: HELLO
limits:
  once_per: 30d
priority: 5
holdout: 10%
)";

TEST_F(RuleTest, ParsesEveryPart) {
  std::vector<Error> errors;
  auto rule = ParseRule(kGood, "r.yaml", options_, errors);
  ASSERT_TRUE(rule) << (errors.empty() ? "" : errors[0].ToString());
  EXPECT_EQ(rule->name, "welcome");
  EXPECT_EQ(rule->trigger.event, EventKind::kFirstPurchase);
  EXPECT_EQ(rule->trigger.wait, std::chrono::hours{48});
  ASSERT_TRUE(rule->where);
  ASSERT_TRUE(rule->top);
  EXPECT_TRUE(rule->top->percent);
  EXPECT_DOUBLE_EQ(rule->top->amount, 0.25);
  EXPECT_EQ(rule->top->by, worth::Fact::kProfit);
  EXPECT_EQ(rule->send, "hello");
  EXPECT_FALSE(rule->to_referrer);
  EXPECT_EQ(rule->values_json, R"({"code":"HELLO"})");
  EXPECT_EQ(rule->once_per, std::chrono::hours{24 * 30});
  EXPECT_EQ(rule->priority, 5);
  EXPECT_DOUBLE_EQ(rule->holdout, 0.10);
}

TEST_F(RuleTest, EveryProblemIsReportedWithLineAndColumn) {
  auto problems = Problems(R"(name: Bad Name
trigger:
  event: birthday
audience:
  where: purchases >= 3 and overdue_ration > 2
  top: lots by profit
action:
  send: nosuch
  to: neighbour
limits:
  once_per: 90 days
holdout: ten percent
colour: red
)");
  std::vector<std::string> expected = {
      "13:1: unknown key 'colour' in the rule",
      "1:7: name 'Bad Name' must be 1-64 lower-case letters, digits, - or _",
      "3:10: unknown event 'birthday'",
      "5:29: unknown fact 'overdue_ration'",
      "6:8: top: bad amount 'lots'",
      "8:9: unknown template 'nosuch'",
      "9:7: to: expected customer or referrer, found 'neighbour'",
      "11:13: once_per: bad duration '90 days'",
      "12:10: holdout: bad percentage 'ten percent'",
  };
  ASSERT_EQ(problems.size(), expected.size()) << ::testing::PrintToString(problems);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(problems[i].rfind(expected[i], 0), 0u)
        << problems[i] << "\nexpected: " << expected[i];
}

TEST_F(RuleTest, QuotedExpressionsPointInsideTheQuotes) {
  auto problems = Problems(
      "name: q\ntrigger:\n  schedule: daily\naudience:\n  where: \"profit > \"\naction:\n  send: "
      "hello\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("5:20: ", 0), 0u) << problems[0];
}

TEST_F(RuleTest, YamlSyntaxErrorsHaveAPlace) {
  auto problems = Problems("name: x\ntrigger: [unclosed\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("3:", 0), 0u) << problems[0];
}

TEST_F(RuleTest, ValuesThatAreNotUtf8AreAProblemNotACrash) {
  // A file saved as Latin-1 threw out of the JSON dump: check and run aborted (exit 134).
  auto problems = Problems(
      "name: v\ntrigger:\n  event: purchase\naction:\n  send: hello\n  values:\n"
      "    offer: \"caf\xe9\"\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "7:12: values must be UTF-8 text (is the file saved in another encoding?)");
  auto in_arm = Problems(
      "name: v\ntrigger:\n  event: purchase\naction:\n  send: hello\nexperiment:\n  arms:\n"
      "    - {name: a, weight: 50%, values: {k\xff: x}}\n    - {name: b, weight: 50%}\n");
  ASSERT_EQ(in_arm.size(), 1u);
  EXPECT_NE(in_arm[0].find("values must be UTF-8 text"), std::string::npos) << in_arm[0];
}

TEST_F(RuleTest, ADuplicateKeyIsLocated) {
  // yaml-cpp keeps both pairs and a look-up finds the first: priority 5 would win silently.
  auto problems = Problems(
      "name: d\npriority: 5\ntrigger:\n  event: purchase\naction:\n  send: hello\n"
      "priority: 50\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "7:1: duplicate key 'priority' (first at line 2, column 1)");
  auto nested =
      Problems("name: n\ntrigger:\n  event: purchase\naction:\n  send: hello\n  send: other\n");
  ASSERT_EQ(nested.size(), 1u);
  EXPECT_EQ(nested[0].rfind("6:3: duplicate key 'send'", 0), 0u) << nested[0];
}

TEST_F(RuleTest, ASecondDocumentIsAnError) {
  auto problems =
      Problems("name: one\ntrigger:\n  event: purchase\naction:\n  send: hello\n---\nname: two\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("6:1: a second YAML document", 0), 0u) << problems[0];  // the '---'
}

TEST_F(RuleTest, AStrayCommaAfterTheRuleIsASyntaxError) {
  // Found by fuzz_rule: yaml-cpp reads empty documents forever there; the rule run out of memory.
  auto problems =
      Problems("name: one\ntrigger:\n  event: purchase\naction:\n  send: hello\n---\n, \n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("7:1: unexpected ','", 0), 0u) << problems[0];
}

TEST_F(RuleTest, AnchorsThatPointBackAtThemselvesAreWalkedOnce) {
  auto problems =
      Problems("name: a\ntrigger: &t\n  event: purchase\n  again: *t\naction:\n  send: hello\n");
  ASSERT_EQ(problems.size(), 1u);  // the unknown key, once; no endless walk
  EXPECT_NE(problems[0].find("unknown key 'again'"), std::string::npos) << problems[0];
}

TEST_F(RuleTest, SchedulesThatNeverFireAndBadExperimentsAreErrors) {
  auto past =
      Problems("name: p\ntrigger:\n  schedule: once at 2020-01-01\naction:\n  send: hello\n");
  ASSERT_EQ(past.size(), 1u);
  EXPECT_NE(past[0].find("lies in the past: it would never fire"), std::string::npos);
  auto weekday =
      Problems("name: w\ntrigger:\n  schedule: weekly on funday\naction:\n  send: hello\n");
  ASSERT_EQ(weekday.size(), 1u);
  EXPECT_NE(weekday[0].find("'funday' is not a day of the week"), std::string::npos);
  auto weights = Problems(R"(name: e
trigger:
  schedule: daily at 09:00
action:
  send: hello
experiment:
  arms:
    - name: a
      weight: 50%
    - name: b
      weight: 30%
)");
  ASSERT_EQ(weights.size(), 1u);
  EXPECT_NE(weights[0].find("arm weights add up to 80%, not 100%"), std::string::npos);
  auto both =
      Problems("name: b\ntrigger:\n  schedule: daily\n  event: purchase\naction:\n  send: hello\n");
  ASSERT_EQ(both.size(), 1u);
  EXPECT_NE(both[0].find("not both"), std::string::npos);
}

TEST_F(RuleTest, LoadRulesReportsAllFilesAndDuplicateNames) {
  dir_.Write("rules/a.yaml", kGood);
  dir_.Write("rules/b.yaml", kGood);  // the same name again
  dir_.Write("rules/c.yaml", "name: c\ntrigger:\n  event: nope\naction:\n  send: hello\n");
  dir_.Write("rules/notes.txt", "not a rule");
  auto set = LoadRules(options_);
  ASSERT_FALSE(set);
  ASSERT_EQ(set.error().size(), 2u);
  EXPECT_NE(set.error()[0].ToString().find("b.yaml:1:1: two rules named 'welcome'"),
            std::string::npos)
      << set.error()[0].ToString();
  EXPECT_NE(set.error()[1].ToString().find("c.yaml:3:10: unknown event 'nope'"), std::string::npos);
  std::filesystem::remove(dir_ / "rules/b.yaml");
  std::filesystem::remove(dir_ / "rules/c.yaml");
  auto good = LoadRules(options_);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->rules.size(), 1u);
}

TEST_F(RuleTest, TheShippedRulesLoad) {
  options_.rules_dir = FOLLOWUP_SOURCE_DIR "/rules";
  options_.templates_dir = FOLLOWUP_SOURCE_DIR "/templates";
  auto set = LoadRules(options_);
  ASSERT_TRUE(set) << set.error()[0].ToString();
  ASSERT_EQ(set->rules.size(), 3u);
  // Highest priority first.
  EXPECT_EQ(set->rules[0].name, "referral-thanks");
  EXPECT_EQ(set->rules[1].name, "lapsed-winback");
  EXPECT_EQ(set->rules[2].name, "vip-offer-test");
}

}  // namespace
}  // namespace followup::rules
