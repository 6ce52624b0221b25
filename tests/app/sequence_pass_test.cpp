// Sequences through the decide pass on a real SQLite store, with the clock driven by hand: who
// enters, each step in turn through the outbox, exits, the contact policy, restarts and edits.
#include <gtest/gtest.h>

#include "app/decide.h"
#include "app/rule_set.h"
#include "support/sqlite_util.h"
#include "support/store_fixture.h"

namespace followup::app {
namespace {

using std::chrono::days;
using std::chrono::hours;

const Instant kStart = *ParseInstant("2026-06-30T12:00:00Z", nullptr);

// A reminder, a second note a week later to those with fewer than two purchases, a last note a
// week after that. A purchase does not end it here (so that `where:` has something to do) unless
// the test turns it back on.
constexpr const char* kRemind = R"(name: remind
trigger:
  schedule: daily at 10:00
audience:
  where: purchases >= 1
steps:
  - name: first
    send: winback
    values:
      offer: 10% off
      offer_code: TEN
  - name: second
    wait: 7d
    where: purchases < 2
    send: winback
    values:
      offer: 20% off
      offer_code: TWENTY
  - name: last
    wait: 7d
    send: winback
    values:
      offer: 20% off, last call
      offer_code: TWENTY
limits:
  once_per: 90d
)";

class SequencePassTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.Customers("id,email,name\nann,ann@example.com,Ann\n");
    f_.Transactions(
        "id,customer_id,occurred_at,kind,amount,currency\n"
        "t1,ann,2026-05-01,purchase,25.00,EUR\n");
    Rule(std::string(kRemind) + "exit:\n  purchase: false\n");
  }

  void Rule(const std::string& yaml) { f_.WriteRule("remind", yaml); }

  // One full pass at the clock's time, as the daemon makes it: the rules and facts as they are
  // now, a fresh snapshot from the store.
  Decided Pass() {
    auto settings = f_.Settings();
    auto rules = LoadCheckedRules(settings, clock_.Now());
    EXPECT_TRUE(rules) << rules.error().front().ToString();
    auto base = LoadFacts(*f_.store, settings, clock_.Now());
    EXPECT_TRUE(base) << base.error().ToString();
    rules::Snapshot snapshot;
    auto decided = DecideAll(*f_.store, *rules, *base, settings, clock_.Now(), snapshot);
    EXPECT_TRUE(decided) << decided.error().ToString();
    return decided ? std::move(*decided) : Decided{};
  }

  // The outbox's dedupe keys, oldest first.
  std::vector<std::string> Keys() {
    return testing::SqlColumn(f_.db(), "SELECT dedupe_key FROM outbox ORDER BY id");
  }
  std::string Place(const std::string& column) {
    return testing::Sql(f_.db(), "SELECT " + column + " FROM sequence_places");
  }
  void Buy(const std::string& id, Instant at) {
    f_.Transactions("id,customer_id,occurred_at,kind,amount,currency\n" + id + ",ann," +
                    FormatInstant(at) + ",purchase,30.00,EUR\n");
  }

  testing::StoreFixture f_;
  ManualClock clock_{kStart};
  const std::string first_ = "remind:ann:2026-06-30:first";
  const std::string second_ = "remind:ann:2026-06-30:second";
  const std::string last_ = "remind:ann:2026-06-30:last";
};

TEST_F(SequencePassTest, EachStepOnceInTurnThenCompleted) {
  auto entered = Pass();
  EXPECT_EQ(entered.recorded, 1);
  EXPECT_EQ(entered.places, 1);
  EXPECT_EQ(entered.evaluation.rules["remind"].entered, 1);
  EXPECT_EQ(Keys(), std::vector<std::string>{first_});
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT status FROM outbox"), "queued");
  EXPECT_EQ(Place("next_step"), "second");
  EXPECT_EQ(Place("next_due"), std::to_string((kStart + days{7}).time_since_epoch().count()));

  clock_.Advance(days{1});
  EXPECT_EQ(Pass().recorded, 0) << "in the sequence: not entered again, nothing due";
  clock_.Set(kStart + days{7});
  EXPECT_EQ(Pass().recorded, 1);
  clock_.Set(kStart + days{14});
  EXPECT_EQ(Pass().recorded, 1);
  EXPECT_EQ(Keys(), (std::vector<std::string>{first_, second_, last_}));
  EXPECT_EQ(Place("end_reason"), "completed");
  EXPECT_EQ(testing::Sql(f_.db(),
                         "SELECT template_values FROM outbox WHERE dedupe_key = '" + last_ + "'"),
            R"({"offer":"20% off, last call","offer_code":"TWENTY"})");
  clock_.Set(kStart + days{30});
  EXPECT_EQ(Pass().recorded, 0) << "once_per counts the entry";
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT count(*) FROM sequence_places"), "1");
}

TEST_F(SequencePassTest, ABuyerAfterStepOneGetsNoStepTwo) {
  Rule(kRemind);  // a purchase ends the sequence (the default)
  Pass();
  Buy("t2", kStart + days{2});
  clock_.Set(kStart + days{3});
  Pass();
  EXPECT_EQ(Place("end_reason"), "purchase");
  EXPECT_EQ(Place("ended_at"), std::to_string((kStart + days{3}).time_since_epoch().count()));
  clock_.Set(kStart + days{7});
  Pass();
  EXPECT_EQ(Keys(), std::vector<std::string>{first_});
}

TEST_F(SequencePassTest, AnUnsubscribeEndsIt) {
  Pass();
  ASSERT_TRUE(*f_.store->Unsubscribe("ann", kStart + days{1}));
  clock_.Set(kStart + days{7});
  Pass();
  EXPECT_EQ(Place("end_reason"), "unsubscribed");
  EXPECT_EQ(Keys(), std::vector<std::string>{first_});
}

TEST_F(SequencePassTest, AStepRechecksItsWhere) {
  Pass();
  Buy("t2", kStart + days{2});  // two purchases now: the second step's where: is not true
  clock_.Set(kStart + days{7});
  Pass();
  EXPECT_EQ(Keys(), std::vector<std::string>{first_});
  EXPECT_NE(Place("steps_done").find(R"("outcome":"skipped: where","step":"second")"),
            std::string::npos)
      << Place("steps_done");
  EXPECT_EQ(Place("next_step"), "last");
  clock_.Set(kStart + days{14});
  Pass();
  EXPECT_EQ(Keys(), (std::vector<std::string>{first_, last_}));
}

TEST_F(SequencePassTest, QuietHoursAndTheCapDelayAStepWithoutLosingIt) {
  f_.config.contact_policy.max_contacts = 1;
  f_.config.contact_policy.per = days{10};  // longer than the wait: step two meets the cap
  f_.config.contact_policy.quiet_start_minute = 21 * 60;
  f_.config.contact_policy.quiet_end_minute = 8 * 60;
  clock_.Set(kStart + hours{10});  // 22:00 UTC: quiet
  Pass();
  EXPECT_EQ(Keys(), std::vector<std::string>{first_});
  EXPECT_EQ(
      testing::Sql(f_.db(), "SELECT send_after FROM outbox"),
      std::to_string(ParseInstant("2026-07-01T08:00:00Z", nullptr)->time_since_epoch().count()));
  clock_.Set(kStart + days{7} + hours{10});
  Pass();
  EXPECT_EQ(Keys().size(), 1u) << "capped: the step waits";
  EXPECT_EQ(Place("next_step"), "second");
  EXPECT_FALSE(Place("held_since").empty());
  // Past the step's missed window (7d after its due time), but it was held, not missed; the
  // first step has left the cap's period.
  clock_.Set(kStart + days{15});
  Pass();
  EXPECT_EQ(Keys(), (std::vector<std::string>{first_, second_}));
  EXPECT_EQ(Place("held_since"), "");
}

TEST_F(SequencePassTest, ARestartBetweenStepsNeitherRepeatsNorSkips) {
  Pass();
  // Another process (a restarted daemon) with its own connection, rules, facts and snapshot.
  f_.store.reset();
  auto reopened = store::Store::Open(f_.config.store);
  ASSERT_TRUE(reopened);
  f_.store = std::move(*reopened);
  EXPECT_EQ(Pass().recorded, 0);
  clock_.Set(kStart + days{7});
  EXPECT_EQ(Pass().recorded, 1);
  EXPECT_EQ(Pass().recorded, 0) << "the same pass again: nothing twice";
  EXPECT_EQ(Keys(), (std::vector<std::string>{first_, second_}));
}

TEST_F(SequencePassTest, AStepWhoseDecisionCannotBeStoredIsTakenNextTime) {
  Pass();
  clock_.Set(kStart + days{7});
  // The outbox refuses the step's decision: the place must not move on without it.
  testing::Exec(f_.db(),
                "CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'full'); "
                "END");
  auto settings = f_.Settings();
  auto rules = LoadCheckedRules(settings, clock_.Now());
  auto base = LoadFacts(*f_.store, settings, clock_.Now());
  rules::Snapshot snapshot;
  EXPECT_FALSE(DecideAll(*f_.store, *rules, *base, settings, clock_.Now(), snapshot));
  EXPECT_EQ(Place("next_step"), "second");
  EXPECT_EQ(Place("steps_done").find("second"), std::string::npos);
  testing::Exec(f_.db(), "DROP TRIGGER refuse");
  Pass();
  EXPECT_EQ(Keys(), (std::vector<std::string>{first_, second_}));
}

TEST_F(SequencePassTest, HoldoutCustomersWalkTheStepsRecordedNeverSent) {
  Rule(std::string(kRemind) + "holdout: 90%\n");
  f_.Customers("id,email,name\nbob,bob@example.com,Bob\ncat,cat@example.com,Cat\n");
  f_.Transactions(
      "id,customer_id,occurred_at,kind,amount,currency\nt3,bob,2026-05-01,purchase,25.00,EUR\n"
      "t4,cat,2026-05-01,purchase,25.00,EUR\n");
  Pass();
  clock_.Set(kStart + days{7});
  Pass();
  auto held = testing::Sql(f_.db(), "SELECT count(*) FROM outbox WHERE kind = 'holdout'");
  auto places_held =
      testing::Sql(f_.db(), "SELECT count(*) FROM sequence_places WHERE kind = 'holdout'");
  ASSERT_NE(places_held, "0") << "with 90% held out, someone of three is";
  EXPECT_EQ(held, std::to_string(2 * std::stoi(places_held))) << "two steps each, recorded";
  EXPECT_EQ(testing::Sql(f_.db(),
                         "SELECT count(*) FROM outbox WHERE kind = 'holdout' AND status != "
                         "'held_out'"),
            "0");
}

TEST_F(SequencePassTest, DisablingTheRuleEndsEveryoneInIt) {
  Pass();
  Rule(std::string(kRemind) + "enabled: false\n");
  clock_.Set(kStart + days{1});
  EXPECT_EQ(Pass().places, 1);
  EXPECT_EQ(Place("end_reason"), "disabled");
  clock_.Set(kStart + days{7});
  Pass();
  EXPECT_EQ(Keys(), std::vector<std::string>{first_});
}

TEST_F(SequencePassTest, AnEditedSequenceMovesCustomersByStepName) {
  Pass();
  // The second step is removed and the last one waits longer.
  Rule(R"(name: remind
trigger:
  schedule: daily at 10:00
audience:
  where: purchases >= 1
steps:
  - name: first
    send: winback
    values:
      offer: 10% off
      offer_code: TEN
  - name: last
    wait: 10d
    send: winback
    values:
      offer: 20% off, last call
      offer_code: TWENTY
)");
  clock_.Set(kStart + days{7});
  Pass();
  EXPECT_EQ(Place("next_step"), "last");
  EXPECT_EQ(Keys(), std::vector<std::string>{first_});
  clock_.Set(kStart + days{10});
  Pass();
  EXPECT_EQ(Keys(), (std::vector<std::string>{first_, last_}));
  EXPECT_EQ(Place("end_reason"), "completed");
}

}  // namespace
}  // namespace followup::app
