// The deliver pass, as `run --once`, the daemon's delivery thread and the delivery benchmark do it:
// everything due drained from the outbox through the transport, every outcome recorded. And
// preview: one message composed as it would be sent.
//
// Thread safety: a Delivery and the store given with it are used by one thread at a time, but
// Delivery::transport->Stop() may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/settings.h"
#include "base/error.h"
#include "delivery/composer.h"
#include "delivery/outbox.h"
#include "delivery/transport.h"
#include "rules/rule.h"
#include "store/store.h"
#include "worth/customer_base.h"

namespace followup::app {

// What a deliver pass sends with: the configured transport (with its credentials), the composer
// (with the unsubscribe key) and the outbox's options.
struct Delivery {
  std::unique_ptr<delivery::Transport> transport;
  std::unique_ptr<delivery::Composer> composer;
  delivery::OutboxOptions options;
};

// Sets delivery up as configured: the composer reads facts through `facts` (see
// delivery::FactsLookup) and takes the time from `clock` (borrowed). Errors as
// LoadTransportOptions, LoadComposerOptions and delivery::MakeTransport.
Result<Delivery> OpenDelivery(const Settings& settings, delivery::FactsLookup facts,
                              const Clock& clock);

// What a pass may be told: `stop` bounds it (delivery::OutboxWorker::StopWhen; stop the
// transport too), `on_outcome` hears every outcome once it is stored.
struct DeliverHooks {
  const std::atomic<bool>* stop = nullptr;
  std::function<void(const delivery::DeliveryEvent&)> on_outcome;
};

// The deliver pass: every send due at the clock's now, in rounds (delivery::OutboxWorker::Drain).
// kRuntime only when the store fails.
Result<delivery::DrainSummary> Deliver(store::Store& store, delivery::Transport& transport,
                                       delivery::Composer& composer,
                                       const delivery::OutboxOptions& options, const Clock& clock,
                                       const DeliverHooks& hooks = {});
Result<delivery::DrainSummary> Deliver(store::Store& store, Delivery& delivery, const Clock& clock,
                                       const DeliverHooks& hooks = {});

// Delivery paused by the operator (followupd queue pause): nothing is sent, by any process, until
// it is resumed. Kept in the store, so it holds across restarts and for every process.
struct Pause {
  Instant since;
  std::string reason;
  bool operator==(const Pause&) const = default;
};
// The pause, or nullopt when delivery runs. kRuntime when the store fails.
Result<std::optional<Pause>> DeliveryPause(store::Store& store);
// Pauses delivery from `at` for `reason` (an earlier pause is kept as it was); resumes it.
Result<void> PauseDelivery(store::Store& store, Instant at, std::string_view reason);
Result<void> ResumeDelivery(store::Store& store);

// The outbox item `rule` would queue for the customer with external id `customer` (its template
// and values, with the arm the customer falls in; for a sequence, its first step's).
store::OutboxItem PreviewItem(const rules::Rule& rule, const std::string& customer);

// A previewed message, and why it would not be sent (empty: it would be).
struct Previewed {
  delivery::Message message;
  // Each reason as an operator reads it, in the order the rules check them: the customer in the
  // rule's holdout or in a control arm; the recipient unsubscribed, without an email address, or
  // with a suppressed address (with the suppression's reason and time).
  std::vector<std::string> not_sent;
};

// The message the rule named `rule_name` would send about `customer` (to them, or to their
// referrer for a `to: referrer` rule), composed as it would be sent now, facts from `base`; and
// why it would not be sent. kNotFound for an unknown rule or a referrer that is gone;
// kInvalidInput for a referrer rule and a customer nobody referred; kRuntime when the store
// fails; else as LoadComposerOptions and Composer::Compose.
Result<Previewed> Preview(store::Store& store, const Settings& settings,
                          const rules::RuleSet& rules, const std::string& rule_name,
                          const store::CustomerRow& customer, const worth::CustomerBase& base,
                          const Clock& clock);

}  // namespace followup::app
