// The console's controls: what a form asks for, its CSRF token, and the pages around it.
#include "console/actions.h"

#include <gtest/gtest.h>

namespace followup::console {
namespace {

const Instant kNow = *ParseInstant("2026-03-01T12:00:00Z", nullptr);
const std::string kKey(32, 'k');

TEST(CsrfTest, ATokenIsValidForADayUnderItsKeyOnly) {
  std::string token = CsrfToken(kKey, kNow);
  EXPECT_TRUE(CsrfValid(kKey, token, kNow));
  EXPECT_TRUE(CsrfValid(kKey, token, kNow + std::chrono::hours(23)));
  EXPECT_FALSE(CsrfValid(kKey, token, kNow + std::chrono::hours(25))) << "too old";
  EXPECT_FALSE(CsrfValid(kKey, token, kNow - std::chrono::hours(1))) << "from the future";
  EXPECT_FALSE(CsrfValid(std::string(32, 'x'), token, kNow)) << "another key";
  std::string forged = token;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_FALSE(CsrfValid(kKey, forged, kNow));
  // The time is signed: moving it on does not make an old token young.
  std::string moved =
      std::to_string(kNow.time_since_epoch().count() + 3600) + token.substr(token.find('.'));
  EXPECT_FALSE(CsrfValid(kKey, moved, kNow + std::chrono::hours(1)));
  for (const char* bad : {"", ".", "x.y", "123", "123."}) EXPECT_FALSE(CsrfValid(kKey, bad, kNow));
  EXPECT_FALSE(CsrfValid("", CsrfToken("", kNow), kNow)) << "no key, no token";
}

TEST(ReadActionTest, QueueActionsTakeTheLogsFiltersAndNeedASelection) {
  auto hold = ReadAction({{"action", "hold"}, {"rule", "winback"}, {"status", "queued"}});
  ASSERT_TRUE(hold) << hold.error().message;
  EXPECT_EQ(hold->kind, ActionKind::kQueue);
  EXPECT_EQ(hold->queue, store::QueueAction::kHold);
  EXPECT_FALSE(hold->confirmed);
  store::LogFilter f = QueueFilterFor(*hold, nullptr);
  EXPECT_EQ(f.rule, "winback");
  EXPECT_EQ(f.status, store::DeliveryStatus::kQueued);
  EXPECT_EQ(f.limit, 0) << "every send selected, not a page";
  EXPECT_EQ(Describe(*hold),
            "hold the sends of rule winback with status queued (those queued, deferred)");
  EXPECT_EQ(ReadAction({{"action", "cancel"}, {"from", "2026-01-01"}}).error().message,
            "cancel: say which sends: a rule, a status or a customer");
  EXPECT_EQ(ReadAction({{"action", "requeue"}, {"status", "lost"}}).error().message,
            "status: no such status 'lost'");
  EXPECT_EQ(ReadAction({{"action", "drop table"}}).error().message,
            "action: no such action 'drop table'");
  EXPECT_TRUE(
      ReadAction({{"action", "release"}, {"customer", "c1"}, {"confirm", "yes"}})->confirmed);
}

TEST(ReadActionTest, TheOthersNeedWhatTheyActOn) {
  EXPECT_EQ(ReadAction({{"action", "pause"}})->kind, ActionKind::kPause);
  EXPECT_EQ(ReadAction({{"action", "resume"}})->kind, ActionKind::kResume);
  EXPECT_FALSE(ReadAction({{"action", "unsubscribe"}}));
  EXPECT_EQ(ReadAction({{"action", "unsubscribe"}, {"customer", "c9"}})->customer, "c9");
  EXPECT_FALSE(ReadAction({{"action", "suppress"}, {"email", "nobody"}}));
  EXPECT_EQ(ReadAction({{"action", "suppress"}, {"email", "Ann@Example.COM"}})->email,
            "ann@example.com");
}

// The confirmation posts the same fields again, with confirm=yes and a token; nothing in it is
// unescaped.
TEST(RenderConfirmTest, PostsTheSameFieldsWithConfirmAndTheToken) {
  auto cancel =
      ReadAction({{"action", "cancel"}, {"customer", "\"><b>x</b>"}, {"reason", "wrong <offer>"}});
  ASSERT_TRUE(cancel);
  Page page = RenderConfirm(*cancel, 3, "TOKEN.1");
  const std::string& b = page.body;
  EXPECT_NE(b.find("<b>3</b> sends match now."), std::string::npos) << b;
  EXPECT_NE(b.find("name=\"confirm\" value=\"yes\""), std::string::npos);
  EXPECT_NE(b.find("name=\"csrf\" value=\"TOKEN.1\""), std::string::npos);
  EXPECT_NE(b.find("name=\"customer\" value=\"&quot;&gt;&lt;b&gt;x&lt;/b&gt;\""), std::string::npos)
      << b;
  EXPECT_NE(b.find("value=\"wrong &lt;offer&gt;\""), std::string::npos);
  EXPECT_EQ(b.find("<b>x</b>"), std::string::npos);
}

}  // namespace
}  // namespace followup::console
