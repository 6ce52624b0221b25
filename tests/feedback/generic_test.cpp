#include <gtest/gtest.h>

#include "feedback/crypto.h"
#include "feedback/test_keys.h"
#include "feedback/webhook.h"

namespace followup::feedback {
namespace {

using testing::At;
using testing::ReadFixture;

const std::string kSecret = "generic-webhook-secret";
const Instant kNow = At("2025-02-14T08:20:00Z");
const int64_t kSentAt = 1739521190;  // 2025-02-14T08:19:50Z

GenericOptions Options() {
  GenericOptions options;
  options.secret = kSecret;
  return options;
}

WebhookRequest Request(const std::string& body, int64_t timestamp = kSentAt) {
  WebhookRequest request;
  request.headers["x-followup-timestamp"] = std::to_string(timestamp);
  request.headers["X-Followup-Signature"] = GenericSignature(kSecret, timestamp, body);
  request.body = body;
  return request;
}

TEST(GenericTest, TheSignatureIsWhatTheDocsSay) {
  // sha256= and the hex HMAC-SHA256 of TIMESTAMP "." BODY: computable with any HMAC tool.
  EXPECT_EQ(GenericSignature(kSecret, 1739521190, "{}"),
            "sha256=" + HexEncode(HmacSha256(kSecret, "1739521190.{}")));
}

TEST(GenericTest, EventsOfEveryKind) {
  auto result = ParseGeneric(Request(ReadFixture("generic/events.json")), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  const auto& events = result->events;
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].source, Source::kGeneric);
  EXPECT_EQ(events[0].type, EventType::kHardBounce);
  EXPECT_EQ(events[0].recipient, "nobody@example.com");
  EXPECT_EQ(events[0].message_id, "9b1f0c6e4d3a2b18a7f6e5d4c3b2a190@shop.example");
  EXPECT_EQ(events[0].event_id, "generic:evt-2025-02-13-0001");
  EXPECT_EQ(events[0].status, "5.1.1");
  EXPECT_EQ(events[0].occurred_at, At("2025-02-13T10:00:06Z"));
  EXPECT_EQ(events[1].type, EventType::kSoftBounce);
  EXPECT_EQ(events[1].status, "4.2.2");  // from the reason
  EXPECT_EQ(events[1].occurred_at, At("2025-02-13T10:00:00Z"));
  EXPECT_EQ(events[2].type, EventType::kComplaint);
  EXPECT_EQ(events[2].message_id, "1e2d3c4b5a69788796a5b4c3d2e1f0a9@shop.example");
  EXPECT_EQ(events[2].occurred_at, Instant{std::chrono::seconds{kSentAt}});  // none given
  EXPECT_EQ(events[3].type, EventType::kUnsubscribe);
  EXPECT_TRUE(events[3].event_id.starts_with("generic:"));  // no id: a digest
}

TEST(GenericTest, DuplicateDeliveryGivesTheSameEventIds) {
  std::string body = ReadFixture("generic/events.json");
  auto first = ParseGeneric(Request(body), Options(), kNow);
  auto second =
      ParseGeneric(Request(body, kSentAt + 30), Options(), kNow + std::chrono::seconds(30));
  ASSERT_TRUE(first && second);
  for (size_t i = 0; i < first->events.size(); ++i) {
    EXPECT_EQ(first->events[i].event_id, second->events[i].event_id) << i;
  }
}

TEST(GenericTest, ABadSignatureIs401) {
  std::string body = ReadFixture("generic/events.json");
  WebhookRequest request = Request(body);
  std::string tampered = body;
  tampered.replace(tampered.find("soft_bounce"), 11, "hard_bounce");
  request.body = tampered;
  auto result = ParseGeneric(request, Options(), kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kUnauthenticated);
  EXPECT_EQ(result.error().message, "generic webhook: the signature does not match");

  WebhookRequest other_timestamp = Request(body);
  other_timestamp.headers["x-followup-timestamp"] = std::to_string(kSentAt + 1);
  EXPECT_EQ(ParseGeneric(other_timestamp, Options(), kNow).error().failure,
            WebhookFailure::kUnauthenticated);
  WebhookRequest no_prefix = Request(body);
  no_prefix.headers["X-Followup-Signature"] = no_prefix.headers["X-Followup-Signature"].substr(7);
  EXPECT_EQ(ParseGeneric(no_prefix, Options(), kNow).error().failure,
            WebhookFailure::kUnauthenticated);
  EXPECT_EQ(ParseGeneric(Request(body), GenericOptions{}, kNow).error().failure,
            WebhookFailure::kUnauthenticated);
}

TEST(GenericTest, AReplayOutsideTheWindowIsRefused) {
  std::string body = ReadFixture("generic/events.json");
  auto result = ParseGeneric(Request(body), Options(), kNow + std::chrono::hours(1));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kStale);
  EXPECT_EQ(result.error().message,
            "generic webhook: the signed timestamp is 3610 s old, more than the 300 s allowed");
}

TEST(GenericTest, MalformedBodiesAre400) {
  for (std::string body : {R"({})", R"({"events": {}})", R"({"events": [1]})",
                           R"({"events": [{"type": "bounced", "email": "a@b"}]})",
                           R"({"events": [{"type": "hard_bounce"}]})",
                           R"({"events": [{"type": "hard_bounce", "email": "a@b",
                                           "occurred_at": "yesterday"}]})",
                           "not json"}) {
    auto result = ParseGeneric(Request(body), Options(), kNow);
    ASSERT_FALSE(result) << body;
    EXPECT_EQ(result.error().failure, WebhookFailure::kMalformed) << body;
  }
  GenericOptions options = Options();
  options.limits.max_events = 2;
  EXPECT_EQ(
      ParseGeneric(Request(ReadFixture("generic/events.json")), options, kNow).error().failure,
      WebhookFailure::kTooLarge);
}

}  // namespace
}  // namespace followup::feedback
