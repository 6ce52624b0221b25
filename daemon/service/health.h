// The stall test that /healthz and the systemd watchdog share, and the watchdog's ping
// (docs/architecture.md, start, run, stop: health).
//
// The decision thread beats after every job; a draining delivery thread beats at every recorded
// outcome. A thread silent for longer than its limit is stalled: /healthz answers 503 and
// WATCHDOG=1 is no longer sent, so systemd restarts the unit. Limits: decision max(10 min, 3 x
// service.full_pass); delivery the longer of that and 2 x (batch / connections + 1) x
// delivery.timeout (a round whose every connection times out takes batch / connections + 1
// timeouts).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "app/settings.h"
#include "base/time.h"
#include "service/metrics.h"
#include "service/notify.h"
#include "service/periodic.h"

namespace followup::service {

struct StallLimits {
  std::chrono::seconds decision{600};
  std::chrono::seconds delivery{600};
};

StallLimits StallLimitsFor(const app::Settings& settings);

// Reads the heartbeats in `metrics` against `clock` (both borrowed). Any thread.
class Health {
 public:
  Health(const Clock& clock, const Metrics& metrics, StallLimits limits)
      : clock_(clock), metrics_(metrics), limits_(limits) {}

  // Why a thread is stalled (silent for longer than its limit: at exactly the limit it is not),
  // or nullopt when all is well.
  std::optional<std::string> Stalled() const;
  // Why the daemon runs but cannot do its job (delivery paused by the sender's failure), or
  // nullopt. Unlike a stall this does not stop the watchdog: a restart would not help.
  std::optional<std::string> Degraded() const;

 private:
  const Clock& clock_;
  const Metrics& metrics_;
  const StallLimits limits_;
};

// WATCHDOG=1 every `interval` on the loop while Health says all is well; a stall is logged
// instead. Loop only.
class Watchdog {
 public:
  Watchdog(boost::asio::io_context& io, const Notifier& notify, const Health& health,
           std::chrono::milliseconds interval);
  // Starts pinging (no-op when `interval` is zero: no watchdog configured).
  void Start();
  void Stop() { every_.Stop(); }
  // One look: pings and returns true when all is well; else logs why and returns false.
  bool Tick();

 private:
  const Notifier& notify_;
  const Health& health_;
  const bool enabled_;
  Every every_;
};

}  // namespace followup::service
