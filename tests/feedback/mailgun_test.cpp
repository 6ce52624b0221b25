#include <gtest/gtest.h>

#include "feedback/test_keys.h"
#include "feedback/webhook.h"

namespace followup::feedback {
namespace {

using testing::At;
using testing::ReadFixture;

// The key the fixtures' signatures were made with (tests/data/feedback/README.md).
const std::string kSigningKey = "mailgun-test-signing-key-0123456789abcdef";

MailgunOptions Options() {
  MailgunOptions options;
  options.signing_key = kSigningKey;
  return options;
}

WebhookRequest Request(const std::string& body) {
  WebhookRequest request;
  request.headers["Content-Type"] = "application/json";
  request.body = body;
  return request;
}

// Each fixture is signed at its own timestamp; the test is run shortly after it.
WebhookResult Parse(const std::string& fixture,
                    std::chrono::seconds after = std::chrono::seconds(5),
                    const MailgunOptions& options = Options()) {
  static const std::map<std::string, int64_t> kSignedAt = {
      {"mailgun/failed_permanent.json", 1739440806},
      {"mailgun/failed_temporary.json", 1739441106},
      {"mailgun/complained.json", 1739520901},
      {"mailgun/unsubscribed.json", 1739451215}};
  Instant now = Instant{std::chrono::seconds{kSignedAt.at(fixture)}} + after;
  return ParseMailgun(Request(ReadFixture(fixture)), options, now);
}

TEST(MailgunTest, PermanentFailureIsAHardBounce) {
  auto result = Parse("mailgun/failed_permanent.json");
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->events.size(), 1u);
  const Event& e = result->events[0];
  EXPECT_EQ(e.source, Source::kMailgun);
  EXPECT_EQ(e.type, EventType::kHardBounce);
  EXPECT_EQ(e.recipient, "nobody@example.com");
  EXPECT_EQ(e.event_id, "mailgun:G9Bn5sl1TC6nu79C8C0bwg");
  EXPECT_EQ(e.message_id, "20250213100000.9b1f0c6e4d3a2b18@shop.example");
  EXPECT_EQ(e.status, "5.1.1");
  EXPECT_EQ(e.occurred_at, At("2025-02-13T10:00:06Z"));
  EXPECT_EQ(e.reason, "5.1.1 The email account that you tried to reach does not exist.");
}

TEST(MailgunTest, TemporaryFailureIsASoftBounce) {
  auto result = Parse("mailgun/failed_temporary.json");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->events[0].type, EventType::kSoftBounce);
  EXPECT_EQ(result->events[0].status, "4.2.2");
}

TEST(MailgunTest, ComplaintAndUnsubscribe) {
  auto complained = Parse("mailgun/complained.json");
  ASSERT_TRUE(complained) << complained.error().message;
  EXPECT_EQ(complained->events[0].type, EventType::kComplaint);
  EXPECT_EQ(complained->events[0].recipient, "complainer@example.com");
  auto unsubscribed = Parse("mailgun/unsubscribed.json");
  ASSERT_TRUE(unsubscribed) << unsubscribed.error().message;
  EXPECT_EQ(unsubscribed->events[0].type, EventType::kUnsubscribe);
  EXPECT_EQ(unsubscribed->events[0].recipient, "leaving@example.com");
}

TEST(MailgunTest, DuplicateDeliveryGivesTheSameEventId) {
  auto first = Parse("mailgun/complained.json");
  auto second = Parse("mailgun/complained.json", std::chrono::seconds(60));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->events[0].event_id, second->events[0].event_id);
}

TEST(MailgunTest, ABadSignatureIs401) {
  MailgunOptions other = Options();
  other.signing_key = "another-key";
  auto result = Parse("mailgun/failed_permanent.json", std::chrono::seconds(5), other);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kUnauthenticated);
  EXPECT_EQ(result.error().message, "mailgun webhook: the signature does not match");

  // A signature that is not the one for this timestamp and token.
  std::string body = ReadFixture("mailgun/failed_permanent.json");
  std::string forged = body;
  forged.replace(forged.find("\"signature\": \""), 14, "\"signature\": \"00");
  auto bad =
      ParseMailgun(Request(forged), Options(), Instant{std::chrono::seconds{1739440806 + 5}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().failure, WebhookFailure::kUnauthenticated);
  EXPECT_EQ(
      ParseMailgun(Request(body), MailgunOptions{}, At("2025-02-13T10:00:10Z")).error().failure,
      WebhookFailure::kUnauthenticated);
  EXPECT_EQ(ParseMailgun(Request(R"({"event-data": {}})"), Options(), At("2025-02-13T10:00:10Z"))
                .error()
                .failure,
            WebhookFailure::kUnauthenticated);
}

TEST(MailgunTest, AStaleTimestampIsRefused) {
  auto result = Parse("mailgun/failed_permanent.json", std::chrono::minutes(30));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kStale);
}

TEST(MailgunTest, MalformedBodiesAre400) {
  for (std::string body : {"", "[]", "nope"}) {
    auto result = ParseMailgun(Request(body), Options(), At("2025-02-13T10:00:10Z"));
    ASSERT_FALSE(result) << body;
    // No signature to check in a body that is not JSON: malformed; a JSON without one: 401.
    EXPECT_TRUE(result.error().failure == WebhookFailure::kMalformed ||
                result.error().failure == WebhookFailure::kUnauthenticated)
        << body;
  }
  std::string body = ReadFixture("mailgun/failed_permanent.json");
  std::string no_recipient = body;
  no_recipient.replace(no_recipient.find("\"recipient\": \"nobody@example.com\""), 33,
                       "\"recipient\": \"\"");
  auto result =
      ParseMailgun(Request(no_recipient), Options(), Instant{std::chrono::seconds{1739440806 + 5}});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kMalformed);
}

}  // namespace
}  // namespace followup::feedback
