// Postmark webhooks: Bounce, SpamComplaint, SubscriptionChange (and Delivery, Open, Click as
// ignored kinds), one JSON record per POST, authenticated by HTTP basic auth: Postmark signs
// nothing, it sends the user and password written into the webhook URL.
#include <array>
#include <utility>

#include "base/ascii.h"
#include "feedback/crypto.h"
#include "feedback/webhook.h"
#include "feedback/webhook_util.h"

namespace followup::feedback {
namespace {

using detail::Json;
using detail::Reject;

constexpr std::string_view kWhat = "postmark webhook";

// Postmark's bounce types (its Bounce API "bounce types" table), by name and by TypeCode.
struct BounceKind {
  std::string_view name;
  int code;
  EventType type;
};
constexpr std::array<BounceKind, 22> kBounceKinds = {{
    {"HardBounce", 1, EventType::kHardBounce},
    {"Transient", 2, EventType::kDelayed},  // "message delayed": still being retried
    {"Unsubscribe", 16, EventType::kUnsubscribe},
    {"Subscribe", 32, EventType::kOther},
    {"AutoResponder", 64, EventType::kOther},
    {"AddressChange", 128, EventType::kOther},
    {"DnsError", 256, EventType::kSoftBounce},
    {"SpamNotification", 512, EventType::kSoftBounce},  // a spam filter refused it: no complaint
    {"OpenRelayTest", 1024, EventType::kOther},
    {"Unknown", 2048, EventType::kOther},
    {"SoftBounce", 4096, EventType::kSoftBounce},
    {"VirusNotification", 8192, EventType::kOther},
    {"ChallengeVerification", 16384, EventType::kOther},
    {"BadEmailAddress", 100000, EventType::kHardBounce},
    {"SpamComplaint", 100001, EventType::kComplaint},
    {"ManuallyDeactivated", 100002, EventType::kHardBounce},
    {"Unconfirmed", 100003, EventType::kOther},
    {"Blocked", 100006, EventType::kSoftBounce},  // the receiving side blocked the sender
    {"SMTPApiError", 100007, EventType::kOther},
    {"InboundError", 100008, EventType::kOther},
    {"DMARCPolicy", 100009, EventType::kOther},  // the sender's domain, not the recipient
    {"TemplateRenderingFailed", 100010, EventType::kOther},
}};

EventType BounceType(std::string_view name, std::string_view code) {
  for (const BounceKind& kind : kBounceKinds) {
    if (name == kind.name) return kind.type;
  }
  for (const BounceKind& kind : kBounceKinds) {
    if (code == std::to_string(kind.code)) return kind.type;
  }
  return EventType::kOther;
}

std::optional<WebhookError> CheckBasicAuth(const WebhookRequest& request,
                                           const PostmarkOptions& options) {
  if (options.username.empty() && options.password.empty()) {
    return WebhookError{WebhookFailure::kUnauthenticated,
                        std::string(kWhat) + ": no credentials are configured"};
  }
  const std::string* header = detail::FindHeader(request, "Authorization");
  if (header == nullptr) {
    return WebhookError{WebhookFailure::kUnauthenticated,
                        std::string(kWhat) + ": no Authorization header"};
  }
  std::string_view value = *header;
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.size() < 6 || AsciiLower(value.substr(0, 6)) != "basic ") {
    return WebhookError{WebhookFailure::kUnauthenticated,
                        std::string(kWhat) + ": the Authorization header is not Basic"};
  }
  value.remove_prefix(6);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  auto given = Base64Decode(value);
  std::string expected = options.username + ":" + options.password;
  // Both sides through the HMAC first, so that the comparison's time says nothing about the length.
  std::string key = HmacSha256("postmark basic auth", expected);
  if (!given || !ConstantTimeEquals(HmacSha256(key, *given), HmacSha256(key, expected))) {
    return WebhookError{WebhookFailure::kUnauthenticated,
                        std::string(kWhat) + ": wrong user or password"};
  }
  return std::nullopt;
}

std::string Join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return std::string(a) + ": " + std::string(b);
}

}  // namespace

WebhookResult ParsePostmark(const WebhookRequest& request, const PostmarkOptions& options,
                            Instant now) {
  try {
    if (auto failure = CheckBasicAuth(request, options)) return tl::unexpected(*failure);
    auto json = detail::ReadJson(request.body, options.limits, kWhat);
    if (!json) return tl::unexpected(json.error());
    if (!json->is_object())
      return Reject(WebhookFailure::kMalformed, "postmark webhook: not an object");
    const Json& record = *json;
    std::string record_type = detail::String(record, "RecordType");
    if (record_type.empty()) {
      return Reject(WebhookFailure::kMalformed, "postmark webhook: no RecordType");
    }

    Event event;
    event.source = Source::kPostmark;
    event.provider_message_id = detail::String(record, "MessageID");
    WebhookOutcome outcome;
    if (record_type == "Bounce" || record_type == "SpamComplaint") {
      event.type = record_type == "SpamComplaint"
                       ? EventType::kComplaint
                       : BounceType(detail::String(record, "Type"),
                                    detail::StringOrNumber(record, "TypeCode"));
      event.recipient = NormalizeAddress(detail::String(record, "Email"));
      std::string id = detail::StringOrNumber(record, "ID");
      if (event.recipient.empty() || id.empty()) {
        return Reject(WebhookFailure::kMalformed,
                      "postmark webhook: a " + record_type + " without Email or ID");
      }
      event.event_id = detail::ProviderEventId(Source::kPostmark, id);
      event.occurred_at = detail::TimeOr(detail::String(record, "BouncedAt"), now);
      std::string details = detail::String(record, "Details");
      event.status = FindStatusCode(details);
      event.reason = CleanReason(Join(detail::String(record, "Description"), details));
    } else if (record_type == "SubscriptionChange") {
      event.recipient = NormalizeAddress(detail::String(record, "Recipient"));
      const Json* suppress = detail::Member(record, "SuppressSending");
      if (event.recipient.empty() || suppress == nullptr || !suppress->is_boolean()) {
        return Reject(
            WebhookFailure::kMalformed,
            "postmark webhook: a SubscriptionChange without Recipient or SuppressSending");
      }
      std::string why = detail::String(record, "SuppressionReason");
      if (!suppress->get<bool>()) {
        event.type = EventType::kResubscribed;
      } else if (why == "HardBounce") {
        event.type = EventType::kHardBounce;
      } else if (why == "SpamComplaint") {
        event.type = EventType::kComplaint;
      } else {
        event.type = EventType::kUnsubscribe;  // ManualSuppression: how an unsubscribe arrives
      }
      std::string changed_at = detail::String(record, "ChangedAt");
      event.occurred_at = detail::TimeOr(changed_at, now);
      event.event_id = DigestEventId(Source::kPostmark, {record_type, event.recipient, changed_at,
                                                         suppress->get<bool>() ? "true" : "false",
                                                         why, event.provider_message_id});
      std::string origin = detail::String(record, "Origin");
      event.reason =
          CleanReason(why.empty() ? (suppress->get<bool>() ? "suppressed" : "reactivated")
                                  : why + (origin.empty() ? "" : " by " + origin));
    } else if (record_type == "Delivery" || record_type == "Open" || record_type == "Click") {
      event.type = record_type == "Delivery" ? EventType::kDelivered : EventType::kOpened;
      event.recipient = NormalizeAddress(detail::String(record, "Recipient"));
      if (event.recipient.empty()) {
        return Reject(WebhookFailure::kMalformed,
                      "postmark webhook: a " + record_type + " without Recipient");
      }
      std::string at =
          detail::String(record, record_type == "Delivery" ? "DeliveredAt" : "ReceivedAt");
      event.occurred_at = detail::TimeOr(at, now);
      event.event_id = DigestEventId(Source::kPostmark,
                                     {record_type, event.recipient, at, event.provider_message_id});
    } else {
      return outcome;  // a record type of Postmark's that means nothing here
    }
    outcome.events.push_back(std::move(event));
    return outcome;
  } catch (const std::exception& e) {
    return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": " + e.what());
  }
}

}  // namespace followup::feedback
