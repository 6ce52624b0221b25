// Mailgun webhooks (the JSON kind): {"signature": {"timestamp", "token", "signature"},
// "event-data": {...}}. The signature is the hex HMAC-SHA256 of timestamp followed by token under
// the domain's HTTP webhook signing key. One event per request.
#include <utility>

#include "feedback/crypto.h"
#include "feedback/webhook.h"
#include "feedback/webhook_util.h"

namespace followup::feedback {
namespace {

using detail::Json;
using detail::Reject;

constexpr std::string_view kWhat = "mailgun webhook";

EventType TypeOf(std::string_view event, std::string_view severity) {
  if (event == "failed") {
    return severity == "permanent" ? EventType::kHardBounce : EventType::kSoftBounce;
  }
  if (event == "complained") return EventType::kComplaint;
  if (event == "unsubscribed") return EventType::kUnsubscribe;
  if (event == "delivered" || event == "accepted") return EventType::kDelivered;
  if (event == "opened" || event == "clicked") return EventType::kOpened;
  return EventType::kOther;
}

}  // namespace

WebhookResult ParseMailgun(const WebhookRequest& request, const MailgunOptions& options,
                           Instant now) {
  try {
    if (options.signing_key.empty()) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": no signing key is configured");
    }
    auto json = detail::ReadJson(request.body, options.limits, kWhat);
    if (!json) return tl::unexpected(json.error());
    const Json* signature = detail::Member(*json, "signature");
    if (signature == nullptr) {
      return Reject(WebhookFailure::kUnauthenticated, std::string(kWhat) + ": no signature");
    }
    std::string timestamp = detail::StringOrNumber(*signature, "timestamp");
    std::string token = detail::String(*signature, "token");
    auto given = HexDecode(detail::String(*signature, "signature"));
    if (timestamp.empty() || token.empty() || !given) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": the signature lacks timestamp, token or hex signature");
    }
    if (!ConstantTimeEquals(*given, HmacSha256(options.signing_key, timestamp + token))) {
      return Reject(WebhookFailure::kUnauthenticated,
                    std::string(kWhat) + ": the signature does not match");
    }
    auto seconds = detail::UnixSeconds(timestamp);
    if (!seconds) {
      return Reject(WebhookFailure::kMalformed,
                    std::string(kWhat) + ": the timestamp is unreadable");
    }
    if (auto stale = detail::CheckFresh(*seconds, now, options.limits.max_age, kWhat)) {
      return tl::unexpected(*stale);
    }

    const Json* data = detail::Member(*json, "event-data");
    if (data == nullptr || !data->is_object()) {
      return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": no event-data");
    }
    Event event;
    event.source = Source::kMailgun;
    std::string name = detail::String(*data, "event");
    std::string id = detail::String(*data, "id");
    event.recipient = NormalizeAddress(detail::String(*data, "recipient"));
    if (name.empty() || id.empty() || event.recipient.empty()) {
      return Reject(WebhookFailure::kMalformed,
                    std::string(kWhat) + ": event-data without event, id or recipient");
    }
    event.type = TypeOf(name, detail::String(*data, "severity"));
    event.event_id = detail::ProviderEventId(Source::kMailgun, id);
    if (const Json* message = detail::Member(*data, "message")) {
      if (const Json* headers = detail::Member(*message, "headers")) {
        event.message_id = StripAngles(detail::String(*headers, "message-id"));
      }
    }
    // event-data.timestamp is a number of seconds with a fraction.
    if (const Json* at = detail::Member(*data, "timestamp"); at && at->is_number()) {
      double value = at->get<double>();
      event.occurred_at = value >= 0 && value < 1e11
                              ? Instant{std::chrono::seconds{static_cast<int64_t>(value)}}
                              : now;
    } else {
      event.occurred_at = now;
    }
    std::string reason;
    if (const Json* status = detail::Member(*data, "delivery-status")) {
      reason = detail::String(*status, "message");
      std::string description = detail::String(*status, "description");
      if (reason.empty() || (!description.empty() && description != reason)) {
        reason = reason.empty() ? description : reason + " " + description;
      }
      event.status = FindStatusCode(detail::String(*status, "enhanced-code"));
      if (event.status.empty()) event.status = FindStatusCode(reason);
    }
    if (reason.empty()) reason = detail::String(*data, "reason");
    event.reason = CleanReason(reason);
    WebhookOutcome outcome;
    outcome.events.push_back(std::move(event));
    return outcome;
  } catch (const std::exception& e) {
    return Reject(WebhookFailure::kMalformed, std::string(kWhat) + ": " + e.what());
  }
}

}  // namespace followup::feedback
