// The bounce folder read as the delivering process reads it: real report files in a maildir on
// disk, a real SQLite store, and what became of each file and of the sends and addresses they
// name.
#include "app/bounces.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "base/time.h"
#include "feedback/verp.h"
#include "support/sqlite_util.h"
#include "support/store_fixture.h"
#include "support/test_util.h"

namespace followup::app {
namespace {

namespace fs = std::filesystem;

const Instant kNow = *ParseInstant("2025-02-13T12:00:00Z", nullptr);
constexpr const char* kSentId = "9b1f0c6e4d3a2b18a7f6e5d4c3b2a190@shop.example";
const std::string kKey(32, 'v');

class BounceFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.Customers(
        "id,email,name\nnobody,nobody@example.com,No Body\n"
        "complainer,complainer@example.com,Com Plainer\n");
    feedback_.bounces = f_.dir / "bounces";
    feedback_.verp_prefix = "bounces";
  }

  // A send of the win-back to `customer`, delivered with Message-ID <message_id>; its outbox id.
  int64_t Sent(const std::string& customer, const std::string& message_id) {
    testing::Exec(f_.db(),
                  "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, template, "
                  "decided_at, send_after, status, updated_at, message_id, attempts) SELECT "
                  "'winback:" +
                      customer +
                      "', 'winback', id, id, 'send', 'winback', 1739440000, "
                      "1739440000, 'sent', 1739440000, '<" +
                      message_id +
                      ">', 1 FROM customers "
                      "WHERE external_id = '" +
                      customer + "'");
    return std::stoll(testing::Sql(f_.db(), "SELECT max(id) FROM outbox"));
  }

  // A report file from tests/data/feedback delivered into new/ under `name`, its text changed by
  // `edit` first.
  void Deliver(const std::string& data, const std::string& name,
               const std::function<void(std::string&)>& edit = {}) {
    std::string text =
        testing::ReadFile(std::string(FOLLOWUP_SOURCE_DIR "/tests/data/feedback/") + data);
    if (edit) edit(text);
    fs::create_directories(f_.dir / "bounces/new");
    f_.dir.Write("bounces/new/" + name, text);
  }

  BounceFolderPass Read() {
    auto pass = ReadBounceFolder(*f_.store, feedback_, kKey, kNow);
    EXPECT_TRUE(pass) << pass.error().ToString();
    return pass ? *pass : BounceFolderPass{};
  }

  std::string StatusOf(int64_t id) {
    return testing::Sql(f_.db(), "SELECT status FROM outbox WHERE id = " + std::to_string(id));
  }
  std::string Suppressions() { return f_.Suppressions(); }
  std::vector<std::string> Files(const std::string& folder) {
    std::vector<std::string> names;
    if (fs::exists(f_.dir / ("bounces/" + folder)))
      for (const auto& e : fs::directory_iterator(f_.dir / ("bounces/" + folder)))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  testing::StoreFixture f_;
  FeedbackSettings feedback_;
};

// Postfix's bounce of a message followupd sent: the address suppressed with the reason, the send
// marked bounced, the file moved to cur/ as read.
TEST_F(BounceFolderTest, AHardBounceSuppressesAndMarksTheSendAndIsFiledAsRead) {
  int64_t id = Sent("nobody", kSentId);
  Deliver("dsn/postfix_hard.eml", "1739440805.M1P1.mail");
  BounceFolderPass pass = Read();
  EXPECT_EQ(pass.files, 1);
  EXPECT_EQ(pass.applied, 1);
  EXPECT_EQ(pass.unmatched, 0);
  EXPECT_EQ(StatusOf(id), "bounced");
  EXPECT_NE(Suppressions().find(
                "nobody@example.com: hard bounce (dsn): smtp; 550 5.1.1 <nobody@example.com>"),
            std::string::npos)
      << Suppressions();
  EXPECT_TRUE(Files("new").empty());
  EXPECT_EQ(Files("cur"), std::vector<std::string>{"1739440805.M1P1.mail:2,"});
}

// Killed after the events were stored and before the file was moved: the next look reads it
// again, applies nothing twice, and files it.
TEST_F(BounceFolderTest, AFileReadAgainAfterACrashChangesNothingTwice) {
  int64_t id = Sent("nobody", kSentId);
  Deliver("dsn/postfix_hard.eml", "a");
  ASSERT_EQ(Read().applied, 1);
  const std::string suppressed = Suppressions();
  Deliver("dsn/postfix_hard.eml", "a");  // as if the move had not happened
  BounceFolderPass again = Read();
  EXPECT_EQ(again.files, 1);
  EXPECT_EQ(again.applied, 0);
  EXPECT_EQ(again.duplicates, 1);
  EXPECT_EQ(StatusOf(id), "bounced");
  EXPECT_EQ(Suppressions(), suppressed);
  EXPECT_EQ(testing::Sql(f_.db(), "SELECT count(*) FROM feedback_events"), "1");
  EXPECT_TRUE(Files("new").empty());
}

// A bounce of a message followupd never sent, and an out-of-office reply: both go to unmatched/,
// and nobody is suppressed on their word.
TEST_F(BounceFolderTest, ReportsAboutNoSendOfOursGoToUnmatched) {
  Deliver("dsn/postfix_hard.eml", "never-sent");  // no send with its Message-ID or token
  Deliver("other/autoreply.eml", "autoreply");
  BounceFolderPass pass = Read();
  EXPECT_EQ(pass.files, 2);
  EXPECT_EQ(pass.unmatched, 2);
  EXPECT_EQ(Suppressions(), "");
  EXPECT_EQ(Files("unmatched"), (std::vector<std::string>{"autoreply", "never-sent"}));
  EXPECT_TRUE(Files("cur").empty());
}

// A delay notice changes nothing and is filed as read.
TEST_F(BounceFolderTest, ADelayNoticeIsReadAndChangesNothing) {
  Deliver("dsn/postfix_delayed.eml", "delayed");
  BounceFolderPass pass = Read();
  EXPECT_EQ(pass.files, 1);
  EXPECT_EQ(pass.unmatched, 0);
  EXPECT_EQ(Suppressions(), "");
  EXPECT_EQ(Files("cur"), std::vector<std::string>{"delayed:2,"});
}

// A bounce that came back to a send's own VERP address is matched by the token alone, even when
// the report does not quote the message; a forged token (another key) matches nothing.
TEST_F(BounceFolderTest, AVerpTokenMatchesTheSendItNames) {
  int64_t id = Sent("nobody", "other-id@shop.example");
  const std::string path = feedback::VerpReturnPath(kKey, "bounces", "shop.example", id);
  const std::string forged =
      feedback::VerpReturnPath(std::string(32, 'x'), "bounces", "shop.example", id);
  auto with = [](const std::string& address) {
    return [address](std::string& text) {
      const std::string local = address.substr(0, address.find('@'));
      for (size_t at; (at = text.find("bounces+4711-ywl6kbgtljhyhral")) != std::string::npos;)
        text.replace(at, 29, local);
    };
  };
  Deliver("dsn/postfix_hard.eml", "forged", with(forged));
  EXPECT_EQ(Read().unmatched, 1);
  EXPECT_EQ(StatusOf(id), "sent");
  Deliver("dsn/postfix_hard.eml", "verp", with(path));
  BounceFolderPass pass = Read();
  EXPECT_EQ(pass.applied, 1);
  EXPECT_EQ(StatusOf(id), "bounced");
}

// A feedback-loop complaint about a message followupd sent: suppressed, unsubscribed, the send
// marked complained.
TEST_F(BounceFolderTest, AComplaintUnsubscribesAndMarksTheSend) {
  int64_t id = Sent("complainer", kSentId);
  Deliver("arf/abuse.eml", "arf");
  BounceFolderPass pass = Read();
  EXPECT_EQ(pass.applied, 1);
  EXPECT_EQ(StatusOf(id), "complained");
  EXPECT_NE(testing::Sql(f_.db(),
                         "SELECT unsubscribed_at FROM customers WHERE external_id = "
                         "'complainer'"),
            "");
  EXPECT_NE(Suppressions().find("complainer@example.com"), std::string::npos) << Suppressions();
  EXPECT_EQ(Files("cur"), std::vector<std::string>{"arf:2,"});
}

}  // namespace
}  // namespace followup::app
