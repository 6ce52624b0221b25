#include "base/time.h"

#include <date/date.h>
#include <date/tz.h>

#include <charconv>
#include <limits>
#include <utility>

#include "base/printable.h"

namespace followup {
namespace {

// Reads exactly `width` digits at `pos`; advances pos. -1 when they are not all digits.
int ReadDigits(std::string_view s, size_t& pos, size_t width) {
  if (pos + width > s.size()) return -1;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  pos += width;
  return value;
}

class SystemClockImpl final : public Clock {
 public:
  Instant Now() const override {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  }
};

class FixedClockImpl final : public Clock {
 public:
  explicit FixedClockImpl(Instant at) : at_(at) {}
  Instant Now() const override { return at_; }

 private:
  Instant at_;
};

}  // namespace

Result<const date::time_zone*> LookupZone(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return InvalidInput("unknown time zone " + Quote(name));
  }
}

Result<Instant> ParseInstant(std::string_view s, const date::time_zone* zone) {
  auto bad = [&](const char* why) {
    return InvalidInput("bad time '" + std::string(s) + "': " + why +
                        " (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z|+HH:MM])");
  };
  size_t pos = 0;
  int y = ReadDigits(s, pos, 4);
  if (y < 0 || pos >= s.size() || s[pos++] != '-') return bad("no date");
  int mo = ReadDigits(s, pos, 2);
  if (mo < 0 || pos >= s.size() || s[pos++] != '-') return bad("no date");
  int d = ReadDigits(s, pos, 2);
  if (d < 0) return bad("no date");
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad("no such day");
  date::local_seconds local{date::local_days{ymd}};
  bool has_time = false;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    ++pos;
    int hh = ReadDigits(s, pos, 2);
    if (hh < 0 || pos >= s.size() || s[pos++] != ':') return bad("bad time of day");
    int mm = ReadDigits(s, pos, 2);
    if (mm < 0) return bad("bad time of day");
    int ss = 0;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      ss = ReadDigits(s, pos, 2);
      if (ss < 0) return bad("bad seconds");
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == start) return bad("bad fraction of a second");
      }
    }
    if (hh > 23 || mm > 59 || ss > 60) return bad("time of day out of range");
    local += std::chrono::hours{hh} + std::chrono::minutes{mm} + std::chrono::seconds{ss};
    has_time = true;
  }
  if (pos == s.size()) {
    if (zone == nullptr) return Instant{local.time_since_epoch()};
    auto info = zone->get_info(local);
    switch (info.result) {
      case date::local_info::unique:
      case date::local_info::ambiguous:  // the earlier instant
        return Instant{(local - info.first.offset).time_since_epoch()};
      case date::local_info::nonexistent:  // skipped by DST: move forward by the gap
        return Instant{(local - info.first.offset).time_since_epoch()};
    }
  }
  if (!has_time) return bad("unexpected text after the date");
  if (s[pos] == 'Z' && pos + 1 == s.size()) return Instant{local.time_since_epoch()};
  if (s[pos] == '+' || s[pos] == '-') {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = ReadDigits(s, pos, 2);
    if (oh < 0) return bad("bad UTC offset");
    if (pos < s.size() && s[pos] == ':') ++pos;
    int om = ReadDigits(s, pos, 2);
    if (om < 0 || pos != s.size() || oh > 23 || om > 59) return bad("bad UTC offset");
    auto offset = std::chrono::hours{oh} + std::chrono::minutes{om};
    return Instant{(local - sign * offset).time_since_epoch()};
  }
  return bad("unexpected text after the time");
}

std::string FormatInstant(Instant t) { return date::format("%Y-%m-%dT%H:%M:%SZ", t); }

int64_t LocalDay(Instant t, const date::time_zone* zone) {
  if (zone == nullptr) return date::floor<date::days>(t).time_since_epoch().count();
  auto local = zone->to_local(t);
  return date::floor<date::days>(local).time_since_epoch().count();
}

int LocalMinuteOfDay(Instant t, const date::time_zone* zone) {
  auto local = zone ? zone->to_local(t) : date::local_seconds{t.time_since_epoch()};
  auto since_midnight = local - date::floor<date::days>(local);
  return static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(since_midnight).count());
}

int64_t DayCounter::operator()(Instant t) {
  int64_t s = t.time_since_epoch().count();
  if (s < begin_ || s >= end_) {
    if (zone_ == nullptr) {
      begin_ = std::numeric_limits<int64_t>::min();
      end_ = std::numeric_limits<int64_t>::max();
      offset_ = 0;
    } else {
      auto info = zone_->get_info(t);
      begin_ = info.begin.time_since_epoch().count();
      end_ = info.end.time_since_epoch().count();
      offset_ = info.offset.count();
    }
  }
  int64_t local = s + offset_;
  return local >= 0 ? local / 86400 : (local - 86399) / 86400;
}

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return InvalidInput("bad duration '" + std::string(text) +
                        "' (expected a whole number and a unit: 30s, 15m, 12h, 90d, 2w)");
  };
  if (text.size() < 2) return bad();
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc{} || ptr != text.data() + text.size() - 1 || n < 0) return bad();
  switch (text.back()) {
    case 's':
      return std::chrono::seconds{n};
    case 'm':
      return std::chrono::seconds{n * 60};
    case 'h':
      return std::chrono::seconds{n * 3600};
    case 'd':
      return std::chrono::seconds{n * 86400};
    case 'w':
      return std::chrono::seconds{n * 7 * 86400};
    default:
      return bad();
  }
}

std::string FormatDuration(std::chrono::seconds d) {
  const int64_t n = d.count();
  for (auto [unit, seconds] :
       {std::pair{'d', int64_t{86400}}, {'h', int64_t{3600}}, {'m', int64_t{60}}}) {
    if (n != 0 && n % seconds == 0) return std::to_string(n / seconds) + unit;
  }
  return std::to_string(n) + "s";
}

std::unique_ptr<Clock> SystemClock() { return std::make_unique<SystemClockImpl>(); }
std::unique_ptr<Clock> FixedClock(Instant at) { return std::make_unique<FixedClockImpl>(at); }

}  // namespace followup
