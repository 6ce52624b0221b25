// copy-store between the two backends, on a real PostgreSQL server: every table arrives row for
// row with its ids, a new store goes on giving ids after the copied ones, and a store with data in
// it is never copied into.
#include "store/copy_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "support/pg_server.h"
#include "support/test_util.h"

namespace followup::store {
namespace {

Instant Day(const char* text) { return *ParseInstant(text, nullptr); }

// A store with something in every table: odd text in names and attributes, a referral, an
// unsubscribe, decisions of each kind, delivery outcomes, a suppression and a daemon cursor.
void Fill(Store& store) {
  auto batch = std::move(*store.BeginImport());
  CustomerRecord a;
  a.external_id = "a";
  a.email = "ada@example.com";
  a.name = "Ada\tLovelace \\ \"the first\"\nprogrammer";
  a.created_at = Day("2025-03-04T05:06:07Z");
  a.attributes_json = R"({"tier": "gold", "note": "tab\there"})";
  a.timezone = "Europe/Berlin";
  ASSERT_EQ(batch->PutCustomer(a)->outcome, PutOutcome::kInserted);
  CustomerRecord b;
  b.external_id = "b";
  b.referred_by = "a";
  b.unsubscribed_at = Day("2026-01-01");
  ASSERT_EQ(batch->PutCustomer(b)->outcome, PutOutcome::kInserted);
  std::vector<TransactionRecord> txns;
  for (int i = 0; i < 25000; ++i) {
    TransactionRecord t;
    t.external_id = "t" + std::to_string(i);
    t.customer_external_id = i % 2 ? "a" : "b";
    t.occurred_at = Day("2025-06-01") + std::chrono::seconds(i * 61);
    t.kind = i % 7 ? Kind::kPurchase : Kind::kReturn;
    t.amount = i * 3;
    if (i % 3) t.cost = i;
    t.currency = "EUR";
    if (i % 5 == 0) t.offer_code = "SPRING";
    txns.push_back(t);
  }
  ASSERT_TRUE(batch->PutTransactions(txns));
  ASSERT_TRUE(batch->Commit());
  int64_t ida = (*store.FindCustomer("a"))->id;
  std::vector<Decision> decisions;
  for (auto kind : {DecisionKind::kSend, DecisionKind::kHoldout, DecisionKind::kSend}) {
    Decision d;
    d.rule = "winback";
    d.customer_id = d.recipient_id = ida;
    d.dedupe_key = "winback:a:" + std::to_string(decisions.size());
    d.kind = kind;
    d.template_name = "winback";
    d.values_json = R"({"discount": 10})";
    d.decided_at = d.send_after = Day("2026-02-01");
    decisions.push_back(d);
  }
  ASSERT_EQ(*store.RecordDecisions(decisions), 3);
  auto claimed = store.ClaimDue(Day("2026-02-02"), 10);
  ASSERT_EQ(claimed->size(), 2u);
  DeliveryUpdate sent;
  sent.id = (*claimed)[0].id;
  sent.status = DeliveryStatus::kSent;
  sent.attempts = 1;
  sent.message_id = "<m1@example.com>";
  sent.sent_at = Day("2026-02-02");
  sent.last_reply = "250 ok";
  DeliveryUpdate bounced = sent;
  bounced.id = (*claimed)[1].id;
  bounced.status = DeliveryStatus::kFailed;
  bounced.sent_at.reset();
  bounced.last_reply = "550 no such user";
  bounced.suppress_email = "Gone@Example.com";
  ASSERT_TRUE(
      store.RecordDeliveries(std::vector<DeliveryUpdate>{sent, bounced}, Day("2026-02-02")));
  // A complaint that came back for the sent message: the send `complained`, the event kept.
  FeedbackEvent complaint;
  complaint.event_id = "postmark:1";
  complaint.source = "postmark";
  complaint.action = FeedbackAction::kComplaint;
  complaint.trusted = true;
  complaint.verp_outbox_id = sent.id;
  complaint.reason = "spam complaint";
  complaint.occurred_at = Day("2026-02-03");
  auto applied = store.RecordFeedback(std::vector<FeedbackEvent>{complaint}, FeedbackPolicy(),
                                      Day("2026-02-03"));
  ASSERT_TRUE(applied) << applied.error().ToString();
  ASSERT_EQ((*applied)[0].outcome, FeedbackOutcome::kApplied);
  ASSERT_TRUE(store.SetMeta("watch.high_water", "25000"));
  // Two places in a sequence: one in flight, waiting on the cap; one left after a purchase.
  SequencePlace waiting;
  waiting.rule = "winback";
  waiting.customer_id = ida;
  waiting.occurrence = "2026-02-01";
  waiting.arm = "offer";
  waiting.entered_at = Day("2026-02-01");
  waiting.done = {{"first", Day("2026-02-01"), "send"}};
  waiting.last_at = Day("2026-02-01");
  waiting.held_since = Day("2026-02-08");
  waiting.next_step = "second";
  waiting.next_due = Day("2026-02-08");
  SequencePlace left = waiting;
  left.customer_id = (*store.FindCustomer("b"))->id;
  left.kind = DecisionKind::kHoldout;
  left.arm.clear();
  left.done = {{"first", Day("2026-02-01"), "holdout"}};
  left.held_since.reset();
  left.next_step.clear();
  left.next_due.reset();
  left.ended_at = Day("2026-02-03");
  left.end_reason = "purchase";
  ASSERT_TRUE(store.RecordSequenceSteps({}, std::vector<SequencePlace>{waiting, left}));
}

std::vector<LogEntry> Log(Store& store) {
  std::vector<LogEntry> log;
  EXPECT_TRUE(store.ForEachLogEntry({}, [&](const LogEntry& e) { log.push_back(e); }));
  return log;
}

TEST(CopyStoreTest, SqliteToPostgresAndBackKeepsEveryRow) {
  FOLLOWUP_PG_SERVER_OR_SKIP(server);
  testing::TempDir dir;
  auto sqlite = std::move(*Store::Open("sqlite:" + dir / "from.db"));
  Fill(*sqlite);
  if (HasFatalFailure()) return;
  std::string url = server->NewDatabase();
  auto pg = Store::Open(url);
  ASSERT_TRUE(pg) << pg.error().ToString();

  std::map<std::string, int64_t> progress;
  auto there = CopyStore(*sqlite, **pg,
                         [&](std::string_view t, int64_t n) { progress[std::string(t)] = n; });
  ASSERT_TRUE(there) << there.error().ToString();
  std::map<std::string, int64_t> rows;
  for (const auto& t : *there) rows[t.table] = t.rows;
  EXPECT_EQ(rows, (std::map<std::string, int64_t>{{"customers", 2},
                                                  {"transactions", 25000},
                                                  {"suppressions", 2},
                                                  {"outbox", 3},
                                                  {"sequence_places", 2},
                                                  {"feedback_events", 1},
                                                  {"meta", 1}}));
  EXPECT_EQ(progress["transactions"], 25000);

  // What followupd reads from the copy is what it read from the original.
  Store& p = **pg;
  EXPECT_EQ(p.Counts()->transactions, 25000);
  auto a = *p.FindCustomer("a");
  auto a0 = *sqlite->FindCustomer("a");
  EXPECT_EQ(a->id, a0->id);
  EXPECT_EQ(a->name, a0->name);
  EXPECT_EQ(a->created_at, a0->created_at);
  EXPECT_EQ((*p.FindCustomer("b"))->referred_by, a->id);
  EXPECT_EQ((*p.FindCustomer("b"))->unsubscribed_at, Day("2026-01-01"));
  auto log = Log(p), log0 = Log(*sqlite);
  ASSERT_EQ(log.size(), log0.size());
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].dedupe_key, log0[i].dedupe_key);
    EXPECT_EQ(log[i].status, log0[i].status);
    EXPECT_EQ(log[i].message_id, log0[i].message_id);
    EXPECT_EQ(log[i].sent_at, log0[i].sent_at);
    EXPECT_EQ(log[i].updated_at, log0[i].updated_at);
  }
  std::map<std::string, DeliveryStatus> statuses;
  for (const auto& e : log) statuses[e.dedupe_key] = e.status;
  EXPECT_EQ(statuses["winback:a:0"], DeliveryStatus::kComplained);
  auto suppressed = *p.Suppressions();
  std::sort(suppressed.begin(), suppressed.end());
  EXPECT_EQ(suppressed, (std::vector<std::string>{"ada@example.com", "gone@example.com"}));
  EXPECT_EQ(*p.GetMeta("watch.high_water"), "25000");
  for (const auto& id : {a->id, (*p.FindCustomer("b"))->id}) {
    auto places = p.SequencePlacesOf(id);
    ASSERT_TRUE(places) << places.error().ToString();
    ASSERT_EQ(places->size(), 1u);
    EXPECT_EQ(*places, *sqlite->SequencePlacesOf(id));
  }

  // New rows get ids after the copied ones.
  auto batch = std::move(*p.BeginImport());
  CustomerRecord c;
  c.external_id = "c";
  ASSERT_EQ(batch->PutCustomer(c)->outcome, PutOutcome::kInserted);
  ASSERT_TRUE(batch->Commit());
  EXPECT_GT((*p.FindCustomer("c"))->id, (*p.FindCustomer("b"))->id);

  // And back into a new SQLite file: the same rows, the same checksums (but for the new customer).
  auto back = std::move(*Store::Open("sqlite:" + dir / "back.db"));
  auto again = CopyStore(p, *back, nullptr);
  ASSERT_TRUE(again) << again.error().ToString();
  for (size_t i = 0; i < again->size(); ++i) {
    EXPECT_EQ((*again)[i].table, (*there)[i].table);
    if ((*again)[i].table == "customers") {
      EXPECT_EQ((*again)[i].rows, 3);
      continue;
    }
    EXPECT_EQ((*again)[i].rows, (*there)[i].rows) << (*again)[i].table;
    EXPECT_EQ((*again)[i].checksum, (*there)[i].checksum) << (*again)[i].table;
  }
}

TEST(CopyStoreTest, AStoreWithDataIsNotCopiedInto) {
  testing::TempDir dir;
  auto from = std::move(*Store::Open("sqlite:" + dir / "from.db"));
  auto to = std::move(*Store::Open("sqlite:" + dir / "to.db"));
  Fill(*to);
  if (HasFatalFailure()) return;
  auto r = CopyStore(*from, *to, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message.find("not empty"), std::string::npos);
  EXPECT_EQ(to->Counts()->transactions, 25000);
}

TEST(CopyStoreTest, TheCommandCopiesAndReportsEachTable) {
  FOLLOWUP_PG_SERVER_OR_SKIP(server);
  testing::TempDir dir;
  {
    auto from = std::move(*Store::Open("sqlite:" + dir / "from.db"));
    Fill(*from);
    if (HasFatalFailure()) return;
  }
  std::string url = server->NewDatabase();
  auto r = testing::Followupd("copy-store --from sqlite:from.db --to '" + url + "'", dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("transactions       25000 rows"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verified"), std::string::npos);
  EXPECT_NE(r.err.find("copy-store: transactions: 20000 rows"), std::string::npos) << r.err;
  // A second copy into the same, now full, store is refused and changes nothing.
  auto twice =
      testing::Followupd("copy-store --from sqlite:from.db --to '" + url + "'", dir.path());
  EXPECT_EQ(twice.status, 1) << twice.err;
  EXPECT_NE(twice.err.find("not empty"), std::string::npos);
}

}  // namespace
}  // namespace followup::store
