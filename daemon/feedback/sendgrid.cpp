// SendGrid's Event Webhook with signing on: a JSON array of events; the header
// X-Twilio-Email-Event-Webhook-Signature holds a base64 DER ECDSA signature (P-256, SHA-256) over
// the X-Twilio-Email-Event-Webhook-Timestamp header's value followed by the raw body, made with the
// key pair whose public half SendGrid's Mail Settings show (base64 DER SubjectPublicKeyInfo).
#include <utility>

#include "feedback/crypto.h"
#include "feedback/webhook.h"
#include "feedback/webhook_util.h"

namespace followup::feedback {
namespace {

using detail::Json;
using detail::Reject;

constexpr std::string_view kWhat = "sendgrid webhook";
constexpr std::string_view kSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature";
constexpr std::string_view kTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp";

// What a "dropped" event means: SendGrid did not send because of its own lists.
EventType DroppedType(std::string_view reason) {
  if (reason.find("Bounced Address") != std::string_view::npos ||
      reason.find("Invalid") != std::string_view::npos) {
    return EventType::kHardBounce;
  }
  if (reason.find("Spam Reporting Address") != std::string_view::npos) {
    return EventType::kComplaint;
  }
  if (reason.find("Unsubscribed Address") != std::string_view::npos) {
    return EventType::kUnsubscribe;
  }
  return EventType::kOther;
}

EventType TypeOf(std::string_view event, const Json& entry) {
  if (event == "bounce") {
    // type "bounce": the receiving server refused the address; "blocked": it refused the sender
    // for now (reputation, content), which says nothing lasting about the address.
    return detail::String(entry, "type") == "blocked" ? EventType::kSoftBounce
                                                      : EventType::kHardBounce;
  }
  if (event == "dropped") return DroppedType(detail::String(entry, "reason"));
  if (event == "spamreport") return EventType::kComplaint;
  if (event == "unsubscribe" || event == "group_unsubscribe") return EventType::kUnsubscribe;
  if (event == "group_resubscribe") return EventType::kResubscribed;
  if (event == "delivered" || event == "processed") return EventType::kDelivered;
  if (event == "deferred") return EventType::kDelayed;
  if (event == "open" || event == "click") return EventType::kOpened;
  return EventType::kOther;
}

}  // namespace

std::string CheckSendGridKey(std::string_view public_key) {
  auto der = Base64Decode(public_key);
  if (!der || der->empty()) return "the SendGrid verification key is not base64";
  std::string why = VerifyEcdsaP256(*der, "", "");
  // An empty signature never matches; any other answer is about the key.
  return why == "the signature does not match" ? "" : "the SendGrid verification key: " + why;
}

WebhookResult ParseSendGrid(const WebhookRequest& request, const SendGridOptions& options,
                            Instant now) {
  try {
    if (options.public_key.empty()) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": no verification key is configured");
    }
    if (request.body.size() > options.limits.max_body_bytes) {
      return Reject(WebhookFailure::kTooLarge, std::string(kWhat) + ": the body is larger than " +
                                                   std::to_string(options.limits.max_body_bytes) +
                                                   " bytes");
    }
    const std::string* signature_text = detail::FindHeader(request, kSignatureHeader);
    const std::string* timestamp_text = detail::FindHeader(request, kTimestampHeader);
    if (signature_text == nullptr || timestamp_text == nullptr) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": no signature or timestamp header");
    }
    auto signature = Base64Decode(*signature_text);
    auto key = Base64Decode(options.public_key);
    if (!signature || signature->empty() || !key) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": the signature or the configured key is not base64");
    }
    std::string signed_text = *timestamp_text;
    signed_text += request.body;
    if (std::string bad = VerifyEcdsaP256(*key, signed_text, *signature); !bad.empty()) {
      return Reject(WebhookFailure::kUnauthenticated, std::string(kWhat) + ": " + bad);
    }
    auto timestamp = detail::UnixSeconds(*timestamp_text);
    if (!timestamp || timestamp_text->find('.') != std::string::npos) {
      return Reject(WebhookFailure::kMalformed,
                    std::string(kWhat) + ": the timestamp is unreadable");
    }
    if (auto stale = detail::CheckFresh(*timestamp, now, options.limits.max_age, kWhat)) {
      return tl::unexpected(*stale);
    }

    auto json = detail::ReadJson(request.body, options.limits, kWhat);
    if (!json) return tl::unexpected(json.error());
    if (!json->is_array()) {
      return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": not an array of events");
    }
    if (json->size() > options.limits.max_events) {
      return Reject(WebhookFailure::kTooLarge, std::string(kWhat) + ": more than " +
                                                   std::to_string(options.limits.max_events) +
                                                   " events");
    }
    WebhookOutcome outcome;
    for (const Json& entry : *json) {
      std::string name = detail::String(entry, "event");
      std::string id = detail::String(entry, "sg_event_id");
      Event event;
      event.source = Source::kSendGrid;
      event.recipient = NormalizeAddress(detail::String(entry, "email"));
      if (name.empty() || id.empty() || event.recipient.empty()) {
        return Reject(WebhookFailure::kMalformed,
                      std::string(kWhat) + ": an event without event, email or sg_event_id");
      }
      event.type = TypeOf(name, entry);
      event.event_id = detail::ProviderEventId(Source::kSendGrid, id);
      event.message_id = StripAngles(detail::String(entry, "smtp-id"));
      // sg_message_id is the X-Message-Id the send API answered, then ".filter..." and more.
      std::string sg_message_id = detail::String(entry, "sg_message_id");
      event.provider_message_id = sg_message_id.substr(0, sg_message_id.find(".filter"));
      auto at = detail::UnixSeconds(detail::StringOrNumber(entry, "timestamp"));
      event.occurred_at = at ? Instant{std::chrono::seconds{*at}} : now;
      std::string reason = detail::String(entry, "reason");
      if (reason.empty()) reason = detail::String(entry, "response");
      event.status = FindStatusCode(detail::String(entry, "status"));
      if (event.status.empty()) event.status = FindStatusCode(reason);
      event.reason = CleanReason(reason);
      outcome.events.push_back(std::move(event));
    }
    return outcome;
  } catch (const std::exception& e) {
    return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": " + e.what());
  }
}

}  // namespace followup::feedback
