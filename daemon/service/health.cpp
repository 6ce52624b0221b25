#include "service/health.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace followup::service {

StallLimits StallLimitsFor(const app::Settings& settings) {
  StallLimits limits;
  limits.decision = std::max(std::chrono::seconds(600), 3 * settings.service.full_pass);
  const auto& transport = settings.delivery.transport;
  const int64_t round_timeouts =
      settings.delivery.outbox.batch_size / std::max(1, transport.connections) + 1;
  limits.delivery = std::max(limits.decision,
                             std::chrono::seconds(2 * transport.timeout.count() * round_timeouts));
  return limits;
}

std::optional<std::string> Health::Stalled() const {
  const int64_t now = clock_.Now().time_since_epoch().count();
  if (int64_t age = now - metrics_.heartbeat.load(); age > limits_.decision.count())
    return "the decision thread has not finished a job for " + std::to_string(age) + " s";
  if (int64_t age = now - metrics_.delivery_heartbeat.load();
      metrics_.delivering && age > limits_.delivery.count())
    return "the delivery thread has recorded no outcome for " + std::to_string(age) + " s";
  return std::nullopt;
}

std::optional<std::string> Health::Degraded() const {
  if (!metrics_.delivery_paused) return std::nullopt;
  return "degraded: " + metrics_.PauseNote();
}

Watchdog::Watchdog(boost::asio::io_context& io, const Notifier& notify, const Health& health,
                   std::chrono::milliseconds interval)
    : notify_(notify),
      health_(health),
      enabled_(interval.count() > 0),
      every_(io, interval, [this] { Tick(); }) {}

void Watchdog::Start() {
  if (!enabled_) return;
  if (auto started = every_.Start(); !started)
    spdlog::error("watchdog: {}", started.error().ToString());
}

bool Watchdog::Tick() {
  if (auto why = health_.Stalled()) {
    spdlog::error("watchdog: {}; not telling systemd all is well", *why);
    return false;
  }
  if (auto sent = notify_.Watchdog(); !sent) spdlog::warn("watchdog: {}", sent.error().ToString());
  return true;
}

}  // namespace followup::service
