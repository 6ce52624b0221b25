// End to end: check, simulate, explain and report through the real binary, on the shipped sample.
#include <gtest/gtest.h>

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <vector>

#include "base/time.h"
#include "rules/engine.h"
#include "support/sqlite_util.h"
#include "support/test_util.h"

namespace followup {
namespace {

using testing::Followupd;
using testing::TempDir;

// Runs `sql` on the store at `db` when it goes out of scope: what a test added to the shared store
// is gone for the next one.
struct SqlOnExit {
  std::string db, sql;
  ~SqlOnExit() { testing::Exec(db, sql); }
};

// A copy of the shipped config with its store in a temp dir, the shipped rules and templates.
class RulesCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    ASSERT_FALSE(testing::SetUpSampleFolder(*dir_).empty());
  }
  static void TearDownTestSuite() { delete dir_; }
  static testing::CommandResult Run(const std::string& args) {
    return RunAt("2026-06-30T12:00:00Z", args);
  }
  static testing::CommandResult RunAt(const std::string& at, const std::string& args) {
    return Followupd("--config " + *dir_ / "followup.yaml" + " --at " + at + " " + args);
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
  SqlOnExit clean_up{db, "DELETE FROM sequence_places"};
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

  // The better offer renamed: they skip to the next step there is.
  std::string rules = *dir_ / "edited-rules";
  std::filesystem::copy(*dir_ / "rules", rules);
  std::string winback = testing::ReadFile(rules + "/lapsed-winback.yaml");
  winback.replace(winback.find("name: better-offer"), 18, "name: other-offer");
  dir_->Write("edited-rules/lapsed-winback.yaml", winback);
  std::string config = testing::ReadFile(*dir_ / "followup.yaml");
  config.replace(config.find("rules_dir: rules"), 16, "rules_dir: edited-rules");
  dir_->Write("edited.yaml", config);
  auto edited = Followupd("--config " + *dir_ / "edited.yaml" + " --at 2026-06-30T12:00:00Z check");
  ASSERT_EQ(edited.status, 0) << edited.err;
  EXPECT_NE(edited.out.find("in flight: 3 customers in sequences\n  rule lapsed-winback: 3 "
                            "customers at step 'better-offer' which no longer exists: they skip "
                            "to 'other-offer'\n"),
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

// explain says that a trigger's wait still runs (to the customer and to the referrer who gets the
// thank-you), names the clause of `where:` that failed, and lists the mail still to go to them.
TEST_F(RulesCommandsTest, ExplainSaysWhatWaitsAndWhichClauseFailed) {
  // c000295, referred by c000086, bought first at 2026-06-14T21:02:19Z (t00002740): the thank-you
  // waits 30 days (rules/referral-thanks.yaml).
  auto rule_of = [](const nlohmann::json& doc, const std::string& name) {
    for (const auto& rule : doc["rules"])
      if (rule["rule"] == name) return rule;
    return nlohmann::json();
  };
  auto friend_doc = nlohmann::json::parse(Run("explain c000295 --json").out);
  auto thanks = rule_of(friend_doc, "referral-thanks");
  EXPECT_EQ(thanks["decision"], "waiting") << thanks;
  EXPECT_EQ(thanks["waiting_until"], "2026-07-14T21:02:19Z");
  EXPECT_EQ(thanks["why"], "waiting until 2026-07-14T21:02:19Z: after t00002740");
  auto winback = rule_of(friend_doc, "lapsed-winback");
  EXPECT_EQ(winback["why"], "out of audience: purchases >= 3 (purchases 1)") << winback;

  auto referrer = Run("explain c000086");
  ASSERT_EQ(referrer.status, 0) << referrer.err;
  EXPECT_NE(referrer.out.find("referral-thanks          waiting      waiting until "
                              "2026-07-14T21:02:19Z: after t00002740 of c000295, whom they "
                              "referred\n"),
            std::string::npos)
      << referrer.out;
  auto referrer_doc = nlohmann::json::parse(Run("explain c000086 --json").out);
  EXPECT_EQ(rule_of(referrer_doc, "referral-thanks")["waiting_until"], "2026-07-14T21:02:19Z");
  EXPECT_EQ(referrer_doc["queued"], nlohmann::json::array());

  // Once the wait is over the thank-you is decided, to the referrer; once recorded, it is the
  // referrer's mail to come.
  auto after = nlohmann::json::parse(RunAt("2026-07-15T12:00:00Z", "explain c000086 --json").out);
  auto decided = rule_of(after, "referral-thanks");
  EXPECT_EQ(decided["decision"], "send") << decided;
  EXPECT_EQ(
      decided["why"].get<std::string>().rfind("to them, about c000295, whom they referred", 0), 0u)
      << decided;
  const std::string db = *dir_ / "var/followup.db";
  SqlOnExit clean_up{db, "DELETE FROM outbox"};
  testing::Exec(db,
                "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
                "decided_at, send_after, status, updated_at) SELECT "
                "'referral-thanks:c000295:t00002740', 'referral-thanks', f.id, r.id, 'send', "
                "'referral-thanks', 1784116800, 1784116800, 'queued', 1784116800 FROM customers f, "
                "customers r WHERE f.external_id = 'c000295' AND r.external_id = 'c000086'");
  auto queued = RunAt("2026-07-15T12:00:00Z", "explain c000086");
  EXPECT_NE(queued.out.find("mail to come:\n  referral-thanks          queued   due "
                            "2026-07-15T12:00:00Z (about c000295)\n"),
            std::string::npos)
      << queued.out;
  auto queued_doc =
      nlohmann::json::parse(RunAt("2026-07-15T12:00:00Z", "explain c000086 --json").out);
  ASSERT_EQ(queued_doc["queued"].size(), 1u);
  EXPECT_EQ(queued_doc["queued"][0]["recipient"], "c000086");
  EXPECT_EQ(queued_doc["queued"][0]["status"], "queued");
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
  SqlOnExit clean_up{db,
                     "DELETE FROM sequence_places; DELETE FROM outbox; "
                     "DELETE FROM transactions WHERE external_id = 'report-test'"};
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
  // On 2026-08-01 the window after the last step (2026-07-08) has closed.
  auto r = RunAt("2026-08-01", "report --json");
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
  ASSERT_EQ(sequence["steps"].size(), 3u) << "every step of the rule, the last note never reached";
  EXPECT_EQ(sequence["steps"][0]["step"], "reminder");
  EXPECT_EQ(sequence["steps"][0]["sent"], 1);
  EXPECT_EQ(sequence["steps"][0]["converted"], 0);
  EXPECT_EQ(sequence["steps"][1]["step"], "better-offer");
  EXPECT_EQ(sequence["steps"][1]["converted"], 1);
  EXPECT_EQ(sequence["steps"][2]["step"], "last-note");
  EXPECT_EQ(sequence["steps"][2]["sent"], 0);
  auto text = RunAt("2026-08-01", "report");
  EXPECT_NE(text.out.find("sequence: entered 1, in flight 0, completed 1"), std::string::npos)
      << text.out;
  // On 2026-07-20 the window after the second step is still open: not counted yet.
  auto open = RunAt("2026-07-20", "report --json");
  ASSERT_EQ(open.status, 0) << open.err;
  for (const auto& rule : nlohmann::json::parse(open.out)) {
    if (rule["rule"] != "lapsed-winback") continue;
    EXPECT_EQ(rule["contacted"]["customers"], 0);
    EXPECT_EQ(rule["contacted"]["window_open"], 1);
    EXPECT_EQ(rule["contacted"]["conversion_rate"], nullptr);
  }
}

// Decisions of `rule` about the sample customers c0000FROM..c0000TO, made at `at` (UTC seconds),
// as `kind` and `status`; and purchases of `amounts` (cents, in order, 0 = none) two days later.
std::string Decisions(const std::string& rule, const std::string& kind, const std::string& status,
                      int64_t at, int from, int to, std::vector<int> amounts = {}) {
  std::string sql;
  for (int i = from; i <= to; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "c%06d", i);
    sql +=
        "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
        "decided_at, send_after, status, updated_at) SELECT '" +
        rule + ":" + id + "', '" + rule + "', id, id, '" + kind + "', 'winback', " +
        std::to_string(at) + ", " + std::to_string(at) + ", '" + status + "', " +
        std::to_string(at) + " FROM customers WHERE external_id = '" + id + "';";
    size_t n = static_cast<size_t>(i - from);
    if (n >= amounts.size() || amounts[n] == 0) continue;
    sql +=
        "INSERT INTO transactions(external_id, customer_id, occurred_at, kind, amount, "
        "currency) SELECT 'report-" +
        rule + "-" + id + "', id, " + std::to_string(at + 2 * 86400) + ", 'purchase', " +
        std::to_string(amounts[n]) + ", 'EUR' FROM customers WHERE external_id = '" + id + "';";
  }
  return sql;
}

// Welch's t interval for the difference of two samples' means, worked out here from the sums.
std::tuple<double, double, double> WelchReference(const std::vector<double>& a,
                                                  const std::vector<double>& b) {
  auto mean_var = [](const std::vector<double>& v) {
    double sum = 0, sq = 0;
    for (double x : v) sum += x;
    const double mean = sum / v.size();
    for (double x : v) sq += (x - mean) * (x - mean);
    return std::pair{mean, sq / (v.size() - 1)};
  };
  auto [ma, va] = mean_var(a);
  auto [mb, vb] = mean_var(b);
  const double sa = va / a.size(), sb = vb / b.size();
  const double df = (sa + sb) * (sa + sb) / (sa * sa / (a.size() - 1) + sb * sb / (b.size() - 1));
  const double t = boost::math::quantile(boost::math::students_t(df), 0.975);
  const double d = ma - mb, half = t * std::sqrt(sa + sb);
  return {d, d - half, d + half};
}

// report counts only decisions whose window has closed, gives intervals that match the published
// reference values (Newcombe 1998, Table II) and Welch's interval, says "too few to tell" for small
// groups and shows money with its currency.
TEST_F(RulesCommandsTest, ReportIntervalsMatchTheReferenceValues) {
  const std::string db = *dir_ / "var/followup.db";
  SqlOnExit clean_up{db,
                     "DELETE FROM outbox; DELETE FROM transactions WHERE external_id LIKE "
                     "'report-%'"};
  const int64_t jan = 1799020800;  // 2027-01-04: long closed on 2027-03-01
  const int64_t feb = 1803081600;  // 2027-02-20: still open on 2027-03-01
  // 9 of 10 contacted bought (10 to 90 EUR), 3 of 10 held out (20, 40, 60 EUR); one more contacted
  // customer bought, but their window is still open.
  const std::vector<int> contacted = {1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 0};
  const std::vector<int> held_out = {2000, 4000, 6000, 0, 0, 0, 0, 0, 0, 0};
  testing::Exec(db, Decisions("paid", "send", "sent", jan, 1, 10, contacted) +
                        Decisions("paid", "holdout", "held_out", jan, 11, 20, held_out) +
                        Decisions("paid", "send", "sent", feb, 21, 21, {500}) +
                        // Nobody bought, in groups of 10: no zero-width interval.
                        Decisions("quiet", "send", "sent", jan, 31, 40) +
                        Decisions("quiet", "control", "held_out", jan, 41, 50) +
                        // One held-out customer: too few to tell.
                        Decisions("few", "send", "sent", jan, 51, 60, {100, 100}) +
                        Decisions("few", "holdout", "held_out", jan, 61, 61));
  auto r = RunAt("2027-03-01", "report --json");
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, nlohmann::json> rules;
  for (const auto& rule : nlohmann::json::parse(r.out)) rules[rule["rule"]] = rule;

  const auto& paid = rules["paid"];
  EXPECT_EQ(paid["currency"], "EUR");
  EXPECT_EQ(paid["contacted"]["customers"], 10);
  EXPECT_EQ(paid["contacted"]["converted"], 9);
  EXPECT_EQ(paid["contacted"]["window_open"], 1);
  EXPECT_EQ(paid["contacted"]["revenue"], 450.0);
  EXPECT_EQ(paid["holdout"]["customers"], 10);
  EXPECT_EQ(paid["holdout"]["converted"], 3);
  EXPECT_EQ(paid["too_few_to_tell"], false);
  const auto& rate = paid["conversion_uplift"];
  EXPECT_NEAR(rate["difference"].get<double>(), 0.6, 1e-12);
  EXPECT_NEAR(rate["low"].get<double>(), 0.1705, 5e-5);  // Newcombe Table II: 9/10 - 3/10
  EXPECT_NEAR(rate["high"].get<double>(), 0.8090, 5e-5);
  std::vector<double> a, b;
  for (int c : contacted) a.push_back(c / 100.0);
  for (int c : held_out) b.push_back(c / 100.0);
  auto [d, low, high] = WelchReference(a, b);
  const auto& money = paid["revenue_per_customer_uplift"];
  EXPECT_NEAR(money["difference"].get<double>(), d, 1e-9);
  EXPECT_NEAR(money["low"].get<double>(), low, 1e-6);
  EXPECT_NEAR(money["high"].get<double>(), high, 1e-6);

  const auto& quiet = rules["quiet"];
  EXPECT_NEAR(quiet["conversion_uplift"]["low"].get<double>(), -0.2775, 5e-5);  // 0/10 - 0/10
  EXPECT_NEAR(quiet["conversion_uplift"]["high"].get<double>(), 0.2775, 5e-5);
  EXPECT_EQ(quiet["revenue_per_customer_uplift"], nullptr) << "nobody spent: no spread";

  const auto& few = rules["few"];
  EXPECT_EQ(few["too_few_to_tell"], true);
  EXPECT_EQ(few["conversion_uplift"], nullptr);
  EXPECT_EQ(few["revenue_per_customer_uplift"], nullptr);
  EXPECT_EQ(few["holdout"]["conversion_rate"], 0.0);

  auto text = RunAt("2027-03-01", "report");
  ASSERT_EQ(text.status, 0) << text.err;
  for (const char* line :
       {"  contacted: 10 customers, 9 converted (90.0%), revenue 450.00 EUR; 1 with the window "
        "still open (not counted)",
        "  held out:  10 customers, 3 converted (30.0%), revenue 120.00 EUR\n",
        "  conversion uplift +60.0 points [+17.1, +80.9]\n",
        "  conversion uplift +0.0 points [-27.8, +27.8]\n",
        "  revenue per customer +0.00 EUR (no interval: every customer spent the same)\n",
        "  uplift: too few to tell (10 contacted and 1 held out with the window closed; needs 10 "
        "of each)\n"})
    EXPECT_NE(text.out.find(line), std::string::npos) << line << "\n" << text.out;
  char money_line[128];
  std::snprintf(money_line, sizeof money_line, "  revenue per customer %+.2f EUR [%+.2f, %+.2f]\n",
                d, low, high);
  EXPECT_NE(text.out.find(money_line), std::string::npos) << money_line << text.out;
}

// report says how many of a rule's sends bounced and how many drew a complaint, per rule and per
// sequence step: a bounced send never arrived and is no contact; a complained one did.
TEST_F(RulesCommandsTest, ReportShowsBouncesAndComplaintsBesideContacted) {
  const std::string db = *dir_ / "var/followup.db";
  SqlOnExit clean_up{db, "DELETE FROM sequence_places; DELETE FROM outbox"};
  // The win-back's reminder to two customers: one bounced, one complained; the better offer a
  // week later only to the second, sent.
  std::string sql;
  for (auto [customer, status] : {std::pair{"c000295", "bounced"}, {"c000296", "complained"}}) {
    const bool both = std::string(status) == "complained";
    sql += std::string(
               "INSERT INTO sequence_places(rule, customer_id, occurrence, kind, entered_at, "
               "steps_done, last_at, ended_at, end_reason) SELECT 'lapsed-winback', id, "
               "'2026-07-01', 'send', 1782900000, '[{\"step\":\"reminder\",\"at\":1782900000,"
               "\"outcome\":\"send\"}") +
           (both ? ",{\"step\":\"better-offer\",\"at\":1783504800,\"outcome\":\"send\"}" : "") +
           "]', 1783504800, 1783504800, 'completed' FROM customers WHERE external_id = '" +
           customer +
           "';"
           "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
           "decided_at, send_after, status, updated_at) SELECT 'lapsed-winback:" +
           customer +
           ":2026-07-01:reminder', 'lapsed-winback', id, id, 'send', 'winback', "
           "1782900000, 1782900000, '" +
           status + "', 1782900000 FROM customers WHERE external_id = '" + customer + "';";
    if (both)
      sql +=
          "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
          "decided_at, send_after, status, updated_at) SELECT 'lapsed-winback:" +
          std::string(customer) +
          ":2026-07-01:better-offer', 'lapsed-winback', id, id, 'send', 'winback', "
          "1783504800, 1783504800, 'sent', 1783504800 FROM customers WHERE external_id = '" +
          customer + "';";
  }
  // A rule without steps: 10 sends, 7 arrived, 2 bounced, 1 complained.
  const int64_t jan = 1799020800;  // 2027-01-04
  testing::Exec(db, sql + Decisions("mailed", "send", "sent", jan, 1, 7) +
                        Decisions("mailed", "send", "bounced", jan, 8, 9) +
                        Decisions("mailed", "send", "complained", jan, 10, 10));
  auto r = RunAt("2027-03-01", "report --json");
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, nlohmann::json> rules;
  for (const auto& rule : nlohmann::json::parse(r.out)) rules[rule["rule"]] = rule;
  const auto& mailed = rules["mailed"];
  EXPECT_EQ(mailed["decided"], 10);
  EXPECT_EQ(mailed["sent"], 7);
  EXPECT_EQ(mailed["bounced"], 2);
  EXPECT_EQ(mailed["complained"], 1);
  EXPECT_EQ(mailed["contacted"]["customers"], 8) << "the complained one arrived, the bounced not";
  const auto& winback = rules["lapsed-winback"];
  EXPECT_EQ(winback["bounced"], 1);
  EXPECT_EQ(winback["complained"], 1);
  EXPECT_EQ(winback["sent"], 1);
  EXPECT_EQ(winback["contacted"]["customers"], 1) << "only the entry a step reached";
  const auto& steps = winback["sequence"]["steps"];
  ASSERT_EQ(steps.size(), 3u) << winback;
  EXPECT_EQ(steps[0]["step"], "reminder");
  EXPECT_EQ(steps[0]["decided"], 2);
  EXPECT_EQ(steps[0]["sent"], 1);
  EXPECT_EQ(steps[0]["bounced"], 1);
  EXPECT_EQ(steps[0]["complained"], 1);
  EXPECT_EQ(steps[1]["sent"], 1);
  EXPECT_EQ(steps[1]["bounced"], 0);
  EXPECT_EQ(steps[1]["complained"], 0);

  auto text = RunAt("2027-03-01", "report");
  ASSERT_EQ(text.status, 0) << text.err;
  for (const char* line :
       {"  decided 10, sent 7, bounced 2, complained 1, failed 0, suppressed 0, pending 0, held "
        "out 0\n",
        "  decided 3, sent 1, bounced 1, complained 1, failed 0, suppressed 0, pending 0, held out "
        "0\n",
        "  step              decided     sent  bounced complained held out  skipped  converted "
        "conv. held  left after it\n",
        "  reminder                2        1        1          1        0        0          0 "
        "         0  -\n",
        "  better-offer            1        1        0          0        0        0          0 "
        "         0  -\n"})
    EXPECT_NE(text.out.find(line), std::string::npos) << line << "\n" << text.out;
}

// The first of c000001..c000100 for whom `pick` holds.
std::string FirstCustomer(const std::function<bool(const std::string&)>& pick) {
  for (int i = 1; i <= 100; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "c%06d", i);
    if (pick(id)) return id;
  }
  return "";
}

// preview shows the message as it reads, and first why it would not be sent; --raw the MIME.
TEST_F(RulesCommandsTest, PreviewSaysWhyAMessageWouldNotBeSentAndShowsItDecoded) {
  // vip-offer-test's arms split by a stable hash: 80% offer, 20% control (rules.md).
  auto in_arm = [](const std::string& id) {
    return rules::StableShare("vip-offer-test/arm", id) < 0.8;
  };
  const std::string offer = FirstCustomer([&](const std::string& id) {
    return in_arm(id) && id != "c000295";  // one with an email address
  });
  const std::string control = FirstCustomer([&](const std::string& id) { return !in_arm(id); });
  ASSERT_FALSE(offer.empty());
  ASSERT_FALSE(control.empty());

  auto sent = Run("preview vip-offer-test --customer " + offer);
  ASSERT_EQ(sent.status, 0) << sent.err;
  EXPECT_EQ(sent.out.find("would not be sent"), std::string::npos) << sent.out;
  EXPECT_EQ(sent.out.rfind("Date: ", 0), 0u) << sent.out;
  EXPECT_NE(sent.out.find("\nSubject: Something new for you first, "), std::string::npos);
  // The text part decoded: its long line whole (quoted-printable breaks it at 76 characters).
  const std::string line =
      "you are one of our most loyal customers, so you hear it first: our new collection is "
      "here, and for\n";
  EXPECT_NE(sent.out.find(line), std::string::npos) << sent.out;
  EXPECT_EQ(sent.out.find("quoted-printable"), std::string::npos);
  EXPECT_NE(sent.out.find("(an HTML part goes with this text)"), std::string::npos);
  auto raw = Run("preview vip-offer-test --raw --customer " + offer);
  ASSERT_EQ(raw.status, 0) << raw.err;
  EXPECT_NE(raw.out.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_NE(raw.out.find("our new coll=\r\nection is here, and for\r\n"), std::string::npos)
      << raw.out;
  EXPECT_EQ(raw.out.find(line), std::string::npos);
  EXPECT_TRUE(raw.err.empty()) << raw.err;

  auto held = Run("preview vip-offer-test --customer " + control);
  ASSERT_EQ(held.status, 0) << held.err;
  EXPECT_EQ(held.out.rfind("would not be sent: customer '" + control +
                               "' is in the control arm 'control': recorded, never contacted\n",
                           0),
            0u)
      << held.out;

  // c000295 has no email address (config/sample/README.md).
  auto nobody = Run("preview vip-offer-test --customer c000295");
  ASSERT_EQ(nobody.status, 0) << nobody.err;
  EXPECT_NE(nobody.out.find("would not be sent: customer 'c000295' has no email address\n"),
            std::string::npos)
      << nobody.out;
  EXPECT_NE(nobody.out.find("\nTo: "), std::string::npos);
  EXPECT_NE(nobody.out.find(" (no email address)\n"), std::string::npos) << nobody.out;
  EXPECT_EQ(nobody.out.find("<>"), std::string::npos) << nobody.out;

  // Unsubscribed and suppressed, as the operator sets them; --raw says so on stderr.
  const std::string db = *dir_ / "var/followup.db";
  const std::string email =
      testing::Sql(db, "SELECT email FROM customers WHERE external_id = '" + offer + "'");
  SqlOnExit clean_up{db, "UPDATE customers SET unsubscribed_at = NULL; DELETE FROM suppressions"};
  ASSERT_EQ(RunAt("2026-06-01", "unsubscribe " + offer).status, 0);
  ASSERT_EQ(RunAt("2026-06-02", "suppress add " + email + " --reason 'asked by phone'").status, 0);
  auto gone = Run("preview vip-offer-test --raw --customer " + offer);
  ASSERT_EQ(gone.status, 0) << gone.err;
  EXPECT_EQ(gone.err,
            "would not be sent: customer '" + offer +
                "' unsubscribed on 2026-06-01T00:00:00Z\nwould not be sent: the address " + email +
                " is suppressed since 2026-06-02T00:00:00Z: asked by phone\n");
  EXPECT_EQ(gone.out.rfind("Date: ", 0), 0u) << "stdout is the MIME alone";
}

}  // namespace
}  // namespace followup
