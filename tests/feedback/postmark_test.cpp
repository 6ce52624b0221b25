#include <gtest/gtest.h>

#include "feedback/crypto.h"
#include "feedback/test_keys.h"
#include "feedback/webhook.h"

namespace followup::feedback {
namespace {

using testing::At;
using testing::ReadFixture;

const Instant kNow = At("2025-02-13T10:00:30Z");

PostmarkOptions Options() {
  PostmarkOptions options;
  options.username = "postmark";
  options.password = "s3cret-webhook-password";
  return options;
}

WebhookRequest Request(const std::string& body, const std::string& user = "postmark",
                       const std::string& password = "s3cret-webhook-password") {
  WebhookRequest request;
  request.headers["Content-Type"] = "application/json";
  request.headers["authorization"] = "Basic " + Base64Encode(user + ":" + password);
  request.body = body;
  return request;
}

TEST(PostmarkTest, HardBounce) {
  std::string body = ReadFixture("postmark/bounce_hard.json");
  auto result = ParsePostmark(Request(body), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->events.size(), 1u);
  const Event& e = result->events[0];
  EXPECT_EQ(e.source, Source::kPostmark);
  EXPECT_EQ(e.type, EventType::kHardBounce);
  EXPECT_EQ(e.recipient, "nobody@example.com");
  EXPECT_EQ(e.provider_message_id, "883953f4-6105-42a2-a16a-77a8eac79483");
  EXPECT_EQ(e.event_id, "postmark:4323372036854775807");
  EXPECT_EQ(e.occurred_at, At("2025-02-13T10:00:06Z"));
  EXPECT_EQ(e.status, "5.1.1");
  EXPECT_EQ(e.reason,
            "The server was unable to deliver your message (ex: unknown user, mailbox not "
            "found).: smtp;550 5.1.1 The email account that you tried to reach does not exist.");
  EXPECT_TRUE(result->subscribe_url.empty());
}

TEST(PostmarkTest, SoftBounce) {
  auto result = ParsePostmark(Request(ReadFixture("postmark/bounce_soft.json")), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->events.size(), 1u);
  EXPECT_EQ(result->events[0].type, EventType::kSoftBounce);
  EXPECT_EQ(result->events[0].status, "4.2.2");
  EXPECT_EQ(result->events[0].occurred_at, At("2025-02-13T16:30:00Z"));
}

TEST(PostmarkTest, SpamComplaint) {
  auto result =
      ParsePostmark(Request(ReadFixture("postmark/spam_complaint.json")), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->events.size(), 1u);
  EXPECT_EQ(result->events[0].type, EventType::kComplaint);
  EXPECT_EQ(result->events[0].recipient, "complainer@example.com");
  EXPECT_EQ(result->events[0].event_id, "postmark:42");
}

TEST(PostmarkTest, SubscriptionChangeIsAnUnsubscribeAndItsReactivationIsIgnored) {
  auto result =
      ParsePostmark(Request(ReadFixture("postmark/subscription_change.json")), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->events.size(), 1u);
  EXPECT_EQ(result->events[0].type, EventType::kUnsubscribe);
  EXPECT_EQ(result->events[0].recipient, "leaving@example.com");
  EXPECT_EQ(result->events[0].reason, "ManualSuppression by Recipient");
  EXPECT_EQ(result->events[0].occurred_at, At("2025-02-13T12:53:34Z"));
  EXPECT_TRUE(result->events[0].event_id.starts_with("postmark:"));

  auto back = ParsePostmark(Request(ReadFixture("postmark/subscription_reactivation.json")),
                            Options(), kNow);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->events.size(), 1u);
  EXPECT_EQ(back->events[0].type, EventType::kResubscribed);
  EXPECT_FALSE(IsActionable(back->events[0].type));
  EXPECT_NE(back->events[0].event_id, result->events[0].event_id);
}

TEST(PostmarkTest, SuppressionsForBouncesAndComplaintsKeepTheirMeaning) {
  std::string body = ReadFixture("postmark/subscription_change.json");
  std::string hard = body;
  hard.replace(hard.find("ManualSuppression"), 17, "HardBounce");
  auto result = ParsePostmark(Request(hard), Options(), kNow);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->events[0].type, EventType::kHardBounce);
  std::string spam = body;
  spam.replace(spam.find("ManualSuppression"), 17, "SpamComplaint");
  result = ParsePostmark(Request(spam), Options(), kNow);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->events[0].type, EventType::kComplaint);
}

TEST(PostmarkTest, DeliveryIsAnIgnoredKind) {
  auto result = ParsePostmark(Request(ReadFixture("postmark/delivery.json")), Options(), kNow);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->events.size(), 1u);
  EXPECT_EQ(result->events[0].type, EventType::kDelivered);
}

// Found by fuzz_webhook: a Delivery whose Recipient was misspelt became an event naming nobody,
// which only a complaint may be.
TEST(PostmarkTest, ADeliveryWithoutItsRecipientIsMalformed) {
  std::string body = ReadFixture("postmark/delivery.json");
  body.replace(body.find("\"Recipient\""), 11, "\"Recipient_\"");
  auto result = ParsePostmark(Request(body), Options(), kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kMalformed);
  EXPECT_EQ(result.error().message, "postmark webhook: a Delivery without Recipient");
}

TEST(PostmarkTest, TypeCodesAreMappedWhenTheNameIsMissing) {
  std::string body = ReadFixture("postmark/bounce_hard.json");
  body.replace(body.find("\"Type\": \"HardBounce\","), 21, "");
  body.replace(body.find("\"TypeCode\": 1,"), 14, "\"TypeCode\": 100006,");  // Blocked
  auto result = ParsePostmark(Request(body), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->events[0].type, EventType::kSoftBounce);
}

TEST(PostmarkTest, DuplicateDeliveryGivesTheSameEventId) {
  std::string body = ReadFixture("postmark/subscription_change.json");
  auto first = ParsePostmark(Request(body), Options(), kNow);
  auto second = ParsePostmark(Request(body), Options(), kNow + std::chrono::hours(1));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->events[0].event_id, second->events[0].event_id);
}

TEST(PostmarkTest, WrongOrMissingCredentialsAre401) {
  std::string body = ReadFixture("postmark/bounce_hard.json");
  auto wrong = ParsePostmark(Request(body, "postmark", "guess"), Options(), kNow);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().failure, WebhookFailure::kUnauthenticated);
  EXPECT_EQ(HttpStatusFor(wrong.error().failure), 401);
  EXPECT_EQ(wrong.error().message, "postmark webhook: wrong user or password");
  EXPECT_EQ(wrong.error().message.find("s3cret"), std::string::npos);

  WebhookRequest none = Request(body);
  none.headers.erase("authorization");
  EXPECT_EQ(ParsePostmark(none, Options(), kNow).error().failure, WebhookFailure::kUnauthenticated);
  WebhookRequest bearer = Request(body);
  bearer.headers["authorization"] = "Bearer abc";
  EXPECT_EQ(ParsePostmark(bearer, Options(), kNow).error().failure,
            WebhookFailure::kUnauthenticated);
  // Nothing configured: nothing accepted, even with empty credentials.
  EXPECT_EQ(ParsePostmark(Request(body, "", ""), PostmarkOptions{}, kNow).error().failure,
            WebhookFailure::kUnauthenticated);
}

TEST(PostmarkTest, MalformedBodiesAre400) {
  for (std::string body : {"", "not json", "[]", "{}", R"({"RecordType": "Bounce", "ID": 1})",
                           R"({"RecordType": "Bounce", "Email": "a@b"})",
                           R"({"RecordType": "SubscriptionChange", "Recipient": "a@b"})",
                           R"({"RecordType": 7})", R"({"RecordType": "Bounce", "Email": 5,
                              "ID": 1})"}) {
    auto result = ParsePostmark(Request(body), Options(), kNow);
    ASSERT_FALSE(result) << body;
    EXPECT_EQ(result.error().failure, WebhookFailure::kMalformed) << body;
    EXPECT_EQ(HttpStatusFor(result.error().failure), 400);
  }
  // A record type this daemon has no use for is accepted and ignored.
  auto inbound = ParsePostmark(Request(R"({"RecordType": "Inbound"})"), Options(), kNow);
  ASSERT_TRUE(inbound);
  EXPECT_TRUE(inbound->events.empty());
}

TEST(PostmarkTest, BodiesAreBounded) {
  PostmarkOptions options = Options();
  options.limits.max_body_bytes = 100;
  auto result = ParsePostmark(Request(ReadFixture("postmark/bounce_hard.json")), options, kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kTooLarge);
  EXPECT_EQ(HttpStatusFor(result.error().failure), 413);
  std::string deep(10000, '[');
  EXPECT_EQ(ParsePostmark(Request(deep), Options(), kNow).error().failure,
            WebhookFailure::kMalformed);
}

}  // namespace
}  // namespace followup::feedback
