// A sequence's report from a real SQLite store, its steps decided by the decide pass and
// delivered to a real maildir as the clock is moved by hand: entries, not step decisions, are
// what converts.
#include "app/report.h"

#include <gtest/gtest.h>

#include "app/decide.h"
#include "app/deliver.h"
#include "app/rule_set.h"
#include "support/store_fixture.h"

namespace followup::app {
namespace {

using std::chrono::days;

const Instant kStart = *ParseInstant("2026-06-30T12:00:00Z", nullptr);

class SequenceReportPassTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.WriteRule("remind", std::string(testing::kThreeNotesRule) + "exit:\n  purchase: false\n");
    f_.Customers("id,email,name\nann,ann@example.com,Ann\n");
    Buy("t1", "2026-05-01T00:00:00Z");
  }

  void Buy(const std::string& id, const std::string& at) {
    f_.Transactions("id,customer_id,occurred_at,kind,amount,currency\n" + id + ",ann," + at +
                    ",purchase,30.00,EUR\n");
  }

  // A decide pass and a deliver pass at the clock's time, as the daemon makes them.
  void DecideAndDeliver() {
    auto settings = f_.Settings();
    auto rules = LoadCheckedRules(settings, clock_.Now());
    ASSERT_TRUE(rules) << rules.error().front().ToString();
    auto base = LoadFacts(*f_.store, settings, clock_.Now());
    ASSERT_TRUE(base) << base.error().ToString();
    rules::Snapshot snapshot;
    auto decided = DecideAll(*f_.store, *rules, *base, settings, clock_.Now(), snapshot);
    ASSERT_TRUE(decided) << decided.error().ToString();
    auto delivery = OpenDelivery(settings, delivery::FactsIn(*base), clock_);
    ASSERT_TRUE(delivery) << delivery.error().ToString();
    auto drained = Deliver(*f_.store, *delivery, clock_);
    ASSERT_TRUE(drained) << drained.error().ToString();
  }

  rules::SequenceReport Report() {
    SequenceCounting counting{{"first", "second", "last"}, days{14}, ""};
    auto reports = ReportSequences(*f_.store, {{"remind", counting}}, clock_.Now());
    EXPECT_TRUE(reports) << reports.error().ToString();
    if (!reports || !reports->count("remind")) return {};
    return reports->at("remind");
  }

  testing::StoreFixture f_;
  ManualClock clock_{kStart};
};

TEST_F(SequenceReportPassTest, ThreeStepsSentAndOnePurchaseIsOneConversion) {
  for (int week = 0; week < 3; ++week) {
    clock_.Set(kStart + days{7 * week});
    DecideAndDeliver();
    if (HasFatalFailure()) return;
    if (week == 1) Buy("t2", "2026-07-09T09:00:00Z");  // two days after the second step
  }
  EXPECT_EQ(f_.Mails(), 3u);

  // Counted per decision, the purchase follows two of them within their windows.
  int64_t per_decision = 0;
  ASSERT_TRUE(f_.store->ForEachDecisionOutcome(
      "remind", days{14}, "",
      [&](const store::DecisionOutcome& o) { per_decision += o.purchases > 0; }));
  EXPECT_EQ(per_decision, 2);

  // The last step went out just now: the entry's window is open, so it is not counted yet.
  auto open = Report();
  EXPECT_EQ(open.contacted.window_open, 1);
  EXPECT_EQ(open.contacted.entries, 0);
  EXPECT_EQ(open.contacted.converted, 0);
  EXPECT_EQ(open.steps[1].converted, 1) << "the steps count what happened so far";

  clock_.Set(kStart + days{28});  // 14 days after the last step
  auto r = Report();
  EXPECT_EQ(r.contacted.window_open, 0);
  EXPECT_EQ(r.entered, 1);
  EXPECT_EQ(r.completed, 1);
  EXPECT_EQ(r.contacted.entries, 1);
  EXPECT_EQ(r.contacted.converted, 1) << "one customer, one entry, one conversion";
  EXPECT_EQ(r.contacted.revenue, std::vector<int64_t>{3000});
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(r.steps[0].sent, 1);
  EXPECT_EQ(r.steps[1].sent, 1);
  EXPECT_EQ(r.steps[2].sent, 1);
  EXPECT_EQ(r.steps[1].converted, 1) << "the second step preceded the purchase";
  EXPECT_EQ(r.steps[0].converted + r.steps[2].converted, 0);
}

TEST_F(SequenceReportPassTest, AnExitIsCountedAfterTheStepBeforeIt) {
  f_.WriteRule("remind", testing::kThreeNotesRule);  // a purchase ends it
  DecideAndDeliver();
  Buy("t2", "2026-07-02T09:00:00Z");
  clock_.Set(kStart + days{7});
  DecideAndDeliver();
  if (HasFatalFailure()) return;
  EXPECT_EQ(f_.Mails(), 1u) << "the buyer got no second step";
  clock_.Set(kStart + days{14});
  auto r = Report();
  EXPECT_EQ(r.exits, (std::map<std::string, int64_t>{{"purchase", 1}}));
  EXPECT_EQ(r.steps[0].exits, (std::map<std::string, int64_t>{{"purchase", 1}}));
  EXPECT_EQ(r.steps[0].converted, 1);
  EXPECT_EQ(r.contacted.converted, 1);
}

// Ten customers a group (the least that is told): the intervals, and the revenue interval cut where
// the amounts seen end. Nobody contacted spent anything, so the contacted cannot have earned more
// per customer than the held out: Welch's interval (-10 +- 2.262157 * 10, 9 degrees of freedom)
// would reach +12.6.
TEST(ReportCompareTest, TheRevenueIntervalStaysWithinWhatTheAmountsAllow) {
  ReportGroup contacted, held_out;
  for (int i = 0; i < 10; ++i) {
    contacted.AddClosed(0, 0, 100);
    held_out.AddClosed(i == 0, i == 0 ? 10000 : 0, 100);  // one spent 100.00
  }
  auto c = Compare(contacted, held_out);
  ASSERT_FALSE(c.too_few);
  ASSERT_TRUE(c.conversion);
  EXPECT_NEAR(c.conversion->estimate, -0.1, 1e-12);
  ASSERT_TRUE(c.revenue_per_customer);
  EXPECT_NEAR(c.revenue_per_customer->estimate, -10, 1e-9);
  EXPECT_NEAR(c.revenue_per_customer->low, -10 - 22.62157, 1e-4);
  EXPECT_EQ(c.revenue_per_customer->high, 0.0);
}

TEST(ReportCompareTest, FewerThanTenWithAClosedWindowIsTooFewToTell) {
  ReportGroup contacted, held_out;
  for (int i = 0; i < 10; ++i) contacted.AddClosed(1, 500, 100);
  for (int i = 0; i < 9; ++i) held_out.AddClosed(0, 0, 100);
  for (int i = 0; i < 5; ++i)
    held_out.Add({store::DecisionKind::kHoldout, store::DeliveryStatus::kHeldOut, "", kStart},
                 days{14}, kStart + days{13}, 100);
  EXPECT_EQ(held_out.window_open, 5);
  EXPECT_EQ(held_out.customers, 9);
  auto c = Compare(contacted, held_out);
  EXPECT_TRUE(c.too_few);
  EXPECT_FALSE(c.conversion);
  EXPECT_FALSE(c.revenue_per_customer);
  held_out.Add({store::DecisionKind::kHoldout, store::DeliveryStatus::kHeldOut, "", kStart},
               days{14}, kStart + days{14}, 100);
  EXPECT_EQ(held_out.customers, 10) << "closed once the 14 days are over";
  EXPECT_FALSE(Compare(contacted, held_out).too_few);
}

}  // namespace
}  // namespace followup::app
