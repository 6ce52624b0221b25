// Time: instants are UTC seconds (std::chrono::sys_seconds); the business and the customers speak
// IANA time zones. The clock is injected (docs/architecture.md) so that `--at TIME` and tests are
// deterministic: nothing under daemon/ but SystemClock reads the wall clock.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"

namespace date {
class time_zone;
}

namespace followup {

using Instant = std::chrono::sys_seconds;

// An IANA zone ("Europe/Berlin", "UTC"). Returns kInvalidInput naming the zone when it is unknown.
// The pointer is owned by the process-wide time zone database and lives until exit.
Result<const date::time_zone*> LookupZone(std::string_view name);

// Parses an instant written as
//   YYYY-MM-DD                          midnight of that day in `zone`
//   YYYY-MM-DD[T ]HH:MM[:SS[.fff]]      wall time in `zone` (a time skipped by DST moves forward,
//                                       a repeated one takes the earlier instant)
//   ... followed by Z or +HH:MM/-HH:MM  that exact instant (zone ignored)
// Fractions of a second are dropped. Returns kInvalidInput with the reason on anything else.
Result<Instant> ParseInstant(std::string_view text, const date::time_zone* zone);

// "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatInstant(Instant t);

// The calendar day number (days since 1970-01-01) of `t` as seen in `zone`.
int64_t LocalDay(Instant t, const date::time_zone* zone);
// The minutes since local midnight (0..1439) of `t` as seen in `zone` (nullptr: UTC).
int LocalMinuteOfDay(Instant t, const date::time_zone* zone);

// LocalDay for many instants in a row: remembers the zone's current UTC offset and the span it
// holds for, so that consecutive instants cost an addition instead of a zone lookup.
class DayCounter {
 public:
  explicit DayCounter(const date::time_zone* zone) : zone_(zone) {}
  int64_t operator()(Instant t);

 private:
  const date::time_zone* zone_;
  int64_t begin_ = 1, end_ = 0;  // [begin_, end_) in UTC seconds where offset_ holds
  int64_t offset_ = 0;
};

// Parses "90d", "12h", "30m", "45s", "2w" into seconds. kInvalidInput on anything else.
Result<std::chrono::seconds> ParseDuration(std::string_view text);

// A duration as ParseDuration reads it, in the largest of d, h, m, s that it is a whole number
// of: 432000 s is "5d", 5400 s "90m", 0 "0s".
std::string FormatDuration(std::chrono::seconds d);

// What time it is. Thread safety: Now() may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
};

// The wall clock.
std::unique_ptr<Clock> SystemClock();
// Always the same instant: what `--at TIME` installs.
std::unique_ptr<Clock> FixedClock(Instant at);

// A clock that stands still until it is set or advanced: for tests that drive time by hand
// (schedules, quiet hours, stall limits) without waiting. Any thread may read it while one
// thread moves it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Instant at) : seconds_(at.time_since_epoch().count()) {}
  Instant Now() const override { return Instant{std::chrono::seconds{seconds_.load()}}; }
  void Set(Instant at) { seconds_ = at.time_since_epoch().count(); }
  void Advance(std::chrono::seconds by) { seconds_ += by.count(); }

 private:
  std::atomic<int64_t> seconds_;
};

}  // namespace followup
