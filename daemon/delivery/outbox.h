// The outbox worker: turns queued decisions into sent email, composing each message (composer.h)
// and handing rounds of them to a transport, and records every outcome. Delivery is at-least-once:
// a crash between "sending" and "sent" leaves the message "sending", and RequeueInFlight() at the
// next start of the store's one deliverer (Store::OwnDelivery) sends it again (with the same
// Message-ID and, for HTTP APIs that honour it, the same idempotency key).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/error.h"
#include "base/time.h"
#include "delivery/composer.h"
#include "delivery/transport.h"
#include "store/store.h"

namespace followup::delivery {

struct OutboxOptions {
  int max_attempts = 8;
  std::chrono::seconds retry_base{60};
  // A send that fails temporarily this long after its decision queued it is failed ("expired
  // after 5d"), like Postfix's maximal_queue_lifetime; 0 = no limit.
  std::chrono::seconds max_age{5 * 86400};
  int batch_size = 200;  // messages claimed and sent per round
};

struct DrainSummary {
  int64_t sent = 0, deferred = 0, failed = 0, suppressed = 0;
  int64_t requeued = 0;  // claimed, and back in the queue unattempted because of a stop
  // The sender's failure (SendResult::sender_failure) that ended the drain: its words, and the
  // claimed sends it put back in the queue unattempted. "" when there was none.
  std::string sender_failure;
  int64_t paused = 0;
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
  Instant decided_at{};             // when the decision to send was made
};

// Exponential back-off: retry_base * 2^(attempts - 1), capped at a day, times a random factor in
// [0.8, 1.2]; a server's Retry-After wins when it is longer, up to the same day.
std::chrono::seconds Backoff(std::chrono::seconds retry_base, int attempts,
                             std::optional<std::chrono::seconds> retry_after, std::mt19937_64& rng);

class OutboxWorker {
 public:
  // Borrows all of them; they must outlive the worker.
  OutboxWorker(store::Store& store, Transport& transport, Composer& composer, const Clock& clock,
               OutboxOptions options);

  // A bounded stop, for SIGTERM: once `*stop` is true Drain claims no further round, a claimed
  // round not yet handed to the transport goes back to the queue unattempted, and the round on
  // the wire is finished and recorded; stop the transport too (Transport::Stop) to bound that
  // round by one timeout. `stop` is set from any thread.
  void StopWhen(const std::atomic<bool>* stop) { stop_ = stop; }

  // Called once per outcome, after the round's outcomes are stored.
  void OnOutcome(std::function<void(const DeliveryEvent&)> callback) {
    on_outcome_ = std::move(callback);
  }

  // Sends everything due now, in rounds of options.batch_size, until nothing is due; every
  // outcome recorded (one store transaction per round). kRuntime only when the store fails.
  // Transport::Send runs on a thread of its own (one call at a time) while this thread reads and
  // composes the next round; the store, the composer and the callback are used on this thread only.
  //
  // A message the server accepted is recorded as sent while its round is still out (the
  // transport says so at once, Transport::Accepted; those accepted meanwhile are stored together,
  // one transaction each time this thread gets to them), so that a crash sends again only what
  // was on the wire or had just been accepted, not the whole claimed round. The round's other
  // outcomes are stored when it ends.
  //
  // The sender's failure: a round in which no message was sent and at least one failed for the
  // sender (SendResult::sender_failure) ends the drain. Its messages that failed so go back to
  // `queued` with no attempt counted (their last reply says why), and the summary's
  // sender_failure says what happened: the caller pauses delivery (pause.h). The round's other
  // outcomes are recorded as usual. In a round where some message was sent, a sender failure is
  // an ordinary temporary failure (one connection of several refused, say).
  Result<DrainSummary> Drain();

 private:
  struct Round;
  Result<void> ClaimRound(Round& round, const std::unordered_set<std::string>& suppressed,
                          bool peek);
  Result<bool> ClaimPeeked(Round& round);
  void ComposeRound(Round& round);
  void Recheck(Round& round, const std::unordered_set<std::string>& suppressed);
  void Classify(Round& round, const std::vector<SendResult>& results,
                std::unordered_set<std::string>& suppressed);
  struct AcceptedQueue;
  void RecordAccepted(Round& round, AcceptedQueue& queue, bool wait);
  Result<void> Record(Round& round, DrainSummary& summary);
  Result<void> Persist(const std::function<Result<void>()>& write);
  bool stopping() const { return stop_ && *stop_; }

  store::Store& store_;
  Transport& transport_;
  Composer& composer_;
  const Clock& clock_;
  OutboxOptions options_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::function<void(const DeliveryEvent&)> on_outcome_;
  const std::atomic<bool>* stop_ = nullptr;
};

}  // namespace followup::delivery
