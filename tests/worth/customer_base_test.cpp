// CustomerBase on a real SQLite store filled by the real importer.
#include "worth/customer_base.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "store/import.h"
#include "support/test_util.h"

namespace followup::worth {
namespace {

class CdnowStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir;
    store_ = store::Store::Open(*dir_ / "cdnow.db")->release();
    store::ImportOptions o;
    o.zone = *LookupZone("UTC");
    o.target = store::ImportTarget::kCustomers;
    ASSERT_TRUE(
        store::Import(*store_, FOLLOWUP_TEST_DATA_DIR "/cdnow/cdnow_sample_customers.csv", o, {}));
    o.target = store::ImportTarget::kTransactions;
    ASSERT_TRUE(store::Import(
        *store_, FOLLOWUP_TEST_DATA_DIR "/cdnow/cdnow_sample_transactions.csv", o, {}));
  }
  static void TearDownTestSuite() {
    delete store_;
    delete dir_;
  }
  static FactsOptions Options() {
    FactsOptions o;
    o.at = *ParseInstant("1997-09-30", nullptr);
    o.zone = *LookupZone("UTC");
    o.unit = TimeUnit::kWeeks;
    return o;
  }
  static testing::TempDir* dir_;
  static store::Store* store_;
};
testing::TempDir* CdnowStoreTest::dir_ = nullptr;
store::Store* CdnowStoreTest::store_ = nullptr;

TEST_F(CdnowStoreTest, PerCustomerInputsEqualThePublishedSummary) {
  auto base = CustomerBase::Load(*store_, Options());
  ASSERT_TRUE(base) << base.error().ToString();
  ASSERT_EQ(base->customers().size(), 2357u);
  std::ifstream in(FOLLOWUP_TEST_DATA_DIR "/cdnow/cdnow_customers_summary_with_transactions.csv");
  std::string line;
  std::getline(in, line);  // ID,x,t_x,T,zbar
  int checked = 0;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::string id, x, t_x, T, zbar;
    std::getline(fields, id, ',');
    std::getline(fields, x, ',');
    std::getline(fields, t_x, ',');
    std::getline(fields, T, ',');
    std::getline(fields, zbar, ',');
    auto row = store_->FindCustomer(id);
    ASSERT_TRUE(row && *row) << id;
    const auto* s = base->Find((*row)->id);
    ASSERT_NE(s, nullptr);
    auto p = PatternOf(*s, base->options());
    EXPECT_EQ(p.x, std::stod(x)) << "customer " << id;
    EXPECT_NEAR(p.t_x, std::stod(t_x), 0.005) << "customer " << id;
    EXPECT_NEAR(p.T, std::stod(T), 0.005) << "customer " << id;
    // The summary rounds to cents (half up); zbar is kept as a float.
    EXPECT_NEAR(s->zbar, std::stod(zbar), 0.005 + 1e-5) << "customer " << id;
    ++checked;
  }
  EXPECT_EQ(checked, 2357);
}

TEST_F(CdnowStoreTest, FitFromTheStoreReproducesThePublishedModels) {
  auto base = CustomerBase::Load(*store_, Options());
  ASSERT_TRUE(base);
  const auto& m = base->population().model;
  ASSERT_TRUE(m.bgnbd) << m.bgnbd_note;
  ASSERT_TRUE(m.gamma_gamma) << m.gamma_gamma_note;
  // Fader, Hardie & Lee (2005).
  EXPECT_NEAR(m.bgnbd->r, 0.243, 0.001);
  EXPECT_NEAR(m.bgnbd->alpha, 4.414, 0.005);
  EXPECT_NEAR(m.bgnbd->a, 0.793, 0.001);
  EXPECT_NEAR(m.bgnbd->b, 2.426, 0.005);
  EXPECT_NEAR(m.bgnbd->log_likelihood, -9582.4, 0.05);
  EXPECT_EQ(m.repeat_buyers, 946);
  EXPECT_NEAR(m.gamma_gamma->p, 6.25, 0.01);
  EXPECT_NEAR(m.gamma_gamma->q, 3.74, 0.01);
  EXPECT_NEAR(m.gamma_gamma->v, 15.44, 0.02);
  // Customer 1 (x = 2, t_x = 30.43, T = 38.86): 39 more weeks hold about 1.226 purchases; in 90
  // days a bit under half of that.
  auto one = store_->FindCustomer("1");
  const auto* s = base->Find((**one).id);
  EXPECT_NEAR(*base->Value(*s, Fact::kPAlive), 0.7266, 0.001);
  EXPECT_GT(*base->Value(*s, Fact::kExpectedPurchases90d), 0.3);
  EXPECT_LT(*base->Value(*s, Fact::kExpectedPurchases90d), 1.226 * 90 / (39 * 7) + 0.1);
  EXPECT_NEAR(*base->Value(*s, Fact::kExpectedOrderValue), 24.66, 0.02);
}

TEST_F(CdnowStoreTest, TheWindowEndsAtAt) {
  auto o = Options();
  o.at = *ParseInstant("1997-01-31", nullptr);
  auto base = CustomerBase::Load(*store_, o);
  ASSERT_TRUE(base);
  auto one = store_->FindCustomer("1");
  const auto* s = base->Find((**one).id);
  // Customer 1 bought on 1997-01-01 and 1997-01-18; the August purchase lies after --at.
  EXPECT_EQ(s->purchases, 2);
  EXPECT_EQ(FormatInstant(Instant{std::chrono::seconds{s->last_purchase_at}}),
            "1997-01-18T00:00:00Z");
}

TEST(CustomerBaseTest, IncrementalUpdateMatchesAFullRecompute) {
  testing::TempDir dir;
  auto store = std::move(*store::Store::Open(dir / "f.db"));
  store::ImportOptions io;
  io.zone = *LookupZone("UTC");
  io.target = store::ImportTarget::kCustomers;
  ASSERT_TRUE(
      store::Import(*store, dir.Write("c.csv", "id,referred_by\nref,\nfriend,ref\n"), io, {}));
  io.target = store::ImportTarget::kTransactions;
  ASSERT_TRUE(store::Import(*store,
                            dir.Write("t.csv",
                                      "id,customer_id,occurred_at,amount,cost\n"
                                      "t1,ref,2026-01-05,50.00,20.00\n"
                                      "t2,ref,2026-03-05,70.00,30.00\n"),
                            io, {}));
  FactsOptions o;
  o.at = *ParseInstant("2026-06-30", nullptr);
  o.zone = *LookupZone("UTC");
  auto base = CustomerBase::Load(*store, o);
  ASSERT_TRUE(base);
  int64_t friend_id = (*store->FindCustomer("friend"))->id;
  int64_t ref_id = (*store->FindCustomer("ref"))->id;
  EXPECT_EQ(base->Find(ref_id)->referrals, 0);

  // The friend's first purchase arrives; the service calls Update for it.
  ASSERT_TRUE(store::Import(*store,
                            dir.Write("t2.csv",
                                      "id,customer_id,occurred_at,amount\n"
                                      "t3,friend,2026-06-01,40.00\n"),
                            io, {}));
  ASSERT_TRUE(base->Update(*store, friend_id));
  // The customers' own facts are current at once; scores and the forward-looking facts stay
  // relative to the last full computation until the next refit.
  auto full = CustomerBase::Load(*store, o);
  ASSERT_TRUE(full);
  const std::set<Fact> relative = {
      Fact::kRecencyScore,       Fact::kFrequencyScore, Fact::kMonetaryScore,
      Fact::kProfitPercentile,   Fact::kPAlive,         Fact::kExpectedPurchases90d,
      Fact::kExpectedOrderValue, Fact::kClv12m};
  auto same = [&](bool all) {
    for (int64_t id : {friend_id, ref_id}) {
      for (const auto& info : AllFacts()) {
        if (!all && relative.count(info.fact)) continue;
        EXPECT_EQ(base->Value(*base->Find(id), info.fact), full->Value(*full->Find(id), info.fact))
            << info.name << " of customer " << id;
      }
    }
  };
  same(false);
  base->Refit();
  same(true);
  EXPECT_EQ(base->Find(ref_id)->referrals, 1);
  EXPECT_EQ(base->Find(ref_id)->referred_revenue, 4000);
  // An unknown customer is reported, not invented.
  auto missing = base->Update(*store, 999999);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace followup::worth
