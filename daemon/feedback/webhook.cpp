#include "feedback/webhook.h"

#include <charconv>
#include <cstdlib>

#include "base/ascii.h"
#include "feedback/webhook_util.h"

namespace followup::feedback {

int HttpStatusFor(WebhookFailure failure) {
  switch (failure) {
    case WebhookFailure::kMalformed:
      return 400;
    case WebhookFailure::kUnauthenticated:
    case WebhookFailure::kStale:
      return 401;
    case WebhookFailure::kForbidden:
      return 403;
    case WebhookFailure::kTooLarge:
      return 413;
    case WebhookFailure::kUnavailable:
      return 503;
  }
  return 400;
}

namespace detail {

const std::string* FindHeader(const WebhookRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key.size() == name.size() && AsciiLower(key) == AsciiLower(name)) return &value;
  }
  return nullptr;
}

tl::expected<Json, WebhookError> ReadJson(std::string_view body, const WebhookLimits& limits,
                                          std::string_view what) {
  if (body.size() > limits.max_body_bytes) {
    return Reject(WebhookFailure::kTooLarge, std::string(what) + ": the body is larger than " +
                                                 std::to_string(limits.max_body_bytes) + " bytes");
  }
  // Nesting is checked before parsing, so that no parser or destructor recurses deeply.
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return Reject(WebhookFailure::kMalformed, std::string(what) + ": JSON nested deeper than " +
                                                      std::to_string(kMaxJsonDepth) + " levels");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  Json json = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return Reject(WebhookFailure::kMalformed, std::string(what) + ": the body is not JSON");
  }
  return json;
}

const Json* Member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string String(const Json& object, std::string_view key) {
  const Json* value = Member(object, key);
  if (value == nullptr || !value->is_string()) return "";
  const auto& s = value->get_ref<const std::string&>();
  return s.substr(0, kMaxFieldBytes);
}

std::string StringOrNumber(const Json& object, std::string_view key) {
  const Json* value = Member(object, key);
  if (value == nullptr) return "";
  if (value->is_string()) return value->get_ref<const std::string&>().substr(0, kMaxFieldBytes);
  if (value->is_number_unsigned()) return std::to_string(value->get<uint64_t>());
  if (value->is_number_integer()) return std::to_string(value->get<int64_t>());
  return "";
}

Instant TimeOr(std::string_view text, Instant fallback) {
  if (text.empty() || text.size() > 64) return fallback;
  auto t = ParseInstant(text, nullptr);
  return t ? *t : fallback;
}

std::optional<int64_t> UnixSeconds(std::string_view text) {
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  if (dot != std::string_view::npos) {
    std::string_view fraction = text.substr(dot + 1);
    if (fraction.empty() || fraction.size() > 9) return std::nullopt;
    for (char c : fraction) {
      if (c < '0' || c > '9') return std::nullopt;
    }
  }
  if (whole.empty() || whole.size() > 12) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), value);
  if (ec != std::errc() || end != whole.data() + whole.size() || value < 0) return std::nullopt;
  return value;
}

std::optional<WebhookError> CheckFresh(int64_t timestamp, Instant now, std::chrono::seconds max_age,
                                       std::string_view what) {
  int64_t skew = timestamp - now.time_since_epoch().count();
  if (std::llabs(skew) <= max_age.count()) return std::nullopt;
  return WebhookError{WebhookFailure::kStale, std::string(what) + ": the signed timestamp is " +
                                                  std::to_string(std::llabs(skew)) + " s " +
                                                  (skew < 0 ? "old" : "in the future") +
                                                  ", more than the " +
                                                  std::to_string(max_age.count()) + " s allowed"};
}

std::string ProviderEventId(Source source, std::string_view id) {
  if (id.empty()) return "";
  std::string out(SourceName(source));
  out += ':';
  bool printable = true;
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
      printable = false;
    }
  }
  if (!printable || out.size() + id.size() > kMaxEventIdBytes) return DigestEventId(source, {id});
  return out + std::string(id);
}

}  // namespace detail
}  // namespace followup::feedback
