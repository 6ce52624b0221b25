// Our own webhook shape, for a provider or a tool that has none of the above (docs/feedback.md):
//
//   POST /webhooks/generic
//   X-Followup-Timestamp: 1739440805                          (Unix seconds, when it was sent)
//   X-Followup-Signature: sha256=<hex HMAC-SHA256(secret, "1739440805" "." body)>
//   {"events": [{"type": "hard_bounce", "email": "a@example.com", "message_id": "<id@shop>",
//                "occurred_at": "2025-02-13T10:00:00Z", "id": "evt-1", "reason": "550 5.1.1 ..."}]}
#include <utility>

#include "feedback/crypto.h"
#include "feedback/webhook.h"
#include "feedback/webhook_util.h"

namespace followup::feedback {
namespace {

using detail::Json;
using detail::Reject;

constexpr std::string_view kWhat = "generic webhook";
constexpr std::string_view kSignaturePrefix = "sha256=";

std::optional<EventType> TypeNamed(std::string_view name) {
  for (EventType type : {EventType::kHardBounce, EventType::kSoftBounce, EventType::kComplaint,
                         EventType::kUnsubscribe, EventType::kDelivered, EventType::kDelayed,
                         EventType::kOpened, EventType::kResubscribed, EventType::kOther}) {
    if (EventTypeName(type) == name) return type;
  }
  return std::nullopt;
}

}  // namespace

std::string GenericSignature(std::string_view secret, int64_t timestamp, std::string_view body) {
  std::string message = std::to_string(timestamp);
  message += '.';
  message += body;
  return std::string(kSignaturePrefix) + HexEncode(HmacSha256(secret, message));
}

WebhookResult ParseGeneric(const WebhookRequest& request, const GenericOptions& options,
                           Instant now) {
  try {
    if (options.secret.empty()) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": no secret is configured");
    }
    if (request.body.size() > options.limits.max_body_bytes) {
      return Reject(WebhookFailure::kTooLarge, std::string(kWhat) + ": the body is larger than " +
                                                   std::to_string(options.limits.max_body_bytes) +
                                                   " bytes");
    }
    const std::string* timestamp_text = detail::FindHeader(request, kGenericTimestampHeader);
    const std::string* signature_text = detail::FindHeader(request, kGenericSignatureHeader);
    if (timestamp_text == nullptr || signature_text == nullptr) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": no " + std::string(kGenericTimestampHeader) + " or " +
                        std::string(kGenericSignatureHeader) + " header");
    }
    auto timestamp = detail::UnixSeconds(*timestamp_text);
    if (!timestamp || timestamp_text->find('.') != std::string::npos) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": the timestamp is not Unix seconds");
    }
    std::string_view given = *signature_text;
    if (!given.starts_with(kSignaturePrefix)) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": the signature does not start with sha256=");
    }
    auto mac = HexDecode(given.substr(kSignaturePrefix.size()));
    std::string message = *timestamp_text + "." + std::string(request.body);
    if (!mac || !ConstantTimeEquals(*mac, HmacSha256(options.secret, message))) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": the signature does not match");
    }
    if (auto stale = detail::CheckFresh(*timestamp, now, options.limits.max_age, kWhat)) {
      return tl::unexpected(*stale);
    }

    auto json = detail::ReadJson(request.body, options.limits, kWhat);
    if (!json) return tl::unexpected(json.error());
    const Json* events = detail::Member(*json, "events");
    if (events == nullptr || !events->is_array()) {
      return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": no events array");
    }
    if (events->size() > options.limits.max_events) {
      return Reject(WebhookFailure::kTooLarge, std::string(kWhat) + ": more than " +
                                                   std::to_string(options.limits.max_events) +
                                                   " events");
    }
    Instant sent_at{std::chrono::seconds{*timestamp}};
    WebhookOutcome outcome;
    size_t index = 0;
    for (const Json& entry : *events) {
      ++index;
      auto where = [&] { return std::string(kWhat) + ": event " + std::to_string(index) + ": "; };
      if (!entry.is_object()) return Reject(WebhookFailure::kMalformed, where() + "not an object");
      std::string type_name = detail::String(entry, "type");
      auto type = TypeNamed(type_name);
      if (!type) {
        return Reject(WebhookFailure::kMalformed,
                      where() + "unknown type '" + type_name.substr(0, 40) + "'");
      }
      Event event;
      event.source = Source::kGeneric;
      event.type = *type;
      event.recipient = NormalizeAddress(detail::String(entry, "email"));
      if (event.recipient.empty()) {
        return Reject(WebhookFailure::kMalformed, where() + "no email address");
      }
      event.message_id = StripAngles(detail::String(entry, "message_id"));
      event.provider_message_id = detail::String(entry, "provider_message_id");
      std::string occurred_at = detail::String(entry, "occurred_at");
      if (!occurred_at.empty() && !ParseInstant(occurred_at, nullptr)) {
        return Reject(WebhookFailure::kMalformed, where() + "occurred_at is not an RFC 3339 time");
      }
      event.occurred_at = detail::TimeOr(occurred_at, sent_at);
      event.status = FindStatusCode(detail::String(entry, "status"));
      std::string reason = detail::String(entry, "reason");
      if (event.status.empty()) event.status = FindStatusCode(reason);
      event.reason = CleanReason(reason);
      std::string id = detail::StringOrNumber(entry, "id");
      event.event_id =
          id.empty() ? DigestEventId(Source::kGeneric, {type_name, event.recipient,
                                                        event.message_id, occurred_at, reason})
                     : detail::ProviderEventId(Source::kGeneric, id);
      outcome.events.push_back(std::move(event));
    }
    return outcome;
  } catch (const std::exception& e) {
    return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": " + e.what());
  }
}

}  // namespace followup::feedback
