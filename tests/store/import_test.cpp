#include "store/import.h"

#include <gtest/gtest.h>

#include <limits>

#include "store/backends.h"
#include "support/sqlite_util.h"
#include "support/test_util.h"

namespace followup::store {
namespace {

class ImportTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = OpenStore();
    ASSERT_TRUE(store_);
    options_.zone = *LookupZone("Europe/Berlin");
    options_.default_currency = "EUR";
  }

  // Imports a file with the given text; the problems land in problems_.
  ImportSummary Import(ImportTarget target, const std::string& name, const std::string& text,
                       bool dry_run = false) {
    problems_.clear();
    options_.target = target;
    options_.dry_run = dry_run;
    ImportCallbacks cb;
    cb.on_problem = [&](const Error& e) { problems_.push_back(e.ToString()); };
    auto r = store::Import(*store_, dir_.Write(name, text), options_, cb);
    EXPECT_TRUE(r) << r.error().ToString();
    return r.value_or(ImportSummary{});
  }

  std::vector<TransactionRow> Transactions() {
    std::vector<TransactionRow> rows;
    EXPECT_TRUE(store_->ForEachTransaction(Instant::max(), [&](auto& r) { rows.push_back(r); }));
    return rows;
  }

  // The external ids of a table, in the order they were stored (read from the SQLite file: only
  // asked on that backend).
  std::string Ids(const std::string& table) {
    return testing::Sql(dir_ / "f.db",
                        "SELECT group_concat(external_id) FROM (SELECT external_id FROM " + table +
                            " ORDER BY id)");
  }

  bool Problem(const std::string& needle) {
    for (const auto& p : problems_)
      if (p.find(needle) != std::string::npos) return true;
    ADD_FAILURE() << "no problem containing: " << needle;
    return false;
  }

  std::unique_ptr<Store> store_;
  ImportOptions options_;
  std::vector<std::string> problems_;
};

TEST_P(ImportTest, CustomersWithAttributesAndForwardReferrals) {
  auto s = Import(ImportTarget::kCustomers, "c.csv",
                  "id,email,name,referred_by,segment,timezone\n"
                  "c1,ada@example.com,Ada,,vip,Europe/Berlin\n"
                  "c2,,\"Lovelace, Ada\",c3,,\n"  // referrer comes later in the file
                  "c3,bob@example.com,Bob,c1,,\n");
  EXPECT_EQ(s.read, 3);
  EXPECT_EQ(s.imported, 3);
  EXPECT_EQ(s.rejected, 0);
  EXPECT_TRUE(problems_.empty());
  auto c2 = *store_->FindCustomer("c2");
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->name, "Lovelace, Ada");
  EXPECT_FALSE(c2->email);
  EXPECT_EQ(c2->referred_by, (*store_->FindCustomer("c3"))->id);
  EXPECT_EQ((*store_->FindCustomer("c1"))->timezone, "Europe/Berlin");
}

TEST_P(ImportTest, EveryBadCustomerRowIsReportedAndTheGoodOnesKept) {
  auto s = Import(ImportTarget::kCustomers, "c.csv",
                  "id,email,name,referred_by,timezone,created_at\n"
                  "ok1,a@example.com,A,,,\n"
                  "bad1,not-an-email,B,,,\n"
                  "bad2,,C,ghost,,\n"
                  "bad3,,D,,Mars/Base,\n"
                  "bad4,,E,,,2026-02-30\n"
                  "bad5,,F,bad5,,\n"
                  ",,G,,,\n"
                  "bad6,,\xff\xfe,,,\n"
                  "bad7,,H,,\n"
                  "ok2,,I,ok1,,\n");
  EXPECT_EQ(s.read, 10);
  EXPECT_EQ(s.imported, 2);
  EXPECT_EQ(s.rejected, 8);
  std::string f = dir_ / "c.csv";
  Problem(f + ":3: column 'email': 'not-an-email' is not an email address");
  Problem(f + ":4: column 'referred_by': unknown customer 'ghost'");
  Problem(f + ":5: column 'timezone': unknown time zone 'Mars/Base'");
  Problem(f + ":6: column 'created_at': bad time '2026-02-30': no such day");
  Problem(f + ":7: column 'referred_by': a customer cannot refer themselves");
  Problem(f + ":8: column 'id': missing");
  Problem(f + ":9: column 'name': bad UTF-8");
  Problem(f + ":10: expected 6 fields as in the header, found 5");
  EXPECT_EQ(store_->Counts()->customers, 2);
}

TEST_P(ImportTest, TransactionsValidateEveryField) {
  Import(ImportTarget::kCustomers, "c.csv", "id\nc1\nc2\n");
  auto s = Import(ImportTarget::kTransactions, "t.csv",
                  "id,customer_id,occurred_at,kind,amount,cost,currency,offer_code\n"
                  "t1,c1,2026-01-05,purchase,29.33,12.00,,\n"
                  "t2,c1,2026-01-06T10:00:00Z,return,10,,EUR,\n"
                  "t3,c2,yesterday,purchase,1,,,\n"
                  "t4,c2,2026-01-05,purchase,-5,,,\n"
                  "t5,c2,2026-01-05,purchase,abc,,,\n"
                  "t6,c2,2026-01-05,gift,5,,,\n"
                  "t7,ghost,2026-01-05,purchase,5,,,\n"
                  "t8,c2,2026-01-05,purchase,5.001,,,\n"
                  "t9,c2,2026-01-05,purchase,5,,euro,\n"
                  "t10,c2,2026-01-05,refund,700,,JPY,SPRING\n");
  EXPECT_EQ(s.read, 10);
  EXPECT_EQ(s.imported, 3);
  EXPECT_EQ(s.rejected, 7);
  std::string f = dir_ / "t.csv";
  Problem(f + ":4: column 'occurred_at': bad time 'yesterday'");
  Problem(f + ":5: column 'amount': bad amount '-5': negative");
  Problem(f + ":6: column 'amount': bad amount 'abc': not a number");
  Problem(f + ":7: column 'kind': unknown kind 'gift'");
  Problem(f + ":8: column 'customer_id': unknown customer 'ghost'");
  Problem(f + ":9: column 'amount': bad amount '5.001': more than 2 digits");
  Problem(f + ":10: column 'currency': 'euro' is not an ISO 4217 code");
  auto rows = Transactions();
  ASSERT_EQ(rows.size(), 3u);
  // Dates without a time are midnight in the business zone (Berlin, UTC+1 in January).
  EXPECT_EQ(FormatInstant(rows[0].occurred_at), "2026-01-04T23:00:00Z");
  EXPECT_EQ(rows[0].amount, 2933);
  EXPECT_EQ(rows[0].cost, 1200);
  EXPECT_EQ(rows[1].kind, Kind::kReturn);
  EXPECT_EQ(rows[2].amount, 700);  // JPY has no minor unit
}

TEST_P(ImportTest, ReimportChangesNothingAndConflictsAreReported) {
  Import(ImportTarget::kCustomers, "c.csv", "id\nc1\n");
  std::string text =
      "id,customer_id,occurred_at,amount\nt1,c1,2026-01-05,10\nt2,c1,2026-01-06,11\n";
  EXPECT_EQ(Import(ImportTarget::kTransactions, "t.csv", text).imported, 2);
  auto again = Import(ImportTarget::kTransactions, "t.csv", text);
  EXPECT_EQ(again.imported, 0);
  EXPECT_EQ(again.unchanged, 2);
  EXPECT_EQ(again.rejected, 0);
  auto changed = Import(ImportTarget::kTransactions, "t2.csv",
                        "id,customer_id,occurred_at,amount\nt1,c1,2026-01-05,99\n");
  EXPECT_EQ(changed.rejected, 1);
  Problem(":2: id 't1' is already in the store with different amount");
  EXPECT_EQ(Transactions()[0].amount, 1000) << "the last good state is kept";
}

TEST_P(ImportTest, HeaderProblemsRefuseTheWholeFile) {
  Import(ImportTarget::kCustomers, "c.csv", "id\nc1\n");
  ImportOptions o = options_;
  o.target = ImportTarget::kTransactions;
  auto unknown = store::Import(*store_,
                               dir_.Write("t.csv",
                                          "id,customer_id,occurred_at,amount,colour\n"
                                          "t1,c1,2026-01-05,10,red\n"),
                               o, {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().ToString(),
            dir_ / "t.csv" +
                ":1:5: unknown column 'colour' (transactions have: id, customer_id, "
                "occurred_at, kind, amount, cost, currency, offer_code)");
  auto missing = store::Import(*store_, dir_.Write("t.csv", "id,customer_id,amount\n"), o, {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("required column 'occurred_at' is missing"),
            std::string::npos);
  auto twice =
      store::Import(*store_, dir_.Write("t.csv", "id,id,customer_id,occurred_at,amount\n"), o, {});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("appears twice"), std::string::npos);
  EXPECT_TRUE(Transactions().empty());
}

TEST_P(ImportTest, AColumnNameThatIsNotUtf8RefusesTheFile) {
  // Customers keep unknown columns as JSON attributes: this one threw out of the import (exit 134).
  options_.target = ImportTarget::kCustomers;
  auto r = store::Import(*store_, dir_.Write("c.csv", "id,segm\xe9nt\nc1,vip\n"), options_, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().ToString().find(
                "c.csv:1:2: column 2: the name 'segm\\xe9nt' is not UTF-8 (is the file saved in "
                "another encoding?)"),
            std::string::npos)
      << r.error().ToString();
  EXPECT_EQ(store_->Counts()->customers, 0);
}

TEST_P(ImportTest, DryRunCountsButWritesNothing) {
  auto s = Import(ImportTarget::kCustomers, "c.csv", "id\nc1\nc2\n", /*dry_run=*/true);
  EXPECT_EQ(s.imported, 2);
  EXPECT_EQ(store_->Counts()->customers, 0);
}

TEST_P(ImportTest, JsonLines) {
  Import(ImportTarget::kCustomers, "c.jsonl",
         "{\"id\": \"c1\", \"email\": \"a@example.com\", \"tier\": \"gold\"}\n"
         "{\"id\": 2}\n");
  EXPECT_EQ(store_->Counts()->customers, 2);
  auto s = Import(
      ImportTarget::kTransactions, "t.jsonl",
      "{\"id\":\"t1\",\"customer_id\":\"c1\",\"occurred_at\":\"2026-01-05\",\"amount\":29.33}\n"
      "\n"
      "{\"id\":\"t2\",\"customer_id\":\"2\",\"occurred_at\":\"2026-01-05\",\"amount\":5,\"x\":1}\n"
      "{\"id\":\"t3\",\"customer_id\":\"2\",\n"
      "[1,2]\n"
      "{\"id\":\"t4\",\"customer_id\":\"2\",\"occurred_at\":\"2026-01-05\",\"amount\":[5]}\n"
      "{\"id\":\"t5\",\"customer_id\":\"2\",\"occurred_at\":\"2026-01-05\",\"amount\":\"7.50\"}\n");
  EXPECT_EQ(s.read, 6);
  EXPECT_EQ(s.imported, 2);
  EXPECT_EQ(s.rejected, 4);
  Problem(":3: unknown field 'x'");
  Problem(":4: not valid JSON");
  Problem(":5: expected one JSON object per line");
  Problem(":6: field 'amount' must be a string or a number");
  auto rows = Transactions();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].amount, 2933);
}

TEST_P(ImportTest, AJsonNumberPastADoubleRejectsItsRowAndNothingElse) {
  Import(ImportTarget::kCustomers, "c.csv", "id\nc1\n");
  auto s = Import(
      ImportTarget::kTransactions, "t.jsonl",
      "{\"id\":\"t1\",\"customer_id\":\"c1\",\"occurred_at\":\"2026-01-05\",\"amount\":\"1.00\"}\n"
      "{\"id\":\"t2\",\"customer_id\":\"c1\",\"occurred_at\":\"2026-01-05\",\"amount\":1e400}\n"
      "{\"id\":\"t3\",\"customer_id\":\"c1\",\"occurred_at\":\"2026-01-05\",\"cost\":-1e999,"
      "\"amount\":\"1.00\"}\n"
      "{\"id\":1e309,\"customer_id\":\"c1\",\"occurred_at\":\"2026-01-05\",\"amount\":\"1.00\"}\n"
      "{\"id\":\"t5\",\"customer_id\":\"c1\",\"occurred_at\":\"2026-01-05\",\"amount\":\"2.00\"}"
      "\n");
  EXPECT_EQ(s.read, 5);
  EXPECT_EQ(s.imported, 2);
  EXPECT_EQ(s.rejected, 3);
  Problem("t.jsonl:2: field 'amount': the number '1e400' is out of range");
  Problem("t.jsonl:3: field 'cost': the number '-1e999' is out of range");
  Problem("t.jsonl:4: field 'id': the number '1e309' is out of range");
  if (GetParam() == Backend::kSqlite) {
    EXPECT_EQ(Ids("transactions"), "t1,t5");
  }
  // Customers keep unknown fields as attributes: the same number there rejects the row too.
  auto c = Import(ImportTarget::kCustomers, "c.jsonl",
                  "{\"id\":\"c2\",\"score\":1e400}\n{\"id\":\"c3\",\"score\":1e300}\n");
  EXPECT_EQ(c.imported, 1);
  Problem("c.jsonl:1: field 'score': the number '1e400' is out of range");
  if (GetParam() == Backend::kSqlite) {
    EXPECT_EQ(
        testing::Sql(dir_ / "f.db", "SELECT attributes FROM customers WHERE external_id = 'c3'"),
        R"({"score":"1e300"})");
  }
}

TEST_P(ImportTest, JsonNumbersKeepTheirExactText) {
  // Ids past 2^64 went through a double: these two became the same id.
  auto c = Import(ImportTarget::kCustomers, "c.jsonl",
                  "{\"id\":18446744073709551617,\"email\":\"a@example.com\"}\n"
                  "{\"id\":18446744073709551618,\"email\":\"b@example.com\"}\n"
                  "{\"id\":-42}\n"
                  "{\"id\":1.50}\n");
  EXPECT_EQ(c.imported, 4);
  EXPECT_EQ(c.rejected, 0);
  ASSERT_TRUE(*store_->FindCustomer("18446744073709551617"));
  EXPECT_EQ((*store_->FindCustomer("18446744073709551618"))->email, "b@example.com");
  EXPECT_TRUE(*store_->FindCustomer("-42"));
  EXPECT_TRUE(*store_->FindCustomer("1.50"));
  // Amounts are read from the text as written, never through a double.
  auto t = Import(
      ImportTarget::kTransactions, "t.jsonl",
      "{\"id\":\"t1\",\"customer_id\":-42,\"occurred_at\":\"2026-01-05\",\"amount\":29.330}\n"
      "{\"id\":\"t2\",\"customer_id\":-42,\"occurred_at\":\"2026-01-05\","
      "\"amount\":92233720368547758.07}\n"
      "{\"id\":\"t3\",\"customer_id\":-42,\"occurred_at\":\"2026-01-05\",\"amount\":1e2}\n");
  EXPECT_EQ(t.imported, 2);
  Problem("t.jsonl:3: column 'amount': bad amount '1e2': not a number");
  auto rows = Transactions();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].amount, 2933);
  EXPECT_EQ(rows[1].amount, std::numeric_limits<int64_t>::max());
}

TEST_P(ImportTest, AmountsPastSixtyFourBitsAreRejectedPerRow) {
  Import(ImportTarget::kCustomers, "c.csv", "id\nc1\n");
  // These were stored as 1.00 and 0.00, and the last one failed the whole file on a CHECK
  // constraint, without a line.
  auto s = Import(ImportTarget::kTransactions, "t.csv",
                  "id,customer_id,occurred_at,amount,cost\n"
                  "a1,c1,2026-01-05,9223372036854775809,\n"
                  "a2,c1,2026-01-05,922337203685477580.8,\n"
                  "a3,c1,2026-01-05,92233720368547758.08,\n"
                  "a4,c1,2026-01-05,1.00,92233720368547758.08\n"
                  "a5,c1,2026-01-05,92233720368547758.07,92233720368547758.07\n");
  EXPECT_EQ(s.read, 5);
  EXPECT_EQ(s.imported, 1);
  EXPECT_EQ(s.rejected, 4);
  Problem(
      "t.csv:2: column 'amount': bad amount '9223372036854775809': too large (at most "
      "92233720368547758.07)");
  Problem("t.csv:3: column 'amount': bad amount '922337203685477580.8': too large");
  Problem("t.csv:4: column 'amount': bad amount '92233720368547758.08': too large");
  Problem("t.csv:5: column 'cost': bad amount '92233720368547758.08': too large");
  if (GetParam() == Backend::kSqlite) {
    EXPECT_EQ(Ids("transactions"), "a5");
  }
  EXPECT_EQ(Transactions().at(0).amount, std::numeric_limits<int64_t>::max());
}

TEST_P(ImportTest, ProblemsCiteFieldTextEscapedAndCutShort) {
  const std::string long_email(1000, 'x');
  auto s = Import(ImportTarget::kCustomers, "c.csv",
                  "id,email,timezone,created_at\n"
                  "c1,\"bad\nc.csv:99: forged line\",,\n"
                  "c2,\"\x1b[2J\x1b]0;title\x07\",,\n" +
                      std::string("c3,a\0b,,\n", 9) + "c4," + long_email +
                      ",,\n"
                      "c5,,\"Europe/\nBerlin\",\n"
                      "c6,,,\"2026-01-01\x1b[31m\"\n"
                      "c7,,,\"" +
                      long_email + "\"\n" + "c8,\"\xc2\x9b" + "31mx\",,\n");
  EXPECT_EQ(s.rejected, 8);
  ASSERT_EQ(problems_.size(), 8u);
  for (const auto& p : problems_) {
    for (unsigned char c : p) EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "raw control in: " << p;
    EXPECT_EQ(p.find("\xc2\x9b"), std::string::npos) << "raw C1 control in: " << p;
    EXPECT_LT(p.size(), 200u) << p;
  }
  Problem("c.csv:2: column 'email': 'bad\\nc.csv:99: forged line' is not an email address");
  Problem("c.csv:4: column 'email': '\\x1b[2J\\x1b]0;title\\x07' is not an email address");
  Problem("c.csv:5: column 'email': 'a\\0b' is not an email address");
  Problem("c.csv:6: column 'email': '" + std::string(64, 'x') + "...' is not an email address");
  Problem("c.csv:7: column 'timezone': unknown time zone 'Europe/\\nBerlin'");
  Problem("c.csv:9: column 'created_at': bad time '2026-01-01\\x1b[31m'");
  Problem("c.csv:10: column 'created_at': bad time '" + std::string(64, 'x') + "...': too long");
  Problem("c.csv:11: column 'email': '\\u009b31mx' is not an email address");
  // Header and JSON field names too.
  auto j = Import(ImportTarget::kTransactions, "t.jsonl", "{\"i\\u001bd\":1}\n");
  EXPECT_EQ(j.rejected, 1);
  Problem("t.jsonl:1: unknown field 'i\\x1bd'");
  ImportCallbacks cb;
  options_.target = ImportTarget::kTransactions;
  auto header = store::Import(*store_, dir_.Write("h.csv", "id,\"cus\ntomer\"\n"), options_, cb);
  ASSERT_FALSE(header);
  EXPECT_NE(header.error().message.find("unknown column 'cus\\ntomer'"), std::string::npos)
      << header.error().message;
}

TEST_P(ImportTest, CdnowSampleImportsAsItIs) {
  options_.zone = *LookupZone("UTC");
  ImportOptions o = options_;
  o.target = ImportTarget::kCustomers;
  auto c =
      store::Import(*store_, FOLLOWUP_TEST_DATA_DIR "/cdnow/cdnow_sample_customers.csv", o, {});
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->imported, 2357);
  o.target = ImportTarget::kTransactions;
  auto t =
      store::Import(*store_, FOLLOWUP_TEST_DATA_DIR "/cdnow/cdnow_sample_transactions.csv", o, {});
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->read, 6919);
  EXPECT_EQ(t->imported, 6919);
  EXPECT_EQ(t->rejected, 0);
  int64_t total = 0;
  for (const auto& r : Transactions()) total += r.amount;
  // The sum of the sample's dollars column, in cents (checked with awk over the raw file).
  EXPECT_EQ(total, 24409194);
}

FOLLOWUP_ON_EVERY_BACKEND(ImportTest);

}  // namespace
}  // namespace followup::store
