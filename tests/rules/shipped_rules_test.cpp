// The three shipped rules (rules/*.yaml) end to end: a hand-made store on disk, filled by the real
// importer, evaluated by the real engine; the right customers, and only they, are chosen.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "rules/runner.h"
#include "store/import.h"
#include "support/test_util.h"

namespace followup::rules {
namespace {

const Instant kNow = *ParseInstant("2026-06-30T12:00:00Z", nullptr);

class ShippedRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    customers_ << "id,email,name,referred_by,unsubscribed_at\n";
    transactions_ << "id,customer_id,occurred_at,kind,amount\n";
    // Lapsed win-back.
    Customer("lapsed1");
    Buys("lapsed1", 6, 30, 100);  // every 30 days, last 100 days ago: 3.3 gaps overdue
    Customer("lapsed2");
    Buys("lapsed2", 8, 20, 70);
    Customer("steady");
    Buys("steady", 6, 30, 10);  // on rhythm
    Customer("returner");
    Buys("returner", 6, 30, 100, /*return_half=*/true);  // lapsed but returns half
    Customer("twice");
    Buys("twice", 2, 30, 200);  // too little history for a rhythm
    Customer("lapsed-no-email", "");
    Buys("lapsed-no-email", 6, 30, 100);
    Customer("lapsed-unsubscribed", "x@example.com", "", "2026-01-01");
    Buys("lapsed-unsubscribed", 6, 30, 100);
    // Referral thank-you.
    Customer("referrer");
    Buys("referrer", 4, 30, 5);
    Customer("friend-kept", "f1@example.com", "referrer");
    Buys("friend-kept", 1, 0, 33);  // first purchase 33 days ago: past the 30-day wait
    Customer("friend-returned", "f2@example.com", "referrer");
    Buys("friend-returned", 1, 0, 33, /*return_half=*/false, /*return_all=*/true);
    Customer("friend-recent", "f3@example.com", "referrer");
    Buys("friend-recent", 1, 0, 8);  // still inside the return window
    Customer("stranger");
    Buys("stranger", 1, 0, 33);  // bought, but nobody referred them
    // A background of ordinary, steady customers.
    for (int i = 1; i <= 10; ++i) {
      std::string id = "regular" + std::to_string(i);
      Customer(id);
      Buys(id, 4 + i % 3, 25 + i, i, false, false, 3000 + 100 * i);
    }
    // New offer test: the two best by expected value (the top 10% of 20 buyers with 2+ purchases).
    Customer("vip1");
    Buys("vip1", 20, 14, 3, false, false, 50000);
    Customer("vip2");
    Buys("vip2", 18, 15, 6, false, false, 40000);
  }

  void Customer(const std::string& id, std::string email = "?", const std::string& referrer = "",
                const std::string& unsubscribed = "") {
    if (email == "?") email = id + "@example.com";
    customers_ << id << "," << email << "," << id << "," << referrer << "," << unsubscribed << "\n";
  }

  // `n` purchases `gap` days apart, the last `last` days before now; optionally returning half or
  // all of each.
  void Buys(const std::string& id, int n, int gap, int last, bool return_half = false,
            bool return_all = false, int cents = 5000) {
    for (int k = n - 1; k >= 0; --k) {
      Instant t = kNow - std::chrono::days{last + gap * k} - std::chrono::hours{2};
      std::string tid = id + "-" + std::to_string(k);
      transactions_ << tid << "," << id << "," << FormatInstant(t) << ",purchase," << cents / 100
                    << "." << (cents % 100 < 10 ? "0" : "") << cents % 100 << "\n";
      if (return_half || return_all) {
        int back = return_all ? cents : cents / 2;
        transactions_ << tid << "r," << id << "," << FormatInstant(t + std::chrono::days{1})
                      << ",return," << back / 100 << "." << (back % 100 < 10 ? "0" : "")
                      << back % 100 << "\n";
      }
    }
  }

  // Imports the hand-made data, evaluates the shipped rules at kNow; decisions by rule.
  std::map<std::string, std::set<std::string>> Decide() {
    auto store = std::move(*store::Store::Open(dir_ / "f.db"));
    store::ImportOptions io;
    io.zone = *LookupZone("UTC");
    io.target = store::ImportTarget::kCustomers;
    auto c = store::Import(*store, dir_.Write("c.csv", customers_.str()), io, {});
    EXPECT_TRUE(c && c->rejected == 0);
    io.target = store::ImportTarget::kTransactions;
    auto t = store::Import(*store, dir_.Write("t.csv", transactions_.str()), io, {});
    EXPECT_TRUE(t && t->rejected == 0);

    LoadOptions lo;
    lo.rules_dir = FOLLOWUP_SOURCE_DIR "/rules";
    lo.templates_dir = FOLLOWUP_SOURCE_DIR "/templates";
    lo.now = kNow;
    lo.zone = *LookupZone("UTC");
    auto rules = LoadRules(lo);
    EXPECT_TRUE(rules);
    worth::FactsOptions fo;
    fo.at = kNow;
    fo.zone = lo.zone;
    auto base = worth::CustomerBase::Load(*store, fo);
    EXPECT_TRUE(base);
    ContactPolicy policy;  // the shipped config's: 1 a week, quiet 21:00-08:00
    policy.quiet_start_minute = 21 * 60;
    policy.quiet_end_minute = 8 * 60;
    auto snap = LoadSnapshot(*store, *rules, policy, kNow);
    EXPECT_TRUE(snap);
    EvaluateInput in;
    in.rules = &*rules;
    in.facts = &*base;
    in.contacts = &snap->contacts;
    in.history = &snap->history;
    in.events = snap->events;
    in.policy = policy;
    in.now = kNow;
    in.zone = lo.zone;
    auto eval = Evaluate(in);
    std::map<std::string, std::set<std::string>> chosen;
    for (const auto& d : eval.decisions) {
      auto* who = snap->contacts.Find(d.customer_id);
      chosen[d.rule].insert(who->external_id);
    }
    // A sequence chooses by entering customers (its steps are decided by the decide pass).
    for (const auto& p : eval.entries) {
      auto* who = snap->contacts.Find(p.customer_id);
      chosen[p.rule].insert(who->external_id);
    }
    // Recording them twice writes them once.
    EXPECT_EQ(*store->RecordDecisions(eval.decisions), static_cast<int64_t>(eval.decisions.size()));
    EXPECT_EQ(*store->RecordDecisions(eval.decisions), 0);
    return chosen;
  }

  testing::TempDir dir_;
  std::stringstream customers_, transactions_;
};

TEST_F(ShippedRulesTest, EachRuleChoosesTheRightCustomersAndOnlyThem) {
  auto chosen = Decide();
  EXPECT_EQ(chosen["lapsed-winback"], (std::set<std::string>{"lapsed1", "lapsed2"}));
  EXPECT_EQ(chosen["referral-thanks"], (std::set<std::string>{"friend-kept"}));
  EXPECT_EQ(chosen["vip-offer-test"], (std::set<std::string>{"vip1", "vip2"}));
}

}  // namespace
}  // namespace followup::rules
