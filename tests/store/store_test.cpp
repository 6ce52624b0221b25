// The Store contract, checked on every backend with the same assertions (tests/store/backends.h).
#include "store/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/backends.h"

namespace followup::store {
namespace {

Instant Day(const char* text) { return *ParseInstant(text, nullptr); }

CustomerRecord Customer(std::string id, std::string name = "",
                        std::optional<std::string> referrer = std::nullopt) {
  CustomerRecord c;
  c.external_id = std::move(id);
  c.name = std::move(name);
  c.referred_by = std::move(referrer);
  return c;
}

TransactionRecord Txn(std::string id, std::string customer, const char* at, int64_t amount,
                      Kind kind = Kind::kPurchase) {
  TransactionRecord t;
  t.external_id = std::move(id);
  t.customer_external_id = std::move(customer);
  t.occurred_at = Day(at);
  t.kind = kind;
  t.amount = amount;
  t.currency = "EUR";
  return t;
}

Decision MakeDecision(std::string key, int64_t customer, const char* day,
                      DecisionKind kind = DecisionKind::kSend) {
  Decision d;
  d.dedupe_key = std::move(key);
  d.rule = "r";
  d.customer_id = d.recipient_id = customer;
  d.kind = kind;
  d.template_name = "t";
  d.values_json = "{}";
  d.decided_at = d.send_after = Day(day);
  return d;
}

using StoreTest = BackendTest;

TEST_P(StoreTest, MigratesOnceAndReopens) {
  int version = 0;
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    version = store->SchemaVersion();
    EXPECT_GT(version, 0);
    auto batch = std::move(*store->BeginImport());
    ASSERT_EQ(batch->PutCustomer(Customer("a", "Ada"))->outcome, PutOutcome::kInserted);
    ASSERT_TRUE(batch->Commit());
  }
  // Reopening applies nothing twice and finds what was committed.
  auto again = OpenStore();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->SchemaVersion(), version);
  EXPECT_EQ(again->Counts()->customers, 1);
  EXPECT_EQ(*again->GetMeta("schema_version"), std::to_string(version));
}

TEST_P(StoreTest, BatchCommitsOrRollsBackWhole) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  {
    auto batch = std::move(*store->BeginImport());
    ASSERT_EQ(batch->PutCustomer(Customer("a"))->outcome, PutOutcome::kInserted);
    // Dropped without Commit: rolled back.
  }
  EXPECT_EQ(store->Counts()->customers, 0);
  auto batch = std::move(*store->BeginImport());
  ASSERT_EQ(batch->PutCustomer(Customer("a", "Ada"))->outcome, PutOutcome::kInserted);
  auto b = batch->PutCustomer(Customer("b", "", "a"));
  ASSERT_EQ(b->outcome, PutOutcome::kInserted);
  EXPECT_EQ(batch->PutCustomer(Customer("c", "", "zz"))->outcome, PutOutcome::kUnknownReferrer);
  EXPECT_EQ(batch->PutCustomer(Customer("a", "Ada"))->outcome, PutOutcome::kUnchanged);
  auto renamed = batch->PutCustomer(Customer("a", "Bob"));
  EXPECT_EQ(renamed->outcome, PutOutcome::kUpdated);
  EXPECT_EQ(renamed->detail, "name");
  auto conflict = batch->PutCustomer(Customer("b", "", "b"));
  EXPECT_EQ(conflict->outcome, PutOutcome::kConflict) << "a credited referral is not moved";
  TransactionRecord t;
  t.external_id = "t1";
  t.customer_external_id = "b";
  t.occurred_at = Day("2026-01-02");
  t.amount = 1999;
  t.currency = "EUR";
  EXPECT_EQ(batch->PutTransaction(t)->outcome, PutOutcome::kInserted);
  EXPECT_EQ(batch->PutTransaction(t)->outcome, PutOutcome::kUnchanged);
  t.customer_external_id = "nobody";
  t.external_id = "t2";
  EXPECT_EQ(batch->PutTransaction(t)->outcome, PutOutcome::kUnknownCustomer);
  ASSERT_TRUE(batch->Commit());

  auto counts = store->Counts();
  EXPECT_EQ(counts->customers, 2);
  EXPECT_EQ(counts->transactions, 1);
  auto found = store->FindCustomer("b");
  ASSERT_TRUE(found && *found);
  auto referrer = store->FindCustomer("a");
  EXPECT_EQ((*found)->referred_by, (*referrer)->id);
  std::vector<TransactionRow> rows;
  ASSERT_TRUE(store->ForEachTransaction(Day("2026-12-31"), [&](auto& r) { rows.push_back(r); }));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].amount, 1999);
  EXPECT_EQ(rows[0].customer_id, (*found)->id);
  rows.clear();
  ASSERT_TRUE(store->ForEachTransaction(Day("2026-01-01"), [&](auto& r) { rows.push_back(r); }));
  EXPECT_TRUE(rows.empty()) << "transactions after --at are not seen";
}

TEST_P(StoreTest, FindsManyCustomersByIdInOneCallInTheOrderAsked) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto batch = std::move(*store->BeginImport());
  CustomerRecord ada = Customer("a", "Ada");
  ada.email = "ada@example.com";
  ASSERT_EQ(batch->PutCustomer(ada)->outcome, PutOutcome::kInserted);
  ASSERT_EQ(batch->PutCustomer(Customer("b", "Bo", "a"))->outcome, PutOutcome::kInserted);
  ASSERT_TRUE(batch->Commit());
  int64_t a = (*store->FindCustomer("a"))->id;
  int64_t b = (*store->FindCustomer("b"))->id;
  int64_t missing = std::max(a, b) + 100;

  EXPECT_TRUE(store->FindCustomersById(std::vector<int64_t>{})->empty());
  // Asked twice in a row: the statement is reused.
  for (int round = 0; round < 2; ++round) {
    std::vector<int64_t> ids = {b, missing, a, b};
    auto found = store->FindCustomersById(ids);
    ASSERT_TRUE(found) << found.error().ToString();
    ASSERT_EQ(found->size(), 4u);
    ASSERT_TRUE((*found)[0] && (*found)[2] && (*found)[3]);
    EXPECT_FALSE((*found)[1]);
    EXPECT_EQ((*found)[0]->external_id, "b");
    EXPECT_EQ((*found)[0]->referred_by, a);
    EXPECT_EQ((*found)[2]->external_id, "a");
    EXPECT_EQ((*found)[2]->email, "ada@example.com");
    EXPECT_EQ((*found)[2]->name, "Ada");
    EXPECT_EQ((*found)[3]->external_id, "b");
    // The same rows as asked one by one.
    for (size_t i : {0u, 2u}) {
      auto one = store->FindCustomerById(ids[i]);
      EXPECT_EQ((*one)->external_id, (*found)[i]->external_id);
      EXPECT_EQ((*one)->email, (*found)[i]->email);
      EXPECT_EQ((*one)->created_at, (*found)[i]->created_at);
    }
  }
}

TEST_P(StoreTest, ClaimsTheOldestDueSendsOnceInDecisionOrder) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto batch = std::move(*store->BeginImport());
  ASSERT_EQ(batch->PutCustomer(Customer("a", "Ada"))->outcome, PutOutcome::kInserted);
  ASSERT_TRUE(batch->Commit());
  int64_t a = (*store->FindCustomer("a"))->id;
  // Recorded out of decision order; "later" is not due yet, "held" is not a send.
  std::vector<Decision> decisions;
  for (auto [key, day] : std::vector<std::pair<std::string, const char*>>{{"d3", "2026-01-03"},
                                                                          {"d1", "2026-01-01"},
                                                                          {"later", "2026-02-01"},
                                                                          {"d2", "2026-01-02"},
                                                                          {"d4", "2026-01-04"},
                                                                          {"held", "2026-01-01"}}) {
    Decision d;
    d.dedupe_key = key;
    d.rule = "r";
    d.customer_id = d.recipient_id = a;
    d.kind = key == "held" ? DecisionKind::kHoldout : DecisionKind::kSend;
    d.template_name = "t";
    d.values_json = "{}";
    d.decided_at = d.send_after = Day(day);
    decisions.push_back(d);
  }
  ASSERT_EQ(*store->RecordDecisions(decisions), 6);
  const Instant now = Day("2026-01-10");
  // Peeking shows what a claim would take, and claims nothing.
  auto peeked = store->PeekDue(now, 2);
  ASSERT_TRUE(peeked) << peeked.error().ToString();
  ASSERT_EQ(peeked->size(), 2u);
  EXPECT_EQ((*peeked)[0].dedupe_key, "d1");
  EXPECT_EQ((*peeked)[1].dedupe_key, "d2");
  EXPECT_EQ(store->PeekDue(now, 10)->size(), 4u);
  auto first = store->ClaimDue(now, 2);
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].dedupe_key, "d1");
  EXPECT_EQ((*first)[1].dedupe_key, "d2");
  EXPECT_EQ((*first)[1].decided_at, Day("2026-01-02"));
  EXPECT_EQ((*first)[1].attempts, 0);
  EXPECT_TRUE((*first)[1].message_id.empty());
  EXPECT_EQ(store->PeekDue(now, 10)->size(), 2u) << "claimed sends are not due";
  // Claiming by id takes only what is still due: d1 is claimed already, "later" is not due.
  std::vector<int64_t> ids;
  auto all_due = store->PeekDue(Day("2026-12-31"), 10);
  ASSERT_TRUE(all_due);
  for (const auto& item : *all_due) ids.push_back(item.id);
  ASSERT_EQ(ids.size(), 3u);  // d3, d4, later
  ids.push_back((*first)[0].id);
  auto by_id = store->ClaimIds(ids, now);
  ASSERT_TRUE(by_id) << by_id.error().ToString();
  std::sort(by_id->begin(), by_id->end());
  std::vector<int64_t> expected = {ids[0], ids[1]};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*by_id, expected);
  EXPECT_TRUE(store->ClaimIds(ids, now)->empty()) << "claimed sends are not claimed again";
  EXPECT_TRUE(store->ClaimIds(std::vector<int64_t>{}, now)->empty());
  EXPECT_TRUE(store->ClaimDue(now, 10)->empty());
  std::map<std::string, DeliveryStatus> status;
  ASSERT_TRUE(
      store->ForEachLogEntry({}, [&](const LogEntry& e) { status[e.dedupe_key] = e.status; }));
  EXPECT_EQ(status["d1"], DeliveryStatus::kSending);
  EXPECT_EQ(status["d4"], DeliveryStatus::kSending);
  EXPECT_EQ(status["later"], DeliveryStatus::kQueued);
  EXPECT_EQ(status["held"], DeliveryStatus::kHeldOut);
  // A deferred send is due again once its next attempt is.
  DeliveryUpdate u;
  u.id = (*first)[0].id;
  u.status = DeliveryStatus::kDeferred;
  u.attempts = 1;
  u.next_attempt_at = Day("2026-01-12");
  ASSERT_TRUE(store->RecordDeliveries(std::vector<DeliveryUpdate>{u}, now));
  EXPECT_TRUE(store->ClaimDue(now, 10)->empty());
  auto retry = store->ClaimDue(Day("2026-01-12"), 10);
  ASSERT_EQ(retry->size(), 1u);
  EXPECT_EQ((*retry)[0].dedupe_key, "d1");
  EXPECT_EQ((*retry)[0].attempts, 1);
}

TEST_P(StoreTest, CustomersKeepEveryFieldAndUnsubscribeKeepsTheEarliest) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto batch = std::move(*store->BeginImport());
  CustomerRecord a = Customer("a", "Ada Lovelace");
  a.email = "ada@example.com";
  a.created_at = Day("2025-03-04T05:06:07Z");
  a.timezone = "Europe/Berlin";
  a.attributes_json = R"({"tier": "gold", "visits": "3"})";
  ASSERT_EQ(batch->PutCustomer(a)->outcome, PutOutcome::kInserted);
  ASSERT_EQ(batch->PutCustomer(Customer("b", "", "a"))->outcome, PutOutcome::kInserted);
  // The same attributes, byte for byte, are unchanged; other ones are taken, and a later
  // created_at is not (the earlier is kept).
  EXPECT_EQ(batch->PutCustomer(a)->outcome, PutOutcome::kUnchanged);
  CustomerRecord changed = a;
  changed.attributes_json = R"({"tier":"gold","visits":"3"})";
  changed.created_at = Day("2025-03-04T05:06:08Z");
  auto updated = batch->PutCustomer(changed);
  EXPECT_EQ(updated->outcome, PutOutcome::kUpdated);
  EXPECT_EQ(updated->detail, "attributes");
  EXPECT_EQ(batch->PutCustomer(changed)->outcome, PutOutcome::kUnchanged);
  ASSERT_TRUE(batch->Commit());

  auto found = store->FindCustomer("a");
  ASSERT_TRUE(found && *found);
  const CustomerRow& row = **found;
  EXPECT_EQ(row.email, "ada@example.com");
  EXPECT_EQ(row.name, "Ada Lovelace");
  EXPECT_EQ(row.created_at, Day("2025-03-04T05:06:07Z"));
  EXPECT_EQ(row.timezone, "Europe/Berlin");
  EXPECT_FALSE(row.unsubscribed_at);
  EXPECT_FALSE(row.referred_by);
  EXPECT_FALSE((*store->FindCustomer("nobody")).has_value());

  EXPECT_TRUE(*store->Unsubscribe("a", Day("2026-02-01T10:00:00Z")));
  EXPECT_TRUE(*store->Unsubscribe("a", Day("2026-03-01")));
  EXPECT_EQ((*store->FindCustomer("a"))->unsubscribed_at, Day("2026-02-01T10:00:00Z"))
      << "the earliest unsubscribe is kept";
  EXPECT_FALSE(*store->Unsubscribe("nobody", Day("2026-03-01")));

  std::vector<std::string> order;
  ASSERT_TRUE(store->ForEachCustomer([&](const CustomerRow& c) {
    order.push_back(c.external_id);
    if (c.external_id == "b") {
      EXPECT_EQ(c.referred_by, row.id);
    }
    if (c.external_id == "a") {
      EXPECT_EQ(c.unsubscribed_at, Day("2026-02-01T10:00:00Z"));
    }
  }));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
}

TEST_P(StoreTest, MetaValuesAreSetAndReplaced) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->GetMeta("cursor"), "");
  ASSERT_TRUE(store->SetMeta("cursor", "41"));
  ASSERT_TRUE(store->SetMeta("cursor", "42"));
  EXPECT_EQ(*store->GetMeta("cursor"), "42");
  // Another connection sees it.
  auto other = store->OpenAnother();
  ASSERT_TRUE(other) << other.error().ToString();
  EXPECT_EQ(*(*other)->GetMeta("cursor"), "42");
}

TEST_P(StoreTest, NewTransactionsAreReadAfterTheHighWaterMark) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->MaxTransactionId(), 0);
  auto batch = std::move(*store->BeginImport());
  ASSERT_EQ(batch->PutCustomer(Customer("a"))->outcome, PutOutcome::kInserted);
  ASSERT_EQ(batch->PutCustomer(Customer("b"))->outcome, PutOutcome::kInserted);
  std::vector<TransactionRecord> first = {
      Txn("t1", "a", "2026-01-02T10:00:00Z", 500), Txn("t2", "a", "2026-01-01T09:00:00Z", 700),
      Txn("t3", "b", "2026-01-03T00:00:00Z", 300, Kind::kReturn)};
  first[0].cost = 200;
  first[1].offer_code = "WELCOME10";
  auto puts = batch->PutTransactions(first);
  ASSERT_TRUE(puts) << puts.error().ToString();
  ASSERT_TRUE(batch->Commit());
  int64_t mark = *store->MaxTransactionId();
  EXPECT_GT(mark, 0);

  std::vector<RecentTransaction> seen;
  ASSERT_TRUE(
      store->ForEachTransactionAfter(0, [&](const RecentTransaction& t) { seen.push_back(t); }));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].external_id, "t1");
  EXPECT_FALSE(seen[0].first_purchase) << "t2 came earlier";
  EXPECT_TRUE(seen[1].first_purchase);
  EXPECT_EQ(seen[2].kind, Kind::kReturn);
  EXPECT_FALSE(seen[2].first_purchase);
  EXPECT_EQ(seen[1].occurred_at, Day("2026-01-01T09:00:00Z"));

  auto more = std::move(*store->BeginImport());
  ASSERT_TRUE(more->PutTransaction(Txn("t4", "b", "2026-01-04T00:00:00Z", 900)));
  ASSERT_TRUE(more->Commit());
  seen.clear();
  ASSERT_TRUE(
      store->ForEachTransactionAfter(mark, [&](const RecentTransaction& t) { seen.push_back(t); }));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].external_id, "t4");
  EXPECT_TRUE(seen[0].first_purchase);
  EXPECT_GT(*store->MaxTransactionId(), mark);

  // By time: (from, to], ordered by time.
  seen.clear();
  ASSERT_TRUE(
      store->ForEachRecentTransaction(Day("2026-01-01T09:00:00Z"), Day("2026-01-03"),
                                      [&](const RecentTransaction& t) { seen.push_back(t); }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].external_id, "t1");
  EXPECT_EQ(seen[1].external_id, "t3");

  // One customer's, and a range of customers', up to a time.
  int64_t a = (*store->FindCustomer("a"))->id, b = (*store->FindCustomer("b"))->id;
  std::vector<TransactionRow> rows;
  ASSERT_TRUE(
      store->ForEachTransactionOf(a, Day("2026-12-31"), [&](auto& t) { rows.push_back(t); }));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].amount, 700);
  EXPECT_EQ(rows[1].cost, 200);
  EXPECT_FALSE(rows[0].cost);
  rows.clear();
  ASSERT_TRUE(store->ForEachTransactionOfCustomers(Day("2026-01-03"), b, b + 1,
                                                   [&](auto& t) { rows.push_back(t); }));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].customer_id, b);
  EXPECT_EQ(rows[0].kind, Kind::kReturn);
  rows.clear();
  ASSERT_TRUE(store->ForEachTransaction(Day("2026-12-31"), [&](auto& t) { rows.push_back(t); }));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].customer_id, a);
  EXPECT_EQ(rows[0].occurred_at, Day("2026-01-01T09:00:00Z")) << "by customer, then time";
  EXPECT_EQ(rows[3].amount, 900);
}

TEST_P(StoreTest, DecisionsAreRecordedOnceAndTheLogAndReportReadThem) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto batch = std::move(*store->BeginImport());
  CustomerRecord a = Customer("a", "Ada");
  a.email = "ada@example.com";
  ASSERT_EQ(batch->PutCustomer(a)->outcome, PutOutcome::kInserted);
  ASSERT_EQ(batch->PutCustomer(Customer("b", "Bo", "a"))->outcome, PutOutcome::kInserted);
  auto t = Txn("o1", "a", "2026-01-05", 4990);
  t.offer_code = "SPRING10";
  ASSERT_TRUE(batch->PutTransaction(t));
  ASSERT_TRUE(batch->PutTransaction(Txn("o2", "a", "2026-03-01", 1000)));
  ASSERT_TRUE(batch->Commit());
  int64_t ida = (*store->FindCustomer("a"))->id, idb = (*store->FindCustomer("b"))->id;

  auto send = MakeDecision("r:a:1", ida, "2026-01-01");
  send.arm = "b";
  send.values_json = R"({"offer": "10% off"})";
  send.send_after = Day("2026-01-01T08:00:00Z");
  auto held = MakeDecision("r:b:1", idb, "2026-01-02", DecisionKind::kHoldout);
  held.recipient_id = ida;
  std::vector<Decision> decisions = {send, held, send};  // one repeated in the batch
  EXPECT_EQ(*store->RecordDecisions(decisions), 2);
  EXPECT_EQ(*store->RecordDecisions(std::vector<Decision>{send}), 0) << "recorded once";

  std::vector<Decision> since;
  ASSERT_TRUE(store->ForEachDecisionSince(Day("2025-12-31"),
                                          [&](const Decision& d) { since.push_back(d); }));
  ASSERT_EQ(since.size(), 2u);
  EXPECT_EQ(since[0].dedupe_key, "r:a:1");
  EXPECT_EQ(since[0].arm, "b");
  EXPECT_EQ(since[0].values_json, R"({"offer": "10% off"})");
  EXPECT_EQ(since[0].send_after, Day("2026-01-01T08:00:00Z"));
  EXPECT_EQ(since[1].kind, DecisionKind::kHoldout);
  EXPECT_EQ(since[1].recipient_id, ida);
  since.clear();
  ASSERT_TRUE(store->ForEachDecisionSince(Day("2026-01-01"),
                                          [&](const Decision& d) { since.push_back(d); }));
  EXPECT_EQ(since.size(), 1u) << "strictly after";

  auto counts = *store->OutboxStatusCounts();
  EXPECT_EQ(counts[DeliveryStatus::kQueued], 1);
  EXPECT_EQ(counts[DeliveryStatus::kHeldOut], 1);

  std::vector<LogEntry> log;
  auto read = [&](const LogFilter& f) {
    log.clear();
    EXPECT_TRUE(store->ForEachLogEntry(f, [&](const LogEntry& e) { log.push_back(e); }));
    return log.size();
  };
  EXPECT_EQ(read({}), 2u);
  EXPECT_EQ(log[0].dedupe_key, "r:b:1") << "newest first";
  EXPECT_EQ(log[0].customer, "b");
  EXPECT_EQ(log[0].recipient, "a");
  EXPECT_EQ(log[0].recipient_email, "ada@example.com");
  EXPECT_EQ(log[1].status, DeliveryStatus::kQueued);
  EXPECT_EQ(log[1].template_name, "t");
  EXPECT_EQ(log[1].updated_at, Day("2026-01-01"));
  LogFilter by_status;
  by_status.status = DeliveryStatus::kHeldOut;
  EXPECT_EQ(read(by_status), 1u);
  LogFilter by_customer;
  by_customer.customer = "b";
  EXPECT_EQ(read(by_customer), 1u);
  by_customer.customer = "a";
  EXPECT_EQ(read(by_customer), 2u) << "as customer or recipient";
  LogFilter limited;
  limited.limit = 1;
  limited.rule = "r";
  EXPECT_EQ(read(limited), 1u);
  LogFilter later;
  later.since = Day("2026-01-01T12:00:00Z");
  EXPECT_EQ(read(later), 1u);

  // What the recipients bought in the window after each decision.
  std::vector<DecisionOutcome> outcomes;
  ASSERT_TRUE(store->ForEachDecisionOutcome("r", std::chrono::hours(24 * 30), "",
                                            [&](const auto& o) { outcomes.push_back(o); }));
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].arm, "b");
  EXPECT_EQ(outcomes[0].purchases, 1);
  EXPECT_EQ(outcomes[0].revenue, 4990);
  EXPECT_EQ(outcomes[0].decided_at, Day("2026-01-01")) << "where the window starts";
  EXPECT_EQ(outcomes[1].status, DeliveryStatus::kHeldOut);
  EXPECT_EQ(outcomes[1].decided_at, Day("2026-01-02"));
  outcomes.clear();
  ASSERT_TRUE(store->ForEachDecisionOutcome("r", std::chrono::hours(24 * 90), "NOPE",
                                            [&](const auto& o) { outcomes.push_back(o); }));
  EXPECT_EQ(outcomes[0].purchases, 0) << "only purchases with the offer code";
}

// Paging the send log by its last entry (keyset): every entry once, in order, ties on the
// decision time broken by id; a date range bounds it at both ends.
TEST_P(StoreTest, TheLogPagesByItsLastEntryAndTakesADateRange) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto batch = std::move(*store->BeginImport());
  ASSERT_EQ(batch->PutCustomer(Customer("a", "Ada"))->outcome, PutOutcome::kInserted);
  ASSERT_TRUE(batch->Commit());
  int64_t ida = (*store->FindCustomer("a"))->id;
  std::vector<Decision> decisions;
  const char* days[] = {"2026-01-01", "2026-01-02", "2026-01-02", "2026-01-02",
                        "2026-01-03", "2026-01-04", "2026-01-05"};
  for (int i = 0; i < 7; ++i)
    decisions.push_back(MakeDecision("r:a:" + std::to_string(i), ida, days[i]));
  ASSERT_EQ(*store->RecordDecisions(decisions), 7);

  std::vector<std::string> all;
  ASSERT_TRUE(store->ForEachLogEntry({}, [&](const LogEntry& e) { all.push_back(e.dedupe_key); }));
  ASSERT_EQ(all.size(), 7u);
  std::vector<std::string> paged;
  LogFilter page;
  page.limit = 2;
  for (int pages = 0; pages < 10; ++pages) {
    std::vector<LogEntry> got;
    ASSERT_TRUE(store->ForEachLogEntry(page, [&](const LogEntry& e) { got.push_back(e); }));
    if (got.empty()) break;
    for (const auto& e : got) paged.push_back(e.dedupe_key);
    page.after = std::pair{got.back().decided_at, got.back().id};
  }
  EXPECT_EQ(paged, all) << "each entry once, in the log's order, across the tie on 01-02";

  LogFilter range;
  range.since = Day("2026-01-01T12:00:00Z");
  range.until = Day("2026-01-03");
  std::vector<std::string> in_range;
  ASSERT_TRUE(
      store->ForEachLogEntry(range, [&](const LogEntry& e) { in_range.push_back(e.dedupe_key); }));
  EXPECT_EQ(in_range, (std::vector<std::string>{"r:a:4", "r:a:3", "r:a:2", "r:a:1"}));
}

TEST_P(StoreTest, AKnownCustomerImportedAgainTakesTheChangedFieldsAndKeepsHistory) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  {
    auto batch = std::move(*store->BeginImport());
    CustomerRecord a = Customer("a", "Ada");
    a.email = "ada@example.com";
    a.unsubscribed_at = Day("2026-02-01");
    ASSERT_EQ(batch->PutCustomer(a)->outcome, PutOutcome::kInserted);
    ASSERT_EQ(batch->PutCustomer(Customer("r"))->outcome, PutOutcome::kInserted);
    ASSERT_EQ(batch->PutCustomer(Customer("s"))->outcome, PutOutcome::kInserted);
    ASSERT_TRUE(batch->Commit());
  }
  auto batch = std::move(*store->BeginImport());
  // A new address and a referrer; no unsubscribed_at in the row: the unsubscribe stays.
  CustomerRecord moved = Customer("a", "", "r");
  moved.email = "ada@new.example";
  auto put = batch->PutCustomer(moved);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->outcome, PutOutcome::kUpdated);
  EXPECT_EQ(put->detail, "email, referred_by");
  // Another referrer once one is credited: refused, nothing changed.
  auto other = batch->PutCustomer(Customer("a", "", "s"));
  EXPECT_EQ(other->outcome, PutOutcome::kConflict);
  EXPECT_EQ(other->detail, "referred_by (a referral already credited is not moved)");
  ASSERT_TRUE(batch->Commit());

  auto row = **store->FindCustomer("a");
  EXPECT_EQ(row.email, "ada@new.example");
  EXPECT_EQ(row.name, "Ada") << "an empty cell never clears a stored value";
  EXPECT_EQ(row.unsubscribed_at, Day("2026-02-01")) << "an import never undoes an unsubscribe";
  EXPECT_EQ(row.referred_by, (*store->FindCustomer("r"))->id);
}

TEST_P(StoreTest, TheOperatorHoldsCancelsReleasesAndRequeuesSends) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto batch = std::move(*store->BeginImport());
  ASSERT_EQ(batch->PutCustomer(Customer("a"))->outcome, PutOutcome::kInserted);
  ASSERT_EQ(batch->PutCustomer(Customer("b"))->outcome, PutOutcome::kInserted);
  ASSERT_TRUE(batch->Commit());
  int64_t a = (*store->FindCustomer("a"))->id, b = (*store->FindCustomer("b"))->id;
  Decision other = MakeDecision("k3", b, "2026-01-03");
  other.rule = "gone";
  ASSERT_EQ(*store->RecordDecisions(std::vector<Decision>{
                MakeDecision("k1", a, "2026-01-01"), MakeDecision("k2", b, "2026-01-02"), other}),
            3);
  const Instant now = Day("2026-01-10");
  auto status_of = [&](const std::string& key) {
    std::string out;
    EXPECT_TRUE(store->ForEachLogEntry({}, [&](const LogEntry& e) {
      if (e.dedupe_key == key) out = std::string(DeliveryStatusName(e.status)) + " " + e.last_reply;
    }));
    return out;
  };
  LogFilter of_a;
  of_a.customer = "a";
  EXPECT_EQ(*store->ChangeQueue(QueueAction::kHold, of_a, "", now), 1);
  EXPECT_EQ(*store->ChangeQueue(QueueAction::kHold, of_a, "", now), 0) << "held already";
  auto due = store->PeekDue(now, 10);
  ASSERT_EQ(due->size(), 2u) << "a held send is not due";
  LogFilter in_queue;
  in_queue.in_queue = true;
  in_queue.rule = "r";
  int listed = 0;
  ASSERT_TRUE(store->ForEachLogEntry(in_queue, [&](const LogEntry&) { ++listed; }));
  EXPECT_EQ(listed, 2);

  LogFilter by_id;
  by_id.ids = {due->front().id};
  EXPECT_EQ(*store->ChangeQueue(QueueAction::kCancel, by_id, "cancelled: wrong", now), 1);
  EXPECT_EQ(status_of(due->front().dedupe_key), "cancelled cancelled: wrong");
  EXPECT_EQ(*store->ChangeQueue(QueueAction::kRelease, of_a, "", now), 1);
  EXPECT_EQ(status_of("k1"), "queued ");

  auto cancelled = store->CancelSendsOfRules(std::vector<std::string>{"gone"}, "rule gone", now);
  ASSERT_TRUE(cancelled) << cancelled.error().ToString();
  EXPECT_EQ(*cancelled, (std::map<std::string, int64_t>{{"gone", 1}}));
  EXPECT_EQ(status_of("k3"), "cancelled rule gone");

  LogFilter cancelled_ones;
  cancelled_ones.status = DeliveryStatus::kCancelled;
  EXPECT_EQ(*store->ChangeQueue(QueueAction::kRequeue, cancelled_ones, "", now), 2);
  EXPECT_EQ(store->PeekDue(now, 10)->size(), 3u);
}

TEST_P(StoreTest, TheOperatorSuppressesLiftsAndResubscribes) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto batch = std::move(*store->BeginImport());
  ASSERT_EQ(batch->PutCustomer(Customer("a"))->outcome, PutOutcome::kInserted);
  ASSERT_TRUE(batch->Commit());

  EXPECT_TRUE(*store->AddSuppression("Zed@Example.com", "asked by phone", Day("2026-02-01")));
  EXPECT_TRUE(*store->AddSuppression("amy@example.com", "550 no such user", Day("2026-02-02")));
  EXPECT_FALSE(*store->AddSuppression("zed@example.com", "again", Day("2026-02-03")))
      << "already suppressed: the first reason and time are kept";
  auto list = store->ListSuppressions();
  ASSERT_TRUE(list) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].email, "amy@example.com");
  EXPECT_EQ((*list)[1].email, "zed@example.com");
  EXPECT_EQ((*list)[1].reason, "asked by phone");
  EXPECT_EQ((*list)[1].created_at, Day("2026-02-01"));
  auto all = *store->Suppressions();
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"amy@example.com", "zed@example.com"}));

  EXPECT_TRUE(*store->RemoveSuppression("ZED@example.com"));
  EXPECT_FALSE(*store->RemoveSuppression("zed@example.com"));
  EXPECT_EQ(*store->Suppressions(), std::vector<std::string>{"amy@example.com"});

  ASSERT_TRUE(*store->Unsubscribe("a", Day("2026-02-01")));
  EXPECT_TRUE(*store->Resubscribe("a"));
  EXPECT_FALSE((*store->FindCustomer("a"))->unsubscribed_at);
  EXPECT_TRUE(*store->Resubscribe("a")) << "idempotent for a customer who is there";
  EXPECT_FALSE(*store->Resubscribe("nobody"));
}

TEST_P(StoreTest, DeliveriesRecordOutcomesMessageIdsAndSuppressions) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto batch = std::move(*store->BeginImport());
  ASSERT_EQ(batch->PutCustomer(Customer("a"))->outcome, PutOutcome::kInserted);
  ASSERT_TRUE(batch->Commit());
  int64_t a = (*store->FindCustomer("a"))->id;
  ASSERT_EQ(*store->RecordDecisions(std::vector<Decision>{MakeDecision("k1", a, "2026-01-01"),
                                                          MakeDecision("k2", a, "2026-01-02"),
                                                          MakeDecision("k3", a, "2026-01-03")}),
            3);
  const Instant now = Day("2026-01-10T12:00:00Z");
  auto claimed = store->ClaimDue(now, 10);
  ASSERT_TRUE(claimed) << claimed.error().ToString();
  ASSERT_EQ(claimed->size(), 3u);
  // A Message-ID is set once: a second one for the same send is ignored.
  ASSERT_TRUE(store->SetMessageIds(std::vector<std::pair<int64_t, std::string>>{
      {(*claimed)[0].id, "<m1@x>"}, {(*claimed)[1].id, "<m2@x>"}}));
  ASSERT_TRUE(store->SetMessageIds(
      std::vector<std::pair<int64_t, std::string>>{{(*claimed)[0].id, "<other@x>"}}));

  DeliveryUpdate sent;
  sent.id = (*claimed)[0].id;
  sent.status = DeliveryStatus::kSent;
  sent.attempts = 1;
  sent.last_reply = "250 ok";
  sent.provider_message_id = "p-1";
  sent.sent_at = now;
  DeliveryUpdate bounced;
  bounced.id = (*claimed)[1].id;
  bounced.status = DeliveryStatus::kFailed;
  bounced.attempts = 1;
  bounced.last_reply = "550 no such user";
  bounced.suppress_email = "Ada@Example.COM";
  ASSERT_TRUE(store->RecordDeliveries(std::vector<DeliveryUpdate>{sent, bounced}, now));
  EXPECT_EQ(*store->Suppressions(), std::vector<std::string>{"ada@example.com"});

  // The third was in flight at a crash: put back, and claimed again as the same send.
  EXPECT_EQ(*store->RequeueInFlight(), 1);
  EXPECT_EQ(*store->RequeueInFlight(), 0);
  auto again = store->ClaimDue(now, 10);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].dedupe_key, "k3");

  std::map<std::string, LogEntry> log;
  ASSERT_TRUE(store->ForEachLogEntry({}, [&](const LogEntry& e) { log[e.dedupe_key] = e; }));
  EXPECT_EQ(log["k1"].status, DeliveryStatus::kSent);
  EXPECT_EQ(log["k1"].message_id, "<m1@x>");
  EXPECT_EQ(log["k1"].provider_message_id, "p-1");
  EXPECT_EQ(log["k1"].sent_at, now);
  EXPECT_EQ(log["k1"].updated_at, now);
  EXPECT_EQ(log["k1"].last_reply, "250 ok");
  EXPECT_EQ(log["k2"].status, DeliveryStatus::kFailed);
  EXPECT_EQ(log["k2"].message_id, "<m2@x>");
  EXPECT_FALSE(log["k2"].sent_at);
  EXPECT_EQ(log["k3"].status, DeliveryStatus::kSending);
  auto counts = *store->OutboxStatusCounts();
  EXPECT_EQ(counts[DeliveryStatus::kSent], 1);
  EXPECT_EQ(counts[DeliveryStatus::kFailed], 1);
  EXPECT_EQ(counts[DeliveryStatus::kSending], 1);
}

// One owner of delivery per store: a second connection (as another process would) is told who
// holds it, and takes it once the holder is closed.
TEST_P(StoreTest, DeliveryHasOneOwnerUntilItIsClosed) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto first = store->OwnDelivery(true);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_TRUE(first->ours);
  EXPECT_TRUE(store->OwnDelivery(true)->ours);  // asked again: still ours
  auto other = store->OpenAnother();
  ASSERT_TRUE(other) << other.error().ToString();
  auto second = (*other)->OwnDelivery(false);
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_FALSE(second->ours);
  EXPECT_EQ(second->pid, static_cast<int64_t>(getpid()));
  EXPECT_TRUE(second->one_pass);
  store.reset();
  // PostgreSQL lets go when the server has ended the closed session: a moment later at most.
  auto third = (*other)->OwnDelivery(false);
  for (int i = 0; i < 100 && third && !third->ours; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    third = (*other)->OwnDelivery(false);
  }
  ASSERT_TRUE(third) << third.error().ToString();
  EXPECT_TRUE(third->ours);
}

FeedbackEvent Feedback(std::string id, FeedbackAction action, std::string recipient, const char* at,
                       bool trusted = true) {
  FeedbackEvent e;
  e.event_id = std::move(id);
  e.source = trusted ? "postmark" : "dsn";
  e.action = action;
  e.recipient = std::move(recipient);
  e.trusted = trusted;
  e.status = action == FeedbackAction::kSoftBounce ? "4.2.2" : "5.1.1";
  e.reason = "550 5.1.1 user unknown";
  e.occurred_at = Day(at);
  return e;
}

// Bounces and complaints after the send (docs/feedback.md): matched to their sends by VERP id,
// Message-ID or the provider's id; each event once; a mail report without a match changes nothing.
TEST_P(StoreTest, FeedbackSuppressesUnsubscribesAndMarksTheSendOncePerEvent) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto batch = std::move(*store->BeginImport());
  for (auto [id, email] : {std::pair{"a", "Ada@Example.com"}, std::pair{"b", "bob@example.com"},
                           std::pair{"c", "cy@example.com"}}) {
    CustomerRecord c = Customer(id);
    c.email = email;
    ASSERT_EQ(batch->PutCustomer(c)->outcome, PutOutcome::kInserted);
  }
  ASSERT_TRUE(batch->Commit());
  std::map<std::string, int64_t> customer, send;
  for (const char* id : {"a", "b", "c"}) {
    customer[id] = (*store->FindCustomer(id))->id;
    ASSERT_EQ(*store->RecordDecisions(std::vector<Decision>{
                  MakeDecision(std::string("k") + id, customer[id], "2026-01-01")}),
              1);
  }
  const Instant now = Day("2026-01-10T12:00:00Z");
  auto claimed = store->ClaimDue(now, 10);
  ASSERT_TRUE(claimed) << claimed.error().ToString();
  std::vector<DeliveryUpdate> sent;
  for (const auto& item : *claimed) {
    const std::string who = item.dedupe_key.substr(1);
    send[who] = item.id;
    DeliveryUpdate u;
    u.id = item.id;
    u.status = DeliveryStatus::kSent;
    u.attempts = 1;
    u.message_id = "<m-" + who + "@shop.example>";
    u.provider_message_id = "p-" + who;
    u.sent_at = now - std::chrono::minutes(
                          static_cast<int64_t>(sent.size()));  // a's the latest, c's the earliest
    sent.push_back(u);
  }
  ASSERT_TRUE(store->RecordDeliveries(sent, now));

  FeedbackPolicy policy;  // 3 soft bounces in 14 days
  FeedbackEvent verp = Feedback("dsn:1", FeedbackAction::kHardBounce, "ada@example.com",
                                "2026-01-10T13:00:00Z", false);
  verp.verp_outbox_id = send["a"];
  FeedbackEvent unknown = Feedback("dsn:2", FeedbackAction::kHardBounce, "bob@example.com",
                                   "2026-01-10T13:00:00Z", false);
  unknown.message_id = "never-sent@shop.example";
  FeedbackEvent other = Feedback("dsn:3", FeedbackAction::kHardBounce, "eve@example.com",
                                 "2026-01-10T13:00:00Z", false);
  other.message_id = "m-b@shop.example";  // a send of ours, but to someone else
  FeedbackEvent complaint =
      Feedback("arf:1", FeedbackAction::kComplaint, "", "2026-01-10T14:00:00Z", false);
  complaint.source = "arf";
  complaint.message_id = "m-b@shop.example";  // the report names nobody: the send says who
  auto first = store->RecordFeedback(
      std::vector<FeedbackEvent>{verp, verp, unknown, other, complaint}, policy, now);
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(first->size(), 5u);
  EXPECT_EQ((*first)[0].outcome, FeedbackOutcome::kApplied);
  EXPECT_EQ((*first)[0].outbox_id, send["a"]);
  EXPECT_EQ((*first)[0].rule, "r");
  EXPECT_TRUE((*first)[0].suppressed);
  EXPECT_EQ((*first)[1].outcome, FeedbackOutcome::kDuplicate) << "the same event in one batch";
  EXPECT_EQ((*first)[2].outcome, FeedbackOutcome::kUnmatched) << "a report for no send of ours";
  EXPECT_EQ((*first)[3].outcome, FeedbackOutcome::kUnmatched) << "a report for another address";
  EXPECT_EQ((*first)[4].outcome, FeedbackOutcome::kApplied);
  EXPECT_EQ((*first)[4].outbox_id, send["b"]);

  // Delivered again (a webhook retried, a report read twice): nothing is applied twice.
  auto again = store->RecordFeedback(std::vector<FeedbackEvent>{verp, complaint}, policy, now);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ((*again)[0].outcome, FeedbackOutcome::kDuplicate);
  EXPECT_EQ((*again)[1].outcome, FeedbackOutcome::kDuplicate);

  // Soft bounces: suppressed at the third within 14 days of each other. A webhook is trusted:
  // its address is acted on without a send to match; its provider id finds the send.
  std::vector<FeedbackEvent> soft;
  for (auto [id, at] : {std::pair{"s1", "2026-01-01"}, std::pair{"s2", "2026-01-20"},
                        std::pair{"s3", "2026-01-25"}, std::pair{"s4", "2026-01-30"}})
    soft.push_back(Feedback(id, FeedbackAction::kSoftBounce, "cy@example.com", at));
  FeedbackEvent unsubscribe =
      Feedback("u1", FeedbackAction::kUnsubscribe, "", "2026-01-11T00:00:00Z");
  unsubscribe.provider_message_id = "p-c";
  soft.push_back(unsubscribe);
  FeedbackEvent stranger =
      Feedback("u2", FeedbackAction::kUnsubscribe, "zoe@example.com", "2026-01-11T00:00:00Z");
  soft.push_back(stranger);
  auto later = store->RecordFeedback(soft, policy, Day("2026-02-01"));
  ASSERT_TRUE(later) << later.error().ToString();
  std::vector<bool> suppressed;
  for (const auto& r : *later) {
    EXPECT_EQ(r.outcome, FeedbackOutcome::kApplied);
    suppressed.push_back(r.suppressed);
  }
  EXPECT_EQ(suppressed, (std::vector<bool>{false, false, false, true, false, false}));
  EXPECT_EQ((*later)[4].outbox_id, send["c"]);
  EXPECT_FALSE((*later)[5].outbox_id);

  std::map<std::string, std::string> why;
  auto suppressions = store->ListSuppressions();
  ASSERT_TRUE(suppressions) << suppressions.error().ToString();
  for (const auto& s : *suppressions) why[s.email] = s.reason;
  EXPECT_EQ(why, (std::map<std::string, std::string>{
                     {"ada@example.com", "hard bounce (dsn): 550 5.1.1 user unknown"},
                     {"bob@example.com", "complaint (arf): 550 5.1.1 user unknown"},
                     {"cy@example.com",
                      "3 soft bounces in 14 days, the last (postmark): 4.2.2 550 5.1.1 user "
                      "unknown"}}));
  EXPECT_FALSE((*store->FindCustomer("a"))->unsubscribed_at) << "a bounce is no unsubscribe";
  EXPECT_EQ((*store->FindCustomer("b"))->unsubscribed_at, Day("2026-01-10T12:00:00Z"))
      << "a complaint unsubscribes, at the latest now";
  EXPECT_EQ((*store->FindCustomer("c"))->unsubscribed_at, Day("2026-01-11T00:00:00Z"));

  std::map<std::string, LogEntry> log;
  ASSERT_TRUE(store->ForEachLogEntry({}, [&](const LogEntry& e) { log[e.dedupe_key] = e; }));
  EXPECT_EQ(log["ka"].status, DeliveryStatus::kBounced);
  EXPECT_EQ(log["ka"].last_reply, "hard bounce (dsn): 550 5.1.1 user unknown");
  EXPECT_EQ(log["kb"].status, DeliveryStatus::kComplained);
  EXPECT_EQ(log["kc"].status, DeliveryStatus::kSent) << "soft bounces leave the send as it was";
  auto counts = *store->OutboxStatusCounts();
  EXPECT_EQ(counts[DeliveryStatus::kBounced], 1);
  EXPECT_EQ(counts[DeliveryStatus::kComplained], 1);

  // What /metrics shows of it: the events by source and type; the sends of each rule that bounced
  // or drew a complaint, a send once however many events name it (a's bounce, again from a
  // webhook); complaints among the latest sends by sent time.
  FeedbackEvent twice =
      Feedback("postmark:9", FeedbackAction::kHardBounce, "ada@example.com", "2026-02-02");
  twice.provider_message_id = "p-a";
  ASSERT_EQ(store->RecordFeedback(std::vector<FeedbackEvent>{twice}, policy, Day("2026-02-02"))
                ->front()
                .outbox_id,
            send["a"]);
  auto feedback = store->CountFeedback(1000);
  ASSERT_TRUE(feedback) << feedback.error().ToString();
  using Key = std::pair<std::string, std::string>;
  EXPECT_EQ(feedback->events, (std::map<Key, int64_t>{{{"arf", "complaint"}, 1},
                                                      {{"dsn", "hard_bounce"}, 1},
                                                      {{"postmark", "hard_bounce"}, 1},
                                                      {{"postmark", "soft_bounce"}, 4},
                                                      {{"postmark", "unsubscribe"}, 2}}));
  EXPECT_EQ(feedback->rule_sends,
            (std::map<Key, int64_t>{{{"r", "bounced"}, 1}, {{"r", "complained"}, 1}}));
  EXPECT_EQ(feedback->recent_sends, 3);
  EXPECT_EQ(feedback->recent_complained, 1);
  auto latest = store->CountFeedback(1);  // a's send, the latest: bounced
  ASSERT_TRUE(latest) << latest.error().ToString();
  EXPECT_EQ(latest->recent_sends, 1);
  EXPECT_EQ(latest->recent_complained, 0);
  EXPECT_EQ(store->CountFeedback(2)->recent_complained, 1);  // and b's, complained
}

// With nothing sent there is no complaint rate to speak of: no sends, no complaints.
TEST_P(StoreTest, FeedbackCountsOfAnEmptyStoreAreZero) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto feedback = store->CountFeedback(1000);
  ASSERT_TRUE(feedback) << feedback.error().ToString();
  EXPECT_TRUE(feedback->events.empty());
  EXPECT_TRUE(feedback->rule_sends.empty());
  EXPECT_EQ(feedback->recent_sends, 0);
  EXPECT_EQ(feedback->recent_complained, 0);
}

FOLLOWUP_ON_EVERY_BACKEND(StoreTest);

}  // namespace
}  // namespace followup::store
