// One owner of delivery per store (docs/delivery.md), with real processes: several followupd on
// one SQLite store against Postfix's smtp-sink, every message counted at the sink.
//
// Every wait is bounded; the daemon and the sink are killed in TearDown whatever happens.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "service/smtp_sink.h"
#include "support/sqlite_util.h"
#include "support/test_util.h"

namespace followup {
namespace {

namespace fs = std::filesystem;
using testing::Sql;
using testing::WaitFor;
using namespace std::chrono_literals;

class DeliveryOwnerTest : public ::testing::Test {
 protected:
  static constexpr int kCustomers = 50;

  void SetUp() override {
    port_ = testing::FreeLoopbackPort();
    // rate_per_second makes a pass's drain last long enough for the others to meet it.
    auto r = testing::SetUpSmtpFolder(dir_, port_, kCustomers,
                                      "  rate_per_second: 400\n  retry_base: 1s\n",
                                      "  poll_interval_ms: 50\n");
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_TRUE(sink_.Start(port_)) << "smtp-sink did not start on port " << port_;
  }

  void TearDown() override {
    if (daemon_ > 0) {
      kill(daemon_, SIGKILL);
      waitpid(daemon_, nullptr, 0);
    }
    sink_.Stop();
  }

  testing::CommandResult Followupd(const std::string& args) {
    return testing::Followupd("--config " + dir_ / "followup.yaml" + " " + args, dir_.path());
  }

  // `n` queued sends, one of the winback template to each of `n` customers (round robin), with
  // dedupe keys KEY:0 ...
  void QueueSends(int n, const std::string& key) {
    testing::QueueSends(db(), key, 0, n, kCustomers);
  }

  // How many messages the sink received, and how many Message-IDs more than once.
  int Received() {
    int n = 0;
    for (const auto& [id, times] : sink_.MessageIds()) n += times;
    return n;
  }
  int Duplicates() {
    int twice = 0;
    for (const auto& [id, n] : sink_.MessageIds()) twice += n > 1;
    return twice;
  }
  int Count(const std::string& where) {
    return std::atoi(Sql(db(), "SELECT count(*) FROM outbox WHERE " + where).c_str());
  }

  void StartDaemon() { daemon_ = testing::StartDaemon(dir_); }

  std::string LockFile() { return testing::ReadFile(dir_ / "f.db.delivery.lock"); }
  std::string db() { return dir_ / "f.db"; }

  testing::TempDir dir_;
  int port_ = 0;
  testing::Sink sink_{dir_ / "sink.dump", dir_ / "sink.log"};
  pid_t daemon_ = -1;
};

// Three `run --once` started together on one store (cron overlapping itself): each pass decides,
// one at a time delivers, and no pass takes back another's round: every message arrives once.
// Before one owner per store, the later starts requeued the first one's round in flight and it
// went out twice.
TEST_F(DeliveryOwnerTest, ThreeConcurrentPassesSendEveryMessageOnce) {
  constexpr int kSends = 300;
  QueueSends(kSends, "once");
  std::string f = std::string("env -u FOLLOWUP_CONFIG '") + FOLLOWUPD_BINARY + "' --config " +
                  dir_ / "followup.yaml" + " run --once";
  auto r = testing::Run("cd '" + dir_.path().string() + "' && { " + f + " >1.out 2>1.err & " + f +
                        " >2.out 2>2.err & " + f + " >3.out 2>3.err & wait; }");
  ASSERT_EQ(r.status, 0) << r.err;
  std::this_thread::sleep_for(200ms);  // the last message is dumped before its 250
  int sent_by_passes = 0;
  for (const char* n : {"1", "2", "3"}) {
    std::string out = testing::ReadFile(dir_ / (std::string(n) + ".out"));
    std::string err = testing::ReadFile(dir_ / (std::string(n) + ".err"));
    auto at = out.find(", sent ");
    ASSERT_NE(at, std::string::npos) << "pass " << n << " did not deliver: " << out << err;
    sent_by_passes += std::atoi(out.c_str() + at + 7);
  }
  EXPECT_EQ(sent_by_passes, kSends);
  EXPECT_EQ(Count("status = 'sent'"), kSends);
  EXPECT_EQ(Received(), kSends);
  EXPECT_EQ(Duplicates(), 0);
}

// A daemon holds delivery: a pass decides and leaves sending to it, saying so; the daemon
// killed with -9, its lock is gone with it and the next pass delivers at once.
TEST_F(DeliveryOwnerTest, APassLeavesDeliveryToTheDaemonAndTakesItWhenTheDaemonDies) {
  StartDaemon();
  ASSERT_TRUE(WaitFor([&] { return LockFile() == std::to_string(daemon_) + " run\n"; }, 20s))
      << "the daemon did not take delivery: " << LockFile() << "\n"
      << testing::ReadFile(dir_ / "daemon.log");
  QueueSends(40, "daemon");
  auto pass = Followupd("run --once");
  EXPECT_EQ(pass.status, 0) << pass.err;
  EXPECT_NE(pass.out.find("another followupd (pid " + std::to_string(daemon_) +
                          ") delivers for this store; its outbox will send these"),
            std::string::npos)
      << pass.out;
  ASSERT_TRUE(WaitFor([&] { return Count("status = 'sent'") == 40; }, 20s))
      << testing::ReadFile(dir_ / "daemon.log");

  kill(daemon_, SIGKILL);
  waitpid(daemon_, nullptr, 0);
  daemon_ = -1;
  QueueSends(40, "after");
  auto started = std::chrono::steady_clock::now();
  auto next = Followupd("run --once");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(next.status, 0) << next.err;
  EXPECT_NE(next.out.find(", sent 40,"), std::string::npos) << next.out << next.err;
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Received(), 80);
  EXPECT_EQ(Duplicates(), 0);
}

}  // namespace
}  // namespace followup
