// What only the PostgreSQL backend has: its URL forms and credentials, its migrations under
// concurrency, a newer schema refused, and reconnecting after the server restarts.
#include "store/pg/postgres_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/url.h"
#include "store/pg/migrations.h"
#include "store/pg/url.h"
#include "support/pg_server.h"
#include "support/test_util.h"

namespace followup::store {
namespace {

std::string Param(const std::vector<std::pair<std::string, std::string>>& params,
                  const std::string& key) {
  for (const auto& [k, v] : params)
    if (k == key) return v;
  return "";
}

TEST(PostgresUrlTest, SchemesAndKeyValueStringsAreRecognised) {
  EXPECT_TRUE(IsPostgresStoreUrl("postgresql://followup@db.example.com/shop"));
  EXPECT_TRUE(IsPostgresStoreUrl("postgres://db/shop"));
  EXPECT_TRUE(IsPostgresStoreUrl("host=/run/postgresql dbname=followup"));
  EXPECT_TRUE(IsPostgresStoreUrl("dbname = followup"));
  EXPECT_FALSE(IsPostgresStoreUrl("sqlite:/var/lib/followup/store.db"));
  EXPECT_FALSE(IsPostgresStoreUrl("/var/lib/followup/store.db"));
  EXPECT_FALSE(IsPostgresStoreUrl("store.db"));
  EXPECT_FALSE(IsPostgresStoreUrl("mysql://db/x"));
}

TEST(PostgresUrlTest, PasswordsAreRedactedInMessages) {
  EXPECT_EQ(pg::Redacted("postgresql://app:s3cret@db/shop"), "postgresql://app:***@db/shop");
  EXPECT_EQ(pg::Redacted("postgresql://app@db/shop"), "postgresql://app@db/shop");
  EXPECT_EQ(pg::Redacted("host=db password=s3cret dbname=shop"),
            "host=db password=*** dbname=shop");
  EXPECT_EQ(pg::Redacted("host=db password='s 3' dbname=shop"), "host=db password=*** dbname=shop");
}

TEST(PostgresUrlTest, PasswordFromASystemdCredential) {
  testing::TempDir dir;
  std::ofstream(dir / "pgpass") << "s3cret\n";
  setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);

  auto uri = pg::ConnectParams("postgresql://app@db/shop?credential=pgpass&sslmode=require");
  ASSERT_TRUE(uri) << uri.error().ToString();
  EXPECT_EQ(Param(*uri, "password"), "s3cret") << "the trailing newline is dropped";
  EXPECT_EQ(Param(*uri, "dbname"), "postgresql://app@db/shop?sslmode=require")
      << "libpq is not shown the credential option";

  auto kv = pg::ConnectParams("host=db credential=pgpass dbname=shop");
  ASSERT_TRUE(kv) << kv.error().ToString();
  EXPECT_EQ(Param(*kv, "password"), "s3cret");
  EXPECT_EQ(Param(*kv, "dbname").find("credential"), std::string::npos);

  auto missing = pg::ConnectParams("postgresql://app@db/shop?credential=nothere");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kRuntime);
  auto bad = pg::ConnectParams("postgresql://app@db/shop?credential=..%2Fetc");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);

  unsetenv("CREDENTIALS_DIRECTORY");
  auto unset = pg::ConnectParams("postgresql://app@db/shop?credential=pgpass");
  ASSERT_FALSE(unset);
  EXPECT_NE(unset.error().message.find("CREDENTIALS_DIRECTORY"), std::string::npos);
}

TEST(PostgresStoreTest, AnUnreachableServerIsARuntimeErrorWithoutThePassword) {
  auto store = Store::Open("postgresql://app:s3cret@/shop?host=/nonexistent&connect_timeout=2");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kRuntime);
  EXPECT_EQ(store.error().message.find("s3cret"), std::string::npos) << store.error().message;
}

TEST(PostgresStoreTest, RefusesADatabaseFromANewerFollowupd) {
  FOLLOWUP_PG_SERVER_OR_SKIP(server);
  std::string url = server->NewDatabase();
  ASSERT_FALSE(url.empty());
  { ASSERT_TRUE(Store::Open(url)); }
  std::string db = url.substr(url.find("dbname=") + 7);
  ASSERT_EQ(server->Psql(db, "UPDATE meta SET value = '999' WHERE key = 'schema_version'"), 0);
  auto store = Store::Open(url);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kRuntime);
  EXPECT_NE(store.error().message.find("newer than this followupd"), std::string::npos);
}

TEST(PostgresStoreTest, ProcessesStartingAtOnceMigrateOnce) {
  FOLLOWUP_PG_SERVER_OR_SKIP(server);
  std::string url = server->NewDatabase();
  ASSERT_FALSE(url.empty());
  std::vector<std::thread> threads;
  std::vector<std::string> failures(4);
  for (size_t i = 0; i < failures.size(); ++i)
    threads.emplace_back([&, i] {
      auto store = Store::Open(url);
      if (!store) failures[i] = store.error().ToString();
    });
  for (auto& t : threads) t.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  std::string db = url.substr(url.find("dbname=") + 7), version;
  ASSERT_EQ(server->Psql(db, "SELECT value FROM meta WHERE key = 'schema_version'", &version), 0);
  EXPECT_EQ(version, std::to_string(pg::PostgresMigrations().size()));
}

TEST(PostgresStoreTest, ReadsGoOnAfterTheServerRestarts) {
  // A server of its own: the shared one is not restarted under other tests.
  std::string why;
  auto server = testing::PgServer::Start(&why);
  if (!server) {
    if (testing::PgRequired()) FAIL() << why;
    GTEST_SKIP() << why;
  }
  server->StopWhenGone(getpid());
  std::string url = server->NewDatabase();
  auto store = Store::Open(url);
  ASSERT_TRUE(store) << store.error().ToString();
  ASSERT_TRUE((*store)->SetMeta("k", "v"));
  ASSERT_TRUE(server->Restart());
  auto value = (*store)->GetMeta("k");
  ASSERT_TRUE(value) << value.error().ToString();
  EXPECT_EQ(*value, "v");
  EXPECT_EQ((*store)->Counts()->customers, 0);
}

}  // namespace
}  // namespace followup::store
