// Amazon SES bounce and complaint notifications, delivered by an Amazon SNS HTTPS subscription.
//
// The SNS envelope is checked the way the SNS documentation describes: the signing certificate's
// URL must be https on an SNS host, the string to sign is built from the message's fields
// ("Name\nvalue\n" for each, in a fixed order that depends on the message type), and the base64
// Signature is SHA1withRSA (SignatureVersion 1) or SHA256withRSA (2) over it with the
// certificate's key. The topic must be one of ours. Then the SES notification inside Message is
// read: a Bounce gives one event per bounced recipient (Permanent: hard, Transient and
// Undetermined: soft), a Complaint one per complained recipient, a Delivery ignored kinds.
#include <utility>

#include "base/ascii.h"
#include "feedback/crypto.h"
#include "feedback/webhook.h"
#include "feedback/webhook_util.h"

namespace followup::feedback {
namespace {

using detail::Json;
using detail::Reject;

constexpr std::string_view kWhat = "ses webhook";

// sns.REGION.amazonaws.com or sns.REGION.amazonaws.com.cn, REGION being [a-z0-9-]+.
bool IsSnsHost(std::string_view host) {
  std::string lower = AsciiLower(host);
  std::string_view h = lower;
  if (!h.starts_with("sns.")) return false;
  h.remove_prefix(4);
  if (h.ends_with(".amazonaws.com")) {
    h.remove_suffix(14);
  } else if (h.ends_with(".amazonaws.com.cn")) {
    h.remove_suffix(17);
  } else {
    return false;
  }
  if (h.empty() || h.size() > 40) return false;
  for (char c : h) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// The string SNS signs: "Name\nvalue\n" for each of `names` that the message has (Subject only
// when present), in that order.
tl::expected<std::string, WebhookError> StringToSign(
    const Json& message, std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    const Json* value = detail::Member(message, name);
    if (name == "Subject" && (value == nullptr || value->is_null())) continue;
    if (value == nullptr || !value->is_string()) {
      return Reject(WebhookFailure::kMalformed,
                    std::string(kWhat) + ": the SNS message has no " + std::string(name));
    }
    out += name;
    out += '\n';
    out += value->get_ref<const std::string&>();
    out += '\n';
  }
  return out;
}

// The Message-ID of the original mail: commonHeaders.messageId, else a Message-ID in headers.
std::string OriginalMessageId(const Json& mail) {
  if (const Json* common = detail::Member(mail, "commonHeaders")) {
    std::string id = detail::String(*common, "messageId");
    if (!id.empty()) return StripAngles(id);
  }
  if (const Json* headers = detail::Member(mail, "headers"); headers && headers->is_array()) {
    size_t seen = 0;
    for (const Json& header : *headers) {
      if (++seen > 200) break;
      if (AsciiLower(detail::String(header, "name")) == "message-id") {
        return StripAngles(detail::String(header, "value"));
      }
    }
  }
  return "";
}

WebhookResult ReadNotification(const Json& sns, const SesOptions& options, Instant now) {
  const std::string& text = detail::Member(sns, "Message")->get_ref<const std::string&>();
  auto parsed = detail::ReadJson(text, options.limits, kWhat);
  if (!parsed) return tl::unexpected(parsed.error());
  const Json& notification = *parsed;
  if (!notification.is_object()) {
    return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": Message is not an object");
  }
  // notificationType for SNS notifications; eventType when SES event publishing sends them.
  std::string kind = detail::String(notification, "notificationType");
  if (kind.empty()) kind = detail::String(notification, "eventType");

  WebhookOutcome outcome;
  const Json* mail = detail::Member(notification, "mail");
  Json no_mail = Json::object();
  if (mail == nullptr) mail = &no_mail;
  std::string message_id = OriginalMessageId(*mail);
  std::string provider_message_id = detail::String(*mail, "messageId");
  std::string sns_id = detail::String(sns, "MessageId");

  const char* body_key = nullptr;
  const char* list_key = nullptr;
  if (kind == "Bounce") {
    body_key = "bounce", list_key = "bouncedRecipients";
  } else if (kind == "Complaint") {
    body_key = "complaint", list_key = "complainedRecipients";
  } else if (kind == "Delivery") {
    body_key = "delivery", list_key = "recipients";
  } else {
    return outcome;  // AMAZON_SES_SETUP_NOTIFICATION, and kinds that mean nothing here
  }
  const Json* body = detail::Member(notification, body_key);
  const Json* list = body ? detail::Member(*body, list_key) : nullptr;
  if (list == nullptr || !list->is_array()) {
    return Reject(WebhookFailure::kMalformed,
                  std::string(kWhat) + ": a " + kind + " without " + list_key);
  }
  if (list->size() > options.limits.max_events) {
    return Reject(WebhookFailure::kTooLarge, std::string(kWhat) + ": more than " +
                                                 std::to_string(options.limits.max_events) +
                                                 " recipients");
  }
  Instant at = detail::TimeOr(detail::String(*body, "timestamp"), now);
  std::string bounce_type = detail::String(*body, "bounceType");
  std::string sub_type = detail::String(*body, "bounceSubType");
  std::string feedback_type = detail::String(*body, "complaintFeedbackType");
  for (const Json& entry : *list) {
    Event event;
    event.source = Source::kSes;
    event.message_id = message_id;
    event.provider_message_id = provider_message_id;
    event.occurred_at = at;
    // Delivery lists plain strings; Bounce and Complaint objects with emailAddress.
    event.recipient =
        NormalizeAddress(entry.is_string() ? entry.get_ref<const std::string&>().substr(0, 300)
                                           : detail::String(entry, "emailAddress"));
    if (event.recipient.empty()) {
      return Reject(WebhookFailure::kMalformed,
                    std::string(kWhat) + ": a recipient without an address");
    }
    if (kind == "Bounce") {
      event.type = bounce_type == "Permanent" ? EventType::kHardBounce : EventType::kSoftBounce;
      std::string diagnostic = detail::String(entry, "diagnosticCode");
      event.status = FindStatusCode(detail::String(entry, "status"));
      if (event.status.empty()) event.status = FindStatusCode(diagnostic);
      event.reason = CleanReason(
          diagnostic.empty() ? bounce_type + (sub_type.empty() ? "" : " " + sub_type) : diagnostic);
    } else if (kind == "Complaint") {
      event.type = EventType::kComplaint;
      event.reason = CleanReason(feedback_type.empty() ? "complaint" : feedback_type);
    } else {
      event.type = EventType::kDelivered;
      event.reason = CleanReason(detail::String(*body, "smtpResponse"));
    }
    // SNS keeps MessageId across its retries; one notification may name several recipients.
    event.event_id = DigestEventId(Source::kSes, {sns_id, event.recipient});
    outcome.events.push_back(std::move(event));
  }
  return outcome;
}

}  // namespace

bool IsSnsUrl(std::string_view url, bool certificate, std::string_view test_allowed_host) {
  if (url.size() > 2048 || !AsciiLower(url.substr(0, 8)).starts_with("https://")) return false;
  std::string_view rest = url.substr(8);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = rest.substr(slash);
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f ||
        c == '\\') {
      return false;
    }
  }
  if (authority.find('@') != std::string_view::npos) return false;
  bool allowed = !test_allowed_host.empty() && authority == test_allowed_host;
  if (!allowed) {
    std::string_view host = authority;
    if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
      if (authority.substr(colon + 1) != "443") return false;
      host = authority.substr(0, colon);
    }
    allowed = IsSnsHost(host);
  }
  if (!allowed) return false;
  if (certificate) {
    if (path.find('?') != std::string_view::npos || path.find('#') != std::string_view::npos ||
        !path.ends_with(".pem")) {
      return false;
    }
  }
  return true;
}

WebhookResult ParseSes(const WebhookRequest& request, const SesOptions& options, Instant now) {
  try {
    auto json = detail::ReadJson(request.body, options.limits, kWhat);
    if (!json) return tl::unexpected(json.error());
    const Json& sns = *json;
    std::string type = detail::String(sns, "Type");
    bool confirmation = type == "SubscriptionConfirmation" || type == "UnsubscribeConfirmation";
    if (!confirmation && type != "Notification") {
      return Reject(
          WebhookFailure::kMalformed,
          std::string(kWhat) + ": not an SNS message (Type is '" + type.substr(0, 40) + "')");
    }
    auto to_sign = confirmation ? StringToSign(sns, {"Message", "MessageId", "SubscribeURL",
                                                     "Timestamp", "Token", "TopicArn", "Type"})
                                : StringToSign(sns, {"Message", "MessageId", "Subject", "Timestamp",
                                                     "TopicArn", "Type"});
    if (!to_sign) return tl::unexpected(to_sign.error());

    std::string version = detail::StringOrNumber(sns, "SignatureVersion");
    if (version != "1" && version != "2") {
      return Reject(
          WebhookFailure::kUnauthenticated,
          std::string(kWhat) + ": unknown SignatureVersion '" + version.substr(0, 20) + "'");
    }
    std::string cert_url = detail::String(sns, "SigningCertURL");
    if (!IsSnsUrl(cert_url, /*certificate=*/true, options.test_allowed_host)) {
      return Reject(
          WebhookFailure::kUnauthenticated,
          std::string(kWhat) + ": SigningCertURL is not an https .pem URL on an SNS host");
    }
    std::string topic = detail::String(sns, "TopicArn");
    bool ours = false;
    for (const std::string& allowed : options.topic_arns) ours = ours || allowed == topic;
    if (!ours) {
      return Reject(WebhookFailure::kForbidden, std::string(kWhat) + ": topic '" +
                                                    topic.substr(0, 256) +
                                                    "' is not among the configured topic ARNs");
    }
    auto signature = Base64Decode(detail::String(sns, "Signature"));
    if (!signature || signature->empty()) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": Signature is missing or not base64");
    }
    if (!options.fetch_certificate) {
      return Reject(WebhookFailure::kUnavailable,
                    std::string(kWhat) + ": no way to fetch the signing certificate");
    }
    auto pem = options.fetch_certificate(cert_url);
    if (!pem) {
      return Reject(WebhookFailure::kUnavailable,
                    std::string(kWhat) + ": the signing certificate: " + pem.error().message);
    }
    std::string bad =
        VerifyRsaWithCertificate(*pem, version == "1" ? Digest::kSha1 : Digest::kSha256, *to_sign,
                                 *signature, now.time_since_epoch().count());
    if (!bad.empty())
      return Reject(WebhookFailure::kUnauthenticated, std::string(kWhat) + ": " + bad);

    std::string timestamp = detail::String(sns, "Timestamp");
    auto at = ParseInstant(timestamp, nullptr);
    if (!at) {
      return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": Timestamp is unreadable");
    }
    if (auto stale = detail::CheckFresh(at->time_since_epoch().count(), now, options.limits.max_age,
                                        kWhat)) {
      return tl::unexpected(*stale);
    }

    if (type == "SubscriptionConfirmation") {
      std::string url = detail::String(sns, "SubscribeURL");
      if (!IsSnsUrl(url, /*certificate=*/false, options.test_allowed_host)) {
        return Reject(WebhookFailure::kMalformed,
                      std::string(kWhat) + ": SubscribeURL is not an https URL on an SNS host");
      }
      WebhookOutcome outcome;
      outcome.subscribe_url = url;
      return outcome;
    }
    if (type == "UnsubscribeConfirmation") return WebhookOutcome{};
    return ReadNotification(sns, options, now);
  } catch (const std::exception& e) {
    return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": " + e.what());
  }
}

}  // namespace followup::feedback
