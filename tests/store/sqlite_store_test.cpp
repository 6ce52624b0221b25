#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/migrations.h"
#include "support/test_util.h"

namespace followup::store {
namespace {

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

TEST(SqliteStoreTest, RefusesANewerOrOlderDatabaseWithoutMigratingIt) {
  testing::TempDir dir;
  { ASSERT_TRUE(Store::Open(dir / "f.db")); }
  auto set_version = [&](const char* v) {
    sqlite3* db = nullptr;
    sqlite3_open((dir / "f.db").c_str(), &db);
    sqlite3_exec(
        db,
        (std::string("UPDATE meta SET value = '") + v + "' WHERE key = 'schema_version'").c_str(),
        nullptr, nullptr, nullptr);
    sqlite3_close(db);
  };
  set_version("999");
  auto newer = Store::Open(dir / "f.db", OpenMode::kExisting);
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code, ErrorCode::kRuntime);
  EXPECT_NE(newer.error().message.find("newer than this followupd"), std::string::npos);
  set_version("1");
  auto older = Store::Open(dir / "f.db", OpenMode::kExisting);
  ASSERT_FALSE(older);
  EXPECT_NE(older.error().message.find("upgrades it first"), std::string::npos)
      << older.error().message;
}

// Versions 4 and 5 copy the outbox into a table that also allows held and cancelled (4), bounced
// and complained (5): a store of version 3 keeps every send, and they can be held.
TEST(SqliteStoreTest, MigratingFromVersionThreeKeepsTheOutbox) {
  testing::TempDir dir;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "f.db").c_str(), &db), SQLITE_OK);
    std::string sql;
    for (int v = 0; v < 3; ++v) sql += std::string(SqliteMigrations()[v]);
    sql +=
        "INSERT INTO meta(key, value) VALUES('schema_version', '3');"
        "INSERT INTO customers(external_id, email, name) VALUES('a', 'a@example.com', 'A');"
        "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
        "decided_at, send_after, status, attempts, last_reply, updated_at) VALUES "
        "('k1', 'r', 1, 1, 'send', 't', 10, 10, 'failed', 3, '550 no', 11), "
        "('k2', 'r', 1, 1, 'send', 't', 12, 12, 'queued', 0, NULL, 12);";
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
    sqlite3_close(db);
  }
  auto store = Store::Open(dir / "f.db");
  ASSERT_TRUE(store) << store.error().ToString();
  EXPECT_EQ((*store)->SchemaVersion(), static_cast<int>(SqliteMigrations().size()));
  std::vector<std::string> seen;
  ASSERT_TRUE((*store)->ForEachLogEntry({}, [&](const LogEntry& e) {
    seen.push_back(e.dedupe_key + " " + std::string(DeliveryStatusName(e.status)) + " " +
                   std::to_string(e.attempts) + " " + e.last_reply);
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"k2 queued 0 ", "k1 failed 3 550 no"}));
  LogFilter k2;
  k2.ids = {2};
  EXPECT_EQ(*(*store)->ChangeQueue(QueueAction::kHold, k2, "", Instant{}), 1);
  EXPECT_EQ((*(*store)->OutboxStatusCounts())[DeliveryStatus::kHeld], 1);
}

TEST(SqliteStoreTest, UnknownSchemeIsInvalidInput) {
  auto store = Store::Open("mysql://db/x");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(store.error().message.find("unknown store URL scheme 'mysql'"), std::string::npos)
      << store.error().message;
}

TEST(SqliteStoreTest, OpeningAnExistingStoreCreatesNothing) {
  testing::TempDir dir;
  auto missing = Store::Open(dir / "typo/f.db", OpenMode::kExisting);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message.rfind("no store at " + dir / "typo/f.db", 0), 0u)
      << missing.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir / "typo"));
  { ASSERT_TRUE(Store::Open(dir / "f.db")); }
  auto existing = Store::Open(dir / "f.db", OpenMode::kExisting);
  ASSERT_TRUE(existing) << existing.error().ToString();
  EXPECT_TRUE((*existing)->Counts());
}

TEST(SqliteStoreTest, CreatesItsFoldersAndFilesForItsOwnerAlone) {
  testing::TempDir dir;
  mode_t before = umask(022);
  auto store = Store::Open(dir / "var/lib/f.db");
  umask(before);
  ASSERT_TRUE(store) << store.error().ToString();
  auto mode = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode(dir / "var"), 0700u);
  EXPECT_EQ(mode(dir / "var/lib"), 0700u);
  EXPECT_EQ(mode(dir / "var/lib/f.db"), 0600u);
  EXPECT_EQ(mode(dir / "var/lib/f.db-wal"), 0600u);
  EXPECT_EQ(mode(dir / "var/lib/f.db-shm"), 0600u);
}

// A second connection in the same process (the daemon has one per thread) must not drop the first
// one's locks: another program closing the store would take itself for its last user and delete
// the WAL that the first connection goes on writing to, unseen by anyone else.
TEST(SqliteStoreTest, AnotherConnectionKeepsTheFirstOnesWritesVisible) {
  testing::TempDir dir;
  auto first = Store::Open(dir / "f.db");
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_TRUE((*first)->SetMeta("k", "one"));
  auto second = Store::Open(dir / "f.db");
  ASSERT_TRUE(second) << second.error().ToString();
  auto read = [&] {
    return testing::Run("sqlite3 '" + dir / "f.db" + "' \"SELECT value FROM meta WHERE key = 'k'\"")
        .out;
  };
  EXPECT_EQ(read(), "one\n");  // another program opens and closes the store
  ASSERT_TRUE((*first)->SetMeta("k", "two"));
  EXPECT_EQ(read(), "two\n");
}

}  // namespace
}  // namespace followup::store
