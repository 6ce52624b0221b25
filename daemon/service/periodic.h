// "Every period, do this" on the loop, and "once a day at a local minute" (the daily refit): the
// two ways the daemon (daemon.h) looks at the time (docs/architecture.md, the rooms of the
// service).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>

#include "base/error.h"
#include "base/time.h"

namespace date {
class time_zone;
}

namespace followup::service {

// Calls `fn` on the loop every `period` (the first call one period after Start) until Stop. The
// timer waits on the monotonic clock: it says how often to look; what time it is, `fn` asks the
// Clock. Loop only: Start and Stop on the loop thread, or before run() / after it returns.
class Every {
 public:
  Every(boost::asio::io_context& io, std::chrono::milliseconds period, std::function<void()> fn);

  // kInvalidInput for a period that is not positive (it would spin the loop), and nothing starts.
  Result<void> Start();
  // Idempotent; `fn` is not called after it.
  void Stop();

 private:
  void Arm();

  boost::asio::steady_timer timer_;
  const std::chrono::milliseconds period_;
  const std::function<void()> fn_;
  bool stopped_ = false;
};

// Once a day at `minute` (minutes after local midnight in `zone`): Due(now) is true the first time
// it is asked on a local day at or after that minute, and then not again that day. The day of
// `start` counts as done (the daemon has just loaded fresh facts). Pure but for its memory of the
// last day; one thread at a time.
class DailyAt {
 public:
  DailyAt(int minute, const date::time_zone* zone, Instant start);
  bool Due(Instant now);

 private:
  const int minute_;
  const date::time_zone* zone_;
  int64_t last_day_;
};

}  // namespace followup::service
