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

}  // namespace
}  // namespace followup::store
