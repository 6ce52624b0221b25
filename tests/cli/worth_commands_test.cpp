// End to end: customers, model and explain through the real binary on the CDNOW sample.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_util.h"

namespace followup {
namespace {

using testing::Followupd;
using testing::TempDir;

class WorthCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    auto c = Followupd(Store() + " import customers " FOLLOWUP_TEST_DATA_DIR
                                 "/cdnow/cdnow_sample_customers.csv");
    ASSERT_EQ(c.status, 0) << c.err;
    auto t = Followupd(Store() + " import transactions " FOLLOWUP_TEST_DATA_DIR
                                 "/cdnow/cdnow_sample_transactions.csv");
    ASSERT_EQ(t.status, 0) << t.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  // The CDNOW calibration window, in weeks, in a business zone of UTC.
  static std::string Store() {
    static std::string config =
        dir_->Write("followup.yaml", "business:\n  timezone: UTC\n  currency: USD\n");
    return "--config " + config + " --store " + *dir_ / "f.db" + " --at 1997-09-30";
  }
  static TempDir* dir_;
};
TempDir* WorthCommandsTest::dir_ = nullptr;

TEST_F(WorthCommandsTest, ModelJsonHasThePublishedFit) {
  auto r = Followupd(Store() + " model --json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["time_unit"], "weeks");
  EXPECT_EQ(doc["customers"], 2357);
  EXPECT_NEAR(doc["bgnbd"]["r"].get<double>(), 0.243, 0.001);
  EXPECT_NEAR(doc["bgnbd"]["alpha"].get<double>(), 4.414, 0.005);
  EXPECT_NEAR(doc["bgnbd"]["a"].get<double>(), 0.793, 0.001);
  EXPECT_NEAR(doc["bgnbd"]["b"].get<double>(), 2.426, 0.005);
  EXPECT_NEAR(doc["bgnbd"]["log_likelihood"].get<double>(), -9582.4, 0.05);
  EXPECT_NEAR(doc["gamma_gamma"]["p"].get<double>(), 6.25, 0.01);
  EXPECT_NEAR(doc["gamma_gamma"]["q"].get<double>(), 3.74, 0.01);
  EXPECT_NEAR(doc["gamma_gamma"]["v"].get<double>(), 15.44, 0.02);
  EXPECT_GT(doc["patterns"].get<int>(), 0);
  auto text = Followupd(Store() + " model");
  EXPECT_NE(text.out.find("BG/NBD:      r = 0.2426"), std::string::npos) << text.out;
}

TEST_F(WorthCommandsTest, CustomersJsonLinesCarryEveryFact) {
  auto r = Followupd(Store() + " customers --json");
  ASSERT_EQ(r.status, 0) << r.err;
  std::stringstream lines(r.out);
  std::string line;
  int n = 0;
  nlohmann::json first;
  while (std::getline(lines, line)) {
    auto doc = nlohmann::json::parse(line);
    if (n++ == 0) first = doc;
  }
  EXPECT_EQ(n, 2357);
  EXPECT_EQ(first["id"], "1");
  EXPECT_EQ(first["purchases"], 3);
  EXPECT_EQ(first["first_purchase_at"], "1997-01-01T00:00:00Z");
  EXPECT_EQ(first["last_purchase_at"], "1997-08-02T00:00:00Z");
  EXPECT_DOUBLE_EQ(first["revenue"].get<double>(), 74.02);
  EXPECT_NEAR(first["p_alive"].get<double>(), 0.7266, 0.001);
  EXPECT_TRUE(first.contains("clv_12m"));
  EXPECT_TRUE(first["referrals"].is_number_integer());
}

TEST_F(WorthCommandsTest, TopByAFactIsOrderedHighestFirst) {
  auto r = Followupd(Store() + " customers --top 3 --by net_revenue --json");
  ASSERT_EQ(r.status, 0) << r.err;
  std::stringstream lines(r.out);
  std::string line;
  std::vector<double> values;
  while (std::getline(lines, line)) values.push_back(nlohmann::json::parse(line)["net_revenue"]);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_GE(values[0], values[1]);
  EXPECT_GE(values[1], values[2]);
  auto table = Followupd(Store() + " customers --top 3");
  EXPECT_EQ(table.status, 0);
  EXPECT_NE(table.out.find("BG/NBD + Gamma-Gamma"), std::string::npos);
  auto bad = Followupd(Store() + " customers --by wealth");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("unknown fact 'wealth'"), std::string::npos);
}

TEST_F(WorthCommandsTest, ExplainShowsEveryFactWithItsMeaning) {
  auto r = Followupd(Store() + " explain 1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("overdue_ratio"), std::string::npos);
  EXPECT_NE(r.out.find("probability they are still an active customer"), std::string::npos);
  auto missing = Followupd(Store() + " explain nobody");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("no customer with id 'nobody'"), std::string::npos);
}

TEST_F(WorthCommandsTest, TooLittleDataFallsBackToHistoricFactsAndSaysSo) {
  TempDir dir;
  std::string store = "--store " + dir / "small.db" + " --at 2026-06-30";
  ASSERT_EQ(Followupd(store + " import customers " + dir.Write("c.csv", "id\na\nb\n")).status, 0);
  ASSERT_EQ(Followupd(store + " import transactions " +
                      dir.Write("t.csv",
                                "id,customer_id,occurred_at,amount\nt1,a,2026-01-01,10\n"
                                "t2,a,2026-02-01,10\n"))
                .status,
            0);
  auto r = Followupd(store + " customers");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("historic fallback (purchase model not fitted: too few repeat buyers"),
            std::string::npos)
      << r.out;
  auto model = Followupd(store + " model --json");
  EXPECT_EQ(model.status, 0);
  EXPECT_TRUE(nlohmann::json::parse(model.out)["bgnbd"].contains("error"));
}

}  // namespace
}  // namespace followup
