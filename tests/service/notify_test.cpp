// Notifier against a real unix datagram socket standing in for systemd's notification socket.
#include "service/notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

namespace followup::service {
namespace {

namespace fs = std::filesystem;
using std::chrono::microseconds;

// Sets or unsets an environment variable for one test and puts the old value back afterwards.
class ScopedEnv {
 public:
  explicit ScopedEnv(const char* name) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  void Set(const std::string& value) { ::setenv(name_, value.c_str(), 1); }
  void Unset() { ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A bound AF_UNIX datagram socket: a path in a fresh temp dir, or an abstract name.
class Listener {
 public:
  // abstract: bind "\0name" and report "@name" as the address, as systemd does.
  explicit Listener(bool abstract = false) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0) << std::strerror(errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len = 0;
    if (abstract) {
      std::string name = "followup-notify-test-" + std::to_string(::getpid());
      std::memcpy(addr.sun_path + 1, name.data(), name.size());
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
      address_ = "@" + name;
    } else {
      std::string tmpl = (fs::temp_directory_path() / "followup-notify-XXXXXX").string();
      char* made = ::mkdtemp(tmpl.data());
      EXPECT_NE(made, nullptr) << std::strerror(errno);
      dir_ = tmpl;
      address_ = (fs::path(dir_) / "notify").string();
      EXPECT_LT(address_.size(), sizeof(addr.sun_path));
      std::memcpy(addr.sun_path, address_.c_str(), address_.size() + 1);
      len = static_cast<socklen_t>(sizeof(addr));
    }
    EXPECT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len), 0)
        << address_ << ": " << std::strerror(errno);
  }
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  const std::string& address() const { return address_; }

  // The next datagram, or nullopt if none arrives within `wait`.
  std::optional<std::string> Receive(std::chrono::milliseconds wait = std::chrono::seconds(2)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return std::nullopt;
    std::array<char, 8192> buf{};
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    return std::string(buf.data(), static_cast<size_t>(n));
  }
  // True if nothing is waiting (sd_notify has returned, so anything sent is queued already).
  bool Empty() { return !Receive(std::chrono::milliseconds(50)); }

 private:
  int fd_ = -1;
  std::string dir_;
  std::string address_;
};

uint64_t MonotonicMicros() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

// Every test starts with none of systemd's variables set, whatever the environment running the
// tests has (a CI job started by systemd may pass its own NOTIFY_SOCKET), and restores them after.
class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    notify_socket_.Unset();
    watchdog_usec_.Unset();
    watchdog_pid_.Unset();
  }

  ScopedEnv notify_socket_{"NOTIFY_SOCKET"};
  ScopedEnv watchdog_usec_{"WATCHDOG_USEC"};
  ScopedEnv watchdog_pid_{"WATCHDOG_PID"};
  Notifier notifier_;
};

TEST_F(NotifierTest, SendsEachMessageAsOneExactDatagram) {
  Listener listener;
  notify_socket_.Set(listener.address());
  ASSERT_TRUE(notifier_.enabled());

  ASSERT_TRUE(notifier_.Ready());
  EXPECT_EQ(listener.Receive(), "READY=1");
  ASSERT_TRUE(notifier_.Ready("running: 3 rules"));
  EXPECT_EQ(listener.Receive(), "READY=1\nSTATUS=running: 3 rules");
  ASSERT_TRUE(notifier_.Stopping());
  EXPECT_EQ(listener.Receive(), "STOPPING=1");
  ASSERT_TRUE(notifier_.Stopping("draining 2 sends"));
  EXPECT_EQ(listener.Receive(), "STOPPING=1\nSTATUS=draining 2 sends");
  ASSERT_TRUE(notifier_.Watchdog());
  EXPECT_EQ(listener.Receive(), "WATCHDOG=1");
  ASSERT_TRUE(notifier_.Status("sent 12, deferred 1"));
  EXPECT_EQ(listener.Receive(), "STATUS=sent 12, deferred 1");
  ASSERT_TRUE(notifier_.ExtendTimeout(std::chrono::seconds(30)));
  EXPECT_EQ(listener.Receive(), "EXTEND_TIMEOUT_USEC=30000000");
  EXPECT_TRUE(listener.Empty());
}

TEST_F(NotifierTest, ReloadingCarriesTheMonotonicClock) {
  Listener listener;
  notify_socket_.Set(listener.address());

  uint64_t before = MonotonicMicros();
  ASSERT_TRUE(notifier_.Reloading());
  uint64_t after = MonotonicMicros();
  auto got = listener.Receive();
  ASSERT_TRUE(got);
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(got->substr(0, prefix.size()), prefix) << *got;
  std::string digits = got->substr(prefix.size());
  ASSERT_FALSE(digits.empty());
  ASSERT_EQ(digits.find_first_not_of("0123456789"), std::string::npos) << *got;
  uint64_t usec = std::stoull(digits);
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);

  ASSERT_TRUE(notifier_.Reloading("reloading rules"));
  got = listener.Receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->substr(0, prefix.size()), prefix);
  EXPECT_EQ(got->substr(got->find('\n', prefix.size())), "\nSTATUS=reloading rules");

  // The reload's end is a plain READY=1 again.
  ASSERT_TRUE(notifier_.Ready("reloaded: 3 rules"));
  EXPECT_EQ(listener.Receive(), "READY=1\nSTATUS=reloaded: 3 rules");
}

TEST_F(NotifierTest, AbstractSocketAddress) {
  Listener listener(/*abstract=*/true);
  notify_socket_.Set(listener.address());
  ASSERT_EQ(listener.address().front(), '@');
  ASSERT_TRUE(notifier_.Ready());
  EXPECT_EQ(listener.Receive(), "READY=1");
}

TEST_F(NotifierTest, StatusCannotInjectLines) {
  Listener listener;
  notify_socket_.Set(listener.address());
  ASSERT_TRUE(notifier_.Status("rules/a.yaml:3:7: bad\nREADY=1\r\nSTOPPING=1"));
  EXPECT_EQ(listener.Receive(), "STATUS=rules/a.yaml:3:7: bad READY=1  STOPPING=1");
  ASSERT_TRUE(notifier_.Status(std::string_view("a\0b", 3)));
  EXPECT_EQ(listener.Receive(), "STATUS=a b");
}

TEST_F(NotifierTest, LongStatusIsCutOnACharacterBoundary) {
  // 1023 ASCII bytes, then a 2-byte 'é' that straddles the limit: it goes whole.
  std::string status(Notifier::kMaxStatusBytes - 1, 'x');
  status += "\xc3\xa9 and more";
  std::string cut = Notifier::SanitizeStatus(status);
  EXPECT_EQ(cut, std::string(Notifier::kMaxStatusBytes - 1, 'x'));
  EXPECT_EQ(Notifier::SanitizeStatus(std::string(5000, 'y')).size(), Notifier::kMaxStatusBytes);
  EXPECT_EQ(Notifier::SanitizeStatus("short"), "short");
}

TEST_F(NotifierTest, WithoutNotifySocketNothingIsSentAndAllSucceeds) {
  Listener listener;  // bound, but nobody tells the Notifier about it
  EXPECT_FALSE(notifier_.enabled());
  EXPECT_TRUE(notifier_.Ready("x"));
  EXPECT_TRUE(notifier_.Reloading());
  EXPECT_TRUE(notifier_.Stopping());
  EXPECT_TRUE(notifier_.Watchdog());
  EXPECT_TRUE(notifier_.Status("x"));
  EXPECT_TRUE(notifier_.ExtendTimeout(std::chrono::seconds(1)));
  EXPECT_TRUE(listener.Empty());

  notify_socket_.Set("");  // set but empty counts as unset
  EXPECT_FALSE(notifier_.enabled());
  EXPECT_TRUE(notifier_.Ready());
  EXPECT_TRUE(listener.Empty());
}

TEST_F(NotifierTest, UnreachableSocketIsARuntimeError) {
  std::string missing =
      (fs::temp_directory_path() / ("followup-no-such-socket-" + std::to_string(::getpid())))
          .string();
  notify_socket_.Set(missing);
  auto sent = notifier_.Ready();
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kRuntime);
  EXPECT_NE(sent.error().message.find("READY=1"), std::string::npos) << sent.error().message;
  EXPECT_NE(sent.error().message.find(missing), std::string::npos) << sent.error().message;
}

TEST_F(NotifierTest, WatchdogIntervalFromEnvironment) {
  EXPECT_EQ(notifier_.WatchdogTimeout(), std::nullopt);  // unset: no watchdog
  EXPECT_EQ(notifier_.WatchdogPingInterval(), std::nullopt);

  watchdog_usec_.Set("60000000");
  EXPECT_EQ(notifier_.WatchdogTimeout(), microseconds(60000000));
  EXPECT_EQ(notifier_.WatchdogPingInterval(), microseconds(30000000));

  watchdog_pid_.Set(std::to_string(::getpid()));  // meant for us
  EXPECT_EQ(notifier_.WatchdogTimeout(), microseconds(60000000));

  watchdog_pid_.Set(std::to_string(::getpid() + 1));  // meant for another process
  EXPECT_EQ(notifier_.WatchdogTimeout(), std::nullopt);
  EXPECT_EQ(notifier_.WatchdogPingInterval(), std::nullopt);
  watchdog_pid_.Unset();

  watchdog_usec_.Set("0");
  EXPECT_EQ(notifier_.WatchdogTimeout(), std::nullopt);
  watchdog_usec_.Set("soon");
  EXPECT_EQ(notifier_.WatchdogTimeout(), std::nullopt);
}

TEST_F(NotifierTest, WatchdogPingsReachTheSocket) {
  Listener listener;
  notify_socket_.Set(listener.address());
  watchdog_usec_.Set("2000000");
  auto interval = notifier_.WatchdogPingInterval();
  ASSERT_TRUE(interval);
  EXPECT_EQ(*interval, microseconds(1000000));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(notifier_.Watchdog());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(listener.Receive(), "WATCHDOG=1");
  EXPECT_TRUE(listener.Empty());
}

}  // namespace
}  // namespace followup::service
