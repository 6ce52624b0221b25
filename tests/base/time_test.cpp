#include "base/time.h"

#include <date/tz.h>
#include <gtest/gtest.h>

namespace followup {
namespace {

std::string Parse(const std::string& text, const char* zone = "UTC") {
  auto z = LookupZone(zone);
  auto t = ParseInstant(text, *z);
  return t ? FormatInstant(*t) : "error: " + t.error().message;
}

TEST(TimeTest, DatesWithoutTimeAreMidnightInTheBusinessZone) {
  EXPECT_EQ(Parse("1997-01-01"), "1997-01-01T00:00:00Z");
  EXPECT_EQ(Parse("2026-07-01", "Europe/Berlin"), "2026-06-30T22:00:00Z");
  EXPECT_EQ(Parse("2026-01-15", "America/New_York"), "2026-01-15T05:00:00Z");
}

TEST(TimeTest, WallTimesAndExplicitOffsets) {
  EXPECT_EQ(Parse("2026-03-01T10:15:30"), "2026-03-01T10:15:30Z");
  EXPECT_EQ(Parse("2026-03-01 10:15"), "2026-03-01T10:15:00Z");
  EXPECT_EQ(Parse("2026-03-01T10:15:30.250Z", "Europe/Berlin"), "2026-03-01T10:15:30Z");
  EXPECT_EQ(Parse("2026-03-01T10:15:30+02:00", "America/New_York"), "2026-03-01T08:15:30Z");
  EXPECT_EQ(Parse("2026-03-01T10:15:30-0130"), "2026-03-01T11:45:30Z");
}

TEST(TimeTest, DaylightSavingGapsAndRepeats) {
  // 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00): moved forward.
  EXPECT_EQ(Parse("2026-03-29T02:30", "Europe/Berlin"), "2026-03-29T01:30:00Z");
  // 2026-10-25 02:30 happens twice in Berlin: the earlier instant (still summer time).
  EXPECT_EQ(Parse("2026-10-25T02:30", "Europe/Berlin"), "2026-10-25T00:30:00Z");
}

TEST(TimeTest, RejectsWhatIsNotATime) {
  for (const char* bad : {"", "1997", "1997-13-01", "1997-02-30", "19970101", "1997-01-01T25:00",
                          "1997-01-01T10:00Zjunk", "yesterday", "1997-01-01x"}) {
    EXPECT_EQ(Parse(bad).rfind("error: bad time", 0), 0u) << bad;
  }
}

TEST(TimeTest, UnknownZoneIsAnError) {
  auto z = LookupZone("Mars/Olympus");
  ASSERT_FALSE(z);
  EXPECT_NE(z.error().message.find("Mars/Olympus"), std::string::npos);
  // A fuzzer's finding: a long name of bytes that are no text was cited whole. It is cut short
  // and written printably.
  auto garbage = LookupZone("Europe/B" + std::string(2000, '\xff'));
  ASSERT_FALSE(garbage);
  EXPECT_LT(garbage.error().message.size(), 400u);
  EXPECT_NE(garbage.error().message.find("unknown time zone 'Europe/B\\xff"), std::string::npos)
      << garbage.error().message;
}

TEST(TimeTest, LocalDayFollowsTheZone) {
  auto berlin = *LookupZone("Europe/Berlin");
  auto t = *ParseInstant("2026-06-30T23:30:00Z", nullptr);
  EXPECT_EQ(LocalDay(t, berlin) - LocalDay(t, nullptr), 1);
}

TEST(TimeTest, DayCounterAgreesWithLocalDayAcrossDaylightSaving) {
  auto berlin = *LookupZone("Europe/Berlin");
  DayCounter count(berlin);
  auto t = *ParseInstant("2026-03-28T20:00:00Z", nullptr);
  for (int hour = 0; hour < 24 * 220; hour += 7) {  // through both 2026 changes
    auto at = t + std::chrono::hours{hour};
    ASSERT_EQ(count(at), LocalDay(at, berlin)) << FormatInstant(at);
  }
}

TEST(TimeTest, Durations) {
  EXPECT_EQ(ParseDuration("90d").value().count(), 90 * 86400);
  EXPECT_EQ(ParseDuration("2w").value().count(), 14 * 86400);
  EXPECT_EQ(ParseDuration("30m").value().count(), 1800);
  EXPECT_FALSE(ParseDuration("d"));
  EXPECT_FALSE(ParseDuration("10y"));
  EXPECT_FALSE(ParseDuration("-1d"));
}

TEST(TimeTest, DurationsAreWrittenAsTheyAreRead) {
  using std::chrono::seconds;
  EXPECT_EQ(FormatDuration(seconds{5 * 86400}), "5d");
  EXPECT_EQ(FormatDuration(seconds{14 * 86400}), "14d");
  EXPECT_EQ(FormatDuration(seconds{5400}), "90m");
  EXPECT_EQ(FormatDuration(seconds{7200}), "2h");
  EXPECT_EQ(FormatDuration(seconds{61}), "61s");
  EXPECT_EQ(FormatDuration(seconds{0}), "0s");
  for (const char* text : {"5d", "12h", "30m", "45s"})
    EXPECT_EQ(FormatDuration(*ParseDuration(text)), text);
}

TEST(TimeTest, FixedClockIsFixed) {
  auto at = *ParseInstant("2026-01-01", nullptr);
  EXPECT_EQ(FixedClock(at)->Now(), at);
}

TEST(TimeTest, ManualClockMovesOnlyWhenMoved) {
  ManualClock clock(*ParseInstant("2026-01-01", nullptr));
  EXPECT_EQ(clock.Now(), *ParseInstant("2026-01-01", nullptr));
  clock.Advance(std::chrono::hours{25});
  EXPECT_EQ(FormatInstant(clock.Now()), "2026-01-02T01:00:00Z");
  clock.Set(*ParseInstant("2026-03-29T01:30:00Z", nullptr));
  EXPECT_EQ(FormatInstant(clock.Now()), "2026-03-29T01:30:00Z");
}

TEST(TimeTest, LocalMinuteOfDayFollowsTheZoneAcrossDaylightSaving) {
  auto berlin = *LookupZone("Europe/Berlin");
  // 10:00 in Berlin is 09:00Z in winter and 08:00Z in summer (the change: 2026-03-29 01:00Z).
  EXPECT_EQ(LocalMinuteOfDay(*ParseInstant("2026-03-28T09:00:00Z", nullptr), berlin), 600);
  EXPECT_EQ(LocalMinuteOfDay(*ParseInstant("2026-03-29T08:00:00Z", nullptr), berlin), 600);
  EXPECT_EQ(LocalMinuteOfDay(*ParseInstant("2026-03-29T08:00:00Z", nullptr), nullptr), 480);
  EXPECT_EQ(LocalMinuteOfDay(*ParseInstant("2026-10-25T23:59:00Z", nullptr), nullptr), 1439);
}

}  // namespace
}  // namespace followup
