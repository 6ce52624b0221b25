// simulate --until on a real SQLite store: the decide pass walked forward a day at a time on a
// scratch copy, each sequence step on its day, the store itself untouched.
#include "app/simulate.h"

#include <gtest/gtest.h>

#include "app/decide.h"
#include "app/rule_set.h"
#include "support/sqlite_util.h"
#include "support/store_fixture.h"

namespace followup::app {
namespace {

using std::chrono::days;

const Instant kStart = *ParseInstant("2026-06-30T12:00:00Z", nullptr);

class SimulateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.WriteRule("remind", testing::kThreeNotesRule);
    f_.Customers("id,email,name\nann,ann@example.com,Ann\nbob,bob@example.com,Bob\n");
    f_.Transactions(
        "id,customer_id,occurred_at,kind,amount,currency\n"
        "t1,ann,2026-05-01,purchase,25.00,EUR\n");
  }

  std::vector<SimulatedPass> Walk(Instant until) {
    auto rules = LoadCheckedRules(f_.Settings(), kStart);
    EXPECT_TRUE(rules) << rules.error().front().ToString();
    auto scratch = MakeScratchCopy(*f_.store, f_.dir / "scratch.db");
    EXPECT_TRUE(scratch) << scratch.error().ToString();
    if (!rules || !scratch) return {};
    auto passes = WalkForward(**scratch, *rules, f_.Settings(), kStart, until);
    EXPECT_TRUE(passes) << passes.error().ToString();
    return passes ? std::move(*passes) : std::vector<SimulatedPass>{};
  }

  testing::StoreFixture f_;
};

TEST_F(SimulateTest, EachStepOnItsDayAndTheStoreUntouched) {
  auto passes = Walk(kStart + days{30});
  ASSERT_EQ(passes.size(), 3u);
  std::vector<std::pair<Instant, std::string>> steps;
  for (const auto& pass : passes) {
    ASSERT_EQ(pass.decisions.size(), 1u) << FormatInstant(pass.at);
    EXPECT_EQ(pass.decisions[0].customer, "ann");
    EXPECT_EQ(pass.decisions[0].decision.template_name, "winback");
    steps.emplace_back(pass.at, pass.decisions[0].step);
  }
  EXPECT_EQ(steps,
            (std::vector<std::pair<Instant, std::string>>{
                {kStart, "first"}, {kStart + days{7}, "second"}, {kStart + days{14}, "last"}}));
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT count(*) FROM outbox"), "0");
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT count(*) FROM sequence_places"), "0");
}

TEST_F(SimulateTest, AShortWalkShowsOnlyWhatFallsInIt) {
  auto passes = Walk(kStart + days{6});
  ASSERT_EQ(passes.size(), 1u);
  EXPECT_EQ(passes[0].decisions[0].step, "first");
}

TEST_F(SimulateTest, TheWalkStartsFromWhereCustomersStand) {
  // Ann is already past her first step in the real store: the walk goes on from there.
  auto rules = LoadCheckedRules(f_.Settings(), kStart);
  ASSERT_TRUE(rules);
  auto base = LoadFacts(*f_.store, f_.Settings(), kStart);
  ASSERT_TRUE(base);
  rules::Snapshot snapshot;
  ASSERT_TRUE(DecideAll(*f_.store, *rules, *base, f_.Settings(), kStart, snapshot));
  auto passes = Walk(kStart + days{30});
  std::vector<std::string> steps;
  for (const auto& pass : passes)
    for (const auto& d : pass.decisions) steps.push_back(d.step);
  EXPECT_EQ(steps, (std::vector<std::string>{"second", "last"}));
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT count(*) FROM outbox"), "1");
}

}  // namespace
}  // namespace followup::app
