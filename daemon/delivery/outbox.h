// The outbox worker: turns queued decisions into sent email, through a transport, and records
// every outcome. Delivery is at-least-once: a crash between "sending" and "sent" leaves the message
// "sending", and RequeueInFlight() at the next start sends it again (with the same Message-ID and,
// for HTTP APIs that honour it, the same idempotency key).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <shared_mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/error.h"
#include "base/time.h"
#include "delivery/template.h"
#include "delivery/transport.h"
#include "store/store.h"
#include "worth/customer_base.h"

namespace followup::delivery {

struct OutboxOptions {
  std::string templates_dir;
  Address from;
  std::optional<Address> reply_to;
  std::string business_name;
  std::string currency = "EUR";
  std::string unsubscribe_base_url;
  std::string unsubscribe_key;  // the HMAC key itself (LoadOrCreateKey)
  int max_attempts = 8;
  std::chrono::seconds retry_base{60};
  int batch_size = 200;  // messages claimed and sent per round
};

struct DrainSummary {
  int64_t sent = 0, deferred = 0, failed = 0, suppressed = 0;
};

// One recorded outcome, for the log: what the daemon reports per message.
struct DeliveryEvent {
  std::string rule;
  std::string customer;    // the recipient's external id
  std::string email;       // the recipient's address ("" when there is none)
  std::string message_id;  // "" when the message was never composed
  store::DeliveryStatus status = store::DeliveryStatus::kSent;  // sent, deferred, failed, ...
  int attempts = 0;
  std::string reply;                // the server's words, or why not
  bool suppressed_address = false;  // a hard bounce put the address on the suppression list
};

// The template context for one message (what templates may use: delivery/template.h KnownNames).
nlohmann::json MessageContext(const store::CustomerRow& recipient,
                              const worth::CustomerSummary* facts, const worth::CustomerBase* base,
                              const OutboxOptions& options, const std::string& values_json,
                              const std::string& unsubscribe_url);

// Exponential back-off: retry_base * 2^(attempts - 1), capped at a day, times a random factor in
// [0.8, 1.2]; a server's Retry-After wins when it is longer.
std::chrono::seconds Backoff(std::chrono::seconds retry_base, int attempts,
                             std::optional<std::chrono::seconds> retry_after, std::mt19937_64& rng);

class OutboxWorker {
 public:
  // Borrows all of them; they must outlive the worker. `facts` may be null (templates then see
  // facts as empty text). When another thread changes `facts`, it does so holding `facts_lock`
  // exclusively; the worker holds it shared while it reads a recipient's facts.
  OutboxWorker(store::Store& store, Transport& transport, const worth::CustomerBase* facts,
               const Clock& clock, OutboxOptions options, std::shared_mutex* facts_lock = nullptr);

  // Once `*stop` is true, Drain claims no further round: it finishes (sends and records) the
  // round on the wire and returns. For a clean stop on SIGTERM.
  void StopWhen(const std::atomic<bool>* stop) { stop_ = stop; }

  // Called once per outcome, after the round's outcomes are stored.
  void OnOutcome(std::function<void(const DeliveryEvent&)> callback) {
    on_outcome_ = std::move(callback);
  }

  // Sends everything due now, in rounds of options.batch_size, until nothing is due; every
  // outcome recorded (one store transaction per round). kRuntime only when the store fails.
  // Transport::Send runs on a thread of its own (one call at a time) while this thread reads and
  // renders the next round; the store, the facts and the callback are used on this thread only.
  Result<DrainSummary> Drain();

  // Renders one decision's message as it would be sent (preview).
  Result<Message> Compose(const store::OutboxItem& item, const store::CustomerRow& recipient);

 private:
  struct Round;
  struct LoadedTemplate {
    Template tmpl;
    std::vector<bool> facts;  // per worth::AllFacts(): named by the template; empty: all
  };
  Result<void> ClaimRound(Round& round, const std::unordered_set<std::string>& suppressed,
                          bool peek);
  Result<bool> ClaimPeeked(Round& round);
  void ComposeRound(Round& round);
  void Recheck(Round& round, const std::unordered_set<std::string>& suppressed);
  void Classify(Round& round, const std::vector<SendResult>& results,
                std::unordered_set<std::string>& suppressed);
  Result<void> Record(Round& round, DrainSummary& summary);
  Result<const LoadedTemplate*> TemplateNamed(const std::string& name);
  Result<void> Persist(const std::function<Result<void>()>& write);

  store::Store& store_;
  Transport& transport_;
  const worth::CustomerBase* facts_;
  std::shared_mutex* facts_lock_;
  const Clock& clock_;
  OutboxOptions options_;
  std::map<std::string, LoadedTemplate> templates_;  // loaded on first use
  std::mt19937_64 rng_{std::random_device{}()};
  std::function<void(const DeliveryEvent&)> on_outcome_;
  const std::atomic<bool>* stop_ = nullptr;
};

}  // namespace followup::delivery
