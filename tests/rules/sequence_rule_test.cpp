// Rule files with steps: what `steps:` and `exit:` parse into, and every problem with its place.
#include <gtest/gtest.h>

#include "rules/rule.h"
#include "support/test_util.h"

namespace followup::rules {
namespace {

class SequenceRuleTest : public ::testing::Test {
 protected:
  SequenceRuleTest() {
    dir_.Write("templates/hello/subject.mustache", "Hi");
    dir_.Write("templates/later/subject.mustache", "Still there?");
    options_.rules_dir = dir_ / "rules";
    options_.templates_dir = dir_ / "templates";
    options_.now = *ParseInstant("2026-06-30T12:00:00Z", nullptr);
    options_.zone = *LookupZone("UTC");
  }

  std::optional<Rule> Parse(const std::string& yaml) {
    errors_.clear();
    return ParseRule(yaml, "r.yaml", options_, errors_);
  }
  // The problems as "LINE:COL: message".
  std::vector<std::string> Problems(const std::string& yaml) {
    Parse(yaml);
    std::vector<std::string> out;
    for (const auto& e : errors_)
      out.push_back(std::to_string(e.where.line) + ":" + std::to_string(e.where.column) + ": " +
                    e.message);
    return out;
  }

  testing::TempDir dir_;
  LoadOptions options_;
  std::vector<Error> errors_;
};

constexpr const char* kHead = "name: s\ntrigger:\n  schedule: daily at 10:00\n";

TEST_F(SequenceRuleTest, ParsesStepsAndExit) {
  auto rule = Parse(std::string(kHead) + R"(steps:
  - name: first
    send: hello
    values:
      code: A
  - name: second
    wait: 7d
    where: overdue_ratio >= 2
    send: later
exit:
  purchase: false
  where: return_rate > 0.5
enabled: false
)");
  ASSERT_TRUE(rule) << errors_.front().ToString();
  EXPECT_TRUE(rule->is_sequence());
  EXPECT_FALSE(rule->enabled);
  ASSERT_EQ(rule->steps.size(), 2u);
  EXPECT_EQ(rule->steps[0].name, "first");
  EXPECT_EQ(rule->steps[0].wait, std::chrono::seconds{0});
  EXPECT_EQ(rule->steps[0].values_json, R"({"code":"A"})");
  EXPECT_FALSE(rule->steps[0].where);
  EXPECT_EQ(rule->steps[1].wait, std::chrono::hours{24 * 7});
  ASSERT_TRUE(rule->steps[1].where);
  EXPECT_EQ(rule->steps[1].send, "later");
  EXPECT_FALSE(rule->exit.purchase);
  ASSERT_TRUE(rule->exit.where);
  EXPECT_EQ(rule->exit.where->text(), "return_rate > 0.5");
}

TEST_F(SequenceRuleTest, ByDefaultAPurchaseEndsTheSequence) {
  auto rule = Parse(std::string(kHead) + "steps:\n  - name: only\n    send: hello\n");
  ASSERT_TRUE(rule);
  EXPECT_TRUE(rule->exit.purchase);
  EXPECT_FALSE(rule->exit.where);
  EXPECT_TRUE(rule->enabled);
}

TEST_F(SequenceRuleTest, StepsPerExperimentArm) {
  auto rule = Parse(std::string(kHead) + R"(steps:
  - name: offer
    send: hello
  - name: reminder
    wait: 3d
    send: later
    arms:
      offer:
        values:
          code: VIP20
experiment:
  arms:
    - name: offer
      weight: 80%
    - name: control
      weight: 20%
      control: true
)");
  ASSERT_TRUE(rule) << errors_.front().ToString();
  ASSERT_EQ(rule->steps[1].arms.size(), 1u);
  EXPECT_EQ(rule->steps[1].arms[0].arm, "offer");
  EXPECT_EQ(rule->steps[1].arms[0].send, "");
  EXPECT_EQ(rule->steps[1].arms[0].values_json, R"({"code":"VIP20"})");
}

TEST_F(SequenceRuleTest, EveryProblemHasItsPlace) {
  auto problems = Problems(std::string(kHead) + R"(action:
  send: hello
steps:
  - name: a
    send: hello
  - name: a
    wait: soon
    send: nowhere
  - wait: 1d
    where: overdue_ration > 1
    send: hello
    arms:
      offer: {}
  - name: Bad
    send: hello
    colour: red
exit:
  purchase: maybe
  when: never
)");
  std::vector<std::string> expected = {
      "7:3: a rule has an action or steps, not both",
      "22:3: unknown key 'when' in exit (known: purchase, where)",
      "21:13: purchase: expected true or false",
      "9:11: two steps named 'a'",
      "10:11: wait: bad duration 'soon'",
      "11:11: unknown template 'nowhere'",
      "12:5: every step needs a name",
      "13:12: unknown fact 'overdue_ration' (did you mean overdue_ratio?)",
      "16:7: step '': arms: needs the rule's experiment:",
      "19:5: unknown key 'colour' in step",
      "17:11: step name 'Bad' must be 1-64 lower-case letters",
  };
  ASSERT_EQ(problems.size(), expected.size()) << ::testing::PrintToString(problems);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(problems[i].rfind(expected[i], 0), 0u) << problems[i] << "\nexpected " << expected[i];
}

TEST_F(SequenceRuleTest, ArmsMustBeKnownAndNotControl) {
  auto problems = Problems(std::string(kHead) + R"(steps:
  - name: a
    send: hello
    arms:
      offer:
      control:
      other:
experiment:
  arms:
    - name: offer
      weight: 80%
      send: hello
    - name: control
      weight: 20%
      control: true
)");
  std::vector<std::string> expected = {
      "5:3: arm 'offer': in a rule with steps, each step says what an arm gets",
      "9:7: step 'a': arm 'control' is a control arm: it is never contacted",
      "10:7: step 'a': unknown arm 'other'",
  };
  ASSERT_EQ(problems.size(), expected.size()) << ::testing::PrintToString(problems);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(problems[i].rfind(expected[i], 0), 0u) << problems[i] << "\nexpected " << expected[i];
}

TEST_F(SequenceRuleTest, ExitWithoutStepsAndEmptyStepsAreErrors) {
  auto problems =
      Problems(std::string(kHead) + "action:\n  send: hello\nexit:\n  purchase: true\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "7:3: exit goes with steps (a sequence)");
  problems = Problems(std::string(kHead) + "steps: []\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("steps: a list of steps"), std::string::npos);
  problems = Problems(std::string(kHead));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("needs an action (send: TEMPLATE) or steps"), std::string::npos);
}

}  // namespace
}  // namespace followup::rules
