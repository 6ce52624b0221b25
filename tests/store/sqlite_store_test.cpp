#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/migrations.h"
#include "support/test_util.h"

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

TEST(SqliteStoreTest, CreatesAMigratedWalDatabase) {
  testing::TempDir dir;
  auto store = Store::Open("sqlite:" + dir / "f.db");
  ASSERT_TRUE(store) << store.error().ToString();
  EXPECT_EQ((*store)->SchemaVersion(), static_cast<int>(SqliteMigrations().size()));
  EXPECT_TRUE(std::filesystem::exists(dir / "f.db-wal"));
  store->reset();
  // Reopening applies nothing twice.
  auto again = Store::Open(dir / "f.db");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ((*again)->SchemaVersion(), static_cast<int>(SqliteMigrations().size()));
}

TEST(SqliteStoreTest, RefusesADatabaseFromANewerFollowupd) {
  testing::TempDir dir;
  { ASSERT_TRUE(Store::Open(dir / "f.db")); }
  sqlite3* db = nullptr;
  sqlite3_open((dir / "f.db").c_str(), &db);
  sqlite3_exec(db, "UPDATE meta SET value = '999' WHERE key = 'schema_version'", nullptr, nullptr,
               nullptr);
  sqlite3_close(db);
  auto store = Store::Open(dir / "f.db");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kRuntime);
  EXPECT_NE(store.error().message.find("newer than this followupd"), std::string::npos);
}

TEST(SqliteStoreTest, ADamagedSchemaVersionIsARuntimeErrorNotACrash) {
  // A non-numeric version aborted every command (std::stoi threw); now it is refused by name.
  for (const char* damaged : {"two", "", "2x", "-1", " 2", "99999999999999999999", "2\n\x1b[2J"}) {
    testing::TempDir dir;
    { ASSERT_TRUE(Store::Open(dir / "f.db")); }
    sqlite3* db = nullptr;
    sqlite3_open((dir / "f.db").c_str(), &db);
    sqlite3_stmt* update = nullptr;
    sqlite3_prepare_v2(db, "UPDATE meta SET value = ?1 WHERE key = 'schema_version'", -1, &update,
                       nullptr);
    sqlite3_bind_text(update, 1, damaged, -1, SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(update), SQLITE_DONE);
    sqlite3_finalize(update);
    sqlite3_close(db);
    auto store = Store::Open(dir / "f.db");
    ASSERT_FALSE(store) << damaged;
    EXPECT_EQ(store.error().code, ErrorCode::kRuntime);
    EXPECT_NE(store.error().message.find("meta.schema_version is '"), std::string::npos)
        << store.error().message;
    EXPECT_EQ(store.error().message.find('\n'), std::string::npos) << store.error().message;
  }
  EXPECT_EQ(ParseSchemaVersion("2").value(), 2);
  EXPECT_EQ(ParseSchemaVersion("0").value(), 0);
}

TEST(SqliteStoreTest, UnknownSchemeIsInvalidInput) {
  auto store = Store::Open("mysql://db/x");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidInput);
}

TEST(SqliteStoreTest, BatchCommitsOrRollsBackWhole) {
  testing::TempDir dir;
  auto store = std::move(*Store::Open(dir / "f.db"));
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
  auto conflict = batch->PutCustomer(Customer("a", "Bob"));
  EXPECT_EQ(conflict->outcome, PutOutcome::kConflict);
  EXPECT_EQ(conflict->detail, "name");
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

TEST(SqliteStoreTest, FindsManyCustomersByIdInOneCallInTheOrderAsked) {
  testing::TempDir dir;
  auto store = std::move(*Store::Open(dir / "f.db"));
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

TEST(SqliteStoreTest, ClaimsTheOldestDueSendsOnceInDecisionOrder) {
  testing::TempDir dir;
  auto store = std::move(*Store::Open(dir / "f.db"));
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

}  // namespace
}  // namespace followup::store
