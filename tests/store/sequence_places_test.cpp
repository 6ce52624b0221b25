// Sequence places on every backend: written with the step decisions in one transaction, read
// back whole, replaced by their key, and the ended ones left out once old.
#include <gtest/gtest.h>

#include <tuple>

#include "store/backends.h"

namespace followup::store {
namespace {

Instant Day(const char* text) { return *ParseInstant(text, nullptr); }

class SequencePlacesTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = OpenStore();
    ASSERT_TRUE(store_);
    auto batch = std::move(*store_->BeginImport());
    CustomerRecord c;
    c.external_id = "a";
    ASSERT_TRUE(batch->PutCustomer(c));
    ASSERT_TRUE(batch->Commit());
    a_ = (*store_->FindCustomer("a"))->id;
    place_.rule = "r";
    place_.customer_id = a_;
    place_.occurrence = "2026-01-01";
    place_.kind = DecisionKind::kControl;
    place_.arm = "control";
    place_.entered_at = Day("2026-01-01");
    place_.done = {{"first", Day("2026-01-01"), "control"},
                   {"second", Day("2026-01-08"), "skipped: where"}};
    place_.last_at = Day("2026-01-08");
    place_.held_since = Day("2026-01-09");
    place_.next_step = "third";
    place_.next_due = Day("2026-01-15");
  }

  std::vector<SequencePlace> All(Instant ended_since) {
    std::vector<SequencePlace> out;
    auto r = store_->ForEachSequencePlace(ended_since,
                                          [&](const SequencePlace& p) { out.push_back(p); });
    EXPECT_TRUE(r) << r.error().ToString();
    return out;
  }

  Decision Step(const std::string& key) const {
    Decision d;
    d.dedupe_key = key;
    d.rule = "r";
    d.customer_id = d.recipient_id = a_;
    d.template_name = "t";
    d.decided_at = d.send_after = Day("2026-01-08");
    return d;
  }

  std::unique_ptr<Store> store_;
  int64_t a_ = 0;
  SequencePlace place_;
};

TEST_P(SequencePlacesTest, WrittenWithTheStepAndReadBackWhole) {
  std::vector<Decision> steps = {Step("r:a:2026-01-01:second")};
  ASSERT_EQ(*store_->RecordSequenceSteps(steps, std::span(&place_, 1)), 1);
  auto all = All(Day("2026-01-01"));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], place_);
  auto of = store_->SequencePlacesOf(a_);
  ASSERT_TRUE(of);
  ASSERT_EQ(of->size(), 1u);
  EXPECT_EQ((*of)[0], place_);
  EXPECT_TRUE(store_->SequencePlacesOf(a_ + 1)->empty());
}

TEST_P(SequencePlacesTest, ReplacedByItsKeyAndEndedOnesAgeOut) {
  ASSERT_TRUE(store_->RecordSequenceSteps({}, std::span(&place_, 1)));
  place_.ended_at = Day("2026-01-10");
  place_.end_reason = "purchase";
  place_.next_step.clear();
  place_.next_due.reset();
  place_.held_since.reset();
  ASSERT_TRUE(store_->RecordSequenceSteps({}, std::span(&place_, 1)));
  auto all = All(Day("2026-01-09"));
  ASSERT_EQ(all.size(), 1u) << "one place, replaced";
  EXPECT_EQ(all[0], place_);
  EXPECT_TRUE(All(Day("2026-01-10")).empty()) << "ended at or before the cut: left out";
}

TEST_P(SequencePlacesTest, CountedInFlightByTheStepTheyWaitFor) {
  EXPECT_TRUE(store_->SequenceStepCounts()->empty());
  auto b = place_, c = place_, ended = place_;
  b.occurrence = "2026-01-02";
  c.occurrence = "2026-01-03";
  c.next_step = "second";
  ended.occurrence = "2026-01-04";
  ended.ended_at = Day("2026-01-10");
  ended.end_reason = "purchase";
  ended.next_step.clear();
  std::vector<SequencePlace> places = {place_, b, c, ended};
  ASSERT_TRUE(store_->RecordSequenceSteps({}, places));
  auto counts = store_->SequenceStepCounts();
  ASSERT_TRUE(counts) << counts.error().ToString();
  EXPECT_EQ(*counts, (std::map<std::pair<std::string, std::string>, int64_t>{{{"r", "second"}, 1},
                                                                             {{"r", "third"}, 2}}));
}

TEST_P(SequencePlacesTest, NothingIsWrittenWhenAnyPartFails) {
  auto broken = place_;
  broken.customer_id = a_ + 100;  // no such customer: the foreign key refuses it
  std::vector<SequencePlace> places = {place_, broken};
  std::vector<Decision> steps = {Step("r:a:2026-01-01:second")};
  EXPECT_FALSE(store_->RecordSequenceSteps(steps, places));
  EXPECT_TRUE(All(Day("2026-01-01")).empty());
  std::vector<LogEntry> log;
  ASSERT_TRUE(store_->ForEachLogEntry({}, [&](const LogEntry& e) { log.push_back(e); }));
  EXPECT_TRUE(log.empty()) << "the step's decision went with the place";
}

TEST_P(SequencePlacesTest, PurchasesAfterEntryUpToTheWindowAfterTheLastStep) {
  // Entered 2026-01-01, last step 2026-01-08: with a 7-day window, purchases in
  // (2026-01-01, 2026-01-15] count.
  ASSERT_TRUE(store_->RecordSequenceSteps({}, std::span(&place_, 1)));
  auto batch = std::move(*store_->BeginImport());
  std::vector<TransactionRecord> txns;
  for (auto [id, at, code] :
       {std::tuple{"before", "2026-01-01", ""}, std::tuple{"first", "2026-01-03", "SPRING"},
        std::tuple{"refund", "2026-01-04", ""}, std::tuple{"second", "2026-01-15", ""},
        std::tuple{"late", "2026-01-16", "SPRING"}}) {
    TransactionRecord t;
    t.external_id = id;
    t.customer_external_id = "a";
    t.occurred_at = Day(at);
    t.kind = std::string_view(id) == "refund" ? Kind::kRefund : Kind::kPurchase;
    t.amount = static_cast<int64_t>(std::string_view(id).size()) * 100;
    t.currency = "EUR";
    if (*code) t.offer_code = code;
    txns.push_back(t);
  }
  ASSERT_TRUE(batch->PutTransactions(txns));
  ASSERT_TRUE(batch->Commit());
  auto read = [&](const std::string& code) {
    std::vector<std::pair<std::string, int64_t>> out;  // occurred_at, amount
    auto r = store_->ForEachSequencePurchase(
        "r", std::chrono::days{7}, code, [&](const SequencePurchase& p) {
          EXPECT_EQ(p.customer_id, a_);
          EXPECT_EQ(p.occurrence, "2026-01-01");
          out.emplace_back(FormatInstant(p.occurred_at), p.amount);
        });
    EXPECT_TRUE(r) << r.error().ToString();
    return out;
  };
  EXPECT_EQ(read(""), (std::vector<std::pair<std::string, int64_t>>{
                          {"2026-01-03T00:00:00Z", 500}, {"2026-01-15T00:00:00Z", 600}}));
  EXPECT_EQ(read("SPRING"),
            (std::vector<std::pair<std::string, int64_t>>{{"2026-01-03T00:00:00Z", 500}}));
  std::vector<SequencePurchase> none;
  ASSERT_TRUE(store_->ForEachSequencePurchase(
      "other", std::chrono::days{7}, "", [&](const SequencePurchase& p) { none.push_back(p); }));
  EXPECT_TRUE(none.empty());
}

FOLLOWUP_ON_EVERY_BACKEND(SequencePlacesTest);

}  // namespace
}  // namespace followup::store
