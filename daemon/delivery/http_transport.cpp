// An HTTP mail API through libcurl's multi interface: one JSON POST per message, up to
// `connections` at a time over reused (keep-alive) connections.
//
// Shapes (api_kind):
//   postmark  POST https://api.postmarkapp.com/email, X-Postmark-Server-Token: TOKEN,
//             {"From","To","ReplyTo","Subject","TextBody","HtmlBody","MessageStream",
//              "Headers":[{"Name","Value"}],"Metadata":{"rule","customer"}}; the id is "MessageID".
//   generic   Authorization: Bearer TOKEN, {"from","to","reply_to","subject","text","html",
//             "headers":{name:value},"idempotency_key"}; the id is "id" (Resend's shape).
// Both send an `Idempotency-Key: KEY` header (message.idempotency_key). Of the common providers,
// Resend documents and honours it (24 hours); Postmark, SendGrid, Mailgun and Amazon SES ignore
// it, so after a timeout or a dropped connection (the request may have arrived) a retry through
// them can deliver twice.
//
// Classification: 2xx sent; 429, 5xx, 408, 409 (Resend: the same key is still in flight), 425
// temporary, with Retry-After (seconds or an HTTP date) in retry_after; 401/403 temporary too (a
// wrong or revoked token is the sender's problem, and the message must survive until it is
// fixed); other 4xx permanent (Postmark's ErrorCode 406, inactive recipient, is a hard bounce);
// timeouts, refused and dropped connections temporary with code 0; a redirect (3xx, not followed)
// temporary. The sender's failures (SendResult::sender_failure): 401 and 403, and an API that
// cannot be reached or trusted (name, connect, TLS).
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/ascii.h"
#include "delivery/mime.h"
#include "delivery/transport_curl.h"

namespace followup::delivery {
namespace {

using nlohmann::json;

constexpr size_t kMaxResponse = 64 * 1024;

std::string Trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Retry-After: delta-seconds or an HTTP-date (IMF-fixdate, RFC 850, asctime; curl_getdate reads
// all three). nullopt when it is neither.
std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& value) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (value.size() > 9) return std::chrono::seconds(999999999);
    return std::chrono::seconds(std::stoll(value));
  }
  time_t when = curl_getdate(value.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

std::string Truncated(std::string_view s, size_t max) {
  std::string out = SanitizeHeaderText(s.substr(0, max));
  if (s.size() > max) out += "...";
  return out;
}

class HttpSlot : public CurlSlot {
 public:
  explicit HttpSlot(const TransportOptions& options) : options_(options) {
    postmark_ = options.api_kind == "postmark";
    SetCommonOptions(easy_, options);
    curl_easy_setopt(easy_, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &HttpSlot::Write);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &HttpSlot::Header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    // One API call is one step: connect (CONNECTTIMEOUT) and then the whole request/response.
    long step = static_cast<long>(std::max<int64_t>(1, options.timeout.count()));
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT, step * 2);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "followup/0.1");
  }
  ~HttpSlot() override {
    if (headers_) curl_slist_free_all(headers_);
  }

  std::optional<SendResult> Start(const Message& message) override {
    body_ = postmark_ ? PostmarkBody(message) : GenericBody(message);
    response_.clear();
    status_ = 0;
    retry_after_.clear();
    error_[0] = '\0';
    if (headers_) curl_slist_free_all(headers_);
    headers_ = nullptr;
    std::vector<std::string> lines = {"Content-Type: application/json", "Accept: application/json",
                                      "Expect:"};  // no 100-continue round trip
    std::string token = StripControls(options_.api_token);
    if (!token.empty()) {
      lines.push_back(postmark_ ? "X-Postmark-Server-Token: " + token
                                : "Authorization: Bearer " + token);
    }
    std::string key = StripControls(message.idempotency_key);
    if (!key.empty()) lines.push_back("Idempotency-Key: " + key);
    for (const auto& line : lines) {
      curl_slist* next = curl_slist_append(headers_, line.c_str());
      if (!next) {
        SendResult r;
        r.reply = "http setup: out of memory";
        return r;
      }
      headers_ = next;
    }
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.c_str());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
    return std::nullopt;
  }

  SendResult Finish(CURLcode code) override {
    SendResult r;
    if (code != CURLE_OK) {
      r.outcome = Outcome::kTemporary;
      std::string what;
      if (code == CURLE_OPERATION_TIMEDOUT) what = "timed out; ";
      if (code == CURLE_GOT_NOTHING || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR ||
          code == CURLE_PARTIAL_FILE) {
        what = "connection dropped; ";
      }
      std::string op = code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST
                           ? "http connect: "
                           : "http POST: ";
      r.reply = op + what + DescribeCurlError(code, error_);
      r.sender_failure = IsSessionFailure(code);
      return r;
    }
    r.code = status_;
    json parsed = json::parse(response_, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) parsed = json::object();
    if (status_ >= 200 && status_ < 300) {
      r.outcome = Outcome::kSent;
      for (const char* key : {"MessageID", "id", "messageId", "message_id"}) {
        auto it = parsed.find(key);
        if (it == parsed.end()) continue;
        r.provider_message_id = it->is_string() ? it->get<std::string>() : it->dump();
        break;
      }
      r.reply = Truncated(response_, 300);
      return r;
    }
    std::string words;
    for (const char* key : {"Message", "message", "error"}) {
      auto it = parsed.find(key);
      if (it == parsed.end()) continue;
      if (it->is_string()) {
        words = it->get<std::string>();
      } else if (it->is_object() && it->contains("message") && (*it)["message"].is_string()) {
        words = (*it)["message"].get<std::string>();
      }
      if (!words.empty()) break;
    }
    if (words.empty()) words = response_;
    r.reply = "http POST: " + std::to_string(status_) + " " + Truncated(words, 300);
    bool temporary = status_ == 429 || status_ >= 500 || status_ == 408 || status_ == 409 ||
                     status_ == 425 || status_ == 401 || status_ == 403 || status_ < 200 ||
                     (status_ >= 300 && status_ < 400);
    r.outcome = temporary ? Outcome::kTemporary : Outcome::kPermanent;
    if (temporary) r.retry_after = ParseRetryAfter(retry_after_);
    r.sender_failure = status_ == 401 || status_ == 403;
    if (!temporary && postmark_) {
      auto it = parsed.find("ErrorCode");
      if (it != parsed.end() && it->is_number_integer() && it->get<int>() == 406) {
        r.hard_bounce = true;
      }
    }
    return r;
  }

 private:
  std::string PostmarkBody(const Message& m) const {
    json body = {{"From", FormatAddressUtf8(m.from)},
                 {"To", FormatAddressUtf8(m.to)},
                 {"Subject", SanitizeHeaderText(m.subject)},
                 {"TextBody", m.text},
                 {"MessageStream", options_.message_stream}};
    if (m.reply_to) body["ReplyTo"] = FormatAddressUtf8(*m.reply_to);
    if (!m.html.empty()) body["HtmlBody"] = m.html;
    json headers = json::array();
    for (const auto& [name, value] : UnsubscribeHeaders(m)) {
      headers.push_back({{"Name", name}, {"Value", value}});
    }
    body["Headers"] = headers;
    json metadata = json::object();
    if (!m.rule.empty()) metadata["rule"] = SanitizeHeaderText(m.rule);
    if (!m.customer.empty()) metadata["customer"] = SanitizeHeaderText(m.customer);
    body["Metadata"] = metadata;
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  std::string GenericBody(const Message& m) const {
    json body = {{"from", FormatAddressUtf8(m.from)},
                 {"to", FormatAddressUtf8(m.to)},
                 {"subject", SanitizeHeaderText(m.subject)},
                 {"text", m.text}};
    if (m.reply_to) body["reply_to"] = FormatAddressUtf8(*m.reply_to);
    if (!m.html.empty()) body["html"] = m.html;
    json headers = json::object();
    for (const auto& [name, value] : UnsubscribeHeaders(m)) headers[name] = value;
    body["headers"] = headers;
    if (!m.idempotency_key.empty()) body["idempotency_key"] = m.idempotency_key;
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  static std::vector<std::pair<std::string, std::string>> UnsubscribeHeaders(const Message& m) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string url = SanitizeHeaderUrl(m.unsubscribe_url);
    if (url.empty()) return out;
    out.emplace_back("List-Unsubscribe", "<" + url + ">");
    if (url.starts_with("https://") || url.starts_with("http://")) {
      out.emplace_back("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    }
    return out;
  }

  static size_t Write(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<HttpSlot*>(self_ptr);
    size_t n = size * count;
    size_t room = kMaxResponse - std::min(kMaxResponse, self->response_.size());
    self->response_.append(data, std::min(n, room));
    return n;
  }

  static size_t Header(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<HttpSlot*>(self_ptr);
    std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {  // a status line: a new response (e.g. after 100 Continue)
      self->retry_after_.clear();
      size_t space = line.find(' ');
      if (space != std::string_view::npos && line.size() >= space + 4) {
        std::string_view digits = line.substr(space + 1, 3);
        if (std::all_of(digits.begin(), digits.end(),
                        [](unsigned char c) { return std::isdigit(c); })) {
          self->status_ = std::stoi(std::string(digits));
        }
      }
    } else {
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        const std::string name = AsciiLower(line.substr(0, colon));
        if (name == "retry-after") self->retry_after_ = Trimmed(line.substr(colon + 1));
      }
    }
    return size * count;
  }

  const TransportOptions& options_;
  bool postmark_ = true;
  std::string body_;
  curl_slist* headers_ = nullptr;
  // Per transfer (cleared by Start).
  std::string response_;
  int status_ = 0;
  std::string retry_after_;
};

}  // namespace

Result<std::unique_ptr<Transport>> MakeHttpTransport(const TransportOptions& options) {
  if (options.api_kind != "postmark" && options.api_kind != "generic") {
    return InvalidInput("delivery.api: '" + options.api_kind + "' is not postmark or generic");
  }
  EnsureCurlGlobalInit();
  auto transport = std::make_unique<CurlTransport<HttpSlot>>(options, "http", 1);
  if (!transport->ok()) return RuntimeFailure("http setup: curl_multi_init failed");
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace followup::delivery
