// Bounce and feedback-loop messages, as the mail server delivers them to the bounce address's
// maildir: one RFC 5322 message in, the events it reports out.
//
//   - Delivery status notifications (RFC 3464: multipart/report; report-type=delivery-status, or
//     message/global-delivery-status of RFC 6533), as Postfix, Exim, Gmail and most others send
//     them: one event per recipient block. Action failed with a 5.x.x status (or none): hard
//     bounce; failed with 4.x.x (given up after retrying): soft bounce; delayed: kDelayed, which
//     callers drop (the message either arrives or fails later with its own notification);
//     delivered, relayed, expanded: kDelivered.
//   - Exim's older plain-text bounces with an X-Failed-Recipients header: a hard bounce for each
//     address listed.
//   - Feedback-loop reports (RFC 5965 ARF: multipart/report; report-type=feedback-report):
//     Feedback-Type abuse, fraud or virus is a complaint; other types are kOther. The recipient is
//     Original-Rcpt-To, else the To of the reported message, else none (a redacted report: the
//     message is then found by its Message-ID or VERP token).
//
// The original message's Message-ID comes from the report's message/rfc822 or
// text/rfc822-headers part (their message/global forms too). The VERP token comes from the first
// address of the form PREFIX+TOKEN@... among the headers that name the address the report was
// delivered to (Delivered-To, X-Original-To, Envelope-To, X-Envelope-To, To), Postfix's
// X-Postfix-Sender and the reported message's Return-Path. Event ids are digests of the report's
// own Message-ID (or, without one, its bytes) and the recipient, so the same report read twice
// gives the same ids.
//
// Hostile input is expected: sizes, counts and nesting are capped, nothing throws, and anything
// that cannot be read as one of the above is kUnrecognised with the reason (the caller moves the
// file to the folder of unmatched ones). Pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "feedback/event.h"

namespace followup::feedback {

struct ReportOptions {
  // The local part before '+' of the VERP return path (PREFIX of verp.h), matched in any case.
  std::string verp_prefix = "bounces";
  // When the file arrived: occurred_at for events whose report carries no readable date.
  Instant received_at{};
  size_t max_bytes = 10 << 20;   // larger messages are kUnrecognised unread
  size_t max_recipients = 1000;  // recipient blocks (and listed addresses) read from one report
};

enum class ReportKind {
  kDeliveryStatus,  // a DSN (or Exim's plain-text bounce)
  kFeedbackReport,  // an ARF report
  kUnrecognised,    // neither, or one that names nobody
};

struct Report {
  ReportKind kind = ReportKind::kUnrecognised;
  std::vector<Event> events;  // none when kUnrecognised
  std::string note;           // for kUnrecognised: why
};

Report ReadReport(std::string_view message, const ReportOptions& options);

}  // namespace followup::feedback
