#include "service/deliverer.h"

#include <spdlog/spdlog.h>

#include "app/bounces.h"
#include "service/log.h"
#include "service/open_store.h"

namespace followup::service {
namespace {

// One line per outcome (sent ones at debug level), with the journal fields that find it.
void LogOutcome(const delivery::DeliveryEvent& e) {
  LogFields fields{{"RULE", e.rule}, {"CUSTOMER", e.customer}, {"EMAIL_MESSAGE_ID", e.message_id}};
  if (e.suppressed_address)
    spdlog::warn("suppressed address {} of customer {} after a hard bounce", MaskEmail(e.email),
                 e.customer);
  if (e.status == store::DeliveryStatus::kQueued) {
    spdlog::debug("not started rule={} customer={}: {}", e.rule, e.customer, e.reply);
  } else if (e.status == store::DeliveryStatus::kSent) {
    spdlog::debug("sent rule={} customer={} message_id={}", e.rule, e.customer, e.message_id);
  } else if (e.status == store::DeliveryStatus::kDeferred) {
    spdlog::info("deferred rule={} customer={} message_id={} attempt {}: {}", e.rule, e.customer,
                 e.message_id, e.attempts, e.reply);
  } else {
    spdlog::warn("{} rule={} customer={} message_id={}: {}", store::DeliveryStatusName(e.status),
                 e.rule, e.customer, e.message_id, e.reply);
  }
}

// An outcome in followup_sends_total and, under its rule, followup_rule_sends_total; a sent one's
// time since its decision in followup_send_latency_seconds. A send put back in the queue untried
// is no outcome.
void Count(Metrics& metrics, const delivery::DeliveryEvent& e, Instant now) {
  switch (e.status) {
    case store::DeliveryStatus::kSent:
      ++metrics.sent;
      break;
    case store::DeliveryStatus::kDeferred:
      ++metrics.deferred;
      break;
    case store::DeliveryStatus::kFailed:
      ++metrics.failed;
      break;
    case store::DeliveryStatus::kSuppressed:
      ++metrics.suppressed;
      break;
    default:
      return;
  }
  std::optional<double> latency;
  if (e.status == store::DeliveryStatus::kSent)
    latency = std::chrono::duration<double>(now - e.decided_at).count();
  metrics.CountSend(e.rule, e.status, latency);
}

}  // namespace

Deliverer::Deliverer(const app::Settings& settings, const Clock& clock, Metrics& metrics,
                     delivery::FactsLookup facts)
    : settings_(settings),
      clock_(clock),
      metrics_(metrics),
      facts_(std::move(facts)),
      pause_(settings.delivery.outbox.retry_base) {}

// Takes delivery when it is free (docs/delivery.md, one deliverer per store) and then requeues
// what a crash left "sending". False while another process holds it, or on a store failure.
bool Deliverer::Own() {
  if (owned_) return true;
  auto owner = store_->OwnDelivery(false);
  if (!owner) {
    spdlog::error("outbox: {} (retrying)", owner.error().ToString());
    return false;
  }
  if (!owner->ours) {
    if (waiting_for_ != owner->pid)
      spdlog::warn(
          "outbox: another followupd (pid {}) delivers for this store; this one decides, and "
          "delivers once that one stops",
          owner->pid);
    waiting_for_ = owner->pid;
    metrics_.delivery_owned = false;
    return false;
  }
  if (waiting_for_ >= 0) spdlog::info("outbox: delivery for this store is this process's now");
  owned_ = true;
  metrics_.delivery_owned = true;
  requeue_ = true;  // the first drain puts back what a crash left "sending"
  return true;
}

std::optional<int> Deliverer::Start() {
  if (auto failed = OpenStore(settings_.store_url, store_)) return failed;
  if (Own()) {
    auto n = store_->RequeueInFlight();
    if (!n) {
      spdlog::error("store requeue: {}", n.error().ToString());
      return 3;
    }
    if (*n > 0)
      spdlog::warn("outbox: {} sends were in flight at the last stop; sending them again", *n);
    requeue_ = false;
  }
  auto delivery = app::OpenDelivery(settings_, facts_, clock_);
  if (!delivery) {
    spdlog::error("delivery: {}", delivery.error().ToString());
    return ExitCodeFor(delivery.error());
  }
  delivery_ = std::move(*delivery);
  return std::nullopt;
}

void Deliverer::Paused(const delivery::DrainSummary& done) {
  const Instant now = clock_.Now();
  const bool begins = pause_.Failed(now, done.sender_failure);
  ++metrics_.sender_failures;
  metrics_.delivery_paused = true;
  const std::string wait = FormatDuration(pause_.next_try() - now);
  metrics_.SetPauseNote("delivery paused since " + FormatInstant(pause_.since()) + " (" +
                        std::to_string(pause_.failures()) + " failed tries, next at " +
                        FormatInstant(pause_.next_try()) + "): " + pause_.reason());
  if (begins)
    spdlog::error(
        "outbox: delivery paused: the sender failed: {}; {} sends stay queued, no attempt "
        "counted; trying again in {}",
        pause_.reason(), done.paused, wait);
  else
    spdlog::debug("outbox: still paused after try {}: {}; trying again in {}", pause_.failures(),
                  pause_.reason(), wait);
}

void Deliverer::Resumed() {
  const Instant since = pause_.since();
  const int failures = pause_.failures();
  if (!pause_.Resumed()) return;
  metrics_.delivery_paused = false;
  metrics_.SetPauseNote("");
  spdlog::info("outbox: delivery resumed after a pause of {} ({} failed tries)",
               FormatDuration(clock_.Now() - since), failures);
}

void Deliverer::ReadBounces() {
  if (settings_.feedback.bounces.empty()) return;
  // The key the composer signs the return paths with (LoadComposerOptions read it).
  auto pass = app::ReadBounceFolder(*store_, settings_.feedback,
                                    delivery_->composer->options().verp_key, clock_.Now());
  if (!pass) {
    spdlog::error("{} (retrying)", pass.error().ToString());
    return;
  }
  if (pass->files > 0)
    spdlog::info("bounces: {} reports read: {} events applied, {} recorded before, {} unmatched",
                 pass->files, pass->applied, pass->duplicates, pass->unmatched);
}

void Deliverer::Drain() {
  if (!Own()) return;
  ReadBounces();
  // Paused by the operator (followupd queue pause): said once, and once when it is resumed.
  if (auto pause = app::DeliveryPause(*store_); !pause) {
    spdlog::error("outbox: {} (retrying)", pause.error().ToString());
    return;
  } else if (*pause != paused_) {
    paused_ = *pause;
    if (paused_)
      spdlog::warn(
          "outbox: delivery paused by the operator since {} ({}); followupd queue resume "
          "resumes it",
          FormatInstant(paused_->since), paused_->reason);
    else
      spdlog::info("outbox: delivery resumed by the operator");
    metrics_.delivery_paused_by_operator = paused_.has_value();
  }
  if (paused_) return;
  if (!pause_.MayTry(clock_.Now())) return;
  // A drain that failed on the store may have left its round `sending` (putting it back can fail
  // for the same reason): this thread is the only one that claims, so put it back now.
  if (requeue_) {
    auto n = store_->RequeueInFlight();
    if (!n) {
      spdlog::error("outbox: {} (retrying)", n.error().ToString());
      return;
    }
    requeue_ = false;
  }
  auto beat = [this] { metrics_.delivery_heartbeat = clock_.Now().time_since_epoch().count(); };
  app::DeliverHooks hooks;
  hooks.stop = &stopping_;
  // Counted per stored outcome, so that the rounds of a drain that later fails still count.
  hooks.on_outcome = [&](const delivery::DeliveryEvent& e) {
    LogOutcome(e);
    Count(metrics_, e, clock_.Now());
    beat();
  };
  beat();
  metrics_.delivering = true;
  auto done = app::Deliver(*store_, *delivery_, clock_, hooks);
  metrics_.delivering = false;
  if (!done) {
    spdlog::error("outbox: {}", done.error().ToString());
    requeue_ = true;
    return;
  }
  if (done->sent + done->deferred + done->failed + done->suppressed > 0)
    spdlog::info("outbox: sent {}, deferred {}, failed {}, suppressed {}", done->sent,
                 done->deferred, done->failed, done->suppressed);
  if (done->requeued > 0)
    spdlog::info("outbox: {} claimed sends not started, back in the queue", done->requeued);
  if (!done->sender_failure.empty()) {
    Paused(*done);
  } else if (!stopping_) {
    Resumed();
    metrics_.last_drain_at = clock_.Now().time_since_epoch().count();  // everything due was tried
  }
}

void Deliverer::Stop() {
  stopping_ = true;
  if (delivery_ && delivery_->transport) delivery_->transport->Stop();
}

}  // namespace followup::service
