// The sequence core (rules/sequence.h) on hand-made places, contacts and facts: pure, no store.
#include "rules/sequence.h"

#include <gtest/gtest.h>

#include <map>

#include "support/test_util.h"

namespace followup::rules {
namespace {

using What = AdvanceOutcome::What;
using std::chrono::days;
using std::chrono::hours;

Instant At(const char* text) { return *ParseInstant(text, nullptr); }

// Facts from a map; a fact not in it is undefined.
class MapFacts final : public FactSource {
 public:
  explicit MapFacts(std::map<worth::Fact, double> values) : values_(std::move(values)) {}
  std::optional<double> Get(worth::Fact fact) const override {
    auto it = values_.find(fact);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<worth::Fact, double> values_;
};

class SequenceTest : public ::testing::Test {
 protected:
  SequenceTest() {
    dir_.Write("templates/t1/subject.mustache", "Hi");
    dir_.Write("templates/t2/subject.mustache", "Hi");
    dir_.Write("templates/t3/subject.mustache", "Hi");
    policy_.max_contacts = 1;
    policy_.quiet_start_minute = policy_.quiet_end_minute = 0;
    customer_.id = 7;
    customer_.external_id = "c7";
    customer_.has_email = true;
    rule_ = Parse(kThreeSteps);
  }

  // Reminder now, a better offer a week later to those still overdue, a last note a week after.
  static constexpr const char* kThreeSteps = R"(name: winback
trigger:
  schedule: daily at 10:00
steps:
  - name: reminder
    send: t1
    values:
      code: TEN
  - name: better-offer
    wait: 7d
    where: overdue_ratio >= 2
    send: t2
    values:
      code: TWENTY
  - name: last-note
    wait: 7d
    send: t3
)";

  Rule Parse(const std::string& yaml) {
    std::vector<Error> errors;
    LoadOptions o;
    o.templates_dir = dir_ / "templates";
    o.now = entered_;
    o.zone = *LookupZone("UTC");
    auto rule = ParseRule(yaml, "r.yaml", o, errors);
    EXPECT_TRUE(rule) << (errors.empty() ? "" : errors[0].ToString());
    return rule ? *rule : Rule{};
  }

  SequencePlace Entered(DecisionKind kind = DecisionKind::kSend, std::string arm = "") const {
    return Enter(rule_, customer_.id, "2026-06-01", kind, std::move(arm), entered_);
  }

  AdvanceOutcome Run(const SequencePlace& place, Instant now) {
    AdvanceInput in;
    in.rule = &rule_;
    in.place = &place;
    in.customer = customer_present_ ? &customer_ : nullptr;
    in.facts = &facts_;
    in.last_purchase = last_purchase_;
    in.sends_in_period = sends_in_period_;
    in.policy = policy_;
    in.now = now;
    in.zone = *LookupZone("UTC");
    return Advance(in);
  }

  // Walks `place` through a step at `now`, which must decide one.
  Decision Step(SequencePlace& place, Instant now) {
    auto out = Run(place, now);
    EXPECT_EQ(out.what, What::kStep);
    EXPECT_TRUE(out.decision);
    place = out.place;
    return out.decision.value_or(Decision{});
  }

  testing::TempDir dir_;
  Instant entered_ = At("2026-06-01T10:00:00Z");
  Rule rule_;
  Contact customer_;
  bool customer_present_ = true;
  MapFacts facts_{{{worth::Fact::kOverdueRatio, 3}}};
  std::optional<Instant> last_purchase_ = At("2026-03-01T10:00:00Z");
  int sends_in_period_ = 0;
  ContactPolicy policy_;
};

TEST_F(SequenceTest, EnteringPointsAtTheFirstStep) {
  auto place = Entered();
  EXPECT_EQ(place.rule, "winback");
  EXPECT_EQ(place.customer_id, 7);
  EXPECT_EQ(place.occurrence, "2026-06-01");
  EXPECT_EQ(place.entered_at, entered_);
  EXPECT_EQ(place.last_at, entered_);
  EXPECT_EQ(place.next_step, "reminder");
  EXPECT_EQ(place.next_due, entered_);
  EXPECT_TRUE(place.done.empty());
  EXPECT_FALSE(place.ended_at);
}

TEST_F(SequenceTest, EachStepInTurnThenCompleted) {
  auto place = Entered();
  auto first = Step(place, entered_);
  EXPECT_EQ(first.dedupe_key, "winback:c7:2026-06-01:reminder");
  EXPECT_EQ(first.rule, "winback");
  EXPECT_EQ(first.customer_id, 7);
  EXPECT_EQ(first.recipient_id, 7);
  EXPECT_EQ(first.kind, DecisionKind::kSend);
  EXPECT_EQ(first.template_name, "t1");
  EXPECT_EQ(first.values_json, R"({"code":"TEN"})");
  EXPECT_EQ(first.decided_at, entered_);
  EXPECT_EQ(first.send_after, entered_);
  EXPECT_EQ(place.next_step, "better-offer");
  EXPECT_EQ(place.next_due, entered_ + days{7});
  ASSERT_EQ(place.done.size(), 1u);
  EXPECT_EQ(place.done[0], (StepDone{"reminder", entered_, "send"}));

  // Not yet due: nothing changes, nothing is written.
  auto early = Run(place, entered_ + days{6});
  EXPECT_EQ(early.what, What::kWait);
  EXPECT_FALSE(early.changed);
  EXPECT_FALSE(early.decision);
  EXPECT_EQ(early.place, place);

  // The second step waits from when the first was actually decided (here 2 hours late).
  Instant second_at = entered_ + days{7} + hours{2};
  auto second = Step(place, second_at);
  EXPECT_EQ(second.dedupe_key, "winback:c7:2026-06-01:better-offer");
  EXPECT_EQ(second.template_name, "t2");
  EXPECT_EQ(place.next_due, second_at + days{7});

  auto last = Run(place, second_at + days{7});
  EXPECT_EQ(last.what, What::kStep);
  EXPECT_EQ(last.decision->template_name, "t3");
  EXPECT_EQ(last.place.ended_at, second_at + days{7});
  EXPECT_EQ(last.place.end_reason, "completed");
  EXPECT_EQ(last.place.next_step, "");
  EXPECT_FALSE(last.place.next_due);

  // Ended: nothing more, ever.
  auto after = Run(last.place, second_at + days{70});
  EXPECT_EQ(after.what, What::kNone);
  EXPECT_FALSE(after.changed);
}

TEST_F(SequenceTest, APurchaseSinceEntryEndsItAtOnce) {
  auto place = Entered();
  Step(place, entered_);
  last_purchase_ = entered_ + days{2};
  auto out = Run(place, entered_ + days{3});  // before the next step is due
  EXPECT_EQ(out.what, What::kExit);
  EXPECT_TRUE(out.changed);
  EXPECT_FALSE(out.decision);
  EXPECT_EQ(out.place.end_reason, "purchase");
  EXPECT_EQ(out.place.ended_at, entered_ + days{3});
  EXPECT_EQ(out.place.next_step, "");
  // A purchase at the moment of entry (the one that triggered it) does not count.
  last_purchase_ = entered_;
  EXPECT_EQ(Run(place, entered_ + days{7}).what, What::kStep);
}

TEST_F(SequenceTest, PurchaseExitCanBeTurnedOff) {
  rule_.exit.purchase = false;
  auto place = Entered();
  last_purchase_ = entered_ + days{1};
  EXPECT_EQ(Run(place, entered_ + days{1}).what, What::kStep);
}

TEST_F(SequenceTest, UnsubscribedSuppressedOrUnreachableCustomersLeave) {
  auto place = Entered();
  customer_.unsubscribed = true;
  EXPECT_EQ(Run(place, entered_).place.end_reason, "unsubscribed");
  customer_.unsubscribed = false;
  customer_.suppressed = true;
  EXPECT_EQ(Run(place, entered_).place.end_reason, "suppressed");
  customer_.suppressed = false;
  customer_.has_email = false;
  EXPECT_EQ(Run(place, entered_).place.end_reason, "no email");
  customer_.has_email = true;
  customer_present_ = false;
  EXPECT_EQ(Run(place, entered_).place.end_reason, "no email");
}

TEST_F(SequenceTest, ExitWhereIsCheckedOnTheFactsOfTheMoment) {
  rule_ = Parse(std::string(kThreeSteps) + "exit:\n  where: overdue_ratio < 1\n");
  auto place = Entered();
  EXPECT_EQ(Run(place, entered_).what, What::kStep);
  facts_ = MapFacts({{worth::Fact::kOverdueRatio, 0.5}});
  auto out = Run(place, entered_);
  EXPECT_EQ(out.what, What::kExit);
  EXPECT_EQ(out.place.end_reason, "exit where");
  // Undefined is not true: they stay.
  facts_ = MapFacts({});
  EXPECT_EQ(Run(place, entered_).what, What::kStep);
}

TEST_F(SequenceTest, ADisabledRuleEndsEveryoneInIt) {
  auto place = Entered();
  Step(place, entered_);
  rule_.enabled = false;
  auto out = Run(place, entered_ + days{1});
  EXPECT_EQ(out.what, What::kExit);
  EXPECT_EQ(out.place.end_reason, "disabled");
}

TEST_F(SequenceTest, AStepWhoseWhereIsNotTrueIsSkippedAndTheNextWaits) {
  auto place = Entered();
  Step(place, entered_);
  facts_ = MapFacts({{worth::Fact::kOverdueRatio, 1.5}});  // no longer overdue enough
  Instant at = entered_ + days{7};
  auto out = Run(place, at);
  EXPECT_EQ(out.what, What::kWait);
  EXPECT_TRUE(out.changed);
  ASSERT_EQ(out.place.done.size(), 2u);
  EXPECT_EQ(out.place.done[1], (StepDone{"better-offer", at, "skipped: where"}));
  EXPECT_EQ(out.place.next_step, "last-note");
  EXPECT_EQ(out.place.next_due, at + days{7});
  // Undefined facts do not qualify either.
  facts_ = MapFacts({});
  EXPECT_EQ(Run(place, at).place.done.back().outcome, "skipped: where");
}

TEST_F(SequenceTest, HoldoutAndControlWalkTheStepsUncontacted) {
  for (auto kind : {DecisionKind::kHoldout, DecisionKind::kControl}) {
    sends_in_period_ = 5;  // the cap is for emails: it does not hold back a recorded step
    auto place = Entered(kind, kind == DecisionKind::kControl ? "control" : "");
    auto d = Step(place, entered_);
    EXPECT_EQ(d.kind, kind);
    EXPECT_EQ(d.dedupe_key, "winback:c7:2026-06-01:reminder");
    EXPECT_EQ(place.done[0].outcome, DecisionKindName(kind));
    // They leave on a purchase like everyone else, so conversions compare step by step.
    last_purchase_ = entered_ + days{1};
    EXPECT_EQ(Run(place, entered_ + days{1}).place.end_reason, "purchase");
    last_purchase_.reset();
  }
}

TEST_F(SequenceTest, ACappedStepWaitsAndIsNeverDropped) {
  auto place = Entered();
  sends_in_period_ = 1;  // another rule took this week's slot
  auto held = Run(place, entered_);
  EXPECT_EQ(held.what, What::kHeld);
  EXPECT_TRUE(held.changed);
  EXPECT_FALSE(held.decision);
  EXPECT_EQ(held.place.held_since, entered_);
  EXPECT_EQ(held.place.next_step, "reminder");
  // Held again later: no change to write.
  auto again = Run(held.place, entered_ + days{1});
  EXPECT_EQ(again.what, What::kHeld);
  EXPECT_FALSE(again.changed);
  // Long past the missed-step window, once the cap allows: sent, not dropped.
  sends_in_period_ = 0;
  auto sent = Run(held.place, entered_ + days{9});
  EXPECT_EQ(sent.what, What::kStep);
  EXPECT_EQ(sent.decision->template_name, "t1");
  EXPECT_FALSE(sent.place.held_since);
  EXPECT_EQ(sent.place.next_due, entered_ + days{9 + 7});
}

TEST_F(SequenceTest, AStepInQuietHoursWaitsForThemToEnd) {
  policy_.quiet_start_minute = 21 * 60;
  policy_.quiet_end_minute = 8 * 60;
  auto place = Entered();
  auto d = Step(place, At("2026-06-01T22:30:00Z"));
  EXPECT_EQ(d.decided_at, At("2026-06-01T22:30:00Z"));
  EXPECT_EQ(d.send_after, At("2026-06-02T08:00:00Z"));
  customer_.zone = *LookupZone("America/New_York");  // their own zone: 18:30 there, not quiet
  place = Entered();
  d = Step(place, At("2026-06-01T22:30:00Z"));
  EXPECT_EQ(d.send_after, d.decided_at);
}

TEST_F(SequenceTest, AMissedStepGoesOutOnceWithinItsWindow) {
  EXPECT_EQ(MissedWindow(rule_.steps[0]), days{1});  // wait 0: a day
  EXPECT_EQ(MissedWindow(rule_.steps[1]), days{7});  // its own wait
  auto place = Entered();
  Step(place, entered_);
  // The daemon was down from day 5 to day 13: the second step (due day 7) is 6 days late.
  auto late = Run(place, entered_ + days{13});
  EXPECT_EQ(late.what, What::kStep);
  EXPECT_EQ(late.decision->template_name, "t2");
  EXPECT_EQ(late.place.next_due, entered_ + days{20});
}

TEST_F(SequenceTest, AStepMissedBeyondItsWindowIsDroppedWithTheReason) {
  auto place = Entered();
  Step(place, entered_);
  // Down until day 15: the second step (due day 7, window 7d) is dropped; the last note is due
  // a week after the dropped step's time (day 14), so it goes out now.
  auto out = Run(place, entered_ + days{15});
  EXPECT_EQ(out.what, What::kStep);
  EXPECT_EQ(out.decision->template_name, "t3");
  ASSERT_EQ(out.place.done.size(), 3u);
  EXPECT_EQ(out.place.done[1].step, "better-offer");
  EXPECT_EQ(out.place.done[1].at, entered_ + days{7});
  EXPECT_EQ(out.place.done[1].outcome,
            "dropped: missed (due 2026-06-08T10:00:00Z; a step goes out at most 7d late)");
  EXPECT_EQ(out.place.end_reason, "completed");
  // Down until day 30: every step left is dropped; the sequence completes without a word.
  out = Run(place, entered_ + days{30});
  EXPECT_EQ(out.what, What::kCompleted);
  EXPECT_FALSE(out.decision);
  EXPECT_EQ(out.place.done.size(), 3u);
  EXPECT_EQ(out.place.done[2].outcome.rfind("dropped: missed", 0), 0u);
}

TEST_F(SequenceTest, StepsPerArm) {
  rule_ = Parse(R"(name: vip
trigger:
  schedule: daily at 10:00
steps:
  - name: offer
    send: t1
    values:
      code: VIP20
      tone: plain
  - name: reminder
    wait: 3d
    send: t2
    arms:
      offer:
        send: t3
        values:
          tone: warm
experiment:
  arms:
    - name: offer
      weight: 50%
    - name: plain
      weight: 50%
)");
  auto offer = Entered(DecisionKind::kSend, "offer");
  Step(offer, entered_);
  auto reminder = Step(offer, entered_ + days{3});
  EXPECT_EQ(reminder.template_name, "t3");
  EXPECT_EQ(reminder.arm, "offer");
  EXPECT_EQ(reminder.values_json, R"({"tone":"warm"})");

  auto plain = Entered(DecisionKind::kSend, "plain");
  Step(plain, entered_);
  auto out = Run(plain, entered_ + days{3});
  EXPECT_EQ(out.what, What::kCompleted);
  EXPECT_EQ(out.place.done.back(),
            (StepDone{"reminder", entered_ + days{3}, "skipped: not for arm plain"}));
}

TEST_F(SequenceTest, EditsAreFollowedByStepName) {
  auto place = Entered();
  Step(place, entered_);  // reminder done; better-offer next
  // better-offer removed: the last note is next, a week after the reminder.
  rule_ = Parse(R"(name: winback
trigger:
  schedule: daily at 10:00
steps:
  - name: reminder
    send: t1
  - name: last-note
    wait: 10d
    send: t3
)");
  auto next = NextOf(rule_, place);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->step->name, "last-note");
  EXPECT_EQ(next->due, entered_ + days{10});
  auto out = Run(place, entered_ + days{1});
  EXPECT_EQ(out.what, What::kWait);
  EXPECT_TRUE(out.changed) << "the stored next step and due time move with the edit";
  EXPECT_EQ(out.place.next_step, "last-note");
  // A step added before where they stand is not sent to them.
  rule_ = Parse(R"(name: winback
trigger:
  schedule: daily at 10:00
steps:
  - name: welcome
    send: t2
  - name: reminder
    send: t1
  - name: last-note
    wait: 10d
    send: t3
)");
  EXPECT_EQ(NextOf(rule_, place)->step->name, "last-note");
  // Every step they had is gone: they go on with the first step they have not had.
  rule_ =
      Parse("name: winback\ntrigger:\n  schedule: daily\nsteps:\n  - name: fresh\n    send: t2\n");
  EXPECT_EQ(NextOf(rule_, place)->step->name, "fresh");
}

// What check says an edit does to the customers in flight: grouped by rule and step, in words.
TEST_F(SequenceTest, EditEffectsSayWhereCustomersInFlightGo) {
  // Two at better-offer (reminder done), one at the reminder, one ended.
  auto a = Entered(), b = Entered(), c = Entered(), ended = Entered();
  Step(a, entered_);
  b.occurrence = "2026-06-02";
  Step(b, entered_);
  ended.ended_at = entered_;
  ended.end_reason = "purchase";
  std::vector<SequencePlace> places = {a, b, c, ended};
  RuleSet rules;
  rules.rules.push_back(rule_);
  EXPECT_TRUE(EditEffects(rules, places).empty()) << "the rule as they were written under";

  rules.rules[0] = Parse(R"(name: winback
trigger:
  schedule: daily at 10:00
steps:
  - name: reminder
    send: t1
    wait: 1d
  - name: last-note
    wait: 7d
    send: t3
)");
  EXPECT_EQ(EditEffects(rules, places),
            (std::vector<std::string>{
                "rule winback: 2 customers at step 'better-offer' which no longer exists: they "
                "skip to 'last-note'",
                "rule winback: 1 customer at step 'reminder': due 1d later (its wait changed)"}));

  rules.rules[0] = Parse(
      "name: winback\ntrigger:\n  schedule: daily\nsteps:\n  - name: reminder\n"
      "    send: t1\n  - name: welcome\n    send: t2\n  - name: better-offer\n"
      "    send: t2\n    wait: 7d\n");
  EXPECT_EQ(EditEffects(rules, places),
            (std::vector<std::string>{
                "rule winback: 2 customers at step 'better-offer': their next step is now "
                "'welcome'"}));

  rules.rules[0] = rule_;
  rules.rules[0].enabled = false;
  EXPECT_EQ(
      EditEffects(rules, places),
      (std::vector<std::string>{"rule winback: enabled: false: 3 customers in flight will exit"}));

  rules.rules[0] = Parse(
      "name: winback\ntrigger:\n  schedule: daily\nsteps:\n  - name: fresh\n"
      "    send: t2\n");
  auto gone = EditEffects(rules, places);
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[1],
            "rule winback: 1 customer at step 'reminder' which no longer exists: they "
            "skip to 'fresh'");

  rules.rules.clear();
  EXPECT_EQ(EditEffects(rules, places),
            (std::vector<std::string>{"rule winback: 3 customers in flight, but no such rule is "
                                      "loaded: they stay where they are"}));
}

TEST_F(SequenceTest, AdvanceAllCountsThisPassSendsAndLeavesUnknownRulesAlone) {
  RuleSet rules;
  rules.rules.push_back(rule_);
  auto a = Entered();
  auto b = Enter(rule_, customer_.id, "2026-06-02", DecisionKind::kSend, "", entered_);
  auto stray = a;
  stray.rule = "gone";
  Contacts contacts({customer_});
  worth::FactsOptions fo;
  fo.at = entered_;
  auto base = worth::CustomerBase::FromSummaries({}, fo);
  ContactHistory past, made;
  std::vector<SequencePlace> places = {a, b, stray};
  auto out = AdvanceAll(rules, base, contacts, past, made, places, policy_, entered_, nullptr);
  ASSERT_EQ(out.decisions.size(), 1u) << "one email a week: b's first step waits";
  EXPECT_EQ(out.decisions[0].dedupe_key, "winback:c7:2026-06-01:reminder");
  EXPECT_TRUE(made.Decided("winback:c7:2026-06-01:reminder"));
  ASSERT_EQ(out.places.size(), 2u) << "the stray place is not touched";
  EXPECT_EQ(out.places[1].held_since, entered_);
  // New places are written even when nothing happened to them yet.
  rule_.steps[0].wait = days{1};
  rules.rules[0] = rule_;
  ContactHistory none;
  std::vector<SequencePlace> fresh = {Entered()};
  out = AdvanceAll(rules, base, contacts, past, none, fresh, policy_, entered_, nullptr, true);
  EXPECT_TRUE(out.decisions.empty());
  EXPECT_EQ(out.places.size(), 1u);
}

}  // namespace
}  // namespace followup::rules
