// The decision engine on hand-made facts: pure, no store.
#include "rules/engine.h"

#include <gtest/gtest.h>

#include "support/test_util.h"

namespace followup::rules {
namespace {

Instant At(const char* text) { return *ParseInstant(text, nullptr); }

// A small world: customers 1..n with purchases, a rule set parsed from YAML, evaluated at `now`.
class EngineTest : public ::testing::Test {
 protected:
  EngineTest() {
    dir_.Write("templates/t/subject.mustache", "Hi");
    dir_.Write("templates/t2/subject.mustache", "Hi");
    policy_.max_contacts = 0;
    policy_.quiet_start_minute = policy_.quiet_end_minute = 0;
  }

  void AddRule(const std::string& yaml) {
    std::vector<Error> errors;
    LoadOptions o;
    o.templates_dir = dir_ / "templates";
    o.now = now_;
    o.zone = *LookupZone("UTC");
    auto rule = ParseRule(yaml, "r.yaml", o, errors);
    ASSERT_TRUE(rule) << errors[0].ToString();
    rules_.rules.push_back(*rule);
    std::stable_sort(rules_.rules.begin(), rules_.rules.end(),
                     [](const Rule& a, const Rule& b) { return a.priority > b.priority; });
  }

  // Customer `id` bought `purchases` times, 30 days apart, the last `days_ago` days before now.
  void AddCustomer(int64_t id, int purchases, int days_ago, int64_t amount = 5000) {
    std::vector<store::TransactionRow> rows;
    for (int k = purchases - 1; k >= 0; --k) {
      store::TransactionRow t;
      t.customer_id = id;
      t.kind = store::Kind::kPurchase;
      t.amount = amount;
      t.occurred_at = now_ - std::chrono::days{days_ago + 30 * k};
      rows.push_back(t);
    }
    summaries_.push_back(worth::Summarize(id, 0, std::nullopt, rows, FactsOptions()));
    Contact c;
    c.id = id;
    c.external_id = "c" + std::to_string(id);
    c.has_email = true;
    contacts_.push_back(c);
  }

  worth::FactsOptions FactsOptions() const {
    worth::FactsOptions o;
    o.at = now_;
    o.zone = *LookupZone("UTC");
    o.unit = worth::TimeUnit::kDays;
    return o;
  }

  Evaluation Run(int64_t explain = 0) {
    base_ = worth::CustomerBase::FromSummaries(summaries_, FactsOptions());
    contacts_index_ = Contacts(contacts_);
    EvaluateInput in;
    in.rules = &rules_;
    in.facts = &*base_;
    in.contacts = &contacts_index_;
    in.history = &history_;
    in.events = events_;
    in.policy = policy_;
    in.now = now_;
    in.zone = *LookupZone("UTC");
    in.explain_customer = explain;
    return Evaluate(in);
  }

  std::vector<int64_t> Chosen(const Evaluation& e, const std::string& rule,
                              DecisionKind kind = DecisionKind::kSend) {
    std::vector<int64_t> ids;
    for (const auto& d : e.decisions)
      if (d.rule == rule && d.kind == kind) ids.push_back(d.customer_id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  testing::TempDir dir_;
  Instant now_ = At("2026-06-30T12:00:00Z");
  RuleSet rules_;
  std::vector<worth::CustomerSummary> summaries_;
  std::vector<Contact> contacts_;
  Contacts contacts_index_{{}};
  ContactHistory history_;
  std::vector<Event> events_;
  ContactPolicy policy_;
  std::optional<worth::CustomerBase> base_;
};

constexpr const char* kDaily = "trigger:\n  schedule: daily at 09:00\naction:\n  send: t\n";

TEST_F(EngineTest, AudienceAndTop) {
  AddRule(std::string("name: r\n") + kDaily +
          "audience:\n  where: purchases >= 2\n  top: 2 by purchases\n");
  AddCustomer(1, 1, 5);
  AddCustomer(2, 2, 5);
  AddCustomer(3, 5, 5);
  AddCustomer(4, 4, 5);
  auto e = Run();
  EXPECT_EQ(Chosen(e, "r"), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(e.rules["r"].reasons[Reason::kOutOfAudience], 1);
  EXPECT_EQ(e.rules["r"].reasons[Reason::kNotInTop], 1);
  EXPECT_EQ(e.rules["r"].occurrence, "2026-06-30");
  EXPECT_EQ(e.decisions[0].dedupe_key, "r:c3:2026-06-30");
}

TEST_F(EngineTest, NeverTwiceAndOncePer) {
  AddRule(std::string("name: r\n") + kDaily + "limits:\n  once_per: 30d\n");
  AddCustomer(1, 1, 5);
  AddCustomer(2, 1, 5);
  history_.Add({"r", 1, 1, DecisionKind::kSend, now_ - std::chrono::hours{3}, "r:c1:2026-06-30"});
  history_.Add({"r", 2, 2, DecisionKind::kSend, now_ - std::chrono::days{10}, "r:c2:2026-06-20"});
  auto e = Run(2);
  EXPECT_TRUE(Chosen(e, "r").empty());
  EXPECT_EQ(e.rules["r"].reasons[Reason::kAlreadyDecided], 1);
  EXPECT_EQ(e.rules["r"].reasons[Reason::kOncePer], 1);
  ASSERT_EQ(e.skips.size(), 1u);  // explain asked about customer 2
  EXPECT_EQ(e.skips[0].reason, Reason::kOncePer);
}

TEST_F(EngineTest, ContactPolicyCapsAcrossRulesByPriority) {
  policy_.max_contacts = 1;
  AddRule(std::string("name: low\npriority: 1\n") + kDaily);
  AddRule(std::string("name: high\npriority: 9\n") + kDaily);
  AddCustomer(1, 1, 5);
  history_.Add({"old", 9, 9, DecisionKind::kSend, now_ - std::chrono::days{2}, "old:c9:x"});
  AddCustomer(9, 1, 5);  // contacted two days ago: capped for both rules
  auto e = Run();
  EXPECT_EQ(Chosen(e, "high"), (std::vector<int64_t>{1}));
  EXPECT_TRUE(Chosen(e, "low").empty());
  EXPECT_EQ(e.rules["low"].reasons[Reason::kCapped], 2);
  EXPECT_EQ(e.rules["high"].reasons[Reason::kCapped], 1);
}

TEST_F(EngineTest, UncontactableCustomersAreNeverChosenAndSayWhy) {
  AddRule(std::string("name: r\n") + kDaily);
  AddCustomer(1, 1, 5);
  AddCustomer(2, 1, 5);
  AddCustomer(3, 1, 5);
  AddCustomer(4, 1, 5);
  contacts_[1].unsubscribed = true;
  contacts_[2].has_email = false;
  contacts_[3].suppressed = true;
  auto e = Run();
  EXPECT_EQ(Chosen(e, "r"), (std::vector<int64_t>{1}));
  EXPECT_EQ(e.rules["r"].reasons[Reason::kUnsubscribed], 1);
  EXPECT_EQ(e.rules["r"].reasons[Reason::kNoEmail], 1);
  EXPECT_EQ(e.rules["r"].reasons[Reason::kSuppressed], 1);
}

TEST_F(EngineTest, QuietHoursMakeDecisionsWaitNotDrop) {
  policy_.quiet_start_minute = 21 * 60;
  policy_.quiet_end_minute = 8 * 60;
  AddRule(std::string("name: r\n") + kDaily);
  AddCustomer(1, 1, 5);
  AddCustomer(2, 1, 5);
  contacts_[1].zone = *LookupZone("Asia/Tokyo");  // 21:00 there at 12:00 UTC
  auto e = Run();
  ASSERT_EQ(Chosen(e, "r"), (std::vector<int64_t>{1, 2}));
  for (const auto& d : e.decisions) {
    if (d.customer_id == 1) {
      EXPECT_EQ(d.send_after, now_);
    }
    if (d.customer_id == 2) {
      EXPECT_EQ(FormatInstant(d.send_after), "2026-06-30T23:00:00Z");
    }
  }
  EXPECT_EQ(e.rules["r"].reasons[Reason::kQuietHours], 1);
}

TEST_F(EngineTest, HoldoutAndArmsAreStableShares) {
  AddRule(std::string("name: r\n") + kDaily +
          "holdout: 20%\nexperiment:\n  arms:\n    - name: a\n      weight: 50%\n"
          "      send: t2\n    - name: ctl\n      weight: 50%\n      control: true\n");
  for (int i = 1; i <= 2000; ++i) AddCustomer(i, 1, 5);
  auto e = Run();
  auto held = Chosen(e, "r", DecisionKind::kHoldout).size();
  auto control = Chosen(e, "r", DecisionKind::kControl).size();
  auto sent = Chosen(e, "r").size();
  EXPECT_EQ(held + control + sent, 2000u);
  EXPECT_NEAR(held / 2000.0, 0.20, 0.03);
  EXPECT_NEAR(control / 2000.0, 0.40, 0.03);
  for (const auto& d : e.decisions) {
    if (d.kind == DecisionKind::kSend) {
      EXPECT_EQ(d.template_name, "t2");
    }
    if (d.kind != DecisionKind::kHoldout) {
      EXPECT_FALSE(d.arm.empty());
    }
  }
  // The same customer lands in the same group every time.
  auto again = Run();
  EXPECT_EQ(Chosen(again, "r", DecisionKind::kHoldout), Chosen(e, "r", DecisionKind::kHoldout));
  EXPECT_DOUBLE_EQ(StableShare("r", "c1"), StableShare("r", "c1"));
  EXPECT_NE(StableShare("r", "c1"), StableShare("other", "c1"));
}

TEST_F(EngineTest, EventsWaitAndTargetTheReferrer) {
  AddRule(
      "name: thanks\ntrigger:\n  event: referral_converted\n  wait: 30d\naction:\n  send: t\n"
      "  to: referrer\n");
  AddCustomer(1, 3, 5);   // the referrer
  AddCustomer(2, 1, 35);  // referred, first purchase 35 days ago: due
  AddCustomer(3, 1, 10);  // referred, 10 days ago: not yet
  AddCustomer(4, 1, 35);  // not referred
  contacts_[1].referred_by = 1;
  contacts_[2].referred_by = 1;
  for (int64_t id : {2, 3, 4}) {
    const auto& s = summaries_[id - 1];
    events_.push_back({id, "t" + std::to_string(id),
                       Instant{std::chrono::seconds{s.first_purchase_at}}, store::Kind::kPurchase,
                       true});
  }
  auto e = Run();
  ASSERT_EQ(e.decisions.size(), 1u);
  EXPECT_EQ(e.decisions[0].customer_id, 2);
  EXPECT_EQ(e.decisions[0].recipient_id, 1);
  EXPECT_EQ(e.decisions[0].dedupe_key, "thanks:c2:t2");
  EXPECT_TRUE(e.waiting.empty()) << "only explain hears of waits";

  // Explained, the referred customer whose wait runs, and their referrer, hear of it; the
  // decisions are the same.
  const Instant until =
      Instant{std::chrono::seconds{summaries_[2].first_purchase_at}} + std::chrono::days{30};
  for (int64_t explain : {3, 1}) {
    auto explained = Run(explain);
    EXPECT_EQ(explained.decisions.size(), 1u);
    ASSERT_EQ(explained.waiting.size(), 1u) << explain;
    const auto& w = explained.waiting[0];
    EXPECT_EQ(w.rule, "thanks");
    EXPECT_EQ(w.customer_id, 3);
    EXPECT_EQ(w.recipient_id, 1);
    EXPECT_EQ(w.occurrence, "t3");
    EXPECT_EQ(w.until, until);
  }
  EXPECT_TRUE(Run(4).waiting.empty()) << "due already, and nobody referred them";
}

// explain names the clause of `where:` that left a customer out, with its facts' values.
TEST_F(EngineTest, OutOfAudienceNamesTheFailingClause) {
  AddRule(std::string("name: r\n") + kDaily +
          "audience:\n  where: purchases >= 2 and days_since_last_purchase > 20\n");
  AddCustomer(1, 3, 5);
  auto e = Run(1);
  ASSERT_EQ(e.skips.size(), 1u);
  EXPECT_EQ(e.skips[0].reason, Reason::kOutOfAudience);
  EXPECT_EQ(e.skips[0].detail, "days_since_last_purchase > 20 (days_since_last_purchase 5)");
}

TEST_F(EngineTest, ASchedulePastTheLookbackIsNotDue) {
  AddRule("name: r\ntrigger:\n  schedule: once at 2026-06-30 09:00\naction:\n  send: t\n");
  AddCustomer(1, 1, 5);
  EXPECT_EQ(Run().decisions.size(), 1u);
  now_ = At("2026-07-09T12:00:00Z");  // the default 7-day lookback has passed
  EXPECT_TRUE(Run().decisions.empty());
}

}  // namespace
}  // namespace followup::rules
