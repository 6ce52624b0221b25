// Schedules of rules (rules/rule.h): "daily at 09:00", "weekly on monday at 09:00", "once at
// 2026-07-01 09:00", and when one last fired in the business time zone.
#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "rules/rule.h"

namespace followup::rules {
namespace {

constexpr std::array<std::string_view, 7> kWeekdays = {"sunday",   "monday", "tuesday", "wednesday",
                                                       "thursday", "friday", "saturday"};

// "09:00" -> minutes after midnight, or -1.
int ParseClock(std::string_view text) {
  int h = -1, m = -1;
  char tail;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%2d:%2d%c", &h, &m, &tail) != 2) return -1;
  if (h < 0 || h > 23 || m < 0 || m > 59) return -1;
  return h * 60 + m;
}

}  // namespace

Result<Schedule> ParseSchedule(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidInput("schedule '" + std::string(text) + "': " + why +
                        " (expected 'daily at 09:00', 'weekly on monday at 09:00' or "
                        "'once at 2026-07-01 09:00')");
  };
  auto words = AsciiWords(AsciiLower(text));
  Schedule s;
  s.text = std::string(text);
  size_t i = 0;
  if (words.empty()) return bad("empty");
  if (words[i] == "daily") {
    s.every = Schedule::Every::kDaily;
    ++i;
  } else if (words[i] == "weekly") {
    s.every = Schedule::Every::kWeekly;
    if (words.size() < 3 || words[1] != "on") return bad("weekly needs 'on DAY'");
    auto day = std::find(kWeekdays.begin(), kWeekdays.end(), words[2]);
    if (day == kWeekdays.end()) return bad("'" + words[2] + "' is not a day of the week");
    s.weekday = static_cast<int>(day - kWeekdays.begin());
    i = 3;
  } else if (words[i] == "once") {
    s.every = Schedule::Every::kOnce;
    if (words.size() < 3 || words[1] != "at") return bad("once needs 'at YYYY-MM-DD'");
    auto day = ParseInstant(words[2], nullptr);
    if (!day || words[2].size() != 10) return bad("'" + words[2] + "' is not a date YYYY-MM-DD");
    s.once_day = day->time_since_epoch().count() / 86400;
    i = 3;
    if (i < words.size()) {
      s.minute_of_day = ParseClock(words[i]);
      if (s.minute_of_day < 0) return bad("'" + words[i] + "' is not a time of day HH:MM");
      ++i;
    }
    if (i != words.size()) return bad("unexpected '" + words[i] + "'");
    return s;
  } else {
    return bad("starts with neither daily, weekly nor once");
  }
  if (i < words.size()) {
    if (words[i] != "at" || i + 1 >= words.size()) return bad("expected 'at HH:MM'");
    s.minute_of_day = ParseClock(words[i + 1]);
    if (s.minute_of_day < 0) return bad("'" + words[i + 1] + "' is not a time of day HH:MM");
    i += 2;
  }
  if (i != words.size()) return bad("unexpected '" + words[i] + "'");
  return s;
}

std::optional<Schedule::Firing> Schedule::LastFiring(Instant now,
                                                     const date::time_zone* zone) const {
  // The wall-clock firing on local day `day`, as an instant (DST: a skipped time moves forward, a
  // repeated one fires at the earlier instant).
  auto fire_on = [&](int64_t day) {
    date::local_seconds local{date::local_days{date::days{day}} +
                              std::chrono::minutes{minute_of_day}};
    if (!zone) return Instant{local.time_since_epoch()};
    auto info = zone->get_info(local);
    return Instant{(local - info.first.offset).time_since_epoch()};
  };
  int64_t today = LocalDay(now, zone);
  auto period_of = [&](int64_t day) -> std::string {
    date::year_month_day ymd{date::sys_days{date::days{day}}};
    if (every == Every::kOnce) return "once";
    if (every == Every::kDaily) return date::format("%Y-%m-%d", date::sys_days{ymd});
    return date::format("%G-W%V", date::sys_days{ymd});
  };
  switch (every) {
    case Every::kOnce: {
      auto at = fire_on(once_day);
      if (at > now) return std::nullopt;
      return Firing{at, period_of(once_day)};
    }
    case Every::kDaily: {
      int64_t day = fire_on(today) <= now ? today : today - 1;
      return Firing{fire_on(day), period_of(day)};
    }
    case Every::kWeekly: {
      for (int64_t day = today; day > today - 8; --day) {
        int wd = static_cast<int>(((day % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday (4)
        if (wd != weekday) continue;
        auto at = fire_on(day);
        if (at <= now) return Firing{at, period_of(day)};
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace followup::rules
