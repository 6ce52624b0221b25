#include "app/webhooks.h"

#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "app/bounces.h"

namespace followup::app {
namespace {

// Runs the provider's parser; nullopt for a provider not configured.
std::optional<feedback::WebhookResult> Parse(const Webhooks& w, std::string_view provider,
                                             const feedback::WebhookRequest& request, Instant now) {
  if (provider == "postmark" && w.postmark)
    return feedback::ParsePostmark(request, *w.postmark, now);
  if (provider == "ses" && w.ses) return feedback::ParseSes(request, *w.ses, now);
  if (provider == "sendgrid" && w.sendgrid)
    return feedback::ParseSendGrid(request, *w.sendgrid, now);
  if (provider == "mailgun" && w.mailgun) return feedback::ParseMailgun(request, *w.mailgun, now);
  if (provider == "generic" && w.generic) return feedback::ParseGeneric(request, *w.generic, now);
  return std::nullopt;
}

WebhookAnswer Answer(int status, std::string body, std::string log) {
  WebhookAnswer answer;
  answer.status = status;
  answer.body = std::move(body);
  answer.log = std::move(log);
  return answer;
}

}  // namespace

std::vector<std::string> Webhooks::Providers() const {
  std::vector<std::string> names;
  if (postmark) names.emplace_back("postmark");
  if (ses) names.emplace_back("ses");
  if (sendgrid) names.emplace_back("sendgrid");
  if (mailgun) names.emplace_back("mailgun");
  if (generic) names.emplace_back("generic");
  return names;
}

uint64_t Webhooks::BodyLimit(std::string_view provider) const {
  if (provider == "postmark" && postmark) return postmark->limits.max_body_bytes;
  if (provider == "ses" && ses) return ses->limits.max_body_bytes;
  if (provider == "sendgrid" && sendgrid) return sendgrid->limits.max_body_bytes;
  if (provider == "mailgun" && mailgun) return mailgun->limits.max_body_bytes;
  if (provider == "generic" && generic) return generic->limits.max_body_bytes;
  return 0;
}

feedback::CertificateFetcher CachingCertificateFetcher(UrlGetter get) {
  struct Cache {
    std::mutex mu;
    std::map<std::string, std::string> pem;  // by URL
  };
  auto cache = std::make_shared<Cache>();
  return [cache, get = std::move(get)](const std::string& url) -> Result<std::string> {
    {
      std::lock_guard lock(cache->mu);
      if (auto it = cache->pem.find(url); it != cache->pem.end()) return it->second;
    }
    auto fetched = get(url);
    if (!fetched) return fetched;
    std::lock_guard lock(cache->mu);
    if (cache->pem.size() >= 32) cache->pem.clear();
    cache->pem[url] = *fetched;
    return fetched;
  };
}

Result<Webhooks> LoadWebhooks(const FeedbackSettings& feedback, UrlGetter fetch_certificate,
                              UrlGetter visit) {
  Webhooks w;
  if (!feedback.postmark_credentials_path.empty()) {
    auto secret = ReadSecret(feedback.postmark_credentials_path);
    if (!secret) return tl::unexpected(secret.error());
    auto colon = secret->find(':');
    if (colon == std::string::npos)
      return InvalidInput("feedback.postmark.credentials_file: " +
                          feedback.postmark_credentials_path + " holds no user:password");
    w.postmark.emplace();
    w.postmark->username = secret->substr(0, colon);
    w.postmark->password = secret->substr(colon + 1);
  }
  if (!feedback.ses_topic_arns.empty()) {
    w.ses.emplace();
    w.ses->topic_arns = feedback.ses_topic_arns;
    w.ses->fetch_certificate = CachingCertificateFetcher(std::move(fetch_certificate));
  }
  if (!feedback.sendgrid_public_key.empty()) {
    w.sendgrid.emplace();
    w.sendgrid->public_key = feedback.sendgrid_public_key;
  }
  if (!feedback.mailgun_signing_key_path.empty()) {
    auto secret = ReadSecret(feedback.mailgun_signing_key_path);
    if (!secret) return tl::unexpected(secret.error());
    w.mailgun.emplace();
    w.mailgun->signing_key = std::move(*secret);
  }
  if (!feedback.generic_secret_path.empty()) {
    auto secret = ReadSecret(feedback.generic_secret_path);
    if (!secret) return tl::unexpected(secret.error());
    w.generic.emplace();
    w.generic->secret = std::move(*secret);
  }
  w.visit = std::move(visit);
  return w;
}

WebhookAnswer ReceiveWebhook(store::Store& store, const Webhooks& webhooks,
                             std::string_view provider, const feedback::WebhookRequest& request,
                             const store::FeedbackPolicy& policy, Instant now) {
  const std::string what = "webhook " + std::string(provider);
  auto parsed = Parse(webhooks, provider, request, now);
  if (!parsed) return Answer(404, "not found", what + ": not configured");
  if (!*parsed) {
    const feedback::WebhookError& error = parsed->error();
    return Answer(feedback::HttpStatusFor(error.failure), error.message,
                  what + ": refused: " + error.message);
  }
  const feedback::WebhookOutcome& outcome = **parsed;

  if (!outcome.subscribe_url.empty()) {
    // Amazon SNS asks to confirm the subscription: visiting the URL does it.
    if (!webhooks.visit) return Answer(503, "cannot confirm", what + ": no way to visit URLs");
    if (auto visited = webhooks.visit(outcome.subscribe_url); !visited)
      return Answer(503, "subscription not confirmed, try again",
                    what + ": confirming the subscription: " + visited.error().ToString());
    return Answer(200, "subscription confirmed",
                  what + ": subscription confirmed (" + outcome.subscribe_url + ")");
  }

  auto recorded =
      RecordEvents(store, outcome.events, /*trusted=*/true, /*verp_key=*/"", policy, now);
  if (!recorded)
    return Answer(503, "not stored, try again", what + ": " + recorded.error().ToString());
  WebhookAnswer answer;
  answer.applied = recorded->applied;
  answer.duplicates = recorded->duplicates;
  answer.counted = recorded->counted;
  answer.body = std::to_string(answer.applied) + " applied, " + std::to_string(answer.duplicates) +
                " recorded before, " + std::to_string(answer.counted) + " only counted";
  answer.log = what + ": " + std::to_string(outcome.events.size()) + " events: " + answer.body;
  return answer;
}

}  // namespace followup::app
