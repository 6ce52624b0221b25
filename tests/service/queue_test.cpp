// followupd queue with real processes: `run --once` against Postfix's smtp-sink on a SQLite store,
// every message counted at the sink. The operator's actions change what is sent, never by SQL.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "service/smtp_sink.h"
#include "support/sqlite_util.h"
#include "support/test_util.h"

namespace followup {
namespace {

using testing::Sql;
using namespace std::chrono_literals;

class QueueTest : public ::testing::Test {
 protected:
  static constexpr int kCustomers = 4;

  void SetUp() override {
    port_ = testing::FreeLoopbackPort();
    auto r = testing::SetUpSmtpFolder(dir_, port_, kCustomers);
    ASSERT_EQ(r.status, 0) << r.err;
  }

  testing::CommandResult Followupd(const std::string& args) {
    return testing::Followupd("--config " + dir_ / "followup.yaml" + " " + args, dir_.path());
  }
  // One send of the winback template to each customer, queued as a rule would queue them.
  void QueueOneEach(const std::string& key) {
    testing::QueueSends(db(), key, 0, kCustomers, kCustomers);
  }
  int Received() {
    std::this_thread::sleep_for(100ms);  // the last message is dumped before its 250
    int n = 0;
    for (const auto& [id, times] : sink_.MessageIds()) n += times;
    return n;
  }
  std::string StatusOf(const std::string& customer) {
    return Sql(db(),
               "SELECT group_concat(o.status) FROM outbox o JOIN customers c ON c.id = "
               "o.customer_id WHERE c.external_id = '" +
                   customer + "'");
  }
  std::string db() { return dir_ / "f.db"; }

  testing::TempDir dir_;
  int port_ = 0;
  testing::Sink sink_{dir_ / "sink.dump", dir_ / "sink.log"};
};

// The relay refused every recipient for a while (5xx at RCPT: failed for good); once it is fixed,
// the operator requeues the failed sends and they go out.
TEST_F(QueueTest, ARequeuedFailedMessageIsSent) {
  ASSERT_TRUE(sink_.Start(port_, {"-f", "rcpt"}));
  QueueOneEach("q");
  auto refused = Followupd("run --once");
  ASSERT_EQ(refused.status, 0) << refused.err;
  ASSERT_EQ(Sql(db(), "SELECT count(*) FROM outbox WHERE status = 'failed'"), "4") << refused.out;
  EXPECT_EQ(Received(), 0);

  ASSERT_TRUE(sink_.Start(port_));
  auto requeue = Followupd("queue requeue --status failed");
  EXPECT_EQ(requeue.status, 0) << requeue.err;
  EXPECT_EQ(requeue.out,
            "requeued 4 sends (of those selected, the ones failed or deferred or held or "
            "cancelled or suppressed)\n");
  EXPECT_EQ(Sql(db(), "SELECT group_concat(DISTINCT status || ' ' || attempts) FROM outbox"),
            "queued 0");
  auto again = Followupd("run --once");
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find(", sent 4,"), std::string::npos) << again.out;
  EXPECT_EQ(Received(), 4);
}

// Hold, cancel and pause keep mail from going out; release and resume let it go; the queue says
// what is waiting and why.
TEST_F(QueueTest, HoldCancelAndPauseStopMailUntilReleasedOrResumed) {
  ASSERT_TRUE(sink_.Start(port_));
  QueueOneEach("h");
  EXPECT_EQ(Followupd("queue hold --customer c0").out,
            "held 1 send (of those selected, the ones queued or deferred)\n");
  EXPECT_EQ(Followupd("queue cancel --customer c1 --reason 'wrong offer'").out,
            "cancelled 1 send (of those selected, the ones queued or deferred or held)\n");
  auto pause = Followupd("queue pause --reason 'relay maintenance'");
  EXPECT_EQ(pause.status, 0) << pause.err;
  auto paused = Followupd("run --once");
  ASSERT_EQ(paused.status, 0) << paused.err;
  EXPECT_NE(paused.out.find("delivery is paused since"), std::string::npos) << paused.out;
  EXPECT_NE(paused.out.find("(relay maintenance)"), std::string::npos) << paused.out;
  EXPECT_EQ(Received(), 0);

  auto list = Followupd("queue");
  EXPECT_EQ(list.status, 0) << list.err;
  EXPECT_EQ(list.out.rfind("delivery is paused since ", 0), 0u) << list.out;
  EXPECT_NE(list.out.find("c0@example.com  held"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("c2@example.com  queued"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("c1@example.com"), std::string::npos) << "cancelled: out of the queue";
  auto json = Followupd("queue --json --customer c0");
  auto row = nlohmann::json::parse(json.out.substr(0, json.out.find('\n')));
  EXPECT_EQ(row["status"], "held");
  EXPECT_EQ(row["email"], "c0@example.com");
  EXPECT_EQ(row["attempts"], 0);
  EXPECT_TRUE(row["reply"].is_null());
  EXPECT_TRUE(row.contains("due_at"));

  EXPECT_EQ(Followupd("queue resume").status, 0);
  auto resumed = Followupd("run --once");
  EXPECT_NE(resumed.out.find(", sent 2,"), std::string::npos) << resumed.out;
  EXPECT_EQ(Received(), 2);
  EXPECT_EQ(StatusOf("c0"), "held");
  EXPECT_EQ(StatusOf("c1"), "cancelled");
  EXPECT_EQ(Sql(db(), "SELECT last_reply FROM outbox WHERE status = 'cancelled'"),
            "cancelled: wrong offer");

  EXPECT_EQ(Followupd("queue release c0").status, 2) << "an id is a number";
  std::string id = Sql(db(), "SELECT id FROM outbox WHERE status = 'held'");
  EXPECT_EQ(Followupd("queue release " + id).out,
            "released 1 send (of those selected, the ones held)\n");
  Followupd("run --once");
  EXPECT_EQ(Received(), 3);
  EXPECT_EQ(StatusOf("c0"), "sent");
}

TEST_F(QueueTest, AnActionNeedsASelectionAndAKnownStatus) {
  QueueOneEach("s");
  auto all = Followupd("queue cancel");
  EXPECT_EQ(all.status, 2);
  EXPECT_EQ(all.err,
            "followupd: cancel: say which sends: IDs (from followupd queue), --rule, --customer "
            "or --status\n");
  EXPECT_EQ(Sql(db(), "SELECT count(*) FROM outbox WHERE status = 'queued'"), "4");
  auto status = Followupd("queue hold --status waiting");
  EXPECT_EQ(status.status, 2);
  EXPECT_NE(status.err.find("--status: one of queued, sending,"), std::string::npos) << status.err;
}

}  // namespace
}  // namespace followup
