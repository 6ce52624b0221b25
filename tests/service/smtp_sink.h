// Postfix's smtp-sink as a real process, and followupd's daemon and outbox, for the tests that run
// followupd against it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "delivery/test_servers.h"
#include "support/sqlite_util.h"
#include "support/test_util.h"

namespace followup::testing {

// Postfix's smtp-sink on 127.0.0.1:PORT (a port chosen by the test, so that it can come up on the
// port the daemon was already configured with), appending every accepted message to one dump file
// (-D: one file, so no two messages can ever share a name, unlike -d's random suffix). The dump is
// written before the sink's 250 to the final ".", so a message the daemon was killed waiting for
// is still counted as received.
class Sink {
 public:
  Sink(std::string dump, std::string log) : dump_(std::move(dump)), log_(std::move(log)) {}
  ~Sink() { Stop(); }

  // Starts the sink on `port` with smtp-sink's fault flags (e.g. {"-f", "mail"}: 5xx at MAIL
  // FROM); false if it did not come up (the port is taken, for one).
  bool Start(int port, const std::vector<std::string>& flags = {}) {
    Stop();
    port_ = port;
    std::vector<std::string> argv = {kSmtpSink};
    if (geteuid() == 0) argv.insert(argv.end(), {"-u", "root"});  // required when root
    argv.insert(argv.end(), {"-v", "-D", dump_});
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"127.0.0.1:" + std::to_string(port), "100"});
    std::fflush(nullptr);  // or the child would write the test's buffered output again
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(kSmtpSink, args.data());
      _exit(127);
    }
    pid_ = pid;
    // Ready when it accepts a connection and logs it (-v): the listener is this sink.
    size_t connects_before = Connects();
    bool connected = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (!connected) {
        int fd = ConnectLoopback(port);
        if (fd >= 0) {
          WriteAll(fd, "QUIT\r\n");
          close(fd);
          connected = true;
        }
      }
      if (connected && Connects() > connects_before) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Stop();
    return false;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    if (!WaitFor([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, std::chrono::seconds(2),
                 std::chrono::milliseconds(5))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  bool running() const { return pid_ > 0; }

  // How many times each Message-ID arrived.
  std::map<std::string, int> MessageIds() const {
    std::map<std::string, int> out;
    std::ifstream in(dump_, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Message-ID: ", 0) != 0) continue;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ++out[line.substr(12)];
    }
    return out;
  }

 private:
  size_t Connects() const {
    std::string log = ReadFile(log_);
    size_t n = 0;
    for (size_t at = log.find("connect ("); at != std::string::npos;
         at = log.find("connect (", at + 1))
      ++n;
    return n;
  }

  std::string dump_, log_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Sets `dir` up for followupd against a mail server on 127.0.0.1:`port`: the shipped templates, an
// empty rules/, followup.yaml (store f.db, no quiet hours or contact cap, no TLS, no HTTP listener,
// plus the lines `delivery_extra` and `service_extra`, each "  key: value\n") and `customers`
// customers c0, c1 ... with the addresses c0@example.com ... imported. Returns the import's result.
inline CommandResult SetUpSmtpFolder(const TempDir& dir, int port, int customers,
                                     const std::string& delivery_extra = "",
                                     const std::string& service_extra = "") {
  std::filesystem::copy(FOLLOWUP_SOURCE_DIR "/templates", dir / "templates",
                        std::filesystem::copy_options::recursive);
  std::filesystem::create_directories(dir / "rules");
  std::string csv = "id,email,name\n";
  for (int i = 0; i < customers; ++i)
    csv += "c" + std::to_string(i) + ",c" + std::to_string(i) + "@example.com,C" +
           std::to_string(i) + "\n";
  dir.Write("followup.yaml",
            "store: sqlite:f.db\nrules_dir: rules\ntemplates_dir: templates\n"
            "contact_policy:\n  quiet_hours: \"\"\n  max_contacts: 0\n"
            "delivery:\n  transport: smtp://127.0.0.1:" +
                std::to_string(port) + "\n  require_tls: false\n  unsubscribe_key_file: key\n" +
                delivery_extra + "service:\n  listen: \"\"\n" + service_extra);
  return Followupd(
      "--config " + dir / "followup.yaml" + " import customers " + dir.Write("c.csv", csv),
      dir.path());
}

// Starts `followupd --config DIR/followup.yaml run` in the background, its stderr appended to
// DIR/daemon.log, without the environment's config, systemd socket or watchdog; `env`
// ("NAME=value") is set on top. Returns its pid.
inline pid_t StartDaemon(const TempDir& dir, const std::vector<std::string>& env = {}) {
  std::fflush(nullptr);  // or the child would write the test's buffered output again
  pid_t pid = fork();
  if (pid == 0) {
    unsetenv("FOLLOWUP_CONFIG");
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::string log = dir / "daemon.log";
    freopen(log.c_str(), "a", stderr);
    freopen("/dev/null", "w", stdout);
    execl(FOLLOWUPD_BINARY, "followupd", "--config", (dir / "followup.yaml").c_str(), "run",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Queues `n` sends of the winback template straight into the outbox of the SQLite store `db`, with
// dedupe keys KEY:FIRST ... KEY:FIRST+n-1, to the customers with external ids c0 ... c(customers-1)
// in turn.
inline void QueueSends(const std::string& db, const std::string& key, int first, int n,
                       int customers) {
  Exec(db, "WITH RECURSIVE n(i) AS (SELECT " + std::to_string(first) +
               " UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(first + n - 1) +
               ") INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
               "template_values, decided_at, send_after, status, updated_at) "
               "SELECT '" +
               key +
               ":' || i, 'test', c.id, c.id, 'send', 'winback', "
               "'{\"offer\":\"x\",\"offer_code\":\"Y\"}', strftime('%s', 'now'), 0, 'queued', "
               "strftime('%s', 'now') FROM n JOIN customers c ON c.external_id = 'c' || (i % " +
               std::to_string(customers) + ")");
}

// A bounce or feedback-loop report from tests/data/feedback, as the mail server would deliver it
// to the bounce folder, about the message `message_id` (with or without <>) sent to `email`:
// "dsn/postfix_hard.eml" (Postfix's hard bounce) or "arf/abuse.eml" (a complaint). `tag` is put in
// the report's own Message-ID, so that each report is another event.
inline std::string BounceReport(const std::string& fixture, const std::string& email,
                                std::string message_id, const std::string& tag) {
  std::string text = ReadFile(FOLLOWUP_SOURCE_DIR "/tests/data/feedback/" + fixture);
  if (message_id.size() > 1 && message_id.front() == '<')
    message_id = message_id.substr(1, message_id.size() - 2);
  const std::pair<std::string, std::string> changes[] = {
      {"nobody@example.com", email},
      {"Complainer@Example.COM", email},
      {"complainer@example.com", email},
      {"9b1f0c6e4d3a2b18a7f6e5d4c3b2a190@shop.example", message_id},
      {"20250213100005.4B5C6C0456@mail.shop.example", tag + "@mail.shop.example"},
      {"arf-20250214081500-77aa@fbl.mailbox.example", tag + "@fbl.mailbox.example"}};
  for (const auto& [from, to] : changes)
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  return text;
}

// Delivers `text` into the maildir `maildir` as a mail server does: written into tmp/, then
// renamed into new/, so that a reader never sees half a file.
inline void DeliverToMaildir(const std::string& maildir, const std::string& name,
                             const std::string& text) {
  std::filesystem::create_directories(maildir + "/tmp");
  std::filesystem::create_directories(maildir + "/new");
  std::ofstream(maildir + "/tmp/" + name, std::ios::binary) << text;
  std::filesystem::rename(maildir + "/tmp/" + name, maildir + "/new/" + name);
}

}  // namespace followup::testing
