// Reliability of `followupd run` as a real process: SIGKILL at random moments while it sends, an
// SMTP server that is down for a while, and a store locked by another writer. Real processes and
// signals throughout: the followupd binary, Postfix's smtp-sink on loopback, the SQLite file.
//
// Every wait is bounded; the daemon and the sink are killed in TearDown whatever happens.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "service/smtp_sink.h"
#include "support/sqlite_util.h"
#include "support/test_util.h"

// How much slower followupd runs in this build: a sanitizer's (the tests start the followupd of
// their own build) slows it several times over.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define FOLLOWUP_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define FOLLOWUP_TEST_SANITIZED 1
#endif
#ifdef FOLLOWUP_TEST_SANITIZED
constexpr int kSanitizerSlowdown = 4;
#else
constexpr int kSanitizerSlowdown = 1;
#endif

namespace followup {
namespace {

namespace fs = std::filesystem;
using testing::Exec;
using testing::Sink;
using testing::Sql;
using testing::SqlColumn;
using testing::WaitFor;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// CPU time (user + system, seconds) a process has used so far, from /proc/PID/stat; -1 if gone.
double CpuSeconds(pid_t pid) {
  std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  long long utime = 0, stime = 0;
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

class ReliabilityTest : public ::testing::Test {
 protected:
  static constexpr int kCustomers = 100;
  // Messages the outbox worker claims and sends per round (delivery::OutboxOptions::batch_size;
  // not configurable): at most this many are in flight when the daemon dies.
  static constexpr int kBatch = 200;

  void SetUp() override {
    fs::copy(FOLLOWUP_SOURCE_DIR "/templates", dir_ / "templates", fs::copy_options::recursive);
    fs::create_directories(dir_ / "rules");
    std::string csv = "id,email,name\n";
    for (int i = 0; i < kCustomers; ++i)
      csv += "c" + std::to_string(i) + ",c" + std::to_string(i) + "@example.com,Customer " +
             std::to_string(i) + "\n";
    port_ = testing::FreeLoopbackPort();
    WriteConfig("");  // for the import; each test writes its own before starting the daemon
    auto r = Run("import customers " + dir_.Write("c.csv", csv));
    ASSERT_EQ(r.status, 0) << r.err;
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    sink_.Stop();
  }

  // The config: SMTP to the test's sink port, no contact caps or quiet hours, no HTTP.
  void WriteConfig(const std::string& delivery_extra, int poll_ms = 50,
                   const std::string& service_extra = "") {
    dir_.Write("followup.yaml",
               "store: sqlite:f.db\nrules_dir: rules\ntemplates_dir: templates\n"
               "contact_policy:\n  quiet_hours: \"\"\n  max_contacts: 0\n"
               "delivery:\n  transport: smtp://127.0.0.1:" +
                   std::to_string(port_) + "\n  require_tls: false\n  unsubscribe_key_file: key\n" +
                   delivery_extra + "service:\n  listen: \"\"\n  poll_interval_ms: " +
                   std::to_string(poll_ms) + "\n" + service_extra);
  }

  testing::CommandResult Run(const std::string& args) {
    return testing::Followupd("--config " + dir_ / "followup.yaml" + " " + args, dir_.path());
  }

  // `n` queued sends of the winback template, spread over the customers, dedupe keys rel:FIRST..
  void QueueSends(int n, int first = 0) { testing::QueueSends(db(), "rel", first, n, kCustomers); }

  // Starts `followupd run` in the background, its stderr appended to daemon.log.
  void Start() { pid_ = testing::StartDaemon(dir_); }

  bool Running() { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

  // SIGKILL, reaped.
  void Kill9() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // SIGTERM; the exit status (bounded wait), or -1 (then it is killed).
  int Stop(std::chrono::milliseconds limit = 30s) {
    kill(pid_, SIGTERM);
    int status = 0;
    bool exited = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, limit);
    if (!exited) Kill9();
    pid_ = -1;
    return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string Log() { return testing::ReadFile(dir_ / "daemon.log"); }
  // The log lines at warn level or above (what an operator would look at).
  std::string Problems() {
    std::istringstream in(Log());
    std::string line, out;
    while (std::getline(in, line))
      if (line.find(" warn ") != std::string::npos || line.find(" error ") != std::string::npos ||
          line.find(" critical ") != std::string::npos)
        out += line + "\n";
    return out;
  }

  std::string db() { return dir_ / "f.db"; }
  int Count(const std::string& where) {
    return std::atoi(Sql(db(), "SELECT count(*) FROM outbox WHERE " + where).c_str());
  }
  int Pending() { return Count("status IN ('queued', 'sending', 'deferred')"); }
  std::string StatusCounts() {
    std::string out;
    for (const auto& row : SqlColumn(db(),
                                     "SELECT status || '=' || count(*) FROM outbox "
                                     "GROUP BY status ORDER BY status"))
      out += row + " ";
    return out;
  }

  testing::TempDir dir_;
  int port_ = 0;
  Sink sink_{dir_ / "sink.dump", dir_ / "sink.log"};
  pid_t pid_ = -1;
};

// 1. kill -9 at random moments. 2,000 queued sends; the daemon is SIGKILLed 20 times at a random
// moment 50-400 ms after it was started (seeded, so every run kills at the same moments), then
// left to finish. Every row must end sent, the sink must have every Message-ID at least once, and
// the only duplicates are messages that were in flight ('sending') at a kill, and no more than
// about the connections' worth a kill: each message the server accepts is stored as sent at once,
// not with the rest of its claimed round of 200 (which put ~90 duplicates on each kill).
//
// Size: 2,000 x 20 as the issue asks; the whole test takes ~6 s. Unthrottled, the daemon sends all
// 2,000 to smtp-sink in about half a second, so after the first kill or two the kills would hit an
// idle daemon. delivery.rate_per_second: 400 (a real config option, applied in the transport; the
// transport does not reach it here) makes a round of 200 take ~500 ms, longer than a life between
// kills (225 ms on average): the kills land during startup and mid-round, and there is work left
// at every kill (20 lives send at most ~1,800 of the 2,000).
TEST_F(ReliabilityTest, KillNineAtRandomMomentsLosesNothing) {
  constexpr int kSends = 2000;
  constexpr int kKills = 20;
  constexpr int kConnections = 4;
  WriteConfig("  connections: " + std::to_string(kConnections) +
              "\n  timeout: 5s\n  rate_per_second: 400\n"
              "  retry_base: 1s\n  max_attempts: 50\n");
  QueueSends(kSends);
  ASSERT_EQ(Count("status = 'queued'"), kSends);
  ASSERT_TRUE(sink_.Start(port_)) << "smtp-sink did not start on port " << port_;

  std::mt19937 rng(20261125);
  std::uniform_int_distribution<int> delay_ms(50, 400);
  int in_flight_at_kills = 0;  // rows left 'sending' by the kills: the most that may go twice
  std::string rounds;
  auto started = Clock::now();
  for (int k = 0; k < kKills; ++k) {
    int delay = delay_ms(rng);
    Start();
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    ASSERT_TRUE(Running()) << "the daemon exited by itself before kill " << k + 1 << "\n" << Log();
    Kill9();
    int sending = Count("status = 'sending'");
    in_flight_at_kills += sending;
    EXPECT_LE(sending, kBatch) << "more than one round of messages in flight";
    rounds += "  kill " + std::to_string(k + 1) + " at " + std::to_string(delay) + " ms: sent " +
              std::to_string(Count("status = 'sent'")) + ", in flight " + std::to_string(sending) +
              "\n";
  }
  auto kill_phase = Clock::now() - started;
  int sent_during_kills = Count("status = 'sent'");

  // The last life: started, and running (its signal handlers set) before anything is looked at.
  auto lives = [&] {
    int n = 0;
    const std::string log = Log();
    for (size_t at = log.find("followupd running"); at != std::string::npos;
         at = log.find("followupd running", at + 1))
      ++n;
    return n;
  };
  const int lives_before = lives();
  Start();
  ASSERT_TRUE(WaitFor([&] { return lives() > lives_before || !Running(); }, 30s)) << Log();
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0 || !Running(); }, 90s, 100ms))
      << StatusCounts() << "\n"
      << Problems();
  ASSERT_TRUE(Running()) << "the daemon exited by itself\n" << Log();
  auto total = Clock::now() - started;
  EXPECT_EQ(Stop(), 0) << Log();
  // The last messages are dumped before their 250: give the sink a moment to have written them.
  std::this_thread::sleep_for(200ms);

  EXPECT_EQ(Count("status = 'sent'"), kSends) << StatusCounts();
  auto stored = SqlColumn(db(), "SELECT message_id FROM outbox WHERE message_id IS NOT NULL");
  std::set<std::string> stored_ids(stored.begin(), stored.end());
  EXPECT_EQ(stored_ids.size(), static_cast<size_t>(kSends)) << "Message-IDs are not one per row";

  auto received = sink_.MessageIds();
  int missing = 0, unknown = 0, duplicates = 0, total_received = 0;
  for (const auto& id : stored_ids)
    if (!received.count(id)) ++missing;
  for (const auto& [id, n] : received) {
    total_received += n;
    duplicates += n - 1;
    if (!stored_ids.count(id)) ++unknown;
  }
  EXPECT_EQ(missing, 0) << "rows marked sent that the server never received";
  EXPECT_EQ(unknown, 0) << "the server received Message-IDs the outbox does not know (a retried "
                           "send went out as a different message)";
  EXPECT_LE(duplicates, in_flight_at_kills) << "duplicates beyond the messages in flight at kills";
  // On the wire at a kill: one message a connection; accepted but not yet stored: those the
  // server accepted while the last store of accepted ones ran (a few at 800 a second). Under a
  // sanitizer followupd runs several times slower, a store of accepted ones takes longer and more
  // are accepted meanwhile (175 in 20 kills seen under ThreadSanitizer): four times the room,
  // still far below the ~90 a kill that storing only at the end of a round gave.
  EXPECT_LE(duplicates, kKills * 2 * kConnections * kSanitizerSlowdown)
      << "more than the connections' worth a kill";
  int requeued_warnings = 0;
  for (size_t at = Log().find("sending them again"); at != std::string::npos;
       at = Log().find("sending them again", at + 1))
    ++requeued_warnings;

  std::string report =
      "kill -9: " + std::to_string(kSends) + " sends, " + std::to_string(kKills) + " kills in " +
      std::to_string(Seconds(kill_phase)) + " s (" + std::to_string(sent_during_kills) +
      " sent meanwhile), all done after " + std::to_string(Seconds(total)) + " s; sink received " +
      std::to_string(total_received) + " messages, " + std::to_string(received.size()) +
      " distinct; duplicates " + std::to_string(duplicates) + " (bound: in flight at kills " +
      std::to_string(in_flight_at_kills) + ", kills x 2 x connections" +
      (kSanitizerSlowdown > 1 ? " x " + std::to_string(kSanitizerSlowdown) + " (sanitizer)" : "") +
      " " + std::to_string(kKills * 2 * kConnections * kSanitizerSlowdown) +
      "); restarts that requeued " + std::to_string(requeued_warnings) + "\n" + rounds;
  std::printf("%s", report.c_str());
  RecordProperty("duplicates", duplicates);
  RecordProperty("in_flight_at_kills", in_flight_at_kills);
  std::istringstream problems(Problems());
  std::string line, other;  // besides the expected "N sends were in flight ..." warnings
  while (std::getline(problems, line))
    if (line.find("sending them again") == std::string::npos) other += line + "\n";
  if (!other.empty()) std::printf("other daemon warnings/errors:\n%s", other.c_str());
}

// 2. The SMTP server is down. That is the sender's failure, not the messages': delivery pauses.
// The sends stay 'queued' with no attempt counted and the reason in last_reply, the pause is
// logged once; while it waits the daemon is near idle (CPU from /proc/PID/stat); when the server
// comes back on the same port everything goes out, and the end of the pause is logged once.
//
// Scaled down from "a minute": retry_base 1s (the pause's back-off starts there and doubles) and
// about 7 s of downtime; the daemon's 5-second outbox timer is what looks again, so after the sink
// is back the rows go within back-off + 5 s. "Near idle": under 10% of one CPU over 6 s (it
// measures 0.00-0.01 s here). max_attempts 1: were a try an attempt, the first would fail all.
TEST_F(ReliabilityTest, SmtpServerDownPausesThenSendsWhenItIsBack) {
  constexpr int kSends = 50;
  WriteConfig("  connections: 4\n  timeout: 5s\n  retry_base: 1s\n  max_attempts: 1\n",
              /*poll_ms=*/100);
  QueueSends(kSends);
  auto started = Clock::now();
  Start();
  ASSERT_TRUE(
      WaitFor([&] { return Count("status = 'queued' AND last_reply IS NOT NULL") == kSends; }, 20s))
      << StatusCounts() << "\n"
      << Log();
  std::string reply = Sql(db(), "SELECT last_reply FROM outbox LIMIT 1");
  EXPECT_NE(reply.find("smtp connect"), std::string::npos) << reply;

  // Near idle while it waits.
  constexpr double kWindow = 6.0;
  double cpu_before = CpuSeconds(pid_);
  std::this_thread::sleep_for(std::chrono::duration<double>(kWindow));
  double cpu_used = CpuSeconds(pid_) - cpu_before;
  ASSERT_GE(cpu_before, 0);
  EXPECT_LT(cpu_used, 0.1 * kWindow) << "the daemon is busy while the server is down";
  EXPECT_TRUE(Running()) << Log();
  EXPECT_EQ(Count("status = 'failed' OR status = 'deferred'"), 0) << StatusCounts();
  EXPECT_EQ(Sql(db(), "SELECT max(attempts) FROM outbox"), "0") << "no attempt counted";

  auto down_for = Clock::now() - started;
  ASSERT_TRUE(sink_.Start(port_)) << "smtp-sink did not start on the daemon's port " << port_;
  auto back = Clock::now();
  EXPECT_TRUE(WaitFor([&] { return Count("status = 'sent'") == kSends; }, 45s, 100ms))
      << StatusCounts() << "\n"
      << Log();
  auto recovered = Clock::now() - back;
  EXPECT_TRUE(Running()) << Log();
  EXPECT_EQ(Stop(), 0) << Log();
  std::this_thread::sleep_for(200ms);
  auto received = sink_.MessageIds();
  EXPECT_EQ(received.size(), static_cast<size_t>(kSends));
  EXPECT_EQ(Occurrences(Log(), "delivery paused"), 1u) << Log();
  EXPECT_EQ(Occurrences(Log(), "delivery resumed"), 1u) << Log();
  std::printf(
      "smtp down: %d sends paused (\"%s\"); %.3f s CPU in %.0f s of waiting; down for %.1f s; "
      "all sent %.1f s after the server came back; sink got %zu\n",
      kSends, reply.c_str(), cpu_used, kWindow, Seconds(down_for), Seconds(recovered),
      received.size());
}

// 3. smtp-sink -f mail: every MAIL FROM refused with a 5xx, as when the provider refuses the
// sender address. Nothing is failed (max_attempts 1 would have failed all at the first try), by
// run --once or the daemon; the sends stay queued with the reply, and go out once the sink is
// restarted normally.
TEST_F(ReliabilityTest, RefusedSenderPausesThenSendsWhenTheServerTakesMail) {
  constexpr int kSends = 30;
  WriteConfig("  connections: 4\n  timeout: 5s\n  retry_base: 1s\n  max_attempts: 1\n",
              /*poll_ms=*/100);
  ASSERT_TRUE(sink_.Start(port_, {"-f", "mail"})) << "smtp-sink did not start on " << port_;
  QueueSends(kSends);
  // run --once says so and exits 3, failing nothing.
  auto once = Run("run --once");
  EXPECT_EQ(once.status, 3) << once.out << once.err;
  EXPECT_NE(once.err.find("delivery paused: the sender failed: 5"), std::string::npos) << once.err;
  EXPECT_EQ(Count("status = 'queued' AND attempts = 0"), kSends) << StatusCounts();
  Start();
  ASSERT_TRUE(WaitFor(
      [&] { return Count("status = 'queued' AND last_reply LIKE '%MAIL FROM%'") == kSends; }, 20s))
      << StatusCounts() << "\n"
      << Log();
  std::this_thread::sleep_for(3s);  // a few more tries
  EXPECT_EQ(Count("status = 'queued'"), kSends) << StatusCounts();
  EXPECT_EQ(Sql(db(), "SELECT max(attempts) FROM outbox"), "0");
  EXPECT_TRUE(sink_.MessageIds().empty());

  ASSERT_TRUE(sink_.Start(port_)) << "smtp-sink did not start again on " << port_;
  EXPECT_TRUE(WaitFor([&] { return Count("status = 'sent'") == kSends; }, 45s, 100ms))
      << StatusCounts() << "\n"
      << Log();
  EXPECT_EQ(Stop(), 0) << Log();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(sink_.MessageIds().size(), static_cast<size_t>(kSends));
  EXPECT_EQ(Occurrences(Log(), "delivery paused"), 1u) << Log();
  EXPECT_EQ(Occurrences(Log(), "delivery resumed"), 1u) << Log();
  EXPECT_EQ(Count("status = 'failed'"), 0);
}

// 4. kill -9 while the daemon reads the bounce folder (docs/feedback.md, "The bounce folder"). It
// sends 300 messages; then a Postfix bounce of each (matched by its Message-ID) is delivered to the
// bounce folder, and the daemon is SIGKILLed three times as it reads them (once at least 1, 100
// and 200 reports are filed, each life filing at least one), then left to finish. Every report
// ends in cur/ exactly once: none left in new/, none lost, none in unmatched/; each bounce is
// recorded once and each address suppressed once. The whole takes a few seconds.
TEST_F(ReliabilityTest, KillNineWhileReadingBouncesFilesEachReportOnce) {
  constexpr size_t kReports = 300;
  WriteConfig("  connections: 4\n  timeout: 5s\n  bounces: bounces\n", 50,
              "feedback:\n  verp_key_file: verp.key\n");
  std::string csv = "id,email,name\n";
  for (size_t i = 0; i < kReports; ++i)
    csv += "b" + std::to_string(i) + ",b" + std::to_string(i) + "@example.com,Bounce\n";
  auto imported = Run("import customers " + dir_.Write("b.csv", csv));
  ASSERT_EQ(imported.status, 0) << imported.err;
  Exec(db(),
       "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
       "template_values, decided_at, send_after, status, updated_at) SELECT 'bounce:' || "
       "external_id, 'test', id, id, 'send', 'winback', '{\"offer\":\"x\",\"offer_code\":\"Y\"}', "
       "strftime('%s', 'now'), 0, 'queued', strftime('%s', 'now') FROM customers WHERE "
       "external_id LIKE 'b%'");
  ASSERT_TRUE(sink_.Start(port_)) << "smtp-sink did not start on port " << port_;
  Start();
  ASSERT_TRUE(WaitFor([&] { return Count("status = 'sent'") == int(kReports); }, 30s, 100ms))
      << StatusCounts() << "\n"
      << Log();
  ASSERT_EQ(Stop(), 0) << Log();

  const std::string bounces = dir_ / "bounces";
  std::set<std::string> delivered;
  for (const auto& row :
       SqlColumn(db(),
                 "SELECT c.email || ' ' || o.message_id FROM outbox o JOIN customers c "
                 "ON c.id = o.recipient_id WHERE o.status = 'sent' ORDER BY o.id")) {
    const auto space = row.find(' ');
    const std::string n = std::to_string(delivered.size());
    const std::string name = "1739440805.M" + n + "P1.mail";
    testing::DeliverToMaildir(bounces, name,
                              testing::BounceReport("dsn/postfix_hard.eml", row.substr(0, space),
                                                    row.substr(space + 1), "r" + n));
    delivered.insert(name + ":2,");  // as cur/ keeps it
  }
  ASSERT_EQ(delivered.size(), kReports);
  auto files = [&](const std::string& folder) {
    std::set<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(bounces + "/" + folder, ec), end; !ec && it != end;
         it.increment(ec))
      names.insert(it->path().filename().string());
    return names;
  };

  auto started = Clock::now();
  int killed_mid_read = 0;
  std::string lives;
  for (size_t filed : {size_t{1}, size_t{100}, size_t{200}}) {
    const size_t wanted = std::max(filed, files("cur").size() + 1);
    Start();
    ASSERT_TRUE(WaitFor([&] { return files("cur").size() >= wanted || !Running(); }, 20s, 1ms))
        << Log();
    ASSERT_TRUE(Running()) << "the daemon exited by itself\n" << Log();
    Kill9();
    const size_t left = files("new").size();
    killed_mid_read += left > 0;
    lives += "  killed with " + std::to_string(files("cur").size()) + " filed, " +
             std::to_string(left) + " left\n";
  }
  Start();
  ASSERT_TRUE(WaitFor([&] { return files("new").empty() || !Running(); }, 20s, 10ms)) << Log();
  const double took = Seconds(Clock::now() - started);
  EXPECT_EQ(Stop(), 0) << Log();
  std::printf("kill -9 while reading %zu bounces: all filed %.1f s after the first start\n%s",
              kReports, took, lives.c_str());

  EXPECT_GE(killed_mid_read, 1) << "no kill landed while reports were left\n" << lives;
  EXPECT_TRUE(files("new").empty());
  EXPECT_TRUE(files("unmatched").empty()) << files("unmatched").size() << " unmatched";
  EXPECT_EQ(files("cur"), delivered) << "a report lost, or filed twice";
  EXPECT_EQ(Sql(db(),
                "SELECT count(*) || ' ' || count(DISTINCT outbox_id) || ' ' || "
                "count(DISTINCT recipient) FROM feedback_events WHERE source = 'dsn' AND "
                "type = 'hard_bounce'"),
            "300 300 300");
  EXPECT_EQ(Sql(db(), "SELECT count(*) FROM feedback_events"), "300");
  EXPECT_EQ(Count("status = 'bounced'"), int(kReports)) << StatusCounts();
  EXPECT_EQ(Sql(db(),
                "SELECT count(*) || ' ' || count(DISTINCT email) FROM suppressions WHERE "
                "reason LIKE 'hard bounce (dsn): %'"),
            "300 300");
  EXPECT_EQ(Sql(db(), "SELECT count(*) FROM suppressions"), "300");
  EXPECT_LT(took, 20.0) << lives;
}

// Holds BEGIN EXCLUSIVE on the store from another connection, as another program would, until
// released. (In WAL mode that blocks writers only; readers carry on.)
class StoreLock {
 public:
  explicit StoreLock(const std::string& path) {
    sqlite3_open(path.c_str(), &db_);
    sqlite3_busy_timeout(db_, 10000);
    char* error = nullptr;
    ok_ = sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, &error) == SQLITE_OK;
    if (error) error_ = error;
    sqlite3_free(error);
  }
  ~StoreLock() { Release(); }
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  void Release() {
    if (!db_) return;
    if (ok_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  sqlite3* db_ = nullptr;
  bool ok_ = false;
  std::string error_;
};

// Longer than the daemon's 5-second busy timeout (docs/store.md), so its writes meanwhile fail.
constexpr auto kLockHold = 8s;

class ReliabilityLockTest : public ReliabilityTest {
 protected:
  static constexpr int kBuyers = 10;
  // The daemon's poll while deciding across a lock: slow, so that the poll does not look in the
  // moment between the purchases' commit and the lock. The commit does wake the daemon at once
  // (its watch on the store's files), but the test takes the lock within microseconds, while the
  // daemon first reads the rows, updates facts and evaluates: it meets the lock when it records
  // its decisions, as the test means (and the delivery path is left to 4b-4d).
  static constexpr int kDecidePollMs = 1000;

  // Other programs commit kBuyers new customers (b0..) with a first purchase each, then one of
  // them locks the store for kLockHold. The daemon sees the rows (reads go on) but cannot record
  // its decisions. Returns the seconds until every buyer's welcome was sent after the release
  // (-1: not within `limit`).
  double DecideAcrossALock(std::chrono::milliseconds limit) {
    dir_.Write("rules/welcome.yaml",
               "name: welcome\ntrigger:\n  event: first_purchase\naction:\n  send: winback\n"
               "  values:\n    offer: a welcome gift\n    offer_code: HELLO\n");
    EXPECT_TRUE(sink_.Start(port_));
    Start();
    EXPECT_TRUE(WaitFor([&] { return Log().find("followupd running") != std::string::npos; }))
        << Log();
    std::string sql = "BEGIN;";
    for (int i = 0; i < kBuyers; ++i) {
      std::string b = "b" + std::to_string(i);
      sql += "INSERT INTO customers(external_id, email, name) VALUES('" + b + "', '" + b +
             "@example.com', 'Buyer " + b +
             "'); INSERT INTO transactions(external_id, customer_id, occurred_at, kind, amount, "
             "currency) SELECT 't-" +
             b +
             "', id, strftime('%s', 'now'), 'purchase', 2500, 'EUR' FROM customers WHERE "
             "external_id = '" +
             b + "';";
    }
    Exec(db(), sql + "COMMIT;");
    double cpu_before = CpuSeconds(pid_);
    {
      StoreLock lock(db());
      EXPECT_TRUE(lock.ok()) << lock.error();
      std::this_thread::sleep_for(kLockHold);
      EXPECT_TRUE(Running()) << "the daemon exited while the store was locked\n" << Log();
    }
    double cpu_locked = CpuSeconds(pid_) - cpu_before;
    auto released = Clock::now();
    auto welcomed = [&] {
      return std::atoi(Sql(db(),
                           "SELECT count(*) FROM outbox o JOIN customers c ON c.id = "
                           "o.customer_id WHERE c.external_id LIKE 'b%' AND o.status = "
                           "'sent'")
                           .c_str());
    };
    bool all = WaitFor([&] { return welcomed() == kBuyers || !Running(); }, limit, 100ms) &&
               welcomed() == kBuyers;
    double after = Seconds(Clock::now() - released);
    std::printf(
        "store locked while deciding: %.3f s CPU during the %lld s lock; %d of %d welcomes sent "
        "%.1f s after the release; outbox: %s\ndaemon warnings/errors:\n%s",
        cpu_locked, static_cast<long long>(kLockHold.count()), welcomed(), kBuyers, after,
        StatusCounts().c_str(), Problems().c_str());
    return all ? after : -1;
  }

  enum class LockAt {
    kClaimed,    // as soon as a round is claimed ('sending'), usually before its Message-IDs
                 // are stored: the daemon's SetMessageIds is the write that fails
    kOnTheWire,  // once the round's Message-IDs are stored (it is being sent): the daemon's
                 // RecordDeliveries is the write that fails
  };

  // 400 queued sends at 100/s (a round of 200 takes ~2 s); the store is locked for kLockHold at
  // `at`. Returns whether every row was sent within `limit` after the release, without a restart.
  bool SendAcrossALock(LockAt at, std::chrono::milliseconds limit) {
    WriteConfig(
        "  connections: 4\n  timeout: 5s\n  rate_per_second: 100\n  retry_base: 1s\n"
        "  max_attempts: 10\n");
    QueueSends(kSends);
    EXPECT_TRUE(sink_.Start(port_));
    Start();
    std::string when = at == LockAt::kClaimed ? "status = 'sending'"
                                              : "status = 'sending' AND message_id IS NOT NULL";
    EXPECT_TRUE(WaitFor([&] { return Count(when) > 0 || !Running(); }, 20s, 2ms)) << Log();
    double cpu_before = CpuSeconds(pid_);
    {
      StoreLock lock(db());
      EXPECT_TRUE(lock.ok()) << lock.error();
      std::this_thread::sleep_for(kLockHold);
      EXPECT_TRUE(Running()) << "the daemon exited while the store was locked\n" << Log();
    }
    double cpu_locked = CpuSeconds(pid_) - cpu_before;
    auto released = Clock::now();
    bool all =
        WaitFor([&] { return Count("status = 'sent'") == kSends || !Running(); }, limit, 100ms) &&
        Count("status = 'sent'") == kSends;
    std::this_thread::sleep_for(200ms);
    auto received = sink_.MessageIds();
    int duplicates = 0;
    for (const auto& [id, n] : received) duplicates += n - 1;
    std::printf(
        "store locked %s: %.3f s CPU during the %lld s lock; %s %.1f s after the release; "
        "outbox: %s; sink got %zu distinct, %d duplicates\ndaemon warnings/errors:\n%s",
        at == LockAt::kClaimed ? "as a round was claimed" : "while a round was on the wire",
        cpu_locked, static_cast<long long>(kLockHold.count()), all ? "all sent" : "NOT all sent",
        Seconds(Clock::now() - released), StatusCounts().c_str(), received.size(), duplicates,
        Problems().c_str());
    return all;
  }

  static constexpr int kSends = 400;

  // After the lock: the daemon is still running (no restart was needed), `check` holds, and it
  // stops cleanly.
  void ExpectRunningThenCleanStop(const std::function<void()>& check) {
    ASSERT_TRUE(Running()) << "the daemon exited\n" << Log();
    check();
    EXPECT_EQ(Stop(), 0) << Log();
  }
};

// 4. The store locked by another writer. In every case the daemon retries the store write after
// the lock is released (it keeps the rows it has not recorded, or puts them back in the queue),
// so no restart is needed.
//
// 4a. The store is locked just after other programs committed new purchases. Nothing is lost and
// the daemon keeps running: the decisions it could not record are made again by the next full
// pass (service.full_pass, shortened here to 20 s; the default is 5 minutes).
TEST_F(ReliabilityLockTest, StoreLockedWhileDecidingLosesNothing) {
  WriteConfig("  connections: 2\n  timeout: 5s\n  retry_base: 1s\n", kDecidePollMs,
              "  full_pass: 20s\n");
  double after = DecideAcrossALock(40s);
  EXPECT_GE(after, 0) << "decisions lost: purchases committed before the lock never got their "
                         "welcome\n"
                      << StatusCounts() << "\n"
                      << Log();
  ExpectRunningThenCleanStop(
      [&] { EXPECT_EQ(Count("rule = 'welcome'"), kBuyers) << "one decision per buyer"; });
}

// 4a'. The expectation: the decisions are made right after the lock is released (the next poll),
// not only by the next full pass.
TEST_F(ReliabilityLockTest, StoreLockedWhileDecidingDecidesRightAfterTheLock) {
  WriteConfig("  connections: 2\n  timeout: 5s\n  retry_base: 1s\n",
              kDecidePollMs);  // full_pass: 5m, the default
  double after = DecideAcrossALock(20s);
  EXPECT_GE(after, 0) << "no welcome within 20 s of the release: the decisions wait for the next "
                         "full pass\n"
                      << StatusCounts() << "\n"
                      << Log();
  ExpectRunningThenCleanStop(
      [&] { EXPECT_EQ(Count("rule = 'welcome'"), kBuyers) << "one decision per buyer"; });
}

// 4c. The expectation: with the store locked while a round is on the wire, everything ends sent
// after the release without a restart, and the daemon is still running.
TEST_F(ReliabilityLockTest, StoreLockedWhileARoundIsOnTheWireEverythingEndsSent) {
  EXPECT_TRUE(SendAcrossALock(LockAt::kOnTheWire, 20s)) << StatusCounts() << "\n" << Log();
  ExpectRunningThenCleanStop(
      [&] { EXPECT_EQ(sink_.MessageIds().size(), static_cast<size_t>(kSends)); });
}

// 4d. The same with the lock taken as soon as a round is claimed, usually before its Message-IDs
// are stored.
TEST_F(ReliabilityLockTest, StoreLockedAsARoundIsClaimedEverythingEndsSent) {
  EXPECT_TRUE(SendAcrossALock(LockAt::kClaimed, 20s)) << StatusCounts() << "\n" << Log();
  ExpectRunningThenCleanStop(
      [&] { EXPECT_EQ(sink_.MessageIds().size(), static_cast<size_t>(kSends)); });
}

}  // namespace
}  // namespace followup
