// The console's pages rendered from values: the send log's query, its filter, its paging links,
// and escaping of everything that comes from outside.
#include "console/console.h"

#include <gtest/gtest.h>

namespace followup::console {
namespace {

Instant At(const char* text) { return *ParseInstant(text, nullptr); }

store::LogEntry Entry(int64_t id, const char* decided, std::string customer) {
  store::LogEntry e;
  e.id = id;
  e.rule = "winback";
  e.customer = e.recipient = std::move(customer);
  e.recipient_email = "ada@example.com";
  e.status = store::DeliveryStatus::kSent;
  e.decided_at = e.send_after = At(decided);
  return e;
}

TEST(LogQueryTest, ReadsEveryFilterAndTheCursor) {
  auto q = ParseLogQuery(
      "rule=win+back&status=sent&customer=c%2F1&from=2026-01-02&to=2026-01-31&"
      "after=1767312000.42&other=ignored");
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->rule, "win back");
  EXPECT_EQ(q->status, "sent");
  EXPECT_EQ(q->customer, "c/1");
  EXPECT_EQ(q->from, "2026-01-02");
  ASSERT_TRUE(q->after);
  EXPECT_EQ(q->after->first, Instant{std::chrono::seconds{1767312000}});
  EXPECT_EQ(q->after->second, 42);
  EXPECT_TRUE(ParseLogQuery(""));
  EXPECT_TRUE(ParseLogQuery("status=&from="));
}

TEST(LogQueryTest, BadValuesNameTheirParameter) {
  EXPECT_EQ(ParseLogQuery("status=lost").error().message, "status: no such status 'lost'");
  EXPECT_EQ(ParseLogQuery("from=2026-13-01").error().message,
            "from: expected a date YYYY-MM-DD, not '2026-13-01'");
  EXPECT_EQ(ParseLogQuery("to=yesterday").error().message,
            "to: expected a date YYYY-MM-DD, not 'yesterday'");
  EXPECT_EQ(ParseLogQuery("after=12").error().message, "after: expected SECONDS.ID, not '12'");
  EXPECT_FALSE(ParseLogQuery("rule=%zz"));
}

// The dates are whole days in the business's zone.
TEST(LogQueryTest, TheDateRangeIsWholeLocalDays) {
  const date::time_zone* berlin = date::locate_zone("Europe/Berlin");
  auto q = ParseLogQuery("from=2026-01-02&to=2026-01-03&status=held_out");
  ASSERT_TRUE(q);
  store::LogFilter f = LogFilterFor(*q, berlin);
  ASSERT_TRUE(f.since && f.until);
  EXPECT_EQ(*f.since, At("2026-01-01T22:59:59Z")) << "since is exclusive: a second before";
  EXPECT_EQ(*f.until, At("2026-01-03T22:59:59Z"));
  EXPECT_EQ(f.status, store::DeliveryStatus::kHeldOut);
  EXPECT_EQ(f.limit, kLogPageSize + 1);
}

TEST(RenderLogTest, AFullPageLinksToTheOlderOneByItsLastRow) {
  std::vector<store::LogEntry> rows;
  for (int i = 0; i <= kLogPageSize; ++i)
    rows.push_back(Entry(1000 - i, "2026-01-02T10:00:00Z", "c"));
  LogQuery q;
  q.status = "sent";
  q.customer = "a&b";
  Page page = RenderLog(q, rows, nullptr, "T.1");
  EXPECT_EQ(page.status, 200);
  const std::string last = std::to_string(1000 - kLogPageSize + 1);
  EXPECT_NE(page.body.find("href=\"/console/log?status=sent&amp;customer=a%26b&amp;after=" +
                           std::to_string(At("2026-01-02T10:00:00Z").time_since_epoch().count()) +
                           "." + last + "\""),
            std::string::npos)
      << page.body;
  EXPECT_EQ(page.body.find(">" + std::to_string(1000 - kLogPageSize) + "<"), std::string::npos)
      << "the extra row only says there is more";
  rows.pop_back();
  rows.pop_back();
  EXPECT_EQ(RenderLog(q, rows, nullptr, "T.1").body.find("rel=\"next\""), std::string::npos);
}

TEST(RenderLogTest, EveryValueFromOutsideIsEscaped) {
  store::LogEntry e = Entry(7, "2026-01-02T10:00:00Z", "<script>alert(1)</script>");
  e.last_reply = "550 <b>no</b> \"such\" user";
  LogQuery q;
  q.customer = "\"><script>x</script>";
  Page page = RenderLog(q, std::vector<store::LogEntry>{e}, nullptr, "T.1");
  EXPECT_EQ(page.body.find("<script>"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.body.find("550 &lt;b&gt;no&lt;/b&gt; &quot;such&quot; user"), std::string::npos);
  bool csp = false;
  for (const auto& [name, value] : page.headers)
    if (name == "Content-Security-Policy") csp = value.find("default-src 'none'") == 0;
  EXPECT_TRUE(csp);
}

TEST(RenderOverviewTest, SaysWhatIsWrongAndEscapesTheLog) {
  Overview o;
  o.now = At("2026-01-02T10:00:00Z");
  o.healthy = false;
  o.health = "stalled: decision thread";
  o.paused = "sender refused: 550 <x>";
  o.queue[store::DeliveryStatus::kQueued] = 12;
  o.jobs = {{"full pass", At("2026-01-02T09:55:00Z"), ""}, {"refit", std::nullopt, ""}};
  o.problems = {"2026-01-02T09:59:00 warning smtp: <refused>"};
  std::string body = RenderOverview(o, date::locate_zone("Europe/Berlin")).body;
  EXPECT_NE(body.find("unhealthy"), std::string::npos);
  EXPECT_NE(body.find("stalled: decision thread"), std::string::npos);
  EXPECT_NE(body.find("paused"), std::string::npos);
  EXPECT_NE(body.find("sender refused: 550 &lt;x&gt;"), std::string::npos);
  EXPECT_NE(body.find("href=\"/console/log?status=queued\">queued</a></td><td class=\"num\">12"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("2026-01-02 10:55"), std::string::npos) << "in the business's zone";
  EXPECT_NE(body.find("not yet"), std::string::npos);
  EXPECT_NE(body.find("smtp: &lt;refused&gt;"), std::string::npos);
}

}  // namespace
}  // namespace followup::console
