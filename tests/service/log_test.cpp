// Logging: masking, the $JOURNAL_STREAM check, structured fields, and the real journal protocol.
//
// The journal tests need the journal's socket, which libsystemd sends to at a fixed path. Where no
// journald runs (a container, a build machine) and the test may create that path (root), the test
// binds the socket itself, runs a program with $JOURNAL_STREAM naming its standard error, reads the
// native-protocol datagrams it sends, and removes what it created. Where a journald owns the
// socket, or it cannot be created, those tests are skipped and say why.
#include "service/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/sqlite_util.h"
#include "support/test_util.h"

extern char** environ;

namespace followup::service {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

// Sets or unsets an environment variable for one test and puts the old value back afterwards.
class EnvVar {
 public:
  explicit EnvVar(const char* name) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
  }
  ~EnvVar() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;
  void Set(const std::string& value) { ::setenv(name_, value.c_str(), 1); }
  void Unset() { ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string DevIno(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

// ---- MaskEmail ----

TEST(MaskEmailTest, KeepsTheFirstCharacterAndTheDomain) {
  EXPECT_EQ(MaskEmail("ann.lee@example.com"), "a***@example.com");
  EXPECT_EQ(MaskEmail("b@example.org"), "b***@example.org");
  EXPECT_EQ(MaskEmail("\"odd@local\"@example.com"), "\"***@example.com");     // the last '@'
  EXPECT_EQ(MaskEmail("\xC3\xA9lise@example.fr"), "\xC3\xA9***@example.fr");  // whole UTF-8 char
}

TEST(MaskEmailTest, NoAtSignOrNothing) {
  EXPECT_EQ(MaskEmail("not an address"), "***");
  EXPECT_EQ(MaskEmail("@example.com"), "***@example.com");
  EXPECT_EQ(MaskEmail(""), "");
}

// ---- $JOURNAL_STREAM ----

TEST(JournalStreamTest, MatchesOnlyTheFileItNames) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string pipe_id = DevIno(fds[1]);
  EXPECT_TRUE(IsJournalStream(pipe_id, fds[1]));
  EXPECT_TRUE(IsJournalStream(pipe_id, fds[0]));  // both ends are the same pipe inode
  testing::TempDir dir;
  int file = ::open(dir.Write("f", "").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(file, 0);
  EXPECT_FALSE(IsJournalStream(pipe_id, file));
  EXPECT_TRUE(IsJournalStream(DevIno(file), file));
  for (const char* garbage : {"", ":", "12", "12:", ":34", "a:b", "1:2:3", "-1:5", " 1:2", "1:2 "})
    EXPECT_FALSE(IsJournalStream(garbage, fds[1])) << "'" << garbage << "'";
  EXPECT_FALSE(IsJournalStream(pipe_id, -1));
  ::close(file);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(JournalStreamTest, StderrIsJournalReadsTheVariableAndStandardError) {
  EnvVar stream("JOURNAL_STREAM");
  std::string own = DevIno(STDERR_FILENO);
  stream.Set(own);
  EXPECT_TRUE(StderrIsJournal());
  stream.Unset();
  EXPECT_FALSE(StderrIsJournal());
  stream.Set("garbage");
  EXPECT_FALSE(StderrIsJournal());
  struct stat st {};
  ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
  stream.Set(std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1));
  EXPECT_FALSE(StderrIsJournal());
}

// ---- LogFields ----

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(LogFieldsTest, ScopesStackAndEnd) {
  EXPECT_EQ(CurrentLogFields(), Fields{});
  {
    LogFields outer{{"RULE", "lapsed-winback"}, {"CUSTOMER", "c1"}};
    EXPECT_EQ(CurrentLogFields(), (Fields{{"RULE", "lapsed-winback"}, {"CUSTOMER", "c1"}}));
    {
      LogFields inner{{"EMAIL_MESSAGE_ID", "<m@example.com>"}, {"RULE", "other"}};
      EXPECT_EQ(
          CurrentLogFields(),
          (Fields{{"RULE", "other"}, {"CUSTOMER", "c1"}, {"EMAIL_MESSAGE_ID", "<m@example.com>"}}));
    }
    EXPECT_EQ(CurrentLogFields(), (Fields{{"RULE", "lapsed-winback"}, {"CUSTOMER", "c1"}}));
  }
  EXPECT_EQ(CurrentLogFields(), Fields{});
}

TEST(LogFieldsTest, NamesAreMadeValidJournalNames) {
  LogFields fields{{"message-id", "a"}, {"_PRIVATE", "b"},  {"9lives", "c"},
                   {"MESSAGE", "no"},   {"PRIORITY", "no"}, {"SYSLOG_IDENTIFIER", "no"},
                   {"code_file", "no"}, {"__", "no"},       {std::string(70, 'A'), "d"}};
  EXPECT_EQ(
      CurrentLogFields(),
      (Fields{{"MESSAGE_ID", "a"}, {"PRIVATE", "b"}, {"LIVES", "c"}, {std::string(64, 'A'), "d"}}));
}

TEST(LogFieldsTest, BelongToTheirThread) {
  LogFields fields{{"RULE", "r"}};
  Fields seen{{"x", "y"}};
  std::thread([&] { seen = CurrentLogFields(); }).join();
  EXPECT_EQ(seen, Fields{});
  EXPECT_EQ(CurrentLogFields(), (Fields{{"RULE", "r"}}));
}

// ---- Running programs with a chosen $JOURNAL_STREAM ----

enum class Stream { kMatching, kOther };

struct Child {
  pid_t pid = -1;
  std::string stderr_path;
};

// Starts `args` in `cwd` with standard error on a new file in `dir` and $JOURNAL_STREAM naming that
// file (kMatching) or another one (kOther); `env` adds variables ("NAME=value").
Child Spawn(const std::vector<std::string>& args, Stream stream, const testing::TempDir& dir,
            const std::vector<std::string>& env = {}) {
  Child child;
  child.stderr_path =
      dir / ("stderr-" + std::to_string(::getpid()) + "-" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  int err = ::open(child.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  EXPECT_GE(err, 0) << std::strerror(errno);
  struct stat st {};
  EXPECT_EQ(::fstat(err, &st), 0);
  auto ino = st.st_ino + (stream == Stream::kOther ? 1 : 0);

  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string_view var(*e);
    std::string_view name = var.substr(0, var.find('='));
    if (name != "JOURNAL_STREAM" && name != "SPDLOG_LEVEL" && name != "FOLLOWUP_CONFIG" &&
        name != "NOTIFY_SOCKET" && name != "WATCHDOG_USEC" && name != "WATCHDOG_PID")
      vars.emplace_back(var);
  }
  vars.push_back("JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" + std::to_string(ino));
  vars.insert(vars.end(), env.begin(), env.end());
  std::vector<char*> envp, argv;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::vector<std::string> args_copy = args;
  for (auto& a : args_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string cwd = dir.path().string();

  child.pid = ::fork();
  if (child.pid == 0) {
    ::dup2(err, STDERR_FILENO);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(err);
  return child;
}

// Waits for `pid` to exit (bounded; killed after that) and returns its exit status, or -1.
int WaitExit(pid_t pid, std::chrono::milliseconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(10ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// ---- The journal socket ----

// One journal entry: its fields in the order sent (a field may repeat).
using Entry = std::multimap<std::string, std::string>;

std::optional<std::string> Field(const Entry& entry, const std::string& name) {
  auto it = entry.find(name);
  if (it == entry.end()) return std::nullopt;
  return it->second;
}

// The native protocol (systemd's "Native Journal Protocol"): "KEY=value\n", or for a value that
// may hold line breaks "KEY\n", its size as 64-bit little endian, the value, "\n".
std::optional<Entry> ParseEntry(std::string_view data) {
  Entry entry;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view line = data.substr(pos, nl - pos);
    size_t eq = line.find('=');
    if (eq != std::string_view::npos) {
      entry.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
      pos = nl + 1;
      continue;
    }
    if (nl + 1 + 8 > data.size()) return std::nullopt;
    uint64_t size = 0;
    for (int i = 7; i >= 0; --i) size = (size << 8) | static_cast<unsigned char>(data[nl + 1 + i]);
    size_t value_at = nl + 1 + 8;
    if (size > data.size() - value_at || value_at + size >= data.size() ||
        data[value_at + size] != '\n')
      return std::nullopt;
    entry.emplace(std::string(line), std::string(data.substr(value_at, size)));
    pos = value_at + size + 1;
  }
  return entry;
}

// The journal socket at its fixed path, bound by the test. Tests that use it also hold a lock (an
// abstract unix socket name, gone with the process) so that two test processes never share it.
class JournalSocket {
 public:
  // Empty when usable, else why not (the test skips with it).
  std::string Open() {
    if (!Lock()) return "another test process held the journal test lock for 60 s";
    struct stat st {};
    if (::lstat(kJournalSocket, &st) == 0)
      return std::string(kJournalSocket) + " exists: a journald (or something else) owns it";
    for (const char* dir : {"/run", "/run/systemd", "/run/systemd/journal"}) {
      if (::lstat(dir, &st) == 0) continue;
      if (::mkdir(dir, 0755) != 0)
        return std::string("cannot create ") + dir + ": " + std::strerror(errno);
      created_dirs_.push_back(dir);
    }
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return std::string("socket: ") + std::strerror(errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, kJournalSocket);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
      return std::string("cannot bind ") + kJournalSocket + ": " + std::strerror(errno);
    if (::lstat(kJournalSocket, &st) == 0) socket_ino_ = st.st_ino;
    int on = 1;  // the sender's pid with every datagram: other programs' entries are ignored
    if (::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0)
      return std::string("SO_PASSCRED: ") + std::strerror(errno);
    return "";
  }

  // Only when no journal socket exists (and the test lock keeps other tests from binding one).
  std::string LockWithoutSocket() {
    if (!Lock()) return "another test process held the journal test lock for 60 s";
    struct stat st {};
    if (::lstat(kJournalSocket, &st) == 0)
      return std::string(kJournalSocket) + " exists: a journald (or something else) owns it";
    return "";
  }

  ~JournalSocket() {
    if (fd_ >= 0) ::close(fd_);
    struct stat st {};
    if (socket_ino_ && ::lstat(kJournalSocket, &st) == 0 && st.st_ino == *socket_ino_)
      ::unlink(kJournalSocket);
    for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) ::rmdir(*it);
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  // The entries `pid` sends until it exits (or 20 s pass: then it is killed and *status is -1).
  // `seen` is called on each as it arrives, while the process runs.
  std::vector<Entry> Collect(pid_t pid, int* status,
                             const std::function<void(const Entry&)>& seen = {}) {
    std::vector<Entry> entries;
    auto take = [&] {
      while (auto entry = Receive(pid)) {
        if (seen) seen(*entry);
        entries.push_back(std::move(*entry));
      }
    };
    auto deadline = std::chrono::steady_clock::now() + 20s;
    int raw = 0;
    while (::waitpid(pid, &raw, WNOHANG) != pid) {
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, 20);
      take();
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &raw, 0);
        *status = -1;
        take();
        return entries;
      }
    }
    take();  // sending is synchronous: what it sent is queued by now
    *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return entries;
  }

 private:
  bool Lock() {
    lock_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const char name[] = "followup-journal-test-lock";
    std::memcpy(addr.sun_path + 1, name, sizeof(name) - 1);
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + sizeof(name) - 1);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (::bind(lock_fd_, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      if (errno != EADDRINUSE || std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  // The next entry from `pid` (skipping other senders' datagrams), or nullopt when none is queued.
  std::optional<Entry> Receive(pid_t pid) {
    for (;;) {
      char probe;
      ssize_t size = ::recv(fd_, &probe, 1, MSG_PEEK | MSG_TRUNC);
      if (size < 0) return std::nullopt;
      std::string data(static_cast<size_t>(size), '\0');
      iovec iov{data.data(), data.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 4)];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t n = ::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0) return std::nullopt;
      data.resize(static_cast<size_t>(n));
      std::optional<pid_t> sender;
      int memfd = -1;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
          ucred cred;
          std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
          sender = cred.pid;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
          std::memcpy(&memfd, CMSG_DATA(c), sizeof(int));
        }
      }
      if (memfd >= 0) {  // an entry too large for a datagram: the whole entry is in a memfd
        data.clear();
        char buf[65536];
        ssize_t r;
        off_t off = 0;
        while ((r = ::pread(memfd, buf, sizeof(buf), off)) > 0) {
          data.append(buf, static_cast<size_t>(r));
          off += r;
        }
        ::close(memfd);
      }
      if (sender != pid) continue;
      auto entry = ParseEntry(data);
      EXPECT_TRUE(entry) << "not a native journal entry: " << data.substr(0, 200);
      if (entry) return entry;
    }
  }

  int fd_ = -1;
  int lock_fd_ = -1;
  std::optional<ino_t> socket_ino_;
  std::vector<const char*> created_dirs_;
};

// What log_emitter logs (see log_emitter.cpp) at the default level, as MESSAGE and PRIORITY.
const std::vector<std::pair<std::string, std::string>> kEmitted = {
    {"plain", "6"},        {"decided", "6"},     {"sent to a***@example.com", "6"},
    {"other thread", "6"}, {"after inner", "4"}, {"two\nlines", "3"},
    {"last", "2"}};

TEST(JournalLogTest, EachLineIsANativeEntryWithItsFields) {
  // Larger than any socket send buffer: libsystemd hands this entry over in a memfd.
  constexpr size_t kBig = 20000000;
  JournalSocket journal;
  if (auto why = journal.Open(); !why.empty()) GTEST_SKIP() << why;
  testing::TempDir dir;
  Child child = Spawn({LOG_EMITTER_BINARY, std::to_string(kBig)}, Stream::kMatching, dir,
                      {"SPDLOG_LEVEL=debug"});
  int status = 0;
  auto entries = journal.Collect(child.pid, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(testing::ReadFile(child.stderr_path), "");  // every line went to the journal

  std::vector<std::pair<std::string, std::string>> expected = kEmitted;
  expected.insert(expected.begin() + 5, {"debug line", "7"});
  expected.insert(expected.end() - 1, {std::string(kBig, 'x'), "6"});
  ASSERT_EQ(entries.size(), expected.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    auto message = Field(e, "MESSAGE");
    if (expected[i].first.size() > 100)  // no 20 MB in a failure message
      EXPECT_TRUE(message == expected[i].first) << i << ": " << message.value_or("").size();
    else
      EXPECT_EQ(message, expected[i].first) << i;
    EXPECT_EQ(Field(e, "PRIORITY"), expected[i].second) << i;
    EXPECT_EQ(Field(e, "SYSLOG_IDENTIFIER"), "followupd") << i;
    for (const char* once : {"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "RULE", "CUSTOMER"})
      EXPECT_LE(e.count(once), 1u) << i << " " << once;
  }
  auto fields = [&](size_t i) {
    return std::vector<std::optional<std::string>>{Field(entries[i], "RULE"),
                                                   Field(entries[i], "CUSTOMER"),
                                                   Field(entries[i], "EMAIL_MESSAGE_ID")};
  };
  using F = std::vector<std::optional<std::string>>;
  EXPECT_EQ(fields(0), (F{std::nullopt, std::nullopt, std::nullopt}));     // plain
  EXPECT_EQ(fields(1), (F{"lapsed-winback", "c000123", std::nullopt}));    // decided
  EXPECT_EQ(fields(2), (F{"inner-rule", "c000123", "<m1@example.com>"}));  // sent to
  EXPECT_EQ(fields(3), (F{std::nullopt, std::nullopt, std::nullopt}));     // other thread
  EXPECT_EQ(fields(4), (F{"lapsed-winback", "c000123", std::nullopt}));    // after inner
  for (size_t i = 5; i < entries.size(); ++i)
    EXPECT_EQ(fields(i), (F{std::nullopt, std::nullopt, std::nullopt})) << i;
}

TEST(JournalLogTest, WithoutTheJournalSocketLinesGoToStderrWithTheirLevel) {
  JournalSocket journal;
  if (auto why = journal.LockWithoutSocket(); !why.empty()) GTEST_SKIP() << why;
  testing::TempDir dir;
  Child child = Spawn({LOG_EMITTER_BINARY}, Stream::kMatching, dir);
  ASSERT_EQ(WaitExit(child.pid), 0);
  EXPECT_EQ(testing::ReadFile(child.stderr_path),
            "<6>plain\n<6>decided\n<6>sent to a***@example.com\n<6>other thread\n"
            "<4>after inner\n<3>two\n<3>lines\n<2>last\n");
}

// followupd itself: a store with one customer, no HTTP listener, mail to a maildir.
class FollowupdLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = testing::SetUpDaemonFolder(dir_, "id,email,name\nann,ann@example.com,Ann\n");
    ASSERT_EQ(r.status, 0) << r.err;
  }

  std::vector<std::string> Args() const {
    return {FOLLOWUPD_BINARY, "--config", dir_ / "followup.yaml", "run"};
  }

  testing::TempDir dir_;
};

TEST_F(FollowupdLogTest, SendsItsLinesToTheJournalWhenStderrIsTheJournal) {
  JournalSocket journal;
  if (auto why = journal.Open(); !why.empty()) GTEST_SKIP() << why;
  Child child = Spawn(Args(), Stream::kMatching, dir_, {"SPDLOG_LEVEL=debug"});
  int status = 0;
  bool running = false;
  std::optional<Entry> decided, sent;
  auto entries = journal.Collect(child.pid, &status, [&](const Entry& e) {
    std::string message = Field(e, "MESSAGE").value_or("");
    if (!running && message.starts_with("followupd running")) {
      running = true;
      // Ann's first purchase: the welcome rule decides and the message goes out.
      testing::Exec(dir_ / "f.db",
                    "INSERT INTO transactions(external_id, customer_id, occurred_at, kind, "
                    "amount, currency) SELECT 't1', id, strftime('%s', 'now'), 'purchase', 2500, "
                    "'EUR' FROM customers WHERE external_id = 'ann'");
    }
    if (message.starts_with("decided rule=welcome")) decided = e;
    if (message.starts_with("sent rule=welcome")) {
      sent = e;
      ::kill(child.pid, SIGTERM);
    }
  });
  ASSERT_TRUE(running) << testing::ReadFile(child.stderr_path);
  // The lines about one decision and one email carry the fields that find them.
  ASSERT_TRUE(decided && sent) << testing::ReadFile(child.stderr_path);
  EXPECT_EQ(Field(*decided, "RULE"), "welcome");
  EXPECT_EQ(Field(*decided, "CUSTOMER"), "ann");
  EXPECT_EQ(Field(*sent, "RULE"), "welcome");
  EXPECT_EQ(Field(*sent, "CUSTOMER"), "ann");
  EXPECT_EQ(Field(*sent, "EMAIL_MESSAGE_ID"),
            testing::Sql(dir_ / "f.db", "SELECT message_id FROM outbox"));
  EXPECT_TRUE(std::regex_match(Field(*sent, "EMAIL_MESSAGE_ID").value_or(""),
                               std::regex("<[^<>@]+@[^<>@]+>")));
  EXPECT_EQ(status, 0);
  EXPECT_EQ(testing::ReadFile(child.stderr_path), "");
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(Field(entries.back(), "MESSAGE"), "stopped");
  for (const Entry& e : entries) {
    EXPECT_EQ(Field(e, "SYSLOG_IDENTIFIER"), "followupd");
    auto priority = Field(e, "PRIORITY");
    ASSERT_TRUE(priority);
    EXPECT_TRUE(std::regex_match(*priority, std::regex("[0-7]"))) << *priority;
    EXPECT_TRUE(Field(e, "MESSAGE")) << "an entry without MESSAGE";
  }
}

TEST_F(FollowupdLogTest, WritesTimestampedLinesWhenJournalStreamNamesAnotherFile) {
  Child child = Spawn(Args(), Stream::kOther, dir_);
  bool running = false;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!running && std::chrono::steady_clock::now() < deadline) {
    running = testing::ReadFile(child.stderr_path).find("followupd running") != std::string::npos;
    if (!running) std::this_thread::sleep_for(20ms);
  }
  ::kill(child.pid, SIGTERM);
  EXPECT_EQ(WaitExit(child.pid), 0);
  ASSERT_TRUE(running) << testing::ReadFile(child.stderr_path);
  std::string err = testing::ReadFile(child.stderr_path);
  std::regex line(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (debug|info|warning|error|critical) .*)");
  size_t start = 0, lines = 0;
  while (start < err.size()) {
    size_t end = err.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "unterminated last line: " << err.substr(start);
    std::string one = err.substr(start, end - start);
    EXPECT_TRUE(std::regex_match(one, line)) << one;
    start = end + 1;
    ++lines;
  }
  EXPECT_GE(lines, 2u);
  EXPECT_NE(err.find(" info followupd running"), std::string::npos) << err;
  EXPECT_EQ(err.find("<6>"), std::string::npos) << err;
}

}  // namespace
}  // namespace followup::service
