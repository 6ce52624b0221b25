#include <date/tz.h>
#include <gtest/gtest.h>

#include "base/time.h"
#include "rules/rule.h"

namespace followup::rules {
namespace {

Instant At(const char* text) { return *ParseInstant(text, nullptr); }

TEST(ScheduleTest, DailyWeeklyAndOnceFiringsAndPeriods) {
  auto utc = *LookupZone("UTC");
  auto daily = *ParseSchedule("daily at 10:00");
  auto before = daily.LastFiring(At("2026-06-30T09:59:00Z"), utc);
  EXPECT_EQ(FormatInstant(before->at), "2026-06-29T10:00:00Z");
  EXPECT_EQ(before->period, "2026-06-29");
  auto after = daily.LastFiring(At("2026-06-30T10:00:00Z"), utc);
  EXPECT_EQ(after->period, "2026-06-30");

  auto weekly = *ParseSchedule("weekly on Monday at 08:30");
  auto w = weekly.LastFiring(At("2026-07-01T00:00:00Z"), utc);  // a Wednesday
  EXPECT_EQ(FormatInstant(w->at), "2026-06-29T08:30:00Z");
  EXPECT_EQ(w->period, "2026-W27");

  auto once = *ParseSchedule("once at 2026-07-01 09:00");
  EXPECT_FALSE(once.LastFiring(At("2026-06-30T00:00:00Z"), utc));
  EXPECT_EQ(once.LastFiring(At("2026-07-02T00:00:00Z"), utc)->period, "once");
}

TEST(ScheduleTest, FiresAtWallClockTimeAcrossDaylightSaving) {
  auto berlin = *LookupZone("Europe/Berlin");
  auto daily = *ParseSchedule("daily at 09:00");
  EXPECT_EQ(FormatInstant(daily.LastFiring(At("2026-03-28T12:00:00Z"), berlin)->at),
            "2026-03-28T08:00:00Z");  // winter time, UTC+1
  EXPECT_EQ(FormatInstant(daily.LastFiring(At("2026-03-29T12:00:00Z"), berlin)->at),
            "2026-03-29T07:00:00Z");  // summer time, UTC+2
  // 02:30 does not exist on 2026-03-29 in Berlin: it fires at 03:30 summer time instead.
  auto gap = *ParseSchedule("daily at 02:30");
  EXPECT_EQ(FormatInstant(gap.LastFiring(At("2026-03-29T12:00:00Z"), berlin)->at),
            "2026-03-29T01:30:00Z");
}

TEST(ScheduleTest, BadSchedules) {
  for (const char* bad : {"", "hourly", "daily at 25:00", "daily 10:00", "weekly at 10:00",
                          "once at tomorrow", "daily at 10:00 sharp"}) {
    EXPECT_FALSE(ParseSchedule(bad)) << bad;
  }
}

}  // namespace
}  // namespace followup::rules
