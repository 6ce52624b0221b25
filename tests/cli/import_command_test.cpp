// End to end: the real followupd binary on a fresh store in a temp dir.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/test_util.h"

namespace followup {
namespace {

using testing::Followupd;
using testing::TempDir;

// Runs one SQL query on the store file and returns the first column of the first row.
std::string Query(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    auto text = sqlite3_column_text(stmt, 0);
    if (text) out = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

class ImportCommandTest : public ::testing::Test {
 protected:
  std::string Store() { return "--store " + dir_ / "f.db"; }
  TempDir dir_;
};

TEST_F(ImportCommandTest, ImportsCdnowAndReimportsAsUnchanged) {
  auto c = Followupd(
      Store() + " import customers " FOLLOWUP_TEST_DATA_DIR "/cdnow/cdnow_sample_customers.csv",
      dir_.path());
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_NE(c.out.find("read 2357, imported 2357, unchanged 0, rejected 0"), std::string::npos)
      << c.out;
  std::string tx =
      " import transactions " FOLLOWUP_TEST_DATA_DIR "/cdnow/cdnow_sample_transactions.csv";
  auto t = Followupd(Store() + tx, dir_.path());
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find("read 6919, imported 6919"), std::string::npos) << t.out;
  auto again = Followupd(Store() + tx, dir_.path());
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.out.find("imported 0, unchanged 6919, rejected 0"), std::string::npos)
      << again.out;
  EXPECT_EQ(Query(dir_ / "f.db", "SELECT count(*) FROM transactions"), "6919");
}

TEST_F(ImportCommandTest, KnownCustomersTakeChangedFieldsAndKeepTheirUnsubscribe) {
  auto first = dir_.Write("c1.csv",
                          "id,email,unsubscribed_at\n"
                          "c1,a@example.com,2026-05-01\n"
                          "c2,b@example.com,\n");
  ASSERT_EQ(Followupd(Store() + " import customers " + first, dir_.path()).status, 0);
  // The shop's next export: c1 moved and has no unsubscribe column; c2 unsubscribed meanwhile.
  auto second = dir_.Write("c2.csv",
                           "id,email\n"
                           "c1,a@new.example\n"
                           "c2,b@example.com\n");
  auto r = Followupd(Store() + " import customers " + second, dir_.path());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, second + ":2: updated id 'c1': email\n" + second +
                       ": read 2, imported 0, unchanged 1, rejected 0, updated 1\n");
  EXPECT_EQ(Query(dir_ / "f.db", "SELECT email FROM customers WHERE external_id = 'c1'"),
            "a@new.example");
  EXPECT_EQ(Query(dir_ / "f.db",
                  "SELECT unsubscribed_at IS NOT NULL FROM customers WHERE external_id = 'c1'"),
            "1")
      << "an import without the column never undoes an unsubscribe";
  auto third = dir_.Write("c3.csv", "id,unsubscribed_at\nc2,2026-06-01\n");
  auto u = Followupd(Store() + " import customers " + third, dir_.path());
  EXPECT_EQ(u.out, third + ":2: updated id 'c2': unsubscribed_at\n" + third +
                       ": read 1, imported 0, unchanged 0, rejected 0, updated 1\n");
}

TEST_F(ImportCommandTest, BadRowsExitOneAndKeepTheGoodOnes) {
  auto customers = dir_.Write("c.csv", "id,email\nc1,a@example.com\nc2,nope\n");
  auto r = Followupd(Store() + " import customers " + customers, dir_.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, customers + ":3: column 'email': 'nope' is not an email address\n");
  EXPECT_NE(r.out.find("read 2, imported 1, unchanged 0, rejected 1"), std::string::npos);
  EXPECT_EQ(Query(dir_ / "f.db", "SELECT group_concat(external_id) FROM customers"), "c1");
}

TEST_F(ImportCommandTest, HostileRowsAreReportedOneLineEachAndTheRestImported) {
  auto customers = dir_.Write("c.csv", "id\nc1\n");
  ASSERT_EQ(Followupd(Store() + " import customers " + customers, dir_.path()).status, 0);
  // A number past a double aborted the whole import (exit 134), losing the good rows before it.
  auto jsonl = dir_.Write(
      "t.jsonl",
      "{\"id\":\"t1\",\"customer_id\":\"c1\",\"occurred_at\":\"2026-01-05\",\"amount\":\"1.00\"}\n"
      "{\"id\":\"t2\",\"customer_id\":\"c1\",\"occurred_at\":\"2026-01-05\",\"amount\":1e400}\n");
  auto j = Followupd(Store() + " import transactions " + jsonl, dir_.path());
  EXPECT_EQ(j.status, 1) << j.err;
  EXPECT_EQ(j.err, jsonl + ":2: field 'amount': the number '1e400' is out of range\n");
  EXPECT_EQ(Query(dir_ / "f.db", "SELECT group_concat(external_id) FROM transactions"), "t1");
  // A quoted newline forged a report line of its own; escapes reached the terminal.
  auto csv = dir_.Write("t.csv",
                        "id,customer_id,occurred_at,amount\n"
                        "t3,c1,2026-01-05,\"1\nt.csv:1: all rows imported\"\n"
                        "t4,c1,2026-01-05,\"\x1b]2;owned\x07\x1b[2J\"\n");
  auto c = Followupd(Store() + " import transactions " + csv, dir_.path());
  EXPECT_EQ(c.status, 1);
  EXPECT_EQ(c.err,
            csv +
                ":2: column 'amount': bad amount '1\\nt.csv:1: all rows imported': not a "
                "number\n" +
                csv +
                ":4: column 'amount': bad amount '\\x1b]2;owned\\x07\\x1b[2J': not a number\n");
}

TEST_F(ImportCommandTest, ADamagedSchemaVersionIsARuntimeFailure) {
  auto customers = dir_.Write("c.csv", "id\nc1\n");
  ASSERT_EQ(Followupd(Store() + " import customers " + customers, dir_.path()).status, 0);
  sqlite3* db = nullptr;
  sqlite3_open((dir_ / "f.db").c_str(), &db);
  sqlite3_exec(db, "UPDATE meta SET value = 'two' WHERE key = 'schema_version'", nullptr, nullptr,
               nullptr);
  sqlite3_close(db);
  // Every command aborted on std::stoi (exit 134).
  for (const char* command : {" customers", " import customers c.csv"}) {
    auto r = Followupd(Store() + command, dir_.path());
    EXPECT_EQ(r.status, 3) << command << ": " << r.err;
    EXPECT_NE(r.err.find("meta.schema_version is 'two'"), std::string::npos) << r.err;
  }
}

TEST_F(ImportCommandTest, DryRunWritesNothing) {
  auto customers = dir_.Write("c.csv", "id\nc1\n");
  auto r = Followupd(Store() + " import customers --dry-run " + customers, dir_.path());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("dry run: "), std::string::npos);
  EXPECT_EQ(Query(dir_ / "f.db", "SELECT count(*) FROM customers"), "0");
}

TEST_F(ImportCommandTest, UsageAndFileErrorsHaveTheirExitCodes) {
  EXPECT_EQ(Followupd(Store() + " import things x.csv", dir_.path()).status, 2);
  EXPECT_EQ(Followupd("frobnicate", dir_.path()).status, 2);
  auto missing = Followupd(Store() + " import customers /nonexistent.csv", dir_.path());
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("/nonexistent.csv: cannot read"), std::string::npos) << missing.err;
  // A store whose folder cannot be made (a file is in the way).
  std::string blocked = dir_.Write("file", "") + "/f.db";
  auto bad_store = Followupd("--store " + blocked + " import customers x.csv", dir_.path());
  EXPECT_EQ(bad_store.status, 3);
  EXPECT_NE(bad_store.err.find("store open " + blocked), std::string::npos) << bad_store.err;
  auto help = Followupd("--help", dir_.path());
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("import"), std::string::npos);
}

TEST_F(ImportCommandTest, BadConfigIsReportedWithItsPlace) {
  auto config = dir_.Write("followup.yaml", "business:\n  currency: EURO\n");
  auto r = Followupd("--config " + config + " import customers x.csv", dir_.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(config + ":2:13: currency must be an ISO 4217 code"), std::string::npos)
      << r.err;
}

TEST_F(ImportCommandTest, ConfigStoreIsRelativeToTheConfigFile) {
  auto config = dir_.Write("etc/followup.yaml", "store: sqlite:../data/shop.db\n");
  std::filesystem::create_directories(dir_.path() / "data");
  auto customers = dir_.Write("c.csv", "id\nc1\n");
  auto r = Followupd("--config " + config + " import customers " + customers, "/");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Query(dir_ / "data/shop.db", "SELECT count(*) FROM customers"), "1");
}

// The shipped config on a fresh checkout: its store is in ../var, which does not exist yet. The
// first import makes the folder (0700) and the store (0600).
TEST_F(ImportCommandTest, ImportIntoTheShippedConfigMakesTheStoreFolder) {
  std::filesystem::create_directories(dir_.path() / "config");
  std::filesystem::copy(FOLLOWUP_SOURCE_DIR "/config/followup.yaml", dir_ / "config/followup.yaml");
  auto r = Followupd("--config config/followup.yaml import customers " FOLLOWUP_SOURCE_DIR
                     "/config/sample/customers.csv",
                     dir_.path());
  EXPECT_EQ(r.status, 0) << r.err;
  struct stat folder {
  }, file{};
  ASSERT_EQ(stat((dir_ / "var").c_str(), &folder), 0);
  ASSERT_EQ(stat((dir_ / "var/followup.db").c_str(), &file), 0);
  EXPECT_EQ(folder.st_mode & 0777, 0700u);
  EXPECT_EQ(file.st_mode & 0777, 0600u);
  EXPECT_EQ(Query(dir_ / "var/followup.db", "SELECT count(*) FROM customers"), "300");
}

// The commands that only read never create a store: a mistyped path is said, not made.
TEST_F(ImportCommandTest, ReadingCommandsOnAMistypedStoreSayThereIsNone) {
  for (std::string command : {"log", "report", "customers", "model"}) {
    auto r = Followupd("--store " + dir_ / "typo/f.db" + " " + command, dir_.path());
    EXPECT_NE(r.status, 0) << command;
    EXPECT_NE(r.err.find("no store at " + dir_ / "typo/f.db"), std::string::npos)
        << command << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "typo")) << command;
  }
}

}  // namespace
}  // namespace followup
