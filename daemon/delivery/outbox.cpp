#include "delivery/outbox.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "base/ascii.h"

namespace followup::delivery {
namespace {

// The longest a deferred send waits: the back-off's cap, and a server's Retry-After's.
constexpr std::chrono::seconds kMaxBackoff{86400};

// The claimed round is not going out: its rows go back in the queue. Returns `cause` for the
// caller to report, with the requeue's own failure added: the rows then stay "sending" until the
// next start of delivery requeues them.
tl::unexpected<Error> GiveBack(store::Store& store, Error cause) {
  if (auto r = store.RequeueInFlight(); !r)
    cause.message += "; and the round could not go back in the queue: " + r.error().message;
  return tl::unexpected(std::move(cause));
}

// An attempt's result on its send: one more attempt, the server's reply, the provider's id.
void Attempted(store::DeliveryUpdate& u, const SendResult& r) {
  u.attempts += 1;
  u.last_reply = r.code ? std::to_string(r.code) + " " + r.reply : r.reply;
  u.provider_message_id = r.provider_message_id;
}

}  // namespace

std::chrono::seconds Backoff(std::chrono::seconds base, int attempts,
                             std::optional<std::chrono::seconds> retry_after,
                             std::mt19937_64& rng) {
  double wait = static_cast<double>(base.count()) * std::pow(2.0, std::max(0, attempts - 1));
  wait = std::min(wait, static_cast<double>(kMaxBackoff.count()));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto out = std::chrono::seconds{static_cast<int64_t>(std::llround(wait * jitter(rng)))};
  // A server's Retry-After is honoured up to the same day: 999999999 is not a date in 2058.
  if (retry_after) out = std::max(out, std::min(*retry_after, kMaxBackoff));
  return std::max(out, std::chrono::seconds{1});
}

OutboxWorker::OutboxWorker(store::Store& store, Transport& transport, Composer& composer,
                           const Clock& clock, OutboxOptions options)
    : store_(store),
      transport_(transport),
      composer_(composer),
      clock_(clock),
      options_(std::move(options)) {}

// Retries a store write that fails (another writer holding the lock past the busy timeout) for up
// to half a minute: the messages of a round have gone out, and their outcome should not be lost.
Result<void> OutboxWorker::Persist(const std::function<Result<void>()>& write) {
  Result<void> r = write();
  for (int i = 0; !r && r.error().code == ErrorCode::kRuntime && i < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds{1});
    r = write();
  }
  return r;
}

// One round of Drain: the sends claimed (or read ahead) together, and what became of each.
struct OutboxWorker::Round {
  Instant now;
  std::vector<store::OutboxItem> items;
  std::vector<std::optional<store::CustomerRow>> recipients;  // recipients[i] of items[i]
  std::vector<size_t> to_compose;                             // items to render, in order
  std::vector<store::DeliveryUpdate> updates;                 // updates[i] is about items[i]
  std::vector<DeliveryEvent> events;                          // events[i] is about items[i]
  std::vector<Message> messages;
  std::vector<size_t> update_of;  // messages[i] belongs to updates[update_of[i]]
  DrainSummary counts;            // the round's outcomes, added to Drain's once stored
  std::string sender_failure;     // the sender's failure that pauses delivery, or ""
  std::vector<char> stored;       // stored[i]: updates[i] is stored already (sent, mid-round)
};

// What the transport's threads hand to the drain's while a round is out: the messages the server
// accepted (index into the round's messages, and the result), and whether Send has returned.
struct OutboxWorker::AcceptedQueue {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<size_t, SendResult>> accepted;  // guarded by mutex
  bool done = false;                                    // guarded by mutex
};

// Claims a round (or, with `peek`, reads the round a claim would take, claiming nothing) and
// decides, on this thread (the store's), what need not be sent: recipients gone, unsubscribed,
// without an address or suppressed.
Result<void> OutboxWorker::ClaimRound(Round& round,
                                      const std::unordered_set<std::string>& suppressed,
                                      bool peek) {
  round.now = clock_.Now();
  auto items = peek ? store_.PeekDue(round.now, options_.batch_size)
                    : store_.ClaimDue(round.now, options_.batch_size);
  if (!items) return tl::unexpected(items.error());
  round.items = std::move(*items);
  if (round.items.empty()) return {};
  std::vector<int64_t> ids;
  ids.reserve(round.items.size());
  for (const auto& item : round.items) ids.push_back(item.recipient_id);
  auto recipients = store_.FindCustomersById(ids);
  if (!recipients) {
    if (!peek) return GiveBack(store_, recipients.error());
    return tl::unexpected(recipients.error());
  }
  round.recipients = std::move(*recipients);
  round.updates.resize(round.items.size());
  round.events.resize(round.items.size());
  for (size_t i = 0; i < round.items.size(); ++i) {
    const auto& item = round.items[i];
    const auto& recipient = round.recipients[i];
    store::DeliveryUpdate& u = round.updates[i];
    u.id = item.id;
    u.attempts = item.attempts;
    DeliveryEvent& event = round.events[i];
    event.rule = item.rule;
    event.decided_at = item.decided_at;
    if (recipient) {
      event.customer = recipient->external_id;
      event.email = recipient->email.value_or("");
    }
    // Checked again at send time: they may have unsubscribed or bounced since the decision.
    std::string why;
    if (!recipient)
      why = "the recipient no longer exists";
    else if (recipient->unsubscribed_at && *recipient->unsubscribed_at <= round.now)
      why = "unsubscribed";
    else if (!recipient->email || recipient->email->empty())
      why = "no email address";
    else if (suppressed.count(AsciiLower(*recipient->email)))
      why = "address suppressed";
    if (!why.empty()) {
      u.status = store::DeliveryStatus::kSuppressed;
      u.last_reply = why;
      ++round.counts.suppressed;
      continue;
    }
    round.to_compose.push_back(i);
  }
  return {};
}

// Renders the round's messages (no store access).
void OutboxWorker::ComposeRound(Round& round) {
  round.messages.reserve(round.to_compose.size());
  for (size_t i : round.to_compose) {
    store::DeliveryUpdate& u = round.updates[i];
    auto message = composer_.Compose(round.items[i], *round.recipients[i]);
    if (!message) {
      // A template that cannot render is not going to render on retry either.
      u.status = store::DeliveryStatus::kFailed;
      u.attempts = round.items[i].attempts + 1;
      u.last_reply = "render: " + message.error().ToString();
      ++round.counts.failed;
      continue;
    }
    u.message_id = message->message_id;
    round.update_of.push_back(i);
    round.messages.push_back(std::move(*message));
  }
}

// An address that bounced hard in the round before was not yet suppressed when this round was
// read: its messages are suppressed now, before their Message-IDs are stored.
void OutboxWorker::Recheck(Round& round, const std::unordered_set<std::string>& suppressed) {
  size_t kept = 0;
  for (size_t k = 0; k < round.messages.size(); ++k) {
    auto& u = round.updates[round.update_of[k]];
    if (suppressed.count(AsciiLower(round.messages[k].to.email))) {
      u.status = store::DeliveryStatus::kSuppressed;
      u.last_reply = "address suppressed";
      u.message_id.clear();
      ++round.counts.suppressed;
      continue;
    }
    if (kept != k) {
      round.messages[kept] = std::move(round.messages[k]);
      round.update_of[kept] = round.update_of[k];
    }
    ++kept;
  }
  round.messages.resize(kept);
  round.update_of.resize(kept);
}

// Turns the transport's results into the round's updates.
void OutboxWorker::Classify(Round& round, const std::vector<SendResult>& results,
                            std::unordered_set<std::string>& suppressed) {
  // Nothing went out and the sender failed: the round pauses delivery (outbox.h). The messages
  // a transport did not start after that failure carry it too.
  const bool pause =
      std::none_of(results.begin(), results.end(),
                   [](const SendResult& r) { return r.outcome == Outcome::kSent; }) &&
      std::any_of(results.begin(), results.end(),
                  [](const SendResult& r) { return r.sender_failure; });
  for (size_t i = 0; i < round.messages.size(); ++i) {
    auto& u = round.updates[round.update_of[i]];
    if (round.stored[round.update_of[i]]) {
      ++round.counts.sent;  // accepted and stored mid-round (RecordAccepted): its update is final
      continue;
    }
    const SendResult& r = i < results.size() ? results[i] : SendResult{};
    if (pause && r.sender_failure) {
      // Back in the queue as it was, no attempt counted; the reply says why it waits.
      u.status = store::DeliveryStatus::kQueued;
      u.last_reply = r.code ? std::to_string(r.code) + " " + r.reply : r.reply;
      if (round.sender_failure.empty()) round.sender_failure = u.last_reply;
      ++round.counts.paused;
      continue;
    }
    if (r.outcome == Outcome::kNotStarted) {
      // A stop kept it from starting: back in the queue as it was, no attempt counted (its
      // Message-ID stays, so the send later is the same message).
      u.status = store::DeliveryStatus::kQueued;
      u.last_reply = r.reply;
      ++round.counts.requeued;
      continue;
    }
    Attempted(u, r);
    switch (r.outcome) {
      case Outcome::kSent:
        u.status = store::DeliveryStatus::kSent;
        u.sent_at = clock_.Now();
        ++round.counts.sent;
        break;
      case Outcome::kTemporary:
        if (u.attempts >= options_.max_attempts) {
          u.status = store::DeliveryStatus::kFailed;
          u.last_reply =
              "gave up after " + std::to_string(u.attempts) + " attempts: " + u.last_reply;
          ++round.counts.failed;
        } else if (options_.max_age.count() > 0 &&
                   clock_.Now() - round.items[round.update_of[i]].decided_at >= options_.max_age) {
          u.status = store::DeliveryStatus::kFailed;
          u.last_reply = "expired after " + FormatDuration(options_.max_age) + ": " + u.last_reply;
          ++round.counts.failed;
        } else {
          u.status = store::DeliveryStatus::kDeferred;
          u.next_attempt_at =
              clock_.Now() + Backoff(options_.retry_base, u.attempts, r.retry_after, rng_);
          ++round.counts.deferred;
        }
        break;
      case Outcome::kPermanent:
        u.status = store::DeliveryStatus::kFailed;
        if (r.hard_bounce) {
          u.suppress_email = round.messages[i].to.email;
          suppressed.insert(AsciiLower(round.messages[i].to.email));
        }
        ++round.counts.failed;
        break;
      case Outcome::kNotStarted:
        break;  // above
    }
  }
}

// Stores as sent, in one transaction, the messages the server accepted since the last call: with
// `wait`, again and again until the round's Send has returned; without, once, not waiting. A
// store failure here is not an error: what could not be stored now is stored with the rest of
// the round when it ends.
void OutboxWorker::RecordAccepted(Round& round, AcceptedQueue& queue, bool wait) {
  for (;;) {
    std::vector<std::pair<size_t, SendResult>> accepted;
    bool done = false;
    {
      std::unique_lock lock(queue.mutex);
      if (wait) queue.changed.wait(lock, [&] { return queue.done || !queue.accepted.empty(); });
      accepted.swap(queue.accepted);
      done = queue.done;
    }
    if (!accepted.empty()) {
      const Instant now = clock_.Now();
      std::vector<store::DeliveryUpdate> updates;
      updates.reserve(accepted.size());
      for (const auto& [k, r] : accepted) {
        store::DeliveryUpdate u = round.updates[round.update_of[k]];
        Attempted(u, r);
        u.status = store::DeliveryStatus::kSent;
        u.sent_at = now;
        updates.push_back(std::move(u));
      }
      if (store_.RecordDeliveries(updates, now)) {
        for (size_t j = 0; j < accepted.size(); ++j) {
          size_t i = round.update_of[accepted[j].first];
          round.updates[i] = std::move(updates[j]);
          round.stored[i] = 1;
        }
      }
    }
    if (done || !wait) return;
  }
}

// Stores the round's outcomes (one transaction) and then reports them.
Result<void> OutboxWorker::Record(Round& round, DrainSummary& summary) {
  auto& updates = round.updates;
  std::vector<store::DeliveryUpdate> rest;  // those not stored mid-round
  rest.reserve(updates.size());
  for (size_t i = 0; i < updates.size(); ++i)
    if (!round.stored[i]) rest.push_back(updates[i]);
  if (auto r = Persist([&] { return store_.RecordDeliveries(rest, clock_.Now()); }); !r) {
    return r;
  }
  summary.sent += round.counts.sent;
  summary.deferred += round.counts.deferred;
  summary.failed += round.counts.failed;
  summary.suppressed += round.counts.suppressed;
  summary.requeued += round.counts.requeued;
  summary.paused += round.counts.paused;
  if (summary.sender_failure.empty()) summary.sender_failure = round.sender_failure;
  if (on_outcome_) {
    for (size_t i = 0; i < updates.size(); ++i) {
      DeliveryEvent& event = round.events[i];
      event.message_id = updates[i].message_id;
      event.status = updates[i].status;
      event.attempts = updates[i].attempts;
      event.reply = updates[i].last_reply;
      event.suppressed_address = !updates[i].suppress_email.empty();
      on_outcome_(event);
    }
  }
  return {};
}

// Claims the round that was read ahead. Sends that are no longer due (or were claimed meanwhile)
// leave the round; the rest is as read and rendered. False when none is left.
Result<bool> OutboxWorker::ClaimPeeked(Round& round) {
  std::vector<int64_t> ids;
  ids.reserve(round.items.size());
  for (const auto& item : round.items) ids.push_back(item.id);
  auto claimed = store_.ClaimIds(ids, clock_.Now());
  if (!claimed) return tl::unexpected(claimed.error());
  if (claimed->size() == ids.size()) return true;
  std::unordered_set<int64_t> kept(claimed->begin(), claimed->end());
  Round left;
  left.now = round.now;
  std::vector<size_t> moved_to(round.items.size(), SIZE_MAX);
  for (size_t i = 0; i < round.items.size(); ++i) {
    if (!kept.count(round.items[i].id)) continue;
    moved_to[i] = left.items.size();
    left.items.push_back(std::move(round.items[i]));
    left.recipients.push_back(std::move(round.recipients[i]));
    left.updates.push_back(std::move(round.updates[i]));
    left.events.push_back(std::move(round.events[i]));
  }
  for (size_t k = 0; k < round.messages.size(); ++k) {
    size_t to = moved_to[round.update_of[k]];
    if (to == SIZE_MAX) continue;
    left.update_of.push_back(to);
    left.messages.push_back(std::move(round.messages[k]));
  }
  for (const auto& u : left.updates) {
    if (u.status == store::DeliveryStatus::kSuppressed) ++left.counts.suppressed;
    if (u.status == store::DeliveryStatus::kFailed) ++left.counts.failed;
  }
  round = std::move(left);
  return !round.items.empty();
}

Result<DrainSummary> OutboxWorker::Drain() {
  DrainSummary summary;
  std::unordered_set<std::string> suppressed;
  if (auto list = store_.Suppressions())
    suppressed.insert(list->begin(), list->end());
  else
    return tl::unexpected(list.error());

  // Rounds overlap. While round N is out (Transport::Send, on a thread of its own), this thread
  // reads the round a claim would take next and renders it, claiming nothing: at most one round
  // is ever "sending". After round N's outcomes are stored, the round read ahead is claimed (what
  // is no longer due drops out of it). Every round: claimed, Message-IDs stored, sent, outcomes
  // stored in one transaction, reported; a store failure puts it back in the queue.
  std::optional<Round> ahead;  // read and rendered, not claimed
  for (;;) {
    if (stopping()) return summary;  // what was read ahead is not claimed: nothing to undo
    Round out;
    if (ahead) {
      out = std::move(*ahead);
      ahead.reset();
      auto claimed = ClaimPeeked(out);
      if (!claimed) return tl::unexpected(claimed.error());
      if (!*claimed) continue;  // all of it went elsewhere meanwhile: look again
      // An address that bounced hard in the round before may be in this one.
      Recheck(out, suppressed);
    } else {
      if (auto r = ClaimRound(out, suppressed, /*peek=*/false); !r)
        return tl::unexpected(r.error());
      if (out.items.empty()) return summary;
      ComposeRound(out);
    }

    // The Message-IDs are stored before anything goes out: a send killed mid-flight is retried as
    // the same message.
    std::vector<std::pair<int64_t, std::string>> ids;
    ids.reserve(out.messages.size());
    for (size_t i = 0; i < out.messages.size(); ++i)
      ids.emplace_back(out.updates[out.update_of[i]].id, out.messages[i].message_id);
    if (auto r = Persist([&] { return store_.SetMessageIds(ids); }); !r) {
      return GiveBack(store_, r.error());  // nothing of this round went out
    }

    out.stored.assign(out.updates.size(), 0);
    AcceptedQueue queue;
    auto accepted = [&queue](size_t index, const SendResult& result) {
      std::lock_guard lock(queue.mutex);
      queue.accepted.emplace_back(index, result);
      queue.changed.notify_one();
    };
    auto send = [this, &out, &queue, &accepted] {
      struct Done {  // tells the drain's thread that Send has returned, however it did
        AcceptedQueue& queue;
        ~Done() {
          std::lock_guard lock(queue.mutex);
          queue.done = true;
          queue.changed.notify_one();
        }
      } done{queue};
      if (stopping()) {
        // Stopped since the claim: nothing of the round starts (the transport would say the same).
        SendResult not_started;
        not_started.outcome = Outcome::kNotStarted;
        not_started.reply = "not started: delivery is stopping";
        return std::vector<SendResult>(out.messages.size(), not_started);
      }
      return out.messages.empty() ? std::vector<SendResult>()
                                  : transport_.Send(out.messages, accepted);
    };
    std::future<std::vector<SendResult>> sending;
    bool on_its_own_thread = true;
    try {
      sending = std::async(std::launch::async, send);
    } catch (const std::system_error&) {
      sending = std::async(std::launch::deferred, send);  // no thread: sent below, in turn
      on_its_own_thread = false;
    }
    // While it is out: read and render the next round (a full round: there may be more), and
    // store what the server accepts as it does.
    bool read_ahead = out.items.size() >= static_cast<size_t>(options_.batch_size) && !stopping();
    Result<void> peeked;
    if (read_ahead) {
      Round next;
      peeked = ClaimRound(next, suppressed, /*peek=*/true);
      if (on_its_own_thread) RecordAccepted(out, queue, /*wait=*/false);
      if (peeked && !next.items.empty()) {
        ComposeRound(next);
        ahead = std::move(next);
      }
    }
    if (on_its_own_thread) RecordAccepted(out, queue, /*wait=*/true);
    std::vector<SendResult> results;
    try {
      results = sending.get();
    } catch (const std::exception& e) {
      // The transport could not finish (out of memory, say): every message of the round counts
      // as a temporary failure, recorded and retried, rather than the round stuck in "sending".
      SendResult failed;
      failed.reply = std::string("transport: ") + e.what();
      results.assign(out.messages.size(), failed);
    }
    Classify(out, results, suppressed);
    if (auto r = Record(out, summary); !r) {
      // The outcomes are lost; the round goes out again (at-least-once) rather than sit in
      // "sending" until a restart.
      return GiveBack(store_, r.error());
    }
    if (!peeked) return tl::unexpected(peeked.error());
    // The sender failed: no further round (what was read ahead is not claimed).
    if (!out.sender_failure.empty()) return summary;
    // With a fixed clock (--at), deferred messages are not due again in this pass: the loop ends
    // when a round claims nothing.
  }
}

}  // namespace followup::delivery
