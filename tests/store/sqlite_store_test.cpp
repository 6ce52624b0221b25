#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

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

}  // namespace
}  // namespace followup::store
