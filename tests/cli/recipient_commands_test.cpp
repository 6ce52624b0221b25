// unsubscribe, resubscribe and suppress through the real followupd binary, on a store on disk: what
// they change is what delivery then does (mail already queued is not sent).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/test_util.h"

namespace followup {
namespace {

using testing::Followupd;
using testing::TempDir;

size_t MailCount(const std::filesystem::path& maildir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(maildir / "new", ec)) return 0;
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(maildir / "new"),
                                           std::filesystem::directory_iterator()));
}

class RecipientCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = testing::SetUpDaemonFolder(dir_,
                                        "id,email,name\n"
                                        "ann,Ann@Example.com,Ann\n"
                                        "bob,bob@example.com,Bob\n");
    ASSERT_EQ(r.status, 0) << r.err;
    // Quiet hours from 22:00 to 08:00 UTC: a decision at night waits in the queue until 08:00.
    std::string config = testing::ReadFile(dir_ / "followup.yaml");
    config.replace(config.find("quiet_hours: \"\""), 15, "quiet_hours: \"22:00-08:00\"");
    dir_.Write("followup.yaml", config);
    auto t = At("2026-06-30T20:00:00Z",
                "import transactions " + dir_.Write("t.csv",
                                                    "id,customer_id,occurred_at,amount\n"
                                                    "t1,ann,2026-06-30T19:00:00Z,20.00\n"
                                                    "t2,bob,2026-06-30T19:00:00Z,20.00\n"));
    ASSERT_EQ(t.status, 0) << t.err;
  }
  testing::CommandResult At(const std::string& at, const std::string& args) {
    return Followupd("--config " + dir_ / "followup.yaml" + " --at " + at + " " + args,
                     dir_.path());
  }
  // The welcome for both decided at night and queued until 08:00.
  void QueueWelcomes() {
    auto night = At("2026-06-30T23:00:00Z", "run --once");
    ASSERT_EQ(night.status, 0) << night.err;
    ASSERT_EQ(MailCount(dir_ / "mail"), 0u) << "quiet hours: nothing goes out at night";
  }
  std::string StatusOf(const std::string& customer) {
    auto log = At("2026-07-01T09:00:00Z", "log --json --customer " + customer);
    EXPECT_EQ(log.status, 0) << log.err;
    auto line = log.out.substr(0, log.out.find('\n'));
    if (line.empty()) return "";
    return nlohmann::json::parse(line)["status"].get<std::string>();
  }
  TempDir dir_;
};

TEST_F(RecipientCommandsTest, AnUnsubscribeStopsMailAlreadyQueued) {
  QueueWelcomes();
  auto u = At("2026-07-01T07:00:00Z", "unsubscribe ann");
  EXPECT_EQ(u.status, 0) << u.err;
  EXPECT_NE(u.out.find("customer 'ann' unsubscribed"), std::string::npos) << u.out;
  auto again = At("2026-07-01T07:30:00Z", "unsubscribe ann");
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("already unsubscribed (since 2026-07-01T07:00:00Z)"), std::string::npos)
      << again.out;

  auto morning = At("2026-07-01T09:00:00Z", "run --once");
  ASSERT_EQ(morning.status, 0) << morning.err;
  EXPECT_EQ(MailCount(dir_ / "mail"), 1u) << "bob's welcome only";
  EXPECT_EQ(StatusOf("ann"), "suppressed");
  EXPECT_EQ(StatusOf("bob"), "sent");
}

TEST_F(RecipientCommandsTest, ResubscribeLiftsTheUnsubscribeAndNamesASuppression) {
  ASSERT_EQ(At("2026-06-30T21:00:00Z", "unsubscribe ann").status, 0);
  ASSERT_EQ(At("2026-06-30T21:00:00Z", "suppress add ann@example.com").status, 0);
  auto r = At("2026-06-30T21:30:00Z", "resubscribe ann");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("customer 'ann' resubscribed (was unsubscribed since 2026-06-30T21:00:00Z)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("note: their address ann@example.com is suppressed (added by the operator); "
                       "followupd suppress remove ann@example.com lifts that"),
            std::string::npos)
      << r.out;
  ASSERT_EQ(At("2026-06-30T21:40:00Z", "suppress remove ann@example.com").status, 0);

  QueueWelcomes();
  ASSERT_EQ(At("2026-07-01T09:00:00Z", "run --once").status, 0);
  EXPECT_EQ(MailCount(dir_ / "mail"), 2u);
  EXPECT_EQ(StatusOf("ann"), "sent");
}

TEST_F(RecipientCommandsTest, ASuppressedAddressGetsNothingUntilLifted) {
  QueueWelcomes();
  auto add = At("2026-07-01T07:00:00Z", "suppress add BOB@example.com --reason 'asked by phone'");
  EXPECT_EQ(add.status, 0) << add.err;
  EXPECT_EQ(add.out,
            "suppressed bob@example.com: nothing is sent to it, mail already queued "
            "included\n");
  auto twice = At("2026-07-01T07:10:00Z", "suppress add bob@example.com --reason other");
  EXPECT_EQ(twice.status, 0) << twice.err;
  EXPECT_EQ(twice.out,
            "bob@example.com is already suppressed (since 2026-07-01T07:00:00Z: asked by phone)\n");

  auto list = At("2026-07-01T07:20:00Z", "suppress list --json");
  ASSERT_EQ(list.status, 0) << list.err;
  auto entry = nlohmann::json::parse(list.out.substr(0, list.out.find('\n')));
  EXPECT_EQ(entry["email"], "bob@example.com");
  EXPECT_EQ(entry["reason"], "asked by phone");
  EXPECT_EQ(entry["created_at"], "2026-07-01T07:00:00Z");
  auto table = At("2026-07-01T07:20:00Z", "suppress list");
  EXPECT_EQ(table.out,
            "email            since                 reason\n"
            "bob@example.com  2026-07-01T07:00:00Z  asked by phone\n");

  ASSERT_EQ(At("2026-07-01T09:00:00Z", "run --once").status, 0);
  EXPECT_EQ(StatusOf("bob"), "suppressed");
  EXPECT_EQ(StatusOf("ann"), "sent");

  auto lift = At("2026-07-01T09:10:00Z", "suppress remove bob@example.com");
  EXPECT_EQ(lift.status, 0) << lift.err;
  EXPECT_EQ(lift.out, "bob@example.com is no longer suppressed\n");
  auto none = At("2026-07-01T09:10:00Z", "suppress remove bob@example.com");
  EXPECT_EQ(none.out, "bob@example.com was not suppressed\n");
  EXPECT_EQ(At("2026-07-01T09:10:00Z", "suppress list").out, "email  since  reason\n");
}

// A rule file removed, or a rule disabled: its mail still queued is cancelled, with the reason in
// the log; putting the rule back and requeueing undoes it.
TEST_F(RecipientCommandsTest, ARemovedOrDisabledRuleStopsItsQueuedMail) {
  QueueWelcomes();
  std::filesystem::rename(dir_ / "rules/welcome.yaml", dir_ / "rules/welcome.yaml.off");
  auto off = At("2026-07-01T09:00:00Z", "run --once");
  ASSERT_EQ(off.status, 0) << off.err;
  EXPECT_NE(off.out.find("rule welcome was removed or disabled: 2 of its queued sends cancelled"),
            std::string::npos)
      << off.out;
  EXPECT_EQ(MailCount(dir_ / "mail"), 0u);
  EXPECT_EQ(StatusOf("ann"), "cancelled");
  auto log = At("2026-07-01T09:00:00Z", "log --json --customer bob");
  EXPECT_NE(log.out.find("\"reply\":\"cancelled: its rule was removed or disabled\""),
            std::string::npos)
      << log.out;

  std::filesystem::rename(dir_ / "rules/welcome.yaml.off", dir_ / "rules/welcome.yaml");
  auto requeue = At("2026-07-01T09:10:00Z", "queue requeue --rule welcome --status cancelled");
  EXPECT_EQ(requeue.status, 0) << requeue.err;
  ASSERT_EQ(At("2026-07-01T09:20:00Z", "run --once").status, 0);
  EXPECT_EQ(MailCount(dir_ / "mail"), 2u);

  // enabled: false does the same.
  ASSERT_EQ(At("2026-07-01T21:00:00Z",
               "import customers " + dir_.Write("d.csv", "id,email,name\ndave,d@example.com,D\n"))
                .status,
            0);
  ASSERT_EQ(At("2026-07-01T22:30:00Z",
               "import transactions " + dir_.Write("t2.csv",
                                                   "id,customer_id,occurred_at,amount\n"
                                                   "t3,dave,2026-07-01T22:00:00Z,5.00\n"))
                .status,
            0);
  ASSERT_EQ(At("2026-07-01T23:00:00Z", "run --once").status, 0);
  EXPECT_EQ(StatusOf("dave"), "queued");
  std::string rule = testing::ReadFile(dir_ / "rules/welcome.yaml");
  dir_.Write("rules/welcome.yaml", rule + "enabled: false\n");
  auto disabled = At("2026-07-02T09:00:00Z", "run --once");
  EXPECT_NE(disabled.out.find("rule welcome was removed or disabled: 1 of its queued sends"),
            std::string::npos)
      << disabled.out << disabled.err;
  EXPECT_EQ(MailCount(dir_ / "mail"), 2u);
}

TEST_F(RecipientCommandsTest, BadInputIsNamed) {
  auto nobody = At("2026-07-01T07:00:00Z", "unsubscribe carol");
  EXPECT_EQ(nobody.status, 1);
  EXPECT_EQ(nobody.err, "followupd: no customer with id 'carol'\n");
  auto bad = At("2026-07-01T07:00:00Z", "suppress add not-an-address");
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.err, "followupd: 'not-an-address' is not an email address (local@domain)\n");
  auto bare = At("2026-07-01T07:00:00Z", "suppress");
  EXPECT_EQ(bare.status, 2);
  // A read-only command never creates a store; the one that writes does.
  TempDir empty;
  auto list = Followupd("--store " + empty / "new.db" + " suppress list");
  EXPECT_NE(list.status, 0);
  EXPECT_FALSE(std::filesystem::exists(empty / "new.db"));
  auto add = Followupd("--store " + empty / "new.db" + " suppress add a@example.com");
  EXPECT_EQ(add.status, 0) << add.err;
  EXPECT_EQ(Followupd("--store " + empty / "new.db" + " suppress list --json").out.substr(0, 25),
            "{\"email\":\"a@example.com\",");
}

}  // namespace
}  // namespace followup
