// A message ready to go: what rendering produces and every transport takes.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "base/time.h"

namespace followup::delivery {

struct Address {
  std::string email;         // addr-spec, e.g. hello@example.com
  std::string display_name;  // may be empty; any text (encoded when written into a header)
};

struct Message {
  Address from;
  Address to;
  std::optional<Address> reply_to;
  std::string subject;          // plain text, any UTF-8
  std::string text;             // text/plain body, UTF-8
  std::string html;             // text/html body, UTF-8; empty: a text-only message
  std::string message_id;       // "<...@domain>", unique per message
  Instant date;                 // the Date: header
  std::string unsubscribe_url;  // https one-click link (RFC 8058); empty: none
  // The envelope sender (SMTP MAIL FROM), where bounces go: a VERP address naming the outbox row
  // (feedback/verp.h); empty: from.email.
  std::string return_path;
  // Stable per decision (the outbox dedupe key): the Idempotency-Key of HTTP APIs that take one.
  std::string idempotency_key;
  // For the send log and provider tags.
  std::string rule;
  std::string customer;  // the recipient's external id
};

// The outcome of one delivery attempt.
enum class Outcome {
  kSent,        // accepted by the next hop
  kTemporary,   // try again later: 4xx SMTP replies, 429/5xx HTTP, timeouts, dropped connections
  kPermanent,   // do not retry: 5xx SMTP replies, 4xx HTTP (but 429)
  kNotStarted,  // not attempted: the transport was stopped before the message started
};

struct SendResult {
  Outcome outcome = Outcome::kTemporary;
  int code = 0;       // the SMTP reply code or HTTP status that decided it; 0 when there was none
  std::string reply;  // the server's words (or the transport's, e.g. "connection dropped")
  std::string provider_message_id;  // HTTP APIs: the provider's id; SMTP: the queue id if given
  std::optional<std::chrono::seconds> retry_after;  // HTTP 429/503 Retry-After
  bool hard_bounce = false;  // permanent and about the recipient (550/551/553 ...): suppress it
  // Temporary, and the sender's rather than this message's: the server cannot be reached, TLS or
  // the login failed, the session or the sender address (MAIL FROM) was refused, an HTTP API
  // refused the token (401/403). Every message would fail alike: the outbox pauses delivery
  // (outbox.h) instead of counting an attempt against each message.
  bool sender_failure = false;
};

}  // namespace followup::delivery
