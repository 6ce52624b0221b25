// What the provider parsers (postmark.cpp, ses.cpp, sendgrid.cpp, mailgun.cpp, generic.cpp) share:
// header lookup, bounded JSON reading, freshness, addresses. Internal to the feedback part.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "feedback/webhook.h"

namespace followup::feedback::detail {

using Json = nlohmann::json;

inline constexpr size_t kMaxJsonDepth = 64;
inline constexpr size_t kMaxFieldBytes = 2048;  // ids, addresses, message ids kept from a body

inline tl::unexpected<WebhookError> Reject(WebhookFailure failure, std::string message) {
  return tl::unexpected(WebhookError{failure, std::move(message)});
}

// The value of header `name` (ASCII case-insensitive), or nullptr.
const std::string* FindHeader(const WebhookRequest& request, std::string_view name);

// The body as JSON: kTooLarge over limits.max_body_bytes, kMalformed when it is not JSON or nests
// deeper than kMaxJsonDepth. `what` names the provider in messages ("postmark webhook").
tl::expected<Json, WebhookError> ReadJson(std::string_view body, const WebhookLimits& limits,
                                          std::string_view what);

// A member of an object; nullptr when `object` is no object or has no such member.
const Json* Member(const Json& object, std::string_view key);
// A string member (cut to kMaxFieldBytes); "" when absent, null or not a string.
std::string String(const Json& object, std::string_view key);
// A string or integer member as text ("42" for 42); "" otherwise.
std::string StringOrNumber(const Json& object, std::string_view key);

// An ISO 8601 / RFC 3339 time ("2019-11-05T16:33:54.9070259Z", "...-05:00"); `fallback` when it
// is empty or unreadable.
Instant TimeOr(std::string_view text, Instant fallback);

// Unix seconds in decimal, optionally with a fraction ("1521233195.375624"); nullopt otherwise.
std::optional<int64_t> UnixSeconds(std::string_view text);

// kStale unless |timestamp - now| <= max_age.
std::optional<WebhookError> CheckFresh(int64_t timestamp, Instant now, std::chrono::seconds max_age,
                                       std::string_view what);

// "SOURCE:" + the provider's event id when that fits in kMaxEventIdBytes and is printable ASCII;
// else DigestEventId(source, {id}). "" for an empty id.
std::string ProviderEventId(Source source, std::string_view id);

}  // namespace followup::feedback::detail
