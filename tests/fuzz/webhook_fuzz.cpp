// Fuzzes the provider webhooks (feedback/webhook.h). The first byte picks the provider ('p'
// Postmark, 's' SES, 'g' SendGrid, 'm' Mailgun, anything else the generic one); the rest is the
// body. Each body is tried twice: as it came (so unsigned, refused), and signed the way that
// provider signs, so that the parsing behind the signature check is reached too. For SES the rest
// is the SES notification, which is wrapped into a signed SNS message; for Mailgun, a body that is
// a JSON object gets a valid "signature" member.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "feedback/crypto.h"
#include "feedback/test_keys.h"
#include "feedback/webhook.h"
#include "feedback_checks.h"

namespace followup::fuzz {
namespace {

using feedback::WebhookRequest;
using feedback::WebhookResult;
using Json = nlohmann::json;

constexpr int64_t kNowSeconds = 1782820800;  // 2026-06-30T12:00:00Z
const Instant kNow{std::chrono::seconds{kNowSeconds}};
const std::string kTopic = "arn:aws:sns:us-east-1:123456789012:shop-ses-feedback";

void CheckOutcome(const WebhookResult& result, size_t max_events) {
  if (!result) {
    const int status = feedback::HttpStatusFor(result.error().failure);
    Check(status == 400 || status == 401 || status == 403 || status == 413 || status == 503,
          "a refusal with an odd HTTP status", result.error().message);
    Check(!result.error().message.empty(), "a refusal without a reason");
    return;
  }
  Check(result->events.size() <= max_events, "more events than the limit");
  for (const auto& e : result->events) CheckEvent(e);
}

feedback::WebhookLimits Limits() {
  feedback::WebhookLimits limits;
  limits.max_body_bytes = 1 << 16;  // small limits, so that inputs can reach them
  limits.max_events = 20;
  return limits;
}

void Postmark(const std::string& body) {
  feedback::PostmarkOptions options{.username = "hook", .password = "secret", .limits = Limits()};
  WebhookRequest request{.headers = {}, .body = body};
  CheckOutcome(feedback::ParsePostmark(request, options, kNow), options.limits.max_events);
  request.headers["Authorization"] = "Basic " + feedback::Base64Encode("hook:secret");
  CheckOutcome(feedback::ParsePostmark(request, options, kNow), options.limits.max_events);
}

void Ses(const std::string& message) {
  static const feedback::testing::SigningCertificate cert(
      *ParseInstant("2026-01-01T00:00:00Z", nullptr),
      *ParseInstant("2027-01-01T00:00:00Z", nullptr));
  feedback::SesOptions options;
  options.topic_arns = {kTopic};
  options.fetch_certificate = [](const std::string&) -> Result<std::string> { return cert.pem; };
  options.limits.max_body_bytes = 1 << 17;
  options.limits.max_events = 20;
  Json sns = {{"Type", "Notification"},
              {"MessageId", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"},
              {"TopicArn", kTopic},
              {"Message", message},
              {"Timestamp", "2026-06-30T11:59:58.125Z"}};
  std::string to_sign;
  for (const char* name : {"Message", "MessageId", "Timestamp", "TopicArn", "Type"})
    to_sign += std::string(name) + "\n" + sns[name].get<std::string>() + "\n";
  sns["SignatureVersion"] = "2";
  sns["SigningCertURL"] =
      "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem";
  sns["Signature"] =
      feedback::Base64Encode(feedback::testing::Sign(cert.key.get(), EVP_sha256(), to_sign));
  // As it came (not SNS at all, mostly), then as a signed notification.
  CheckOutcome(feedback::ParseSes(WebhookRequest{.headers = {}, .body = message}, options, kNow),
               options.limits.max_events);
  const std::string body = sns.dump(-1, ' ', false, Json::error_handler_t::replace);
  CheckOutcome(feedback::ParseSes(WebhookRequest{.headers = {}, .body = body}, options, kNow),
               options.limits.max_events);
}

void SendGrid(const std::string& body) {
  static const feedback::testing::EcKey key;
  feedback::SendGridOptions options{.public_key = feedback::Base64Encode(key.PublicDer()),
                                    .limits = Limits()};
  WebhookRequest request{.headers = {}, .body = body};
  CheckOutcome(feedback::ParseSendGrid(request, options, kNow), options.limits.max_events);
  const std::string timestamp = std::to_string(kNowSeconds);
  request.headers["X-Twilio-Email-Event-Webhook-Timestamp"] = timestamp;
  request.headers["X-Twilio-Email-Event-Webhook-Signature"] =
      feedback::Base64Encode(key.SignSha256(timestamp + body));
  CheckOutcome(feedback::ParseSendGrid(request, options, kNow), options.limits.max_events);
}

void Mailgun(const std::string& body) {
  feedback::MailgunOptions options{.signing_key = "mailgun-fuzz-key", .limits = Limits()};
  CheckOutcome(feedback::ParseMailgun(WebhookRequest{.headers = {}, .body = body}, options, kNow),
               options.limits.max_events);
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return;
  const std::string timestamp = std::to_string(kNowSeconds - 3);
  const std::string token = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0";
  json["signature"] = {{"timestamp", timestamp},
                       {"token", token},
                       {"signature", feedback::HexEncode(feedback::HmacSha256(options.signing_key,
                                                                              timestamp + token))}};
  const std::string signed_body = json.dump(-1, ' ', false, Json::error_handler_t::replace);
  CheckOutcome(
      feedback::ParseMailgun(WebhookRequest{.headers = {}, .body = signed_body}, options, kNow),
      options.limits.max_events);
}

void Generic(const std::string& body) {
  feedback::GenericOptions options{.secret = "generic-fuzz-secret", .limits = Limits()};
  WebhookRequest request{.headers = {}, .body = body};
  CheckOutcome(feedback::ParseGeneric(request, options, kNow), options.limits.max_events);
  request.headers[std::string(feedback::kGenericTimestampHeader)] = std::to_string(kNowSeconds);
  request.headers[std::string(feedback::kGenericSignatureHeader)] =
      feedback::GenericSignature(options.secret, kNowSeconds, body);
  CheckOutcome(feedback::ParseGeneric(request, options, kNow), options.limits.max_events);
}

}  // namespace
}  // namespace followup::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup::fuzz;
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 'p':
      Postmark(body);
      break;
    case 's':
      Ses(body);
      break;
    case 'g':
      SendGrid(body);
      break;
    case 'm':
      Mailgun(body);
      break;
    default:
      Generic(body);
      break;
  }
  return 0;
}
