#include <gtest/gtest.h>

#include "feedback/crypto.h"
#include "feedback/test_keys.h"
#include "feedback/webhook.h"

namespace followup::feedback {
namespace {

using testing::At;
using testing::ReadFixture;

const Instant kNow = At("2025-02-13T10:00:30Z");
const std::string kTimestamp = "1739440825";  // 2025-02-13T10:00:25Z

class SendGridTest : public ::testing::Test {
 protected:
  testing::EcKey key_;

  SendGridOptions Options() const {
    SendGridOptions options;
    options.public_key = Base64Encode(key_.PublicDer());
    return options;
  }

  WebhookRequest Request(const std::string& body, const std::string& timestamp = kTimestamp) {
    WebhookRequest request;
    request.headers["X-Twilio-Email-Event-Webhook-Timestamp"] = timestamp;
    request.headers["X-Twilio-Email-Event-Webhook-Signature"] =
        Base64Encode(key_.SignSha256(timestamp + body));
    request.body = body;
    return request;
  }
};

TEST_F(SendGridTest, EventsOfEveryKind) {
  std::string body = ReadFixture("sendgrid/events.json");
  auto result = ParseSendGrid(Request(body), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  const auto& events = result->events;
  ASSERT_EQ(events.size(), 8u);

  EXPECT_EQ(events[0].type, EventType::kHardBounce);
  EXPECT_EQ(events[0].recipient, "nobody@example.com");
  EXPECT_EQ(events[0].event_id, "sendgrid:NmQ4ZmMxYjYtYjBhZS00ZmU1LTk2YzEtMzA2ZTY4YjMxNDgx");
  EXPECT_EQ(events[0].message_id, "9b1f0c6e4d3a2b18a7f6e5d4c3b2a190@shop.example");
  EXPECT_EQ(events[0].provider_message_id, "14c5d75ce93.dfd.64b469");
  EXPECT_EQ(events[0].status, "5.1.1");
  EXPECT_EQ(events[0].occurred_at, At("2025-02-13T10:00:06Z"));
  EXPECT_EQ(events[0].reason,
            "550 5.1.1 The email account that you tried to reach does not exist.");

  EXPECT_EQ(events[1].type, EventType::kSoftBounce);  // type: blocked
  EXPECT_EQ(events[2].type, EventType::kComplaint);   // spamreport
  EXPECT_EQ(events[3].type, EventType::kUnsubscribe);
  EXPECT_EQ(events[4].type, EventType::kUnsubscribe);  // group_unsubscribe
  EXPECT_EQ(events[5].type, EventType::kHardBounce);   // dropped: Bounced Address
  EXPECT_EQ(events[6].type, EventType::kDelivered);
  EXPECT_EQ(events[7].type, EventType::kOpened);
}

TEST_F(SendGridTest, DuplicateDeliveryGivesTheSameEventIds) {
  std::string body = ReadFixture("sendgrid/events.json");
  auto first = ParseSendGrid(Request(body), Options(), kNow);
  auto second = ParseSendGrid(Request(body, "1739440830"), Options(), kNow);
  ASSERT_TRUE(first && second);
  for (size_t i = 0; i < first->events.size(); ++i) {
    EXPECT_EQ(first->events[i].event_id, second->events[i].event_id);
  }
}

TEST_F(SendGridTest, ABadSignatureIs401) {
  std::string body = ReadFixture("sendgrid/events.json");
  WebhookRequest request = Request(body);
  std::string tampered = body;
  tampered.replace(tampered.find("nobody@example.com"), 18, "victim@example.com");
  request.body = tampered;
  auto result = ParseSendGrid(request, Options(), kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kUnauthenticated);
  EXPECT_EQ(result.error().message, "sendgrid webhook: the signature does not match");

  // The timestamp is signed too.
  WebhookRequest moved = Request(body);
  moved.headers["X-Twilio-Email-Event-Webhook-Timestamp"] = "1739440826";
  EXPECT_EQ(ParseSendGrid(moved, Options(), kNow).error().failure,
            WebhookFailure::kUnauthenticated);

  WebhookRequest unsigned_request;
  unsigned_request.body = body;
  EXPECT_EQ(ParseSendGrid(unsigned_request, Options(), kNow).error().failure,
            WebhookFailure::kUnauthenticated);
  EXPECT_EQ(ParseSendGrid(Request(body), SendGridOptions{}, kNow).error().failure,
            WebhookFailure::kUnauthenticated);
}

TEST_F(SendGridTest, AStaleTimestampIsRefused) {
  std::string body = ReadFixture("sendgrid/events.json");
  auto result = ParseSendGrid(Request(body, "1739440000"), Options(), kNow);  // 14 minutes old
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kStale);
  EXPECT_EQ(HttpStatusFor(result.error().failure), 401);
  // From the future, beyond the window, too.
  EXPECT_EQ(ParseSendGrid(Request(body, "1739441500"), Options(), kNow).error().failure,
            WebhookFailure::kStale);
}

TEST_F(SendGridTest, SendGridsOwnExampleChecksOutAndIsThenReadAsItsShape) {
  SendGridOptions options;
  options.public_key =
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQG"
      "hHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
  WebhookRequest request;
  request.headers["X-Twilio-Email-Event-Webhook-Timestamp"] = "1588788367";
  request.headers["X-Twilio-Email-Event-Webhook-Signature"] =
      "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2"
      "j/0=";
  std::string body =
      R"({"category":"example_payload","event":"test_event","message_id":"message_id"})";
  request.body = body;
  auto result = ParseSendGrid(request, options, Instant{std::chrono::seconds{1588788370}});
  ASSERT_FALSE(result);
  // Past the signature: the example is one object, not the array of events the webhook posts.
  EXPECT_EQ(result.error().failure, WebhookFailure::kMalformed);
  EXPECT_EQ(CheckSendGridKey(options.public_key), "");
}

TEST_F(SendGridTest, CheckSendGridKey) {
  EXPECT_EQ(CheckSendGridKey(Base64Encode(key_.PublicDer())), "");
  EXPECT_EQ(CheckSendGridKey("not base64!"), "the SendGrid verification key is not base64");
  EXPECT_EQ(CheckSendGridKey(Base64Encode("junk")),
            "the SendGrid verification key: the public key is not DER SubjectPublicKeyInfo");
}

TEST_F(SendGridTest, MalformedAndOversizedBodies) {
  for (std::string body : {"{}", "not json", R"([{"event": "bounce"}])",
                           R"([{"event": "bounce", "email": "a@b"}])", "[1]"}) {
    auto result = ParseSendGrid(Request(body), Options(), kNow);
    ASSERT_FALSE(result) << body;
    EXPECT_EQ(result.error().failure, WebhookFailure::kMalformed) << body;
  }
  SendGridOptions options = Options();
  options.limits.max_events = 3;
  EXPECT_EQ(
      ParseSendGrid(Request(ReadFixture("sendgrid/events.json")), options, kNow).error().failure,
      WebhookFailure::kTooLarge);
  options = Options();
  options.limits.max_body_bytes = 64;
  EXPECT_EQ(
      ParseSendGrid(Request(ReadFixture("sendgrid/events.json")), options, kNow).error().failure,
      WebhookFailure::kTooLarge);
}

}  // namespace
}  // namespace followup::feedback
