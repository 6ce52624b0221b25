// End to end: check, simulate, explain and report through the real binary, on the shipped sample.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "base/time.h"
#include "support/sqlite_util.h"
#include "support/test_util.h"

namespace followup {
namespace {

using testing::Followupd;
using testing::TempDir;

// A copy of the shipped config with its store in a temp dir, the shipped rules and templates.
class RulesCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    ASSERT_FALSE(testing::SetUpSampleFolder(*dir_).empty());
  }
  static void TearDownTestSuite() { delete dir_; }
  static testing::CommandResult Run(const std::string& args) {
    return Followupd("--config " + *dir_ / "followup.yaml" + " --at 2026-06-30T12:00:00Z " + args);
  }
  static TempDir* dir_;
};
TempDir* RulesCommandsTest::dir_ = nullptr;

TEST_F(RulesCommandsTest, CheckPassesOnTheShippedRules) {
  auto r = Run("check");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("3 ok"), std::string::npos) << r.out;
}

TEST_F(RulesCommandsTest, CheckReportsEveryProblemAndTouchesNothing) {
  TempDir bad;
  std::filesystem::copy(*dir_ / "rules", bad / "rules");
  bad.Write("rules/broken.yaml",
            "name: broken\ntrigger:\n  event: birthday\naction:\n  send: nope\n");
  bad.Write("rules/typo.yaml",
            "name: typo\ntrigger:\n  schedule: daily\naudience:\n  where: profit >> 3\naction:\n"
            "  send: winback\n");
  bad.Write("followup.yaml", "store: sqlite:never.db\nrules_dir: rules\ntemplates_dir: " +
                                 *dir_ / "templates" + "\n");
  auto r = Followupd("--config " + bad / "followup.yaml" + " check");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(bad / "rules/broken.yaml" + ":3:10: unknown event 'birthday'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(bad / "rules/broken.yaml" + ":5:9: unknown template 'nope'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(bad / "rules/typo.yaml" + ":5:"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(bad / "never.db")) << "check must not create the store";
}

// The feedback providers' secrets are checked as run would read them, each at its key.
TEST_F(RulesCommandsTest, CheckReportsFeedbackSecretsThatRunCouldNotUse) {
  TempDir bad;
  bad.Write("postmark", "no-colon\n");
  bad.Write("followup.yaml", "store: sqlite:never.db\nrules_dir: " + *dir_ / "rules" +
                                 "\ntemplates_dir: " + *dir_ / "templates" +
                                 "\nfeedback:\n  postmark:\n    credentials_file: postmark\n"
                                 "  sendgrid:\n    public_key: bm90IGEga2V5\n"
                                 "  generic:\n    secret_file: missing\n");
  auto r = Followupd("--config " + bad / "followup.yaml" + " check");
  EXPECT_EQ(r.status, 1);
  const std::string config = bad / "followup.yaml";
  EXPECT_NE(
      r.err.find(config + ":6:23: credentials in " + bad / "postmark" + ": expected user:password"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(config + ":8:17: public_key: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(config + ":10:18: cannot read " + bad / "missing"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(bad / "never.db")) << "check must not create the store";
}

// check reads the customers in flight from the store and says what an edit does to them.
TEST_F(RulesCommandsTest, CheckSaysWhatAnEditDoesToTheCustomersInFlight) {
  const std::string db = *dir_ / "var/followup.db";
  struct CleanUp {
    std::string db;
    ~CleanUp() { testing::Exec(db, "DELETE FROM sequence_places"); }
  } clean_up{db};
  // Three customers had the win-back's reminder and wait for its better offer; one left.
  testing::Exec(
      db,
      "INSERT INTO sequence_places(rule, customer_id, occurrence, kind, entered_at, "
      "steps_done, last_at, next_step, next_due, ended_at, end_reason) "
      "SELECT 'lapsed-winback', id, '2026-06-25', 'send', 1782381600, "
      "'[{\"step\":\"reminder\",\"at\":1782381600,\"outcome\":\"send\"}]', "
      "1782381600, CASE WHEN id = 4 THEN '' ELSE 'better-offer' END, "
      "CASE WHEN id = 4 THEN NULL ELSE 1782986400 END, "
      "CASE WHEN id = 4 THEN 1782400000 END, CASE WHEN id = 4 THEN 'purchase' ELSE '' END "
      "FROM customers WHERE id <= 4");
  auto unchanged = Run("check");
  ASSERT_EQ(unchanged.status, 0) << unchanged.err;
  EXPECT_NE(unchanged.out.find(
                "in flight: 3 customers in sequences; the rules leave them where they are\n"),
            std::string::npos)
      << unchanged.out;

  // The better offer replaced by a last note: they skip to it.
  std::string rules = *dir_ / "edited-rules";
  std::filesystem::copy(*dir_ / "rules", rules);
  std::string winback = testing::ReadFile(rules + "/lapsed-winback.yaml");
  winback.replace(winback.find("name: better-offer"), 18, "name: last-note");
  dir_->Write("edited-rules/lapsed-winback.yaml", winback);
  std::string config = testing::ReadFile(*dir_ / "followup.yaml");
  config.replace(config.find("rules_dir: rules"), 16, "rules_dir: edited-rules");
  dir_->Write("edited.yaml", config);
  auto edited = Followupd("--config " + *dir_ / "edited.yaml" + " --at 2026-06-30T12:00:00Z check");
  ASSERT_EQ(edited.status, 0) << edited.err;
  EXPECT_NE(edited.out.find("in flight: 3 customers in sequences\n  rule lapsed-winback: 3 "
                            "customers at step 'better-offer' which no longer exists: they skip "
                            "to 'last-note'\n"),
            std::string::npos)
      << edited.out;

  // Turned off: they all leave at the next pass.
  winback = testing::ReadFile(*dir_ / "rules/lapsed-winback.yaml") + "enabled: false\n";
  dir_->Write("edited-rules/lapsed-winback.yaml", winback);
  edited = Followupd("--config " + *dir_ / "edited.yaml" + " --at 2026-06-30T12:00:00Z check");
  ASSERT_EQ(edited.status, 0) << edited.err;
  EXPECT_NE(edited.out.find("  rule lapsed-winback: enabled: false: 3 customers in flight will "
                            "exit\n"),
            std::string::npos)
      << edited.out;

  // No store yet: nothing said of it, and none created.
  config.replace(config.find("sqlite:var/followup.db"), 22, "sqlite:var/none.db");
  dir_->Write("edited.yaml", config);
  edited = Followupd("--config " + *dir_ / "edited.yaml" + " check");
  ASSERT_EQ(edited.status, 0) << edited.err;
  EXPECT_EQ(edited.out.find("in flight"), std::string::npos) << edited.out;
  EXPECT_FALSE(std::filesystem::exists(*dir_ / "var/none.db"));
}

TEST_F(RulesCommandsTest, SimulateCountsPerRuleAndWritesNothing) {
  auto r = Run("simulate --json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> rules;
  for (const auto& rule : doc["rules"]) rules[rule["rule"]] = rule;
  // The shipped win-back is a sequence: customers enter it, and its first step is decided.
  EXPECT_GT(rules["lapsed-winback"]["entered"].get<int>(), 0);
  int reminders = 0;
  for (const auto& d : doc["decisions"])
    reminders += d["rule"] == "lapsed-winback" &&
                 d["dedupe_key"].get<std::string>().ends_with(":2026-06-30:reminder");
  EXPECT_GT(reminders, 0);
  EXPECT_GT(rules["lapsed-winback"]["reasons"]["out_of_audience"].get<int>(), 0);
  EXPECT_EQ(rules["vip-offer-test"]["occurrence"], "2026-W27");
  EXPECT_FALSE(doc["decisions"].empty());
  auto again = Run("simulate --json");
  EXPECT_EQ(again.out, r.out) << "simulate writes nothing, so a second run decides the same";
  auto text = Run("simulate");
  EXPECT_NE(text.out.find("nothing is written"), std::string::npos);
}

TEST_F(RulesCommandsTest, SimulateUntilWalksForwardAndWritesNothing) {
  auto r = Run("simulate --until 2026-07-14 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["from"], "2026-06-30T12:00:00Z");
  EXPECT_EQ(doc["until"], "2026-07-14T00:00:00Z");
  ASSERT_FALSE(doc["passes"].empty());
  EXPECT_EQ(doc["passes"][0]["at"], "2026-06-30T12:00:00Z");
  std::set<std::string> days;
  for (const auto& pass : doc["passes"]) days.insert(pass["at"]);
  EXPECT_EQ(days.size(), doc["passes"].size()) << "one pass a day";
  // Each shipped sequence's second step a week after its first (later if the contact cap holds
  // it), to those who got the first: the win-back's better offer to those still away, the offer
  // test's reminder to its offer arm only.
  for (auto [rule, first, second] : {std::tuple{"lapsed-winback", "reminder", "better-offer"},
                                     std::tuple{"vip-offer-test", "offer", "reminder"}}) {
    SCOPED_TRACE(rule);
    std::map<std::string, std::pair<Instant, std::string>> got_first;  // when, and as what kind
    int a_week_later = 0;
    for (const auto& pass : doc["passes"]) {
      Instant at = *ParseInstant(pass["at"].get<std::string>(), nullptr);
      for (const auto& d : pass["decisions"]) {
        if (d["rule"] != rule) continue;
        if (d["step"] == first) got_first[d["customer"]] = {at, d["kind"]};
        if (d["step"] != second) continue;
        ASSERT_TRUE(got_first.count(d["customer"])) << d;
        const auto& [first_at, first_kind] = got_first[d["customer"]];
        EXPECT_NE(first_kind, "control") << d;
        EXPECT_GE(at, first_at + std::chrono::days{7}) << d;
        a_week_later += at == first_at + std::chrono::days{7};
      }
    }
    EXPECT_GT(a_week_later, 0);
  }
  EXPECT_EQ(testing::Sql(*dir_ / "var/followup.db", "SELECT count(*) FROM outbox"), "0");
  auto again = Run("simulate --until 2026-07-14 --json");
  EXPECT_EQ(again.out, r.out);
  auto text = Run("simulate --until 2026-07-14");
  EXPECT_NE(text.out.find("a pass a day, no purchases assumed (nothing is written)"),
            std::string::npos)
      << text.out;
  auto before = Run("simulate --until 2026-06-01");
  EXPECT_EQ(before.status, 2);
  EXPECT_NE(before.err.find("is before --at"), std::string::npos) << before.err;
}

TEST_F(RulesCommandsTest, ExplainSaysForEachRuleWhy) {
  // c000295: a recently referred friend without an email address (config/sample/README.md).
  auto r = Run("explain c000295 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["id"], "c000295");
  ASSERT_EQ(doc["rules"].size(), 3u);
  for (const auto& rule : doc["rules"]) {
    EXPECT_FALSE(rule["decision"].get<std::string>().empty());
    if (rule["rule"] == "lapsed-winback") {
      EXPECT_EQ(rule["decision"], "not decided");
      EXPECT_NE(rule["why"].get<std::string>().find("out of audience"), std::string::npos);
    }
  }
  auto text = Run("explain c000295");
  EXPECT_NE(text.out.find("rules:"), std::string::npos);
}

// explain shows where the customer stands in each sequence, as the store has it.
TEST_F(RulesCommandsTest, ExplainShowsTheCustomersSequencePlaces) {
  testing::Exec(*dir_ / "var/followup.db",
                "INSERT INTO sequence_places(rule, customer_id, occurrence, kind, entered_at, "
                "steps_done, last_at, next_step, next_due) SELECT 'remind', id, '2026-06-20', "
                "'send', 1781949600, '[{\"step\":\"first\",\"at\":1781949600,"
                "\"outcome\":\"send\"}]', 1781949600, 'second', 1782554400 FROM customers WHERE "
                "external_id = 'c000295'");
  auto r = Run("explain c000295 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["sequences"].size(), 1u);
  const auto& place = doc["sequences"][0];
  EXPECT_EQ(place["rule"], "remind");
  EXPECT_EQ(place["next_step"], "second");
  EXPECT_EQ(place["next_due"], "2026-06-27T10:00:00Z");
  EXPECT_EQ(place["ended_at"], nullptr);
  ASSERT_EQ(place["steps_done"].size(), 1u);
  EXPECT_EQ(place["steps_done"][0]["outcome"], "send");
  auto text = Run("explain c000295");
  EXPECT_NE(text.out.find("next second due 2026-06-27T10:00:00Z"), std::string::npos) << text.out;
  testing::Exec(*dir_ / "var/followup.db", "DELETE FROM sequence_places");
}

// report counts the shipped win-back per entry: a customer sent both steps who bought once after
// the second is one contacted customer, one conversion, credited to the second step.
TEST_F(RulesCommandsTest, ReportCountsASequencePerEntryAndStep) {
  const std::string db = *dir_ / "var/followup.db";
  struct CleanUp {
    std::string db;
    ~CleanUp() {
      testing::Exec(db,
                    "DELETE FROM sequence_places; DELETE FROM outbox; "
                    "DELETE FROM transactions WHERE external_id = 'report-test'");
    }
  } clean_up{db};
  // Entered 2026-07-01T10:00Z, the better offer a week later, a purchase two days after that.
  testing::Exec(
      db,
      "INSERT INTO sequence_places(rule, customer_id, occurrence, kind, entered_at, steps_done, "
      "last_at, ended_at, end_reason) SELECT 'lapsed-winback', id, '2026-07-01', 'send', "
      "1782900000, '[{\"step\":\"reminder\",\"at\":1782900000,\"outcome\":\"send\"},"
      "{\"step\":\"better-offer\",\"at\":1783504800,\"outcome\":\"send\"}]', 1783504800, "
      "1783504800, 'completed' FROM customers WHERE external_id = 'c000295';"
      "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
      "decided_at, send_after, status, updated_at) SELECT 'lapsed-winback:c000295:2026-07-01:' "
      "|| s.step, 'lapsed-winback', c.id, c.id, 'send', 'winback', s.at, s.at, 'sent', s.at "
      "FROM customers c, (SELECT 'reminder' AS step, 1782900000 AS at UNION ALL "
      "SELECT 'better-offer', 1783504800) s WHERE c.external_id = 'c000295';"
      "INSERT INTO transactions(external_id, customer_id, occurred_at, kind, amount, currency) "
      "SELECT 'report-test', id, 1783677600, 'purchase', 5000, 'EUR' FROM customers "
      "WHERE external_id = 'c000295'");
  auto r = Run("report --json");
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json winback;
  for (const auto& rule : nlohmann::json::parse(r.out))
    if (rule["rule"] == "lapsed-winback") winback = rule;
  ASSERT_FALSE(winback.is_null()) << r.out;
  EXPECT_EQ(winback["sent"], 2) << "two step decisions delivered";
  EXPECT_EQ(winback["contacted"]["customers"], 1) << "but one entry";
  EXPECT_EQ(winback["contacted"]["converted"], 1);
  EXPECT_EQ(winback["contacted"]["revenue"], 50.0);
  const auto& sequence = winback["sequence"];
  EXPECT_EQ(sequence["entered"], 1);
  EXPECT_EQ(sequence["completed"], 1);
  ASSERT_EQ(sequence["steps"].size(), 2u);
  EXPECT_EQ(sequence["steps"][0]["step"], "reminder");
  EXPECT_EQ(sequence["steps"][0]["sent"], 1);
  EXPECT_EQ(sequence["steps"][0]["converted"], 0);
  EXPECT_EQ(sequence["steps"][1]["step"], "better-offer");
  EXPECT_EQ(sequence["steps"][1]["converted"], 1);
  auto text = Run("report");
  EXPECT_NE(text.out.find("sequence: entered 1, in flight 0, completed 1"), std::string::npos)
      << text.out;
}

}  // namespace
}  // namespace followup
