// The daemon as a real process: started, signalled and stopped, talking to a real SQLite store,
// a real maildir and real sockets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <thread>
#include <tuple>

#include "feedback/crypto.h"
#include "feedback/webhook.h"
#include "service/browser.h"
#include "service/smtp_sink.h"
#include "support/sqlite_util.h"
#include "support/test_util.h"

namespace followup {
namespace {

namespace fs = std::filesystem;
using testing::Exec;
using testing::Sql;
using testing::SqlColumn;
using testing::WaitFor;
using namespace std::chrono_literals;

// Sends the whole HTTP `request` to a loopback port (with Connection: close) and returns the
// whole response, headers first; "" when nothing answered.
std::string HttpExchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, n);
  }
  close(fd);
  return response;
}

// An HTTP GET of `path`, with `headers` ("Name: value\r\n" each).
std::string HttpGet(int port, const std::string& path, const std::string& headers = "") {
  return HttpExchange(
      port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + "\r\n");
}

// An HTTP POST of `body` to `path`, with `headers` ("Name: value\r\n" each).
std::string HttpPost(int port, const std::string& path, const std::string& headers,
                     const std::string& body) {
  return HttpExchange(port, "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                                headers + "Content-Length: " + std::to_string(body.size()) +
                                "\r\n\r\n" + body);
}

// A mail server that never answers: the kernel completes connections to its loopback port, and
// nobody says anything on them.
struct SilentServer {
  SilentServer() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        listen(fd, 16) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
  }
  ~SilentServer() { close(fd); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  int fd = -1;
  int port = 0;  // 0: it could not listen
};

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = testing::SetUpDaemonFolder(dir_, "id,email,name\nold,old@example.com,Old\n");
    ASSERT_EQ(r.status, 0) << r.err;
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  testing::CommandResult Run(const std::string& args) {
    return testing::Followupd("--config " + dir_ / "followup.yaml" + " " + args, dir_.path());
  }

  // followup.yaml with the first `from` in it replaced by `to`.
  void EditConfig(const std::string& from, const std::string& to) {
    std::string config = testing::ReadFile(dir_ / "followup.yaml");
    size_t at = config.find(from);
    ASSERT_NE(at, std::string::npos) << from << " is not in\n" << config;
    config.replace(at, from.size(), to);
    dir_.Write("followup.yaml", config);
  }

  // Starts `followupd run` in the background with extra environment variables.
  void Start(const std::vector<std::string>& env = {}) { pid_ = testing::StartDaemon(dir_, env); }

  // The daemon's exit status once it exits (bounded wait), or -1.
  int WaitExit(std::chrono::milliseconds limit = 20s) {
    int status = 0;
    bool exited = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, limit);
    pid_ = -1;
    return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string Log() { return testing::ReadFile(dir_ / "daemon.log"); }

  // Starts the daemon listening, lets ann and bob buy and, once both are sent, fetches /metrics;
  // "" when any of it failed.
  std::string MetricsAfterTwoSends() {
    int port = StartListening();
    if (port == 0) return "";
    Buy("ann");
    Buy("bob");
    if (!WaitFor([&] { return StatusOf("ann") == "sent" && StatusOf("bob") == "sent"; })) return "";
    return HttpGet(port, "/metrics");
  }

  // Mail goes to the SMTP server on this loopback port instead of the maildir (8 s timeout).
  void UseSmtp(int port) {
    std::string config = testing::ReadFile(dir_ / "followup.yaml");
    config.replace(
        config.find("maildir://mail"), 14,
        "smtp://127.0.0.1:" + std::to_string(port) + "\n  require_tls: false\n  timeout: 8s");
    dir_.Write("followup.yaml", config);
  }

  // Starts the daemon with its HTTP listener on a free loopback port; the port once it runs, or 0.
  int StartListening() {
    EditConfig("listen: \"\"", "listen: \"127.0.0.1:0\"");
    Start();
    const std::string listening = "http: listening on 127.0.0.1:";
    if (!WaitFor([&] { return Log().find("followupd running") != std::string::npos; })) return 0;
    std::string log = Log();
    auto at = log.find(listening);
    return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + listening.size());
  }

  // Another program commits a new customer and their first purchase.
  void Buy(const std::string& customer) {
    Exec(dir_ / "f.db",
         "BEGIN; INSERT INTO customers(external_id, email, name) VALUES('" + customer + "', '" +
             customer + "@example.com', 'New " + customer +
             "'); INSERT INTO transactions(external_id, customer_id, occurred_at, kind, amount, "
             "currency) SELECT 't-" +
             customer +
             "', id, strftime('%s', 'now'), 'purchase', 2500, 'EUR' FROM customers "
             "WHERE external_id = '" +
             customer + "'; COMMIT;");
  }

  std::string StatusOf(const std::string& customer) {
    return Sql(dir_ / "f.db",
               "SELECT o.status FROM outbox o JOIN customers c ON c.id = o.customer_id WHERE "
               "c.external_id = '" +
                   customer + "'");
  }

  testing::TempDir dir_;
  pid_t pid_ = -1;
};

TEST_F(DaemonTest, NoticesAnotherProgramsCommitDecidesAndSends) {
  Start();
  ASSERT_TRUE(WaitFor([&] { return Log().find("followupd running") != std::string::npos; }))
      << Log();
  Buy("ann");
  ASSERT_TRUE(WaitFor([&] { return StatusOf("ann") == "sent"; })) << Log();
  size_t mails = 0;
  for (const auto& f : fs::directory_iterator(dir_ / "mail/new")) mails += f.is_regular_file();
  EXPECT_EQ(mails, 1u);
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
}

// Another program's commit wakes the daemon through a watch on the store's files, not only at the
// next poll: with polling once a minute the purchase is still decided and sent at once.
TEST_F(DaemonTest, ACommitIsSeenWithoutWaitingForThePoll) {
  EditConfig("poll_interval_ms: 20", "poll_interval_ms: 60000");
  Start();
  ASSERT_TRUE(WaitFor([&] { return Log().find("followupd running") != std::string::npos; }))
      << Log();
  Buy("ann");
  EXPECT_TRUE(WaitFor([&] { return StatusOf("ann") == "sent"; }, 10s)) << Log();
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
}

// A provider's signed webhook, posted to the running daemon, suppresses the address it names (as
// `followupd suppress list` shows); a forged one is refused and changes nothing; a provider that
// is not configured has no route.
TEST_F(DaemonTest, ASignedWebhookSuppressesTheAddressAndAForgedOneIsRefused) {
  dir_.Write("generic.secret", "generic-webhook-secret\n");
  dir_.Write("followup.yaml",
             testing::ReadFile(dir_ / "followup.yaml") +
                 "feedback:\n  generic:\n    secret_file: " + dir_ / "generic.secret" + "\n");
  int port = StartListening();
  ASSERT_NE(port, 0) << Log();

  const std::string body =
      R"({"events": [{"id": "e-1", "type": "hard_bounce", "email": "old@example.com",)"
      R"( "reason": "550 5.1.1 user unknown"}]})";
  const int64_t now = std::time(nullptr);
  auto headers = [&](const std::string& secret) {
    return "Content-Type: application/json\r\nX-Followup-Timestamp: " + std::to_string(now) +
           "\r\nX-Followup-Signature: " + feedback::GenericSignature(secret, now, body) + "\r\n";
  };
  std::string forged = HttpPost(port, "/webhooks/generic", headers("a guess"), body);
  EXPECT_EQ(forged.rfind("HTTP/1.1 401", 0), 0u) << forged;
  EXPECT_EQ(Run("suppress list").out.find("old@example.com"), std::string::npos);

  std::string taken = HttpPost(port, "/webhooks/generic", headers("generic-webhook-secret"), body);
  EXPECT_EQ(taken.rfind("HTTP/1.1 200", 0), 0u) << taken;
  EXPECT_NE(taken.find("1 applied"), std::string::npos) << taken;
  auto list = Run("suppress list");
  EXPECT_NE(list.out.find("old@example.com"), std::string::npos) << list.out << list.err;
  EXPECT_NE(list.out.find("hard bounce (generic)"), std::string::npos) << list.out;

  std::string again = HttpPost(port, "/webhooks/generic", headers("generic-webhook-secret"), body);
  EXPECT_NE(again.find("0 applied, 1 recorded before"), std::string::npos) << again;
  std::string mailgun = HttpPost(port, "/webhooks/mailgun", headers("x"), body);
  EXPECT_EQ(mailgun.rfind("HTTP/1.1 404", 0), 0u) << mailgun;
  EXPECT_NE(Log().find("webhook generic: refused"), std::string::npos) << Log();
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
}

// /metrics counts what the daemon has sent, from its own HTTP listener on a loopback port.
TEST_F(DaemonTest, MetricsCountTheSends) {
  std::string text = MetricsAfterTwoSends();
  ASSERT_FALSE(text.empty()) << Log();
  EXPECT_NE(text.find("followup_sends_total{status=\"sent\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("followup_decisions_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("followup_outbox{status=\"sent\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("followup_build_info{version=\"" FOLLOWUP_VERSION "\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("followup_rule_sends_total{rule=\"welcome\",status=\"sent\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("followup_send_latency_seconds_count 2\n"), std::string::npos) << text;
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
}

// A first purchase starts a sequence: a welcome at once, a second note a week later.
constexpr const char* kWelcomeSequence =
    "name: welcome\ntrigger:\n  event: first_purchase\nsteps:\n"
    "  - name: hello\n    send: winback\n    values:\n      offer: a welcome gift\n"
    "      offer_code: HELLO\n"
    "  - name: again\n    wait: 7d\n    send: winback\n    values:\n"
    "      offer: a second gift\n      offer_code: AGAIN\n";

// /metrics shows how many customers wait for each step of a sequence, every step listed.
TEST_F(DaemonTest, MetricsCountTheCustomersInEachSequenceStep) {
  dir_.Write("rules/welcome.yaml", kWelcomeSequence);
  std::string text = MetricsAfterTwoSends();
  ASSERT_FALSE(text.empty()) << Log();
  EXPECT_NE(text.find("followup_sequence_customers{rule=\"welcome\",step=\"again\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("followup_sequence_customers{rule=\"welcome\",step=\"hello\"} 0\n"),
            std::string::npos)
      << text;
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
}

// Bounces and complaints that came back after the send, as /metrics counts them from the store's
// feedback events: by source and type, the rule's bounced and complained sends, and the complaint
// rate over the latest sends. A restart keeps them: they are the store's, not the process's.
TEST_F(DaemonTest, MetricsCountBouncesAndComplaintsAcrossARestart) {
  EditConfig("  unsubscribe_key_file: key\n", "  unsubscribe_key_file: key\n  bounces: bounces\n");
  dir_.Write("followup.yaml",
             testing::ReadFile(dir_ / "followup.yaml") + "feedback:\n  verp_key_file: verp.key\n");
  std::string text = MetricsAfterTwoSends();
  ASSERT_FALSE(text.empty()) << Log();
  EXPECT_NE(text.find("followup_complaint_rate 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("followup_feedback_events_total{source=\"dsn\",type=\"hard_bounce\"} 0\n"),
            std::string::npos)
      << text;
  auto message_id = [&](const std::string& customer) {
    return Sql(dir_ / "f.db",
               "SELECT o.message_id FROM outbox o JOIN customers c ON c.id = o.customer_id "
               "WHERE c.external_id = '" +
                   customer + "'");
  };
  testing::DeliverToMaildir(
      dir_ / "bounces", "1.dsn",
      testing::BounceReport("dsn/postfix_hard.eml", "ann@example.com", message_id("ann"), "r1"));
  testing::DeliverToMaildir(
      dir_ / "bounces", "2.arf",
      testing::BounceReport("arf/abuse.eml", "bob@example.com", message_id("bob"), "r2"));
  ASSERT_TRUE(WaitFor([&] {
    return StatusOf("ann") == "bounced" && StatusOf("bob") == "complained";
  })) << Log();
  kill(pid_, SIGTERM);
  ASSERT_EQ(WaitExit(), 0) << Log();

  Start();
  const std::string listening = "http: listening on 127.0.0.1:";
  ASSERT_TRUE(WaitFor([&] {
    std::string log = Log();
    return log.find("followupd running") != log.rfind("followupd running");
  })) << Log();
  std::string log = Log();
  const int port = std::atoi(log.c_str() + log.rfind(listening) + listening.size());
  text = HttpGet(port, "/metrics");
  for (const char* line :
       {"followup_feedback_events_total{source=\"dsn\",type=\"hard_bounce\"} 1\n",
        "followup_feedback_events_total{source=\"arf\",type=\"complaint\"} 1\n",
        "followup_feedback_events_total{source=\"arf\",type=\"hard_bounce\"} 0\n",
        "followup_rule_sends_total{rule=\"welcome\",status=\"bounced\"} 1\n",
        "followup_rule_sends_total{rule=\"welcome\",status=\"complained\"} 1\n",
        "followup_complaint_rate 0.5\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
}

// What /metrics serves passes Prometheus's own linter, `promtool check metrics` (Debian's
// prometheus package). FOLLOWUP_PROMTOOL names it (CI sets it, and then a missing one fails);
// else the one on PATH; without either the test is skipped.
TEST_F(DaemonTest, MetricsPassPromtoolCheck) {
  std::string promtool;
  if (const char* named = std::getenv("FOLLOWUP_PROMTOOL"); named && *named) {
    promtool = named;
    ASSERT_TRUE(fs::exists(promtool)) << "FOLLOWUP_PROMTOOL=" << promtool << " does not exist";
  } else if (testing::Run("command -v promtool").status == 0) {
    promtool = "promtool";
  } else {
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  }
  dir_.Write("rules/welcome.yaml", kWelcomeSequence);
  std::string text = MetricsAfterTwoSends();
  ASSERT_FALSE(text.empty()) << Log();
  dir_.Write("metrics.txt", text.substr(text.find("\r\n\r\n") + 4));  // the body
  auto check = testing::Run("'" + promtool + "' check metrics < '" + (dir_ / "metrics.txt") + "'");
  EXPECT_EQ(check.status, 0) << check.out << check.err << text;
  EXPECT_EQ(check.out + check.err, "") << text;
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
}

// kill -9 between a sequence step's decision and its send, and again between two steps: each step
// goes out once, none is skipped.
TEST_F(DaemonTest, KillNineNeitherRepeatsNorSkipsASequenceStep) {
  dir_.Write("rules/welcome.yaml", kWelcomeSequence);
  const std::string maildir_config = testing::ReadFile(dir_ / "followup.yaml");
  const std::string db = dir_ / "f.db";
  auto steps = [&] {
    return SqlColumn(db,
                     "SELECT CASE WHEN dedupe_key LIKE '%:hello' THEN 'hello' ELSE 'again' END "
                     "|| ' ' || status FROM outbox ORDER BY id");
  };
  auto mails = [&] {
    size_t n = 0;
    if (fs::exists(dir_ / "mail/new"))
      for (const auto& f : fs::directory_iterator(dir_ / "mail/new")) n += f.is_regular_file();
    return n;
  };
  auto kill_nine = [&] {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  };

  // The welcome is decided and claimed; the mail server takes it and says nothing. kill -9.
  SilentServer server;
  ASSERT_GT(server.port, 0);
  UseSmtp(server.port);
  Start();
  ASSERT_TRUE(WaitFor([&] { return Log().find("followupd running") != std::string::npos; }))
      << Log();
  Buy("ann");
  ASSERT_TRUE(WaitFor([&] { return steps() == std::vector<std::string>{"hello sending"}; }))
      << Log();
  kill_nine();
  EXPECT_EQ(Sql(db, "SELECT next_step FROM sequence_places"), "again");

  // Restarted with a working transport: the welcome goes out once, the second note waits.
  dir_.Write("followup.yaml", maildir_config);
  Start();
  ASSERT_TRUE(WaitFor([&] { return steps() == std::vector<std::string>{"hello sent"}; })) << Log();
  EXPECT_EQ(mails(), 1u);
  kill_nine();

  // Eight days later (a pass with its clock set by --at): the second note, once; then the end.
  auto later = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() +
                                                    std::chrono::hours{8 * 24});
  char at[32];
  std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&later));
  auto pass = Run("--at " + std::string(at) + " run --once");
  ASSERT_EQ(pass.status, 0) << pass.err;
  EXPECT_EQ(steps(), (std::vector<std::string>{"hello sent", "again sent"}));
  EXPECT_EQ(mails(), 2u);
  EXPECT_EQ(Sql(db, "SELECT end_reason FROM sequence_places"), "completed");
  pass = Run("--at " + std::string(at) + " run --once");
  ASSERT_EQ(pass.status, 0) << pass.err;
  EXPECT_EQ(steps(), (std::vector<std::string>{"hello sent", "again sent"})) << "nothing again";
}

// Delivery runs on its own thread: a mail server that takes the connection and then says nothing
// holds up the sends, not the decisions.
TEST_F(DaemonTest, DecidesWhileTheMailServerHangs) {
  SilentServer server;
  ASSERT_GT(server.port, 0);
  int listener = server.fd;
  UseSmtp(server.port);

  Start();
  ASSERT_TRUE(WaitFor([&] { return Log().find("followupd running") != std::string::npos; }))
      << Log();
  Buy("ann");
  ASSERT_TRUE(WaitFor([&] { return StatusOf("ann") == "sending"; })) << Log();
  // Claimed is not yet on the wire: ann's transfer has started once the daemon's connection
  // arrives. Take it and answer nothing.
  pollfd arrival{listener, POLLIN, 0};
  ASSERT_EQ(poll(&arrival, 1, 10'000), 1) << "the daemon never connected\n" << Log();
  int held = accept(listener, nullptr, nullptr);
  ASSERT_GE(held, 0);
  auto bought = std::chrono::steady_clock::now();
  Buy("bob");
  ASSERT_TRUE(WaitFor([&] { return !StatusOf("bob").empty(); })) << Log();
  EXPECT_LT(std::chrono::steady_clock::now() - bought, 3s)
      << "bob's decision waited for ann's delivery round";
  EXPECT_EQ(StatusOf("ann"), "sending") << "the server still has not answered";
  // SIGTERM: the round in flight ends at its timeout, not lost: a server that never greets is the
  // sender's failure, so ann's send is back in the queue with no attempt counted (or deferred,
  // had the stop cut it off first). No further round is claimed: bob's send waits in the queue for
  // the next start.
  auto stopped = std::chrono::steady_clock::now();
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(30s), 0) << Log();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 12s) << "the stop waited for more rounds";
  const std::string ann = StatusOf("ann");
  EXPECT_TRUE(ann == "queued" || ann == "deferred") << ann << "\n" << Log();
  EXPECT_EQ(StatusOf("bob"), "queued") << Log();
  close(held);
}

TEST_F(DaemonTest, ABrokenRuleFileIsRejectedAndTheOldRulesKeepWorking) {
  Start();
  ASSERT_TRUE(WaitFor([&] { return Log().find("followupd running") != std::string::npos; }));
  dir_.Write("rules/broken.yaml",
             "name: broken\ntrigger:\n  event: birthday\naction:\n  send: x\n");
  auto rejected = Run("reload --pid " + std::to_string(pid_));
  EXPECT_EQ(rejected.status, 1) << rejected.err;
  EXPECT_NE(rejected.out.find("broken.yaml:3:10: unknown event 'birthday'"), std::string::npos)
      << rejected.out;
  Buy("bob");  // the old rules still decide
  EXPECT_TRUE(WaitFor([&] { return StatusOf("bob") == "sent"; })) << Log();
  fs::remove(dir_ / "rules/broken.yaml");
  auto accepted = Run("reload --pid " + std::to_string(pid_));
  EXPECT_EQ(accepted.status, 0) << accepted.err;
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0);
}

// reload --pid signals only a followupd that has this store open, and opens no store it would
// create.
TEST_F(DaemonTest, ReloadSignalsOnlyAFollowupdOnTheSameStore) {
  Start();
  ASSERT_TRUE(WaitFor([&] { return Log().find("followupd running") != std::string::npos; }));
  const std::string reloads = Sql(dir_ / "f.db", "SELECT value FROM meta WHERE key = 'reload'");
  pid_t sleeper = fork();
  if (sleeper == 0) {
    execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto not_followupd = Run("reload --pid " + std::to_string(sleeper));
  EXPECT_EQ(not_followupd.status, 1);
  EXPECT_NE(not_followupd.err.find("not followupd; nothing was signalled"), std::string::npos)
      << not_followupd.err;
  EXPECT_EQ(waitpid(sleeper, nullptr, WNOHANG), 0) << "the sleeper was signalled";
  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);

  ASSERT_EQ(Run("--store " + dir_ / "other.db" + " import customers " +
                dir_.Write("o.csv", "id,email,name\no,o@example.com,O\n"))
                .status,
            0);
  auto other_store = Run("--store " + dir_ / "other.db" + " reload --pid " + std::to_string(pid_));
  EXPECT_EQ(other_store.status, 1);
  EXPECT_NE(other_store.err.find("does not have the store " + dir_ / "other.db"), std::string::npos)
      << other_store.err;
  auto typo = Run("--store " + dir_ / "typo/f.db" + " reload --pid " + std::to_string(pid_));
  EXPECT_NE(typo.status, 0);
  EXPECT_NE(typo.err.find("no store at " + dir_ / "typo/f.db"), std::string::npos) << typo.err;
  EXPECT_FALSE(fs::exists(dir_ / "typo"));
  std::this_thread::sleep_for(200ms);  // time for a reload, had one been asked for
  EXPECT_EQ(Sql(dir_ / "f.db", "SELECT value FROM meta WHERE key = 'reload'"), reloads)
      << "the daemon was signalled";

  auto accepted = Run("reload --pid " + std::to_string(pid_));
  EXPECT_EQ(accepted.status, 0) << accepted.err;
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0);
}

TEST_F(DaemonTest, EditingARuleFileReloads) {
  Start();
  ASSERT_TRUE(WaitFor([&] { return Log().find("followupd running") != std::string::npos; }));
  dir_.Write("rules/broken.yaml",
             "name: broken\ntrigger:\n  event: birthday\naction:\n  send: x\n");
  EXPECT_TRUE(WaitFor([&] {
    return Sql(dir_ / "f.db", "SELECT value FROM meta WHERE key = 'reload'").find("failed") !=
           std::string::npos;
  })) << Log();
  fs::remove(dir_ / "rules/broken.yaml");
  EXPECT_TRUE(WaitFor([&] {
    auto v = Sql(dir_ / "f.db", "SELECT value FROM meta WHERE key = 'reload'");
    return v.size() > 3 && v.substr(v.size() - 3) == " ok";
  })) << Log();
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0);
}

TEST_F(DaemonTest, InvalidRulesAtStartExitOne) {
  dir_.Write("rules/broken.yaml",
             "name: broken\ntrigger:\n  event: birthday\naction:\n  send: x\n");
  Start();
  EXPECT_EQ(WaitExit(), 1);
  EXPECT_NE(Log().find("broken.yaml:3:10"), std::string::npos) << Log();
}

TEST_F(DaemonTest, TellsSystemdReadyReloadingAndStopping) {
  // A notify socket like systemd's, bound by the test.
  std::string path = dir_ / "notify.sock";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{0, 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string received;
  auto receive = [&] {
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) received.append(buf, n).append("\n");
  };
  Start({"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=400000"});
  EXPECT_TRUE(WaitFor([&] {
    receive();
    return received.find("READY=1") != std::string::npos;
  }));
  EXPECT_TRUE(WaitFor([&] {
    receive();
    return received.find("WATCHDOG=1") != std::string::npos;
  })) << received;
  kill(pid_, SIGHUP);
  EXPECT_TRUE(WaitFor([&] {
    receive();
    return received.find("RELOADING=1") != std::string::npos &&
           received.rfind("READY=1") > received.find("RELOADING=1");
  })) << received;
  kill(pid_, SIGTERM);
  EXPECT_TRUE(WaitFor([&] {
    receive();
    return received.find("STOPPING=1") != std::string::npos;
  })) << received;
  EXPECT_EQ(WaitExit(), 0);
  close(fd);
}

}  // namespace
}  // namespace followup

namespace followup {
namespace {

// Whether process `pid` runs followupd and blocks SIGTERM (SigBlk in /proc/PID/status). The name
// is read first: between fork and exec the child may still carry a mask of its own (a sanitizer
// blocks every signal around fork), and a SIGTERM sent then would kill it before followupd runs.
bool BlocksSigterm(pid_t pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  if (testing::ReadFile(proc + "/comm") != "followupd\n") return false;
  std::string status = testing::ReadFile(proc + "/status");
  auto at = status.find("SigBlk:\t");
  if (at == std::string::npos) return false;
  uint64_t mask = std::stoull(status.substr(at + 8, 16), nullptr, 16);
  return mask & (uint64_t{1} << (SIGTERM - 1));
}

TEST_F(DaemonTest, ASigtermAtTheVeryStartIsHeldAndStopsCleanly) {
  Start();
  // The first thing main does is block the stop signals: signal it the moment it has, long
  // before it has loaded the config, let alone set up its signal handling.
  ASSERT_TRUE(WaitFor([&] { return BlocksSigterm(pid_); }, 5s, 0ms));
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
  EXPECT_NE(Log().find("SIGTERM: stopping"), std::string::npos) << Log();
}

}  // namespace
}  // namespace followup

// ---- The console's access (docs/console.md, "Access") ----
namespace followup {
namespace {

// With a credentials file, every console page asks for a login and takes the right one; the
// unsubscribe and health endpoints stay open.
TEST_F(DaemonTest, TheConsoleAsksForALoginWhenCredentialsAreConfigured) {
  // openssl passwd -6 -salt followupconsole 'open sesame'
  dir_.Write("console-users",
             "ada:$6$followupconsole$PyvSq3cSAzMilwgCc6ktLoHwkTp1/"
             "w.SVzanAFxipLVJ2uqKZHxxUeTtqbRKE2eoADZnhhlHKIvabGou2gWpl1\n");
  EditConfig("service:\n",
             "service:\n  console:\n    credentials_file: " + dir_ / "console-users" + "\n");
  int port = StartListening();
  ASSERT_NE(port, 0) << Log();
  for (const char* path : {"/console", "/console/log", "/console/style.css"}) {
    std::string refused = HttpGet(port, path);
    EXPECT_EQ(refused.rfind("HTTP/1.1 401", 0), 0u) << path << refused;
    EXPECT_NE(refused.find("WWW-Authenticate: Basic realm=\"followup console\""), std::string::npos)
        << refused;
  }
  auto with = [&](const std::string& user_password) {
    return HttpGet(port, "/console/log",
                   "Authorization: Basic " + feedback::Base64Encode(user_password) + "\r\n");
  };
  EXPECT_EQ(with("ada:wrong").rfind("HTTP/1.1 401", 0), 0u);
  std::string page = with("ada:open sesame");
  EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u) << page;
  EXPECT_NE(page.find("<h1>Send log</h1>"), std::string::npos);
  EXPECT_EQ(HttpGet(port, "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(HttpGet(port, "/unsubscribe?c=old&t=x").rfind("HTTP/1.1 200", 0), 0u);
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
}

// The console's controls: a form without its token, or from another site, is refused and changes
// nothing; with it, the first post only asks for confirmation, the second does it and logs it.
TEST_F(DaemonTest, ConsoleFormsNeedTheirTokenAndAConfirmation) {
  const std::string db = dir_ / "f.db";
  Exec(db,
       "INSERT INTO customers(external_id, email, name) VALUES ('a', 'a@example.com', 'A'), ('b', "
       "'b@example.com', 'B'), ('c', 'c@example.com', 'C')");
  Exec(db,
       "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
       "template_values, decided_at, send_after, status, updated_at) SELECT 'later:' || "
       "external_id, 'later', id, id, 'send', 'winback', '{}', strftime('%s', 'now'), "
       "strftime('%s', 'now') + 86400, 'queued', strftime('%s', 'now') FROM customers WHERE "
       "external_id IN ('a', 'b', 'c')");
  int port = StartListening();
  ASSERT_NE(port, 0) << Log();
  auto statuses = [&] {
    return Sql(db, "SELECT group_concat(status) FROM outbox WHERE rule = 'later'");
  };
  ASSERT_EQ(statuses(), "queued,queued,queued");

  std::string page = HttpGet(port, "/console/log?rule=later");
  const std::string marker = "name=\"csrf\" value=\"";
  size_t at = page.find(marker);
  ASSERT_NE(at, std::string::npos) << page;
  at += marker.size();
  const std::string token = page.substr(at, page.find('"', at) - at);
  const std::string form = "Content-Type: application/x-www-form-urlencoded\r\n";

  std::string forged = HttpPost(port, "/console/action", form, "action=hold&rule=later");
  EXPECT_EQ(forged.rfind("HTTP/1.1 403", 0), 0u) << forged;
  std::string elsewhere =
      HttpPost(port, "/console/action", form + "Origin: http://evil.example\r\n",
               "action=hold&rule=later&csrf=" + token + "&confirm=yes");
  EXPECT_EQ(elsewhere.rfind("HTTP/1.1 403", 0), 0u) << elsewhere;
  EXPECT_EQ(statuses(), "queued,queued,queued");

  std::string confirm =
      HttpPost(port, "/console/action", form, "action=hold&rule=later&csrf=" + token);
  EXPECT_EQ(confirm.rfind("HTTP/1.1 200", 0), 0u) << confirm;
  EXPECT_NE(confirm.find("<b>3</b> sends match now."), std::string::npos) << confirm;
  EXPECT_EQ(statuses(), "queued,queued,queued") << "asked, not done";

  std::string done = HttpPost(port, "/console/action", form + "Origin: http://x\r\n",
                              "action=hold&rule=later&csrf=" + token + "&confirm=yes");
  EXPECT_NE(done.find("hold: 3 sends changed"), std::string::npos) << done;
  EXPECT_EQ(statuses(), "held,held,held");
  std::string paused =
      HttpPost(port, "/console/action", form,
               "action=pause&reason=checking+the+offer&csrf=" + token + "&confirm=yes");
  EXPECT_NE(paused.find("delivery paused"), std::string::npos) << paused;
  EXPECT_NE(Run("queue").out.find("checking the offer"), std::string::npos) << Run("queue").out;
  EXPECT_NE(Log().find("console: hold the sends of rule later"), std::string::npos) << Log();
  EXPECT_NE(Log().find("refused"), std::string::npos) << Log();
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(), 0) << Log();
}

// On an address beyond loopback the daemon does not start with an open console.
TEST_F(DaemonTest, AnOpenConsoleBeyondLoopbackIsRefusedAtStart) {
  EditConfig("listen: \"\"", "listen: \"0.0.0.0:0\"");
  auto r = Run("run");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("needs service.console.credentials_file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace followup

// ---- The console (docs/console.md), served by the daemon and read in headless Chromium ----
namespace followup {
namespace {

constexpr int kLoggedSends = 120;
constexpr const char* kEvil = "<script>alert(1)</script>";

class ConsoleTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (!testing::HaveChromium() && !testing::ChromiumRequired())
      GTEST_SKIP() << "no " << testing::kChromium << " (apt-get install chromium)";
    ASSERT_TRUE(testing::HaveChromium()) << "FOLLOWUP_REQUIRE_CHROMIUM is set";
    // c0 ... c119, each sent one win-back an hour apart, and a customer whose id is markup.
    const std::string db = dir_ / "f.db";
    Exec(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                 std::to_string(kLoggedSends - 1) +
                 ") INSERT INTO customers(external_id, email, name) SELECT 'c' || i, 'c' || i || "
                 "'@example.com', 'C ' || i FROM n");
    Exec(db, std::string("INSERT INTO customers(external_id, email, name) VALUES('") + kEvil +
                 "', 'evil@example.com', '" + kEvil + "')");
    Exec(db,
         "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
         "template_values, decided_at, send_after, status, updated_at, sent_at, attempts, "
         "last_reply) SELECT 'winback:' || external_id, 'winback', id, id, 'send', 'winback', "
         "'{}', 1767225600 + id * 3600, 1767225600 + id * 3600, 'sent', 1767225600 + id * 3600, "
         "1767225600 + id * 3600 + 60, 1, '250 2.0.0 Ok: queued as <' || external_id || '>' "
         "FROM customers WHERE external_id <> 'old'");
    port_ = StartListening();
    ASSERT_NE(port_, 0) << Log();
  }

  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // The outbox ids in the rows of a send log page's table, in order.
  static std::vector<int64_t> Ids(const std::string& dom) {
    std::vector<int64_t> ids;
    const std::string cell = "<tr><td class=\"num wide\">";
    for (size_t at = dom.find("<tbody>"); (at = dom.find(cell, at)) != std::string::npos;) {
      at += cell.size();
      ids.push_back(std::stoll(dom.substr(at)));
    }
    return ids;
  }

  // The Older link's target on a send log page, unescaped; "" when there is none.
  static std::string Next(const std::string& dom) {
    const std::string marker = "rel=\"next\" href=\"";
    size_t at = dom.find(marker);
    if (at == std::string::npos) return "";
    at += marker.size();
    std::string href = dom.substr(at, dom.find('"', at) - at);
    for (size_t amp; (amp = href.find("&amp;")) != std::string::npos;) href.replace(amp, 5, "&");
    return href;
  }

  int port_ = 0;
};

// Every page loads in a real browser with nothing on its console (no script error, no
// Content-Security-Policy violation), and is screenshot at a desktop and a phone width into
// test-output/console/ for a person to look at.
TEST_F(ConsoleTest, EveryPageLoadsWithoutConsoleMessagesAtBothWidths) {
  for (auto [path, name, heading] :
       {std::tuple{"/console", "overview", "<h1>Overview</h1>"},
        std::tuple{"/console/log", "log", "<h1>Send log</h1>"},
        std::tuple{"/console/log?status=sent&customer=c7&from=2026-01-01", "log-filtered",
                   "<h1>Send log</h1>"}}) {
    testing::BrowserPage page = testing::LoadPage(Url(path));
    ASSERT_TRUE(page.loaded) << path << "\n" << page.log;
    EXPECT_NE(page.dom.find(heading), std::string::npos) << path << page.dom;
    EXPECT_TRUE(page.messages.empty()) << path << "\n" << testing::Joined(page.messages);
    for (int width : {1280, 390}) {
      testing::BrowserPage shot = testing::Screenshot(Url(path), name, width);
      EXPECT_TRUE(shot.loaded) << path << " at " << width << "\n" << shot.log;
      EXPECT_TRUE(shot.messages.empty()) << testing::Joined(shot.messages);
    }
  }
}

// Paging by the Older link walks every send exactly once, newest first; a filter gives its rows.
TEST_F(ConsoleTest, TheSendLogPagesThroughEveryRowAndFilters) {
  std::vector<int64_t> seen;
  std::string path = "/console/log";
  int pages = 0;
  while (!path.empty() && pages < 10) {
    testing::BrowserPage page = testing::LoadPage(Url(path));
    ASSERT_TRUE(page.loaded) << path << "\n" << page.log;
    EXPECT_TRUE(page.messages.empty()) << testing::Joined(page.messages);
    std::vector<int64_t> ids = Ids(page.dom);
    EXPECT_LE(ids.size(), 50u);
    seen.insert(seen.end(), ids.begin(), ids.end());
    path = Next(page.dom);
    ++pages;
  }
  EXPECT_EQ(pages, 3);  // 50 + 50 + 21
  // Each row once, newest decision first.
  std::vector<int64_t> expected;
  for (const std::string& id :
       SqlColumn(dir_ / "f.db", "SELECT id FROM outbox ORDER BY decided_at DESC, id DESC"))
    expected.push_back(std::stoll(id));
  ASSERT_EQ(expected.size(), static_cast<size_t>(kLoggedSends + 1));
  EXPECT_EQ(seen, expected);

  testing::BrowserPage one = testing::LoadPage(Url("/console/log?customer=c7"));
  std::vector<int64_t> ids = Ids(one.dom);
  ASSERT_EQ(ids.size(), 1u) << one.dom;
  EXPECT_EQ(std::to_string(ids[0]), Sql(dir_ / "f.db",
                                        "SELECT o.id FROM outbox o JOIN customers c ON c.id = "
                                        "o.customer_id WHERE c.external_id = 'c7'"));
  testing::BrowserPage none = testing::LoadPage(Url("/console/log?status=failed"));
  EXPECT_TRUE(Ids(none.dom).empty());
  EXPECT_NE(none.dom.find("no sends match"), std::string::npos);
}

// A customer whose id is a script shows as text: the page holds no script element, and the
// browser logs no blocked script either.
TEST_F(ConsoleTest, ACustomerNamedScriptIsShownAsText) {
  testing::BrowserPage page =
      testing::LoadPage(Url("/console/log?customer=%3Cscript%3E"
                            "alert%281%29%3C%2Fscript%3E"));
  ASSERT_TRUE(page.loaded) << page.log;
  EXPECT_EQ(Ids(page.dom).size(), 1u) << page.dom;
  EXPECT_NE(page.dom.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << page.dom;
  EXPECT_EQ(page.dom.find("<script"), std::string::npos) << page.dom;
  EXPECT_TRUE(page.messages.empty()) << testing::Joined(page.messages);
}

}  // namespace
}  // namespace followup
