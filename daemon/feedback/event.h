// What comes back after a send: one Event type that every source of feedback produces, the
// provider webhooks (webhook.h) and the bounce and feedback-loop messages read from a maildir
// (report.h) alike. Everything in the feedback part is pure: bytes and values in, values out; the
// store, the HTTP routes and the maildir reader are the daemon's (docs/feedback.md).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "base/time.h"

namespace followup::feedback {

enum class Source { kPostmark, kSes, kSendGrid, kMailgun, kGeneric, kDsn, kArf };

enum class EventType {
  // What the daemon acts on.
  kHardBounce,   // the address does not take mail: suppress it
  kSoftBounce,   // a temporary failure that ended the message: count it per address
  kComplaint,    // the recipient reported the mail as spam: suppress and unsubscribe
  kUnsubscribe,  // the recipient asked the provider to stop: unsubscribe
  // Kinds kept so that callers can count or log them; nothing is done about them.
  kDelivered,     // delivered, relayed or accepted
  kDelayed,       // still being retried (a later event says how it ended)
  kOpened,        // opened or clicked
  kResubscribed,  // the provider took the address off its own suppression list
  kOther,         // anything else the source reports
};

// "postmark", "ses", "sendgrid", "mailgun", "generic", "dsn", "arf".
std::string_view SourceName(Source source);
// "hard_bounce", "soft_bounce", "complaint", "unsubscribe", "delivered", "delayed", "opened",
// "resubscribed", "other".
std::string_view EventTypeName(EventType type);
// True for the four kinds above the line: the ones that change what is sent to whom.
bool IsActionable(EventType type);

inline constexpr size_t kMaxReasonBytes = 1000;
inline constexpr size_t kMaxEventIdBytes = 200;

struct Event {
  Source source = Source::kGeneric;
  EventType type = EventType::kOther;
  // The address the event is about, ASCII-lower-cased as the suppression list keeps it. Empty only
  // for a complaint whose report names nobody (feedback loops often redact the recipient); the
  // message is then found by message_id or verp_token.
  std::string recipient;
  // The original message's RFC 5322 Message-ID without the angle brackets; empty when unknown.
  std::string message_id;
  // The provider's own id for the message (Postmark MessageID, SES mail.messageId, SendGrid
  // X-Message-Id, Mailgun's none); empty when unknown.
  std::string provider_message_id;
  // The TOKEN of a bounces+TOKEN@domain return path the event arrived through (verp.h), as found:
  // not yet verified. Empty when none.
  std::string verp_token;
  Instant occurred_at{};
  // What makes the event itself unique, the key for handling each event once: "SOURCE:..." with
  // the provider's event id, or a digest of the content for sources that have none. The same
  // event delivered twice has the same id. At most kMaxEventIdBytes.
  std::string event_id;
  // An RFC 3463 enhanced status code ("5.1.1") when the source gives one; else empty.
  std::string status;
  // The source's own words (SMTP reply, diagnostic, provider description), at most
  // kMaxReasonBytes, valid UTF-8, every control character turned into a space.
  std::string reason;
};

// ---- Helpers shared by the parsers (exposed for their tests). ----

// `text` as Event::reason keeps it: invalid UTF-8 bytes become U+FFFD, runs of white space and
// control characters one space, trimmed, cut at kMaxReasonBytes on a character boundary.
std::string CleanReason(std::string_view text);

// The first RFC 3463 status code ("2.0.0", "4.4.1", "5.1.10") found as a word in `text`, or "".
// The class digit must be 2, 4 or 5; subject and detail at most three digits each.
std::string FindStatusCode(std::string_view text);

// "SOURCE:" followed by the first 32 hex digits of SHA-256 over the parts, each followed by a NUL:
// an event id for sources that give none. Stable for the same parts.
std::string DigestEventId(Source source, std::initializer_list<std::string_view> parts);

// An address as Event::recipient keeps it: the part inside "<...>" when there is one (so
// "Name <a@b>" is read too), white space around removed, ASCII-lower-cased. "" when it is not
// LOCAL@DOMAIN (both non-empty), holds white space or control characters, or is longer than 254.
std::string NormalizeAddress(std::string_view address);

// The id in "<id>" or " <id> " or "id": the angle brackets and the space around them removed.
std::string StripAngles(std::string_view message_id);

}  // namespace followup::feedback
