// The deliver pass and preview on a real SQLite store and a real maildir.
#include "app/deliver.h"

#include <gtest/gtest.h>

#include "app/decide.h"
#include "app/rule_set.h"
#include "delivery/mime.h"
#include "support/sqlite_util.h"
#include "support/store_fixture.h"

namespace followup::app {
namespace {

const Instant kNow = *ParseInstant("2026-06-30T12:00:00Z", nullptr);

class DeliverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.WriteRule("welcome", testing::kWelcomeRule);
    f_.WriteRule("thanks",
                 "name: thanks\ntrigger:\n  event: referral_converted\naction:\n"
                 "  send: referral-thanks\n  to: referrer\n  values:\n    reward: a gift\n"
                 "    reward_code: THANKS\n");
    f_.Customers(
        "id,email,name,referred_by\nann,ann@example.com,Ann Lee,\nbob,bob@example.com,Bob,ann\n"
        "cat,cat@example.com,Cat,\n");
    f_.Transactions(
        "id,customer_id,occurred_at,kind,amount,currency\n"
        "t1,ann,2026-06-29,purchase,25.00,EUR\n");
    settings_ = f_.Settings();
    auto set = LoadCheckedRules(settings_, kNow);
    ASSERT_TRUE(set) << set.error().front().ToString();
    rules_ = std::move(*set);
    auto base = LoadFacts(*f_.store, settings_, kNow);
    ASSERT_TRUE(base);
    base_.emplace(std::move(*base));
  }

  testing::StoreFixture f_;
  Settings settings_;
  rules::RuleSet rules_;
  std::optional<worth::CustomerBase> base_;
  ManualClock clock_{kNow};
};

TEST_F(DeliverTest, DecidedSendsGoOutThroughTheConfiguredTransport) {
  rules::Snapshot snapshot;
  ASSERT_TRUE(DecideAll(*f_.store, rules_, *base_, settings_, kNow, snapshot));
  auto delivery = OpenDelivery(settings_, delivery::FactsIn(*base_), clock_);
  ASSERT_TRUE(delivery) << delivery.error().ToString();
  std::vector<delivery::DeliveryEvent> events;
  DeliverHooks hooks;
  hooks.on_outcome = [&](const delivery::DeliveryEvent& e) { events.push_back(e); };
  auto drained = Deliver(*f_.store, *delivery, clock_, hooks);
  ASSERT_TRUE(drained) << drained.error().ToString();
  EXPECT_EQ(drained->sent, 1);
  EXPECT_EQ(f_.Mails(), 1u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].customer, "ann");
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT status FROM outbox"), "sent");
}

TEST_F(DeliverTest, PreviewComposesWithoutSendingOrRecording) {
  auto row = **f_.store->FindCustomer("ann");
  auto preview = Preview(*f_.store, settings_, rules_, "welcome", row, *base_, clock_);
  ASSERT_TRUE(preview) << preview.error().ToString();
  EXPECT_EQ(preview->message.to.email, "ann@example.com");
  EXPECT_EQ(preview->message.date, kNow);
  EXPECT_TRUE(preview->not_sent.empty());
  EXPECT_NE(delivery::BuildMime(preview->message).find("HELLO"), std::string::npos);
  EXPECT_EQ(f_.Mails(), 0u);
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT count(*) FROM outbox"), "0");
}

TEST_F(DeliverTest, PreviewOfAReferrerRuleWritesToTheReferrer) {
  auto bob = **f_.store->FindCustomer("bob");
  auto preview = Preview(*f_.store, settings_, rules_, "thanks", bob, *base_, clock_);
  ASSERT_TRUE(preview) << preview.error().ToString();
  EXPECT_EQ(preview->message.to.email, "ann@example.com");
  auto cat = **f_.store->FindCustomer("cat");
  auto nobody = Preview(*f_.store, settings_, rules_, "thanks", cat, *base_, clock_);
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().message,
            "rule 'thanks' writes to the referrer, and nobody referred 'cat'");
  auto unknown = Preview(*f_.store, settings_, rules_, "nope", cat, *base_, clock_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message, "no rule named 'nope'");
}

}  // namespace
}  // namespace followup::app
