// Provider webhooks: one function per provider checks that a request really comes from it
// (credentials, signature, freshness) and turns its body into Events. The request comes in as
// values (headers, body) with the configured secret and the current time; nothing here reads a
// clock, a file or the network (the SES signing certificate is handed in by a callback).
//
// The routes these serve, what each provider sends and how each is authenticated are in
// docs/feedback.md. In short:
//   ParsePostmark   HTTP basic auth (the user and password put in the webhook URL)
//   ParseSes        Amazon SNS message signature (SignatureVersion 1: SHA1withRSA, 2:
//                   SHA256withRSA) with the certificate at SigningCertURL, the topic allow-listed
//   ParseSendGrid   ECDSA P-256 over timestamp header + body (SendGrid's Signed Event Webhook)
//   ParseMailgun    HMAC-SHA256(signing key, timestamp + token), in the body
//   ParseGeneric    HMAC-SHA256(secret, timestamp + "." + body), our own shape
//
// Every function either returns the events of a request that checks out, or a WebhookError that
// says which 4xx (or 503) to answer: nothing is to be changed for a request that fails. Replays:
// a signed timestamp outside the freshness window is refused here; an event delivered again
// inside it carries the same Event::event_id, and handling each id once is the store's job.
//
// Bounds: a body over max_body_bytes is refused before it is read; JSON nested deeper than 64
// levels, or with more than max_events events, is refused; every string kept is cut to size.
// Nothing throws. Pure and thread-safe (ParseSes calls fetch_certificate on the caller's thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/time.h"
#include "feedback/event.h"

namespace followup::feedback {

// A request as the HTTP server received it. Header names are looked up ASCII case-insensitively.
struct WebhookRequest {
  std::map<std::string, std::string> headers;
  std::string_view body;
};

enum class WebhookFailure {
  kMalformed,        // 400: not the provider's shape (bad JSON, a required field missing)
  kUnauthenticated,  // 401: credentials or signature missing or wrong, or nothing configured
  kStale,            // 401: a signed timestamp outside the freshness window (a replay, or a clock
                     //      far off)
  kForbidden,        // 403: well signed, but not ours (an SNS topic not allow-listed)
  kTooLarge,         // 413: body over max_body_bytes, or more than max_events events
  kUnavailable,      // 503: the SNS signing certificate could not be had; the sender retries
};

// 400, 401, 401, 403, 413, 503 as listed above.
int HttpStatusFor(WebhookFailure failure);

struct WebhookError {
  WebhookFailure failure = WebhookFailure::kMalformed;
  std::string message;  // what was wrong, for the log; never a secret
};

struct WebhookOutcome {
  std::vector<Event> events;
  // SES only: a SubscriptionConfirmation whose signature checked out. The caller confirms the
  // subscription by fetching this URL (https on an SNS host, checked here) and answers 200.
  std::string subscribe_url;
};

using WebhookResult = tl::expected<WebhookOutcome, WebhookError>;

struct WebhookLimits {
  size_t max_body_bytes = 1 << 20;  // 1 MiB
  size_t max_events = 1000;         // events (SES: recipients) in one request
  // A signed timestamp may be this far from `now`, either way.
  std::chrono::seconds max_age{300};
};

// ---- Postmark: Bounce, SpamComplaint and SubscriptionChange webhooks (and, as ignored kinds,
// Delivery, Open and Click). One record per request. ----
struct PostmarkOptions {
  // The credentials in the webhook URL (https://USER:PASSWORD@host/webhooks/postmark), sent as
  // "Authorization: Basic ...". Both empty: every request is refused.
  std::string username;
  std::string password;
  WebhookLimits limits;
};
WebhookResult ParsePostmark(const WebhookRequest& request, const PostmarkOptions& options,
                            Instant now);

// ---- Amazon SES notifications through an SNS HTTPS subscription. ----

// Returns the PEM text of the certificate at `url` (already checked: https, an SNS host, a .pem
// path), or an Error when it cannot be had (then the request gets 503 and SNS retries). A caller
// fetches it with TLS verification and caches it by URL.
using CertificateFetcher = std::function<Result<std::string>(const std::string& url)>;

struct SesOptions {
  // The topics (ARNs) whose messages are accepted. Anyone can make an SNS topic and point it at
  // this endpoint, so a message from any other topic is refused (403); empty refuses all.
  std::vector<std::string> topic_arns;
  CertificateFetcher fetch_certificate;
  // SNS's Timestamp is signed and kept across retries, so the window is wider than for the others.
  WebhookLimits limits{
      .max_body_bytes = 1 << 20, .max_events = 1000, .max_age = std::chrono::seconds{3600}};
  // For tests only, never from the config: one more host ("HOST" or "HOST:PORT") allowed in
  // SigningCertURL and SubscribeURL besides sns.REGION.amazonaws.com(.cn).
  std::string test_allowed_host;
};
WebhookResult ParseSes(const WebhookRequest& request, const SesOptions& options, Instant now);

// True for https://sns.REGION.amazonaws.com[.cn]/... (or the test host), without user info or a
// port other than 443; with `certificate`, the path must end in ".pem" and carry no query.
bool IsSnsUrl(std::string_view url, bool certificate, std::string_view test_allowed_host = "");

// ---- SendGrid Event Webhook, signed (ECDSA P-256 over the timestamp header + the raw body). ----
struct SendGridOptions {
  // The verification key as SendGrid's Mail Settings show it: base64 of a DER
  // SubjectPublicKeyInfo. Empty: every request is refused.
  std::string public_key;
  WebhookLimits limits;
};
WebhookResult ParseSendGrid(const WebhookRequest& request, const SendGridOptions& options,
                            Instant now);

// Checks that `public_key` is base64 DER SubjectPublicKeyInfo of a P-256 key: "" when it is, else
// why not (for `followupd check`).
std::string CheckSendGridKey(std::string_view public_key);

// ---- Mailgun webhooks (JSON with "signature" and "event-data"). ----
struct MailgunOptions {
  std::string signing_key;  // the HTTP webhook signing key; empty: every request is refused
  WebhookLimits limits;
};
WebhookResult ParseMailgun(const WebhookRequest& request, const MailgunOptions& options,
                           Instant now);

// ---- Our own generic shape (docs/feedback.md), for anything else. ----
inline constexpr std::string_view kGenericTimestampHeader = "X-Followup-Timestamp";
inline constexpr std::string_view kGenericSignatureHeader = "X-Followup-Signature";

struct GenericOptions {
  std::string secret;  // the shared HMAC key; empty: every request is refused
  WebhookLimits limits;
};
WebhookResult ParseGeneric(const WebhookRequest& request, const GenericOptions& options,
                           Instant now);

// The X-Followup-Signature value for a body sent at `timestamp` (Unix seconds):
// "sha256=" + lower-case hex of HMAC-SHA256(secret, TIMESTAMP "." BODY). For senders and tests.
std::string GenericSignature(std::string_view secret, int64_t timestamp, std::string_view body);

}  // namespace followup::feedback
