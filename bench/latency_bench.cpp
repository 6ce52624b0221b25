// latency_bench: from another process's commit of a transaction to the decision in the outbox, on
// a store a running `followupd run` watches (see docs/benchmarks.md, "Latency";
// bench/latency_bench.sh starts the daemon and runs this).
//
//   latency_bench STORE [--idle N] [--idle-mean-ms M] [--rate R] [--seconds S] [--warmup N]
//                       [--poll-us U] [--wait-s W] [--seed S] [--synchronous MODE]
//
// This program is "another program" writing to the store (docs/store.md, "Writing directly"): its
// own SQLite connection (foreign_keys=ON, busy_timeout 5000, synchronous NORMAL by default, as the
// daemon's), one purchase a write transaction (BEGIN IMMEDIATE; INSERT; COMMIT), for a customer
// drawn at random among those with an email address. The commit time of transaction i is read from
// the monotonic clock right after COMMIT returns.
//
// The outbox is watched from a second thread on a third connection (read-only): every U
// microseconds (default 1000) it runs SELECT id, dedupe_key FROM outbox WHERE id > last ORDER BY
// id. An event rule's dedupe key ends in the transaction's external id, which names i. Each new
// row is stamped with the monotonic time at which that query STARTED: the decision was committed
// after the previous query started (it was not visible to it) and before this one started, so the
// stamp is late by less than one poll period (about U + the query's own time) and never early.
// Latency = stamp - commit time. outbox.decided_at is whole seconds and written by the daemon's
// clock, so it is not used.
//
// Phases: a warm-up (N transactions, each waited for: the daemon is up and past its first full
// pass), "idle" (N transactions, one at a time with random gaps, uniform in [0, 2M] ms, so that
// commits fall at every phase of the daemon's poll timer), and "load" (R transactions per second
// for S seconds on a fixed schedule; a commit delayed by the daemon's write lock is followed by the
// next ones at once, so the rate holds on average). After each phase it waits for the last
// decisions for as long as the daemon keeps making them (gives up after W seconds without a new
// one). A transaction whose decision never shows is reported as missing.
//
// The last line, "figures: key=value ...", is for scripts. Exit 0 whether the target is met or not;
// non-zero when the store cannot be used or the daemon decides nothing at all.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr double kTargetMs = 100;

using followup::bench::Die;
using followup::bench::Percentile;

struct Args {
  std::string store;
  int idle = 200;
  double idle_mean_ms = 50;
  double rate = 1000;
  double seconds = 10;
  int warmup = 5;
  int poll_us = 1000;
  double wait_s = 30;
  uint64_t seed = 1;
  std::string synchronous = "NORMAL";
};

int64_t Nanos(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

sqlite3* OpenDb(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK)
    Die("open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
  sqlite3_busy_timeout(db, 5000);
  return db;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string text = err ? err : "?";
    sqlite3_free(err);
    Die(sql + ": " + text);
  }
}

sqlite3_stmt* Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    Die(std::string(sql) + ": " + sqlite3_errmsg(db));
  return s;
}

// Commit and decision times of every transaction this run writes, by index.
struct Ledger {
  explicit Ledger(size_t n) : committed(n), decided(n) {
    for (auto& v : committed) v = 0;
    for (auto& v : decided) v = 0;
  }
  std::vector<std::atomic<int64_t>> committed;  // ns, steady clock; 0 = not yet
  std::vector<std::atomic<int64_t>> decided;    // ns, start of the query that first saw it
};

// Watches the outbox for new rows with keys ending in "<tag><index>".
class Watcher {
 public:
  Watcher(const std::string& path, std::string tag, Ledger& ledger, int poll_us)
      : tag_(std::move(tag)), ledger_(ledger), poll_us_(poll_us) {
    db_ = OpenDb(path, true);
    sqlite3_stmt* s = Prepare(db_, "SELECT coalesce(max(id), 0) FROM outbox");
    if (sqlite3_step(s) == SQLITE_ROW) max_id_ = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    query_ = Prepare(db_, "SELECT id, dedupe_key FROM outbox WHERE id > ?1 ORDER BY id");
    thread_ = std::thread([this] { Run(); });
  }
  ~Watcher() {
    stop_ = true;
    thread_.join();
    sqlite3_finalize(query_);
    sqlite3_close(db_);
  }
  int64_t polls() const { return polls_; }
  double mean_poll_period_us() const {
    int64_t n = polls_;
    return n > 1 ? static_cast<double>(last_start_ns_ - first_start_ns_) / 1e3 /
                       static_cast<double>(n - 1)
                 : 0;
  }
  double mean_query_us() const {
    int64_t n = polls_;
    return n ? static_cast<double>(query_ns_) / 1e3 / static_cast<double>(n) : 0;
  }
  int64_t foreign_rows() const { return foreign_; }

 private:
  void Run() {
    while (!stop_) {
      auto start = SteadyClock::now();
      int64_t stamp = Nanos(start);
      sqlite3_bind_int64(query_, 1, max_id_);
      int rc;
      while ((rc = sqlite3_step(query_)) == SQLITE_ROW) {
        max_id_ = sqlite3_column_int64(query_, 0);
        auto* text = reinterpret_cast<const char*>(sqlite3_column_text(query_, 1));
        std::string_view key = text ? text : "";
        size_t at = key.rfind(tag_);
        if (at == std::string_view::npos) {
          ++foreign_;
          continue;
        }
        size_t index = std::strtoull(key.data() + at + tag_.size(), nullptr, 10);
        if (index < ledger_.decided.size()) {
          int64_t zero = 0;
          ledger_.decided[index].compare_exchange_strong(zero, stamp);
        }
      }
      sqlite3_reset(query_);
      if (rc != SQLITE_DONE && rc != SQLITE_BUSY)
        Die(std::string("outbox: ") + sqlite3_errmsg(db_));
      auto end = SteadyClock::now();
      if (!polls_) first_start_ns_ = stamp;
      last_start_ns_ = stamp;
      query_ns_ += Nanos(end) - stamp;
      ++polls_;
      std::this_thread::sleep_until(start + microseconds(poll_us_));
    }
  }

  std::string tag_;
  Ledger& ledger_;
  int poll_us_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* query_ = nullptr;
  int64_t max_id_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> polls_{0};
  std::atomic<int64_t> first_start_ns_{0}, last_start_ns_{0}, query_ns_{0};
  std::atomic<int64_t> foreign_{0};
  std::thread thread_;
};

class Writer {
 public:
  Writer(const std::string& path, const std::string& synchronous, std::string tag, uint64_t seed)
      : tag_(std::move(tag)), rng_(seed) {
    db_ = OpenDb(path, false);
    Exec(db_, "PRAGMA foreign_keys=ON; PRAGMA synchronous=" + synchronous);
    sqlite3_stmt* s =
        Prepare(db_,
                "SELECT id FROM customers WHERE email IS NOT NULL AND email <> '' AND "
                "unsubscribed_at IS NULL AND lower(email) NOT IN (SELECT email FROM suppressions) "
                "ORDER BY id");
    while (sqlite3_step(s) == SQLITE_ROW) customers_.push_back(sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    if (customers_.empty()) Die("the store has no customer with an email address");
    begin_ = Prepare(db_, "BEGIN IMMEDIATE");
    insert_ = Prepare(db_,
                      "INSERT INTO transactions(external_id, customer_id, occurred_at, kind, "
                      "amount, currency) VALUES(?1, ?2, ?3, 'purchase', ?4, 'EUR')");
    commit_ = Prepare(db_, "COMMIT");
  }
  ~Writer() {
    sqlite3_finalize(begin_);
    sqlite3_finalize(insert_);
    sqlite3_finalize(commit_);
    sqlite3_close(db_);
  }
  size_t customers() const { return customers_.size(); }

  // Commits purchase number `index`; returns the steady time right after COMMIT returned.
  SteadyClock::time_point Commit(size_t index) {
    std::uniform_int_distribution<size_t> pick(0, customers_.size() - 1);
    std::uniform_int_distribution<int64_t> cents(500, 25000);
    std::string id = tag_ + std::to_string(index);
    // A second ago: the daemon acts on events that occurred at or before its own "now".
    int64_t occurred = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() -
                       1;
    auto t0 = SteadyClock::now();
    Step(begin_, "BEGIN IMMEDIATE");
    sqlite3_bind_text(insert_, 1, id.c_str(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert_, 2, customers_[pick(rng_)]);
    sqlite3_bind_int64(insert_, 3, occurred);
    sqlite3_bind_int64(insert_, 4, cents(rng_));
    Step(insert_, "INSERT INTO transactions");
    Step(commit_, "COMMIT");
    auto t1 = SteadyClock::now();
    commit_ns_.push_back(Nanos(t1) - Nanos(t0));
    return t1;
  }
  std::vector<int64_t>& commit_ns() { return commit_ns_; }

 private:
  void Step(sqlite3_stmt* s, const char* what) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
      (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      Die(std::string(what) + ": " + sqlite3_errmsg(db_));
    }
  }

  std::string tag_;
  std::mt19937_64 rng_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt *begin_ = nullptr, *insert_ = nullptr, *commit_ = nullptr;
  std::vector<int64_t> customers_;
  std::vector<int64_t> commit_ns_;
};

struct PhaseResult {
  std::string name;
  size_t committed = 0, decided = 0;
  double seconds = 0;  // first to last commit
  double p50 = NAN, p90 = NAN, p99 = NAN, max = NAN, mean = NAN;
  double commit_p99_ms = NAN, commit_max_ms = NAN;
};

// Waits until every index in [from, to) is decided, or until none more has been for `wait`
// (the daemon stopped making progress). True when all are.
bool WaitDecided(Ledger& ledger, size_t from, size_t to, std::chrono::duration<double> wait) {
  const auto patience = std::chrono::duration_cast<SteadyClock::duration>(wait);
  auto last_progress = SteadyClock::now();
  size_t seen = 0;
  for (;;) {
    size_t n = 0;
    for (size_t i = from; i < to; ++i) n += ledger.decided[i] != 0;
    if (n == to - from) return true;
    auto now = SteadyClock::now();
    if (n > seen) {
      seen = n;
      last_progress = now;
    } else if (now - last_progress > patience) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

PhaseResult Summarize(const std::string& name, Ledger& ledger, size_t from, size_t to,
                      std::vector<int64_t> commit_ns) {
  PhaseResult r;
  r.name = name;
  r.committed = to - from;
  std::vector<double> ms;
  int64_t first = 0, last = 0;
  for (size_t i = from; i < to; ++i) {
    int64_t c = ledger.committed[i], d = ledger.decided[i];
    if (i == from) first = c;
    last = c;
    if (!d) continue;
    ++r.decided;
    ms.push_back(static_cast<double>(d - c) / 1e6);
  }
  r.seconds = static_cast<double>(last - first) / 1e9;
  if (!ms.empty()) {
    r.p50 = Percentile(ms, 50);
    r.p90 = Percentile(ms, 90);
    r.p99 = Percentile(ms, 99);
    r.max = *std::max_element(ms.begin(), ms.end());
    double sum = 0;
    for (double v : ms) sum += v;
    r.mean = sum / static_cast<double>(ms.size());
  }
  std::vector<double> cms;
  for (int64_t n : commit_ns) cms.push_back(static_cast<double>(n) / 1e6);
  if (!cms.empty()) {
    r.commit_p99_ms = Percentile(cms, 99);
    r.commit_max_ms = *std::max_element(cms.begin(), cms.end());
  }
  return r;
}

void Print(const PhaseResult& r) {
  if (r.committed == 0) return;
  bool pass = r.decided == r.committed && r.p99 < kTargetMs;
  std::printf("  %-5s %6zu transactions in %.2f s (%.0f/s), %zu decided%s\n", r.name.c_str(),
              r.committed, r.seconds,
              r.seconds > 0 ? static_cast<double>(r.committed - 1) / r.seconds : 0.0, r.decided,
              r.decided == r.committed ? "" : " (some MISSING)");
  std::printf(
      "        latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  mean %.1f   (target p99 < %.0f: "
      "%s)\n",
      r.p50, r.p90, r.p99, r.max, r.mean, kTargetMs, pass ? "PASS" : "MISS");
  std::printf(
      "        this program's commits: p99 %.2f ms, max %.2f ms (waits for the write lock)\n",
      r.commit_p99_ms, r.commit_max_ms);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--idle") {
      a.idle = std::atoi(value().c_str());
    } else if (arg == "--idle-mean-ms") {
      a.idle_mean_ms = std::atof(value().c_str());
    } else if (arg == "--rate") {
      a.rate = std::atof(value().c_str());
    } else if (arg == "--seconds") {
      a.seconds = std::atof(value().c_str());
    } else if (arg == "--warmup") {
      a.warmup = std::atoi(value().c_str());
    } else if (arg == "--poll-us") {
      a.poll_us = std::atoi(value().c_str());
    } else if (arg == "--wait-s") {
      a.wait_s = std::atof(value().c_str());
    } else if (arg == "--seed") {
      a.seed = std::strtoull(value().c_str(), nullptr, 10);
    } else if (arg == "--synchronous") {
      a.synchronous = value();
    } else if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: latency_bench STORE [--idle N] [--idle-mean-ms M] [--rate R] [--seconds S]\n"
          "                     [--warmup N] [--poll-us U] [--wait-s W] [--seed S]\n"
          "                     [--synchronous OFF|NORMAL|FULL]\n");
      std::exit(0);
    } else if (!arg.starts_with("-") && a.store.empty()) {
      a.store = std::string(arg);
    } else {
      Die("unknown argument " + std::string(arg));
    }
  }
  if (a.store.empty()) Die("usage: latency_bench STORE [options] (see --help)");
  if (a.idle < 0 || a.rate <= 0 || a.seconds <= 0 || a.warmup < 1 || a.poll_us < 50)
    Die("bad numbers");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  const size_t load_n = static_cast<size_t>(std::llround(args.rate * args.seconds));
  const size_t total = static_cast<size_t>(args.warmup) + static_cast<size_t>(args.idle) + load_n;
  Ledger ledger(total);
  // Transaction ids "lat<pid>.<time>-<i>": new on every run, so a store can be reused.
  std::string tag = "lat" + std::to_string(getpid()) + "." +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count()) +
                    "-";
  Writer writer(args.store, args.synchronous, tag, args.seed);
  Watcher watcher(args.store, tag, ledger, args.poll_us);
  std::printf(
      "latency benchmark: commit of a purchase (another process) -> its decision in the outbox\n"
      "  store %s, %zu customers with an email; outbox polled every %d us; writer "
      "synchronous=%s\n",
      args.store.c_str(), writer.customers(), args.poll_us, args.synchronous.c_str());
  std::fflush(stdout);

  // Warm-up: one at a time, each waited for.
  size_t next = 0;
  for (int i = 0; i < args.warmup; ++i, ++next) {
    ledger.committed[next] = Nanos(writer.Commit(next));
    if (!WaitDecided(ledger, next, next + 1, std::chrono::seconds(i == 0 ? 120 : 30)))
      Die("the daemon decided nothing within the wait (is followupd running on this store, with "
          "an event: purchase rule?)");
  }
  auto warm = Summarize("warm", ledger, 0, next, {});
  std::printf("  warm-up: %zu transactions, latency ms: max %.1f\n", warm.committed, warm.max);
  std::this_thread::sleep_for(milliseconds(500));

  // Idle: one at a time, random gaps.
  std::mt19937_64 rng(args.seed + 1);
  std::uniform_real_distribution<double> gap(0, 2 * args.idle_mean_ms);
  size_t idle_from = next;
  writer.commit_ns().clear();
  for (int i = 0; i < args.idle; ++i, ++next) {
    ledger.committed[next] = Nanos(writer.Commit(next));
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(gap(rng)));
  }
  WaitDecided(ledger, idle_from, next, std::chrono::duration<double>(args.wait_s));
  auto idle = Summarize("idle", ledger, idle_from, next, writer.commit_ns());
  std::this_thread::sleep_for(milliseconds(1000));

  // Load: a fixed schedule of `rate` a second.
  size_t load_from = next;
  writer.commit_ns().clear();
  auto t0 = SteadyClock::now();
  double max_behind_ms = 0;
  for (size_t i = 0; i < load_n; ++i, ++next) {
    auto due = t0 + std::chrono::duration_cast<SteadyClock::duration>(
                        std::chrono::duration<double>(static_cast<double>(i) / args.rate));
    auto now = SteadyClock::now();
    if (now < due)
      std::this_thread::sleep_until(due);
    else
      max_behind_ms =
          std::max(max_behind_ms, std::chrono::duration<double, std::milli>(now - due).count());
    ledger.committed[next] = Nanos(writer.Commit(next));
  }
  WaitDecided(ledger, load_from, next, std::chrono::duration<double>(args.wait_s));
  auto load = Summarize("load", ledger, load_from, next, writer.commit_ns());

  Print(idle);
  Print(load);
  std::printf(
      "  load schedule: at most %.1f ms behind; watcher: %lld polls, mean period %.0f us, mean "
      "query %.0f us (a stamp is late by less than one period)\n",
      max_behind_ms, static_cast<long long>(watcher.polls()), watcher.mean_poll_period_us(),
      watcher.mean_query_us());
  std::printf(
      "figures: idle_n=%zu idle_decided=%zu idle_p50_ms=%.3f idle_p90_ms=%.3f idle_p99_ms=%.3f "
      "idle_max_ms=%.3f load_n=%zu load_decided=%zu load_rate=%.1f load_p50_ms=%.3f "
      "load_p90_ms=%.3f load_p99_ms=%.3f load_max_ms=%.3f poll_period_us=%.0f\n",
      idle.committed, idle.decided, idle.p50, idle.p90, idle.p99, idle.max, load.committed,
      load.decided, load.seconds > 0 ? static_cast<double>(load.committed - 1) / load.seconds : 0.0,
      load.p50, load.p90, load.p99, load.max, load.committed ? watcher.mean_poll_period_us() : 0.0);
  return 0;
}
