// The decide pass on a real SQLite store: the full pass, the incremental one over rows another
// program committed, and the rule set checked against its templates.
#include "app/decide.h"

#include <gtest/gtest.h>

#include "app/rule_set.h"
#include "support/sqlite_util.h"
#include "support/store_fixture.h"

namespace followup::app {
namespace {

const Instant kNow = *ParseInstant("2026-06-30T12:00:00Z", nullptr);

class DecideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.WriteRule("welcome", testing::kWelcomeRule);
    f_.Customers("id,email,name\nann,ann@example.com,Ann\nbob,bob@example.com,Bob\n");
    f_.Transactions(
        "id,customer_id,occurred_at,kind,amount,currency\n"
        "t1,ann,2026-06-29,purchase,25.00,EUR\n");
    settings_ = f_.Settings();
    auto set = LoadCheckedRules(settings_, kNow);
    ASSERT_TRUE(set) << set.error().front().ToString();
    rules_ = std::move(*set);
  }

  worth::CustomerBase Facts() {
    auto base = LoadFacts(*f_.store, settings_, kNow);
    EXPECT_TRUE(base) << base.error().ToString();
    return std::move(*base);
  }

  testing::StoreFixture f_;
  Settings settings_;
  rules::RuleSet rules_;
};

TEST_F(DecideTest, AFullPassRecordsEachDecisionOnce) {
  auto base = Facts();
  rules::Snapshot snapshot;
  auto first = DecideAll(*f_.store, rules_, base, settings_, kNow, snapshot);
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(first->evaluation.decisions.size(), 1u);
  EXPECT_EQ(first->recorded, 1);
  EXPECT_EQ(first->evaluation.decisions[0].customer_id, f_.Id("ann"));
  EXPECT_TRUE(snapshot.history.Decided(first->evaluation.decisions[0].dedupe_key));
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT status FROM outbox"), "queued");
  // Again: the decision is known, nothing new.
  auto second = DecideAll(*f_.store, rules_, base, settings_, kNow, snapshot);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->recorded, 0);
  EXPECT_TRUE(second->evaluation.decisions.empty());
}

TEST_F(DecideTest, EvaluateAllWritesNothing) {
  auto base = Facts();
  rules::Snapshot snapshot;
  auto eval = EvaluateAll(*f_.store, rules_, base, settings_, kNow, snapshot);
  ASSERT_TRUE(eval);
  EXPECT_EQ(eval->decisions.size(), 1u);
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT count(*) FROM outbox"), "0");
}

// Rows another program commits after the full pass: a new customer and their first purchase are
// read as events, the customer joins the snapshot, the welcome is decided at once.
TEST_F(DecideTest, NewRowsAreDecidedIncrementally) {
  auto base = Facts();
  rules::Snapshot snapshot;
  ASSERT_TRUE(DecideAll(*f_.store, rules_, base, settings_, kNow, snapshot));
  int64_t high_water = *f_.store->MaxTransactionId();
  testing::Exec(f_.db(),
                "INSERT INTO customers(external_id, email, name) VALUES('cat', 'cat@example.com', "
                "'Cat'); INSERT INTO transactions(external_id, customer_id, occurred_at, kind, "
                "amount, currency) SELECT 't2', id, " +
                    std::to_string(kNow.time_since_epoch().count()) +
                    ", 'purchase', 900, 'EUR' FROM customers WHERE external_id = 'cat'");
  auto rows = rules::ReadNewRows(*f_.store, high_water);
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->events.size(), 1u);
  EXPECT_TRUE(rows->events[0].first_purchase);
  EXPECT_EQ(rows->customers, std::vector<int64_t>{f_.Id("cat")});
  EXPECT_GT(rows->high_water, high_water);
  for (int64_t id : rows->customers) ASSERT_TRUE(base.Update(*f_.store, id));
  auto decided = DecideNew(*f_.store, rules_, base, settings_, kNow, snapshot, *rows);
  ASSERT_TRUE(decided) << decided.error().ToString();
  ASSERT_EQ(decided->recorded, 1);
  EXPECT_EQ(decided->evaluation.decisions[0].recipient_id, f_.Id("cat"));
  ASSERT_NE(snapshot.contacts.Find(f_.Id("cat")), nullptr);
  EXPECT_TRUE(snapshot.contacts.Find(f_.Id("cat"))->has_email);
}

// The incremental pass reads the suppressions as the full pass does: when it cannot, it decides
// nothing (and the rows are read again later) instead of treating every address as fine.
TEST_F(DecideTest, TheIncrementalPassStopsWhenTheSuppressionsCannotBeRead) {
  auto base = Facts();
  rules::Snapshot snapshot;
  ASSERT_TRUE(DecideAll(*f_.store, rules_, base, settings_, kNow, snapshot));
  int64_t high_water = *f_.store->MaxTransactionId();
  testing::Exec(f_.db(),
                "INSERT INTO transactions(external_id, customer_id, occurred_at, kind, amount, "
                "currency) SELECT 't2', id, " +
                    std::to_string(kNow.time_since_epoch().count()) +
                    ", 'purchase', 900, 'EUR' FROM customers WHERE external_id = 'bob';"
                    "ALTER TABLE suppressions RENAME TO suppressions_away");
  auto rows = rules::ReadNewRows(*f_.store, high_water);
  ASSERT_TRUE(rows);
  auto decided = DecideNew(*f_.store, rules_, base, settings_, kNow, snapshot, *rows);
  EXPECT_FALSE(decided);
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT count(*) FROM outbox"), "1") << "only ann's, from before";
  testing::Exec(f_.db(), "ALTER TABLE suppressions_away RENAME TO suppressions");
  decided = DecideNew(*f_.store, rules_, base, settings_, kNow, snapshot, *rows);
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_EQ(decided->recorded, 1);
}

TEST_F(DecideTest, RulesAreCheckedAgainstTheirTemplates) {
  f_.WriteRule("broken",
               "name: broken\ntrigger:\n  event: purchase\naction:\n  send: winback\n"
               "  values:\n    offer: no code\n");
  auto set = LoadCheckedRules(settings_, kNow);
  ASSERT_FALSE(set);
  ASSERT_FALSE(set.error().empty());
  for (const auto& e : set.error()) {  // the text and the HTML template, each with its place
    EXPECT_NE(e.ToString().find("templates/winback/"), std::string::npos) << e.ToString();
    EXPECT_NE(e.ToString().find("unknown value \"values.offer_code\""), std::string::npos)
        << e.ToString();
    EXPECT_NE(e.ToString().find("(rule broken)"), std::string::npos);
  }
}

// Each step's template is checked against that step's values (and an arm's on top of them).
TEST_F(DecideTest, EachStepIsCheckedAgainstItsTemplate) {
  f_.WriteRule("steps",
               "name: steps\ntrigger:\n  schedule: daily\nsteps:\n  - name: first\n"
               "    send: winback\n    values:\n      offer: 10% off\n      offer_code: A\n"
               "  - name: second\n    wait: 7d\n    send: winback\n    values:\n"
               "      offer: 20% off\n");
  auto set = LoadCheckedRules(settings_, kNow);
  ASSERT_FALSE(set);
  for (const auto& e : set.error()) {
    EXPECT_NE(e.ToString().find("unknown value \"values.offer_code\""), std::string::npos)
        << e.ToString();
    EXPECT_NE(e.ToString().find("(rule steps)"), std::string::npos);
  }
  f_.WriteRule("steps",
               "name: steps\ntrigger:\n  schedule: daily\nsteps:\n  - name: first\n"
               "    send: winback\n    values:\n      offer: 10% off\n      offer_code: A\n");
  EXPECT_TRUE(LoadCheckedRules(settings_, kNow));
}

}  // namespace
}  // namespace followup::app
