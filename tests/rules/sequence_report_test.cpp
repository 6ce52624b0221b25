// What a sequence earned, counted per entry: a customer who got three steps and bought once is
// one conversion, credited to the step before it; purchases count once each, within the window
// after the latest contact; held-out entries are counted the same way on their recorded steps.
#include "rules/sequence_report.h"

#include <gtest/gtest.h>

namespace followup::rules {
namespace {

using std::chrono::days;
using store::DecisionKind;
using store::DeliveryStatus;

const Instant kEntry = *ParseInstant("2026-06-01T10:00:00Z", nullptr);
const std::vector<std::string> kSteps = {"first", "second", "last"};

// An entry that walked every step a week apart; a send entry's steps all delivered.
struct Entry {
  store::SequencePlace place;
  ReportedEntry reported;

  explicit Entry(DecisionKind kind = DecisionKind::kSend) {
    place.rule = "remind";
    place.kind = kind;
    place.entered_at = kEntry;
    std::string outcome(store::DecisionKindName(kind));
    for (int i = 0; i < 3; ++i) {
      place.done.push_back({kSteps[i], kEntry + days{7 * i}, outcome});
      if (kind == DecisionKind::kSend) reported.status[kSteps[i]] = DeliveryStatus::kSent;
    }
    place.last_at = kEntry + days{14};
    place.ended_at = place.last_at;
    place.end_reason = "completed";
  }
  Entry& Buy(int day, int64_t amount) {
    reported.purchases.push_back({kEntry + days{day}, amount});
    return *this;
  }
  ReportedEntry Done() {
    reported.place = &place;
    return reported;
  }
};

// Counted long after every window closed, unless `now` says otherwise.
SequenceReport Count(std::vector<Entry*> entries, days window = days{14},
                     Instant now = kEntry + days{365}) {
  std::vector<ReportedEntry> reported;
  for (auto* e : entries) reported.push_back(e->Done());
  return ReportSequence(kSteps, reported, window, now);
}

TEST(SequenceReportTest, ThreeStepsAndOnePurchaseIsOneConversion) {
  Entry ann;
  ann.Buy(16, 3000);  // two days after the last step
  auto r = Count({&ann});
  EXPECT_EQ(r.entered, 1);
  EXPECT_EQ(r.completed, 1);
  EXPECT_EQ(r.contacted.entries, 1);
  EXPECT_EQ(r.contacted.converted, 1);
  EXPECT_EQ(r.contacted.revenue, std::vector<int64_t>{3000});
  ASSERT_EQ(r.steps.size(), 3u);
  for (const auto& s : r.steps) {
    EXPECT_EQ(s.decided, 1) << s.step;
    EXPECT_EQ(s.sent, 1) << s.step;
  }
  EXPECT_EQ(r.steps[0].converted, 0);
  EXPECT_EQ(r.steps[1].converted, 0);
  EXPECT_EQ(r.steps[2].converted, 1) << "credited to the step before the purchase";
}

TEST(SequenceReportTest, PurchasesInOverlappingWindowsCountOnceEach) {
  // Day 3 follows the first step; day 10 is within 14 days of both the first and the second.
  Entry ann;
  ann.Buy(3, 1000).Buy(10, 2000);
  auto r = Count({&ann});
  EXPECT_EQ(r.contacted.converted, 1);
  EXPECT_EQ(r.contacted.revenue, std::vector<int64_t>{3000});
  EXPECT_EQ(r.steps[0].converted, 1) << "the first converting purchase followed the first step";
  EXPECT_EQ(r.steps[1].converted, 0);
}

TEST(SequenceReportTest, APurchaseBeyondTheWindowOfTheLatestContactDoesNotCount) {
  Entry ann;
  ann.Buy(14 + 15, 1000);  // 15 days after the last step
  Entry bob;
  bob.Buy(0, 500);  // at the first step's own time: not after it
  auto r = Count({&ann, &bob});
  EXPECT_EQ(r.contacted.entries, 2);
  EXPECT_EQ(r.contacted.converted, 0);
  EXPECT_EQ(r.contacted.revenue, (std::vector<int64_t>{0, 0}));
}

TEST(SequenceReportTest, OnlyDeliveredStepsAreContacts) {
  Entry ann;
  ann.reported.status["first"] = DeliveryStatus::kFailed;
  ann.reported.status.erase("second");  // still queued: not in the log as sent
  ann.reported.status.erase("last");
  ann.Buy(3, 1000);
  Entry bob;
  bob.reported.status["first"] = DeliveryStatus::kFailed;
  bob.reported.status["second"] = DeliveryStatus::kFailed;
  bob.reported.status["last"] = DeliveryStatus::kSuppressed;
  auto r = Count({&ann, &bob});
  EXPECT_EQ(r.contacted.entries, 0) << "nothing delivered: neither contacted nor held out";
  EXPECT_EQ(r.held_out.entries, 0);
  EXPECT_EQ(r.steps[0].decided, 2);
  EXPECT_EQ(r.steps[0].sent, 0);
}

// A send that bounced later never arrived; one its recipient complained about did.
TEST(SequenceReportTest, ABouncedSendIsNoContactAndAComplainedOneIs) {
  Entry ann;
  for (const auto& step : kSteps) ann.reported.status[step] = DeliveryStatus::kBounced;
  Entry bob;
  bob.reported.status = {{"first", DeliveryStatus::kComplained}};
  bob.Buy(3, 1000);
  auto r = Count({&ann, &bob});
  EXPECT_EQ(r.contacted.entries, 1);
  EXPECT_EQ(r.contacted.converted, 1);
  EXPECT_EQ(r.steps[0].decided, 2);
  EXPECT_EQ(r.steps[0].sent, 1);
}

TEST(SequenceReportTest, HeldOutEntriesAreCountedOnTheirRecordedSteps) {
  Entry ann(DecisionKind::kHoldout);
  ann.Buy(8, 4000);
  Entry bob(DecisionKind::kControl);
  Entry cid;
  auto r = Count({&ann, &bob, &cid});
  EXPECT_EQ(r.held_out.entries, 2);
  EXPECT_EQ(r.held_out.converted, 1);
  EXPECT_EQ(r.held_out.revenue, (std::vector<int64_t>{4000, 0}));
  EXPECT_EQ(r.steps[1].converted_held_out, 1);
  EXPECT_EQ(r.steps[1].held_out, 2);
  EXPECT_EQ(r.steps[1].decided, 1) << "only the send entry's decisions";
  EXPECT_EQ(r.contacted.entries, 1);
}

TEST(SequenceReportTest, ExitsAndSkipsBelongToTheirStep) {
  Entry ann;  // bought after the first step and left
  ann.place.done.resize(1);
  ann.place.ended_at = kEntry + days{5};
  ann.place.end_reason = "purchase";
  ann.Buy(4, 1000);
  Entry bob;  // the second step skipped (where:), then unsubscribed before the last
  bob.place.done[1].outcome = "skipped: where";
  bob.place.done.resize(2);
  bob.place.ended_at = kEntry + days{10};
  bob.place.end_reason = "unsubscribed";
  Entry cid;  // left before any step
  cid.place.done.clear();
  cid.place.end_reason = "suppressed";
  Entry dan;  // in flight, and in a step no longer in the rule
  dan.place.done = {{"old", kEntry, "send"}};
  dan.reported.status = {{"old", DeliveryStatus::kSent}};
  dan.place.ended_at.reset();
  dan.place.end_reason.clear();
  auto r = Count({&ann, &bob, &cid, &dan});
  EXPECT_EQ(r.entered, 4);
  EXPECT_EQ(r.in_flight, 1);
  EXPECT_EQ(r.completed, 0);
  EXPECT_EQ(r.exits, (std::map<std::string, int64_t>{
                         {"purchase", 1}, {"suppressed", 1}, {"unsubscribed", 1}}));
  EXPECT_EQ(r.exits_before_first_step, 1);
  EXPECT_EQ(r.steps[0].exits,
            (std::map<std::string, int64_t>{{"purchase", 1}, {"unsubscribed", 1}}))
      << "bob's last decided step was the first";
  EXPECT_EQ(r.steps[0].converted, 1);
  EXPECT_EQ(r.steps[1].skipped, 1);
  EXPECT_EQ(r.steps[1].decided, 0);
  ASSERT_EQ(r.steps.size(), 4u);
  EXPECT_EQ(r.steps[3].step, "old");
  EXPECT_EQ(r.steps[3].sent, 1);
}

// An entry is counted once its window closed: `window` after its latest contact, and never while
// it is in flight (more steps may come). Until then it is counted as open, converted or not.
TEST(SequenceReportTest, EntriesWhoseWindowIsOpenAreCountedApart) {
  Entry ann, bob, cid(DecisionKind::kHoldout);
  ann.Buy(16, 3000);  // converted already, but the window after the last step runs to day 28
  cid.place.ended_at.reset();  // still in flight
  cid.place.end_reason.clear();
  auto open = Count({&ann, &bob, &cid}, days{14}, kEntry + days{27});
  EXPECT_EQ(open.contacted.window_open, 2);
  EXPECT_EQ(open.contacted.entries, 0);
  EXPECT_EQ(open.contacted.converted, 0);
  EXPECT_TRUE(open.contacted.revenue.empty());
  EXPECT_EQ(open.held_out.window_open, 1);
  EXPECT_EQ(open.steps[2].converted, 1) << "the steps count what happened so far";

  auto closed = Count({&ann, &bob, &cid}, days{14}, kEntry + days{28});
  EXPECT_EQ(closed.contacted.window_open, 0);
  EXPECT_EQ(closed.contacted.entries, 2);
  EXPECT_EQ(closed.contacted.converted, 1);
  EXPECT_EQ(closed.held_out.window_open, 1) << "in flight: more steps may come";
  EXPECT_EQ(closed.held_out.entries, 0);
}

}  // namespace
}  // namespace followup::rules
