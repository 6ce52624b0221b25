#include "service/periodic.h"

namespace followup::service {

Every::Every(boost::asio::io_context& io, std::chrono::milliseconds period,
             std::function<void()> fn)
    : timer_(io), period_(period), fn_(std::move(fn)) {}

Result<void> Every::Start() {
  if (period_.count() <= 0)
    return InvalidInput("a periodic timer needs a positive period, not " +
                        std::to_string(period_.count()) + " ms");
  Arm();
  return {};
}

void Every::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void Every::Arm() {
  timer_.expires_after(period_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    fn_();
    if (!stopped_) Arm();
  });
}

DailyAt::DailyAt(int minute, const date::time_zone* zone, Instant start)
    : minute_(minute), zone_(zone), last_day_(LocalDay(start, zone)) {}

bool DailyAt::Due(Instant now) {
  int64_t day = LocalDay(now, zone_);
  if (day == last_day_ || LocalMinuteOfDay(now, zone_) < minute_) return false;
  last_day_ = day;
  return true;
}

}  // namespace followup::service
