// The console's send log at 1,000,000 outbox rows: the server's time for one page (the store's
// read of 51 rows through console::LogFilterFor and console::RenderLog; the HTTP round trip
// aside), for the first page, a page deep in the log (keyset: after the 900,000th row), and the
// filters an operator uses. Target (issue 14): under 50 ms a page.
//
//   build/bench/console_bench [--rows N] [--store PATH] [--runs N]
// Builds a SQLite store of N sends (default 1,000,000; 20,000 customers, one decision every
// 30 s, 2% failed, a few held) at PATH (default a temporary file, removed after), then times each
// page `runs` times (default 20) and prints the median and the worst with the ratio to 50 ms.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_util.h"
#include "console/console.h"
#include "store/store.h"

using namespace followup;

namespace {

void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK)
    bench::Die(std::string("console_bench: ") + (error ? error : "sqlite error"));
}

// `rows` sends to `customers` customers, decided 30 s apart from 2025-01-01.
void Fill(const std::string& path, int64_t rows, int64_t customers) {
  auto store = store::Store::Open("sqlite:" + path);
  if (!store) bench::Die("console_bench: " + store.error().ToString());
  store->reset();
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) bench::Die("console_bench: cannot open");
  Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; BEGIN;");
  Exec(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " +
               std::to_string(customers - 1) +
               ") INSERT INTO customers(external_id, email, name) SELECT 'c' || i, 'c' || i || "
               "'@example.com', 'Customer ' || i FROM n");
  Exec(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " +
               std::to_string(rows - 1) +
               ") INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
               "template_values, decided_at, send_after, status, updated_at, sent_at, attempts, "
               "last_reply) SELECT 'r' || (i % 3) || ':' || i, CASE i % 3 WHEN 0 THEN 'winback' "
               "WHEN 1 THEN 'thank-referrer' ELSE 'best-offer' END, 1 + i % " +
               std::to_string(customers) + ", 1 + i % " + std::to_string(customers) +
               ", 'send', 'winback', '{}', 1735689600 + i * 30, 1735689600 + i * 30, CASE WHEN i % "
               "50 = 7 THEN 'failed' WHEN i % 997 = 3 THEN 'held' ELSE 'sent' END, 1735689600 + i "
               "* 30, 1735689600 + i * 30 + 5, 1, '250 2.0.0 Ok: queued' FROM n");
  Exec(db, "COMMIT; ANALYZE;");
  sqlite3_close(db);
}

struct Timed {
  double median_ms = 0;
  double worst_ms = 0;
  size_t rows = 0;
};

Timed Time(store::Store& store, const std::string& query, int runs) {
  auto q = console::ParseLogQuery(query);
  if (!q) bench::Die("console_bench: " + q.error().message);
  std::vector<double> ms;
  size_t rows = 0;
  for (int r = 0; r < runs; ++r) {
    auto start = std::chrono::steady_clock::now();
    std::vector<store::LogEntry> page;
    auto read = store.ForEachLogEntry(console::LogFilterFor(*q, nullptr),
                                      [&](const store::LogEntry& e) { page.push_back(e); });
    if (!read) bench::Die("console_bench: " + read.error().ToString());
    console::Page html = console::RenderLog(*q, page, nullptr, "1.token");
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
    rows = page.size();
    if (html.body.empty()) bench::Die("console_bench: an empty page");
  }
  return {bench::Percentile(ms, 50), *std::max_element(ms.begin(), ms.end()), rows};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 1'000'000;
  int runs = 20;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) bench::Die("console_bench: " + a + " needs a value");
      return std::string(argv[++i]);
    };
    if (a == "--rows") {
      rows = std::stoll(value());
    } else if (a == "--runs") {
      runs = std::stoi(value());
    } else if (a == "--store") {
      path = value();
    } else {
      std::printf(
          "usage: console_bench [--rows N] [--store PATH] [--runs N]\n"
          "The console's send log pages at N outbox rows (default 1,000,000): median and worst "
          "server time against the 50 ms target.\n");
      return a == "--help" ? 0 : 2;
    }
  }
  const bool temporary = path.empty();
  if (temporary)
    path = (std::filesystem::temp_directory_path() /
            ("console_bench." + std::to_string(getpid()) + ".db"))
               .string();
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "console_bench: writing %lld sends to %s ...\n",
                 static_cast<long long>(rows), path.c_str());
    Fill(path, rows, 20'000);
  }
  auto store = store::Store::Open("sqlite:" + path, store::OpenMode::kExisting);
  if (!store) bench::Die("console_bench: " + store.error().ToString());

  // After the 900,000th row from the newest (of 1M): decided 100,000 rows after the first.
  const int64_t deep = 1735689600 + (rows / 10) * 30;
  const std::string deep_cursor =
      "after=" + std::to_string(deep) + "." + std::to_string(rows / 10 + 1);
  struct Case {
    const char* name;
    std::string query;
  };
  const Case cases[] = {
      {"first page", ""},
      {"deep page (keyset)", deep_cursor},
      {"status failed", "status=failed"},
      {"status held, deep", "status=held&" + deep_cursor},
      {"rule", "rule=thank-referrer"},
      {"one customer", "customer=c4242"},
      {"date range", "from=2025-03-01&to=2025-03-02"},
      {"a status nobody has", "status=complained"},
  };
  std::printf("%-24s %8s %10s %10s %8s\n", "page", "rows", "median ms", "worst ms", "vs 50 ms");
  bool all = true;
  for (const Case& c : cases) {
    Timed t = Time(**store, c.query, runs);
    all = all && t.median_ms < 50;
    std::printf("%-24s %8zu %10.2f %10.2f %7.2fx %s\n", c.name, t.rows, t.median_ms, t.worst_ms,
                t.median_ms / 50.0, t.median_ms < 50 ? "PASS" : "MISS");
  }
  store->reset();
  if (temporary) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
  return all ? 0 : 1;
}
