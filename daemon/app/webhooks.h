// The provider webhooks (docs/feedback.md, "Provider webhooks"): what the daemon's routes
// POST /webhooks/postmark, /ses, /sendgrid, /mailgun and /generic do with a request. The request
// is checked and read by its provider's parser (feedback/webhook.h); its events are recorded and
// applied in one transaction (Store::RecordFeedback) as authenticated events, which act on their
// recipient with or without a matching send; the answer says what happened.
//
// Answers: 200 once the events are stored (also for events recorded before: a provider's retry),
// the parser's 4xx for a request that does not check out (nothing changes), 503 when the store or
// an SNS certificate or subscription URL cannot be reached (the provider retries later).
//
// Thread safety: ReceiveWebhook uses the caller's store connection on the caller's thread; a
// Webhooks may be shared by threads once loaded (the certificate cache locks).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/settings.h"
#include "base/error.h"
#include "base/time.h"
#include "feedback/webhook.h"
#include "store/store.h"

namespace followup::app {

// Fetches a URL's body (delivery::HttpsGet in the daemon).
using UrlGetter = std::function<Result<std::string>(const std::string& url)>;

// The providers configured in feedback.*, with their secrets.
struct Webhooks {
  std::optional<feedback::PostmarkOptions> postmark;
  std::optional<feedback::SesOptions> ses;
  std::optional<feedback::SendGridOptions> sendgrid;
  std::optional<feedback::MailgunOptions> mailgun;
  std::optional<feedback::GenericOptions> generic;
  // Visits an SES SubscribeURL (its body is not used).
  UrlGetter visit;

  // The configured providers' names ("postmark", "ses", "sendgrid", "mailgun", "generic"), each
  // the last part of its route.
  std::vector<std::string> Providers() const;
  // The most body the provider's route takes (its WebhookLimits::max_body_bytes).
  uint64_t BodyLimit(std::string_view provider) const;
};

// A certificate fetcher for SesOptions that asks `get` once per URL and keeps what it gave (at
// most 32 URLs; SNS signs with one certificate per region for months). Failures are not kept.
feedback::CertificateFetcher CachingCertificateFetcher(UrlGetter get);

// The providers feedback.* configures, their secret files read (ReadSecret: kRuntime "cannot read
// PATH"); kInvalidInput when the Postmark credentials have no ':'. SES certificates are fetched
// with `fetch_certificate` (through CachingCertificateFetcher) and SubscribeURLs visited with
// `visit`.
Result<Webhooks> LoadWebhooks(const FeedbackSettings& feedback, UrlGetter fetch_certificate,
                              UrlGetter visit);

// What one request came to.
struct WebhookAnswer {
  int status = 200;
  std::string body;    // the response's text, one line
  std::string log;     // for the operator's log, never a secret: what was done, or why refused
  int applied = 0;     // events recorded and acted on
  int duplicates = 0;  // recorded before (a retry)
  int counted = 0;     // kinds that change nothing (delivered, opened, ...)
};

// Handles one request to /webhooks/`provider` (one of Providers()) as described above.
WebhookAnswer ReceiveWebhook(store::Store& store, const Webhooks& webhooks,
                             std::string_view provider, const feedback::WebhookRequest& request,
                             const store::FeedbackPolicy& policy, Instant now);

}  // namespace followup::app
