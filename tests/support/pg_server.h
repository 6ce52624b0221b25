// A real PostgreSQL server for tests: initdb and pg_ctl into a temporary folder, listening only on
// a unix socket in that folder. As root (initdb refuses root) the server runs as the `postgres`
// user, which gets the folder.
//
// Under ctest one server serves the whole run: the pg_test_server fixture starts it and writes its
// folder into the file $FOLLOWUP_TEST_PG names; each test takes a fresh database on it. A test
// binary run by hand starts a server of its own on first use and stops it at exit. Tests that
// restart the server start one of their own (PgServer::Start).
//
// Without the PostgreSQL binaries (Debian: postgresql-15) the tests that need one skip, unless
// FOLLOWUP_REQUIRE_PG=1 (CI), which makes that a failure.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace followup::testing {

class PgServer {
 public:
  // Where initdb and pg_ctl are: $FOLLOWUP_PG_BINDIR, else the PATH, else Debian's
  // /usr/lib/postgresql/VERSION/bin (the newest). "" when there are none.
  static std::string BinDir() {
    if (const char* dir = std::getenv("FOLLOWUP_PG_BINDIR"); dir && *dir) return dir;
    if (const char* path = std::getenv("PATH")) {
      std::stringstream parts(path);
      std::string part;
      while (std::getline(parts, part, ':'))
        if (!part.empty() && Executable(part + "/pg_ctl") && Executable(part + "/initdb"))
          return part;
    }
    std::vector<std::filesystem::path> found;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec))
      if (Executable((entry.path() / "bin/pg_ctl").string())) found.push_back(entry.path());
    if (found.empty()) return "";
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return std::atoi(a.filename().c_str()) < std::atoi(b.filename().c_str());
    });
    return (found.back() / "bin").string();
  }

  // Starts a server of its own in a new temporary folder; nullptr with `why` on failure.
  static std::unique_ptr<PgServer> Start(std::string* why) {
    std::string bin = BinDir();
    if (bin.empty()) {
      *why = "no PostgreSQL server binaries (initdb, pg_ctl; Debian: postgresql-15)";
      return nullptr;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "followup-pg-XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
      *why = "cannot make a temporary folder";
      return nullptr;
    }
    std::unique_ptr<PgServer> server(new PgServer(bin, pattern, /*owned=*/true));
    if (!server->InitAndStart(why)) return nullptr;
    return server;
  }

  // The server for this process's tests (see above); nullptr with `why` when there is none.
  static PgServer* Shared(std::string* why) {
    static std::unique_ptr<PgServer> server;
    static std::string failure;
    static bool tried = false;
    if (!tried) {
      tried = true;
      if (const char* state = std::getenv("FOLLOWUP_TEST_PG"); state && *state) {
        std::string dir;
        std::getline(std::ifstream(state), dir);
        std::unique_ptr<PgServer> fixture(new PgServer(BinDir(), dir, /*owned=*/false));
        if (!dir.empty() && fixture->Answers()) server = std::move(fixture);
      }
      if (!server) {
        server = Start(&failure);
        if (server) server->StopWhenGone(getpid());
      }
    }
    if (!server) *why = failure;
    return server.get();
  }

  ~PgServer() {
    if (!owned_) return;
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  const std::string& dir() const { return dir_; }

  // A libpq key=value string for database `db` on this server.
  std::string Url(const std::string& db) const {
    return "host=" + dir_ + " port=" + std::to_string(kPort) + " user=postgres dbname=" + db;
  }

  // A new, empty database; its URL. "" on failure.
  std::string NewDatabase() {
    static std::atomic<int> counter{0};
    std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    if (Psql("postgres", "CREATE DATABASE " + name) != 0) return "";
    return Url(name);
  }

  // Runs SQL in database `db` with psql (stopping at the first error); its exit status.
  int Psql(const std::string& db, const std::string& sql, std::string* out = nullptr) const {
    std::string output = dir_ + "/psql.out." + std::to_string(getpid());
    std::vector<std::string> argv = {"psql", "-X",    "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                     "-d",   Url(db), "-c", sql};
    int status = RunCommand(argv, output);
    if (out) {
      std::ifstream in(output);
      std::stringstream s;
      s << in.rdbuf();
      *out = s.str();
      while (!out->empty() && out->back() == '\n') out->pop_back();
    }
    std::remove(output.c_str());
    return status;
  }

  // A test binary that crashes runs no destructor: a watcher process stops the server and removes
  // its folder once process `pid` has gone.
  void StopWhenGone(pid_t pid) {
    std::string stop = bin_ + "/pg_ctl -D '" + dir_ + "/data' -m immediate stop";
    if (geteuid() == 0) stop = "runuser -u postgres -- " + stop;
    std::string script = "while kill -0 " + std::to_string(pid) +
                         " 2>/dev/null; do sleep 1; done; " + stop + " >/dev/null 2>&1; rm -rf '" +
                         dir_ + "'";
    pid_t watcher = 0;
    std::vector<char*> args = {const_cast<char*>("sh"), const_cast<char*>("-c"), script.data(),
                               nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn(&watcher, "/bin/sh", &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
  }

  // pg_ctl restart -m fast: every connection is cut. True when it is back.
  bool Restart() { return PgCtl({"restart", "-m", "fast"}) == 0; }
  bool Stop() { return PgCtl({"stop", "-m", "immediate"}) == 0; }

  // For pg_test_server: a server whose folder outlives this object (Release), and one found again
  // by its folder.
  void Release() { owned_ = false; }
  static std::unique_ptr<PgServer> Attach(const std::string& dir) {
    return std::unique_ptr<PgServer>(new PgServer(BinDir(), dir, /*owned=*/true));
  }

 private:
  static constexpr int kPort = 5432;  // only names the socket file in our own folder

  PgServer(std::string bin, std::string dir, bool owned)
      : bin_(std::move(bin)), dir_(std::move(dir)), owned_(owned) {}

  static bool Executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

  bool InitAndStart(std::string* why) {
    if (geteuid() == 0) {
      // initdb refuses root: the server runs as `postgres`, in a folder it owns.
      struct passwd* pw = getpwnam("postgres");
      if (!pw) {
        *why = "running as root and there is no 'postgres' user to run the server as";
        return false;
      }
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        *why = "cannot give " + dir_ + " to the postgres user";
        return false;
      }
    }
    chmod(dir_.c_str(), 0755);
    if (RunAsServerUser({bin_ + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "postgres",
                         "-E", "UTF8", "--locale=C", "-N"},
                        dir_ + "/initdb.log") != 0) {
      *why = "initdb failed (see " + dir_ + "/initdb.log)";
      return false;
    }
    // Throwaway data: no fsync. Only the unix socket in our folder.
    std::ofstream(dir_ + "/data/postgresql.conf", std::ios::app)
        << "listen_addresses = ''\nunix_socket_directories = '" << dir_ << "'\nport = " << kPort
        << "\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
           "max_connections = 60\nshared_buffers = 32MB\n";
    if (PgCtl({"start"}) != 0 || !Answers()) {
      *why = "the PostgreSQL server did not start (see " + dir_ + "/server.log)";
      return false;
    }
    return true;
  }

  bool Answers() const { return Psql("postgres", "SELECT 1") == 0; }

  int PgCtl(std::vector<std::string> args) {
    std::vector<std::string> argv = {
        bin_ + "/pg_ctl", "-D", dir_ + "/data", "-w", "-t", "60", "-l", dir_ + "/server.log"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunAsServerUser(argv, dir_ + "/pg_ctl.log");
  }

  int RunAsServerUser(std::vector<std::string> argv, const std::string& output) const {
    if (geteuid() == 0) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    return RunCommand(argv, output);
  }

  // Runs argv (searching PATH) with stdout and stderr to `output`; its exit status, -1 if none.
  static int RunCommand(const std::vector<std::string>& argv, const std::string& output) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string bin_;
  std::string dir_;
  bool owned_;
};

// True when FOLLOWUP_REQUIRE_PG=1: a missing server is then a failure, not a skip.
inline bool PgRequired() {
  const char* v = std::getenv("FOLLOWUP_REQUIRE_PG");
  return v && std::string(v) == "1";
}

}  // namespace followup::testing

// In a test (or SetUp): sets `server` to the shared PostgreSQL server, or skips the test (fails it
// under FOLLOWUP_REQUIRE_PG=1) when there is none.
#define FOLLOWUP_PG_SERVER_OR_SKIP(server)                                               \
  std::string followup_pg_why_;                                                          \
  ::followup::testing::PgServer* server =                                                \
      ::followup::testing::PgServer::Shared(&followup_pg_why_);                          \
  if (!server) {                                                                         \
    if (::followup::testing::PgRequired()) FAIL() << "PostgreSQL: " << followup_pg_why_; \
    GTEST_SKIP() << "PostgreSQL: " << followup_pg_why_;                                  \
  }
