#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "feedback/crypto.h"
#include "feedback/sns_messages.h"
#include "feedback/test_keys.h"
#include "feedback/webhook.h"

namespace followup::feedback {
namespace {

using nlohmann::json;
using testing::At;
using testing::ReadFixture;

const Instant kNow = At("2025-02-13T10:00:30Z");
const std::string kTopic = "arn:aws:sns:us-east-1:123456789012:shop-ses-feedback";
const std::string kCertUrl =
    "https://sns.us-east-1.amazonaws.com/"
    "SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";

// Signs SNS messages the way SNS does, with a certificate made here; hands the certificate out
// as the fetcher would, counting the fetches.
class SesTest : public ::testing::Test {
 protected:
  testing::SigningCertificate cert_{At("2025-01-01T00:00:00Z"), At("2026-01-01T00:00:00Z")};
  int fetches_ = 0;
  std::string fetched_url_;

  SesOptions Options() {
    SesOptions options;
    options.topic_arns = {"arn:aws:sns:eu-west-1:123456789012:other", kTopic};
    options.fetch_certificate = [this](const std::string& url) -> Result<std::string> {
      ++fetches_;
      fetched_url_ = url;
      return cert_.pem;
    };
    return options;
  }

  json Signed(json m, int version = 1) {
    return testing::SignSns(std::move(m), cert_.key.get(), kCertUrl, version);
  }

  json Notification(const std::string& ses_fixture,
                    const std::string& id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324") {
    return Signed({{"Type", "Notification"},
                   {"MessageId", id},
                   {"TopicArn", kTopic},
                   {"Message", ReadFixture(ses_fixture)},
                   {"Timestamp", "2025-02-13T10:00:07.125Z"},
                   {"UnsubscribeURL",
                    "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x"}});
  }

  static WebhookRequest Request(const std::string& body) {
    WebhookRequest request;
    request.headers["x-amz-sns-message-type"] = "Notification";
    request.body = body;
    return request;
  }
};

TEST_F(SesTest, PermanentBounceGivesAHardBouncePerRecipient) {
  std::string body = Notification("ses/bounce_permanent.json").dump();
  auto result = ParseSes(Request(body), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->events.size(), 2u);
  const Event& e = result->events[0];
  EXPECT_EQ(e.source, Source::kSes);
  EXPECT_EQ(e.type, EventType::kHardBounce);
  EXPECT_EQ(e.recipient, "nobody@example.com");
  EXPECT_EQ(e.status, "5.1.1");
  EXPECT_EQ(e.message_id, "9b1f0c6e4d3a2b18a7f6e5d4c3b2a190@shop.example");
  EXPECT_EQ(e.provider_message_id, "0100019500aa7b3c-1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5-000000");
  EXPECT_EQ(e.occurred_at, At("2025-02-13T10:00:06Z"));
  EXPECT_EQ(e.reason, "smtp; 550 5.1.1 <nobody@example.com>... User unknown");
  EXPECT_EQ(result->events[1].recipient, "also.gone@example.com");  // "Name <address>" read too
  EXPECT_NE(e.event_id, result->events[1].event_id);
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(fetched_url_, kCertUrl);
}

TEST_F(SesTest, SignatureVersion2) {
  json m = Notification("ses/bounce_permanent.json");
  m.erase("Signature");
  std::string body = Signed(m, 2).dump();
  auto result = ParseSes(Request(body), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->events.size(), 2u);
}

TEST_F(SesTest, TransientBounceIsSoft) {
  auto result =
      ParseSes(Request(Notification("ses/bounce_transient.json").dump()), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->events.size(), 1u);
  EXPECT_EQ(result->events[0].type, EventType::kSoftBounce);
  EXPECT_EQ(result->events[0].status, "4.2.2");
  EXPECT_EQ(result->events[0].message_id, "");  // the notification carried no headers
}

TEST_F(SesTest, Complaint) {
  auto result = ParseSes(Request(Notification("ses/complaint.json").dump()), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->events.size(), 1u);
  EXPECT_EQ(result->events[0].type, EventType::kComplaint);
  EXPECT_EQ(result->events[0].recipient, "complainer@example.com");
  EXPECT_EQ(result->events[0].message_id, "1e2d3c4b5a69788796a5b4c3d2e1f0a9@shop.example");
  EXPECT_EQ(result->events[0].reason, "abuse");
}

TEST_F(SesTest, DuplicateDeliveryGivesTheSameEventIds) {
  std::string body = Notification("ses/bounce_permanent.json").dump();
  auto first = ParseSes(Request(body), Options(), kNow);
  auto second = ParseSes(Request(body), Options(), kNow + std::chrono::seconds(20));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->events[0].event_id, second->events[0].event_id);
  EXPECT_EQ(first->events[1].event_id, second->events[1].event_id);
}

TEST_F(SesTest, SubscriptionConfirmationReturnsTheUrlToVisit) {
  std::string url =
      "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + kTopic +
      "&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3";
  json m = Signed({{"Type", "SubscriptionConfirmation"},
                   {"MessageId", "165545c9-2a5c-472c-8df2-7ff2be2b3b1b"},
                   {"Token", "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92"},
                   {"TopicArn", kTopic},
                   {"Message", "You have chosen to subscribe to the topic " + kTopic +
                                   ".\nTo confirm the subscription, visit the SubscribeURL "
                                   "included in this message."},
                   {"SubscribeURL", url},
                   {"Timestamp", "2025-02-13T10:00:00.000Z"}});
  auto result = ParseSes(Request(m.dump()), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->subscribe_url, url);
  EXPECT_TRUE(result->events.empty());

  // A confirmation whose SubscribeURL would send the daemon elsewhere is not followed.
  json elsewhere = m;
  elsewhere["SubscribeURL"] = "https://attacker.example/?Action=ConfirmSubscription";
  elsewhere.erase("Signature");
  auto refused = ParseSes(Request(Signed(elsewhere).dump()), Options(), kNow);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().failure, WebhookFailure::kMalformed);
}

TEST_F(SesTest, SetupNotificationIsAcceptedWithNoEvents) {
  json m = Notification("ses/complaint.json");
  m["Message"] = R"({"notificationType":"AMAZON_SES_SETUP_NOTIFICATION"})";
  m.erase("Signature");
  auto result = ParseSes(Request(Signed(m).dump()), Options(), kNow);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->events.empty());
}

TEST_F(SesTest, ATamperedMessageIsRefused) {
  json m = Notification("ses/bounce_permanent.json");
  std::string message = m["Message"];
  message.replace(message.find("nobody@example.com"), 18, "victim@example.com");
  m["Message"] = message;
  auto result = ParseSes(Request(m.dump()), Options(), kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kUnauthenticated);
  EXPECT_EQ(result.error().message, "ses webhook: the signature does not match");
}

TEST_F(SesTest, AnotherCertificateIsRefused) {
  testing::SigningCertificate other(At("2025-01-01T00:00:00Z"), At("2026-01-01T00:00:00Z"));
  SesOptions options = Options();
  options.fetch_certificate = [&](const std::string&) -> Result<std::string> { return other.pem; };
  auto result = ParseSes(Request(Notification("ses/bounce_permanent.json").dump()), options, kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kUnauthenticated);
}

TEST_F(SesTest, CertificateUrlsOffSnsAreRefusedUnfetched) {
  for (std::string url :
       {"http://sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com.attacker.example/cert.pem",
        "https://attacker.example/sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com@attacker.example/cert.pem",
        "https://sns.us-east-1.amazonaws.com:8443/cert.pem",
        "https://sns.us-east-1.amazonaws.com/cert.pem?x=1",
        "https://sns.us-east-1.amazonaws.com/cert.txt", "https://s3.amazonaws.com/cert.pem",
        "https://sns..amazonaws.com/cert.pem"}) {
    json m = Notification("ses/bounce_permanent.json");
    m["SigningCertURL"] = url;
    auto result = ParseSes(Request(m.dump()), Options(), kNow);
    ASSERT_FALSE(result) << url;
    EXPECT_EQ(result.error().failure, WebhookFailure::kUnauthenticated) << url;
  }
  EXPECT_EQ(fetches_, 0);
  EXPECT_TRUE(IsSnsUrl("https://sns.cn-north-1.amazonaws.com.cn/x.pem", true));
  EXPECT_TRUE(IsSnsUrl("https://SNS.us-east-1.amazonaws.com:443/x.pem", true));
  EXPECT_TRUE(IsSnsUrl("https://127.0.0.1:8443/x.pem", true, "127.0.0.1:8443"));
  EXPECT_FALSE(IsSnsUrl("https://127.0.0.1:8443/x.pem", true));
}

TEST_F(SesTest, ATopicThatIsNotOursIs403) {
  json m = Notification("ses/bounce_permanent.json");
  m["TopicArn"] = "arn:aws:sns:us-east-1:999999999999:someone-elses";
  m.erase("Signature");
  auto result = ParseSes(Request(Signed(m).dump()), Options(), kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kForbidden);
  EXPECT_EQ(HttpStatusFor(result.error().failure), 403);
  SesOptions none = Options();
  none.topic_arns.clear();
  EXPECT_EQ(
      ParseSes(Request(Notification("ses/complaint.json").dump()), none, kNow).error().failure,
      WebhookFailure::kForbidden);
}

TEST_F(SesTest, StaleMessagesAreRefused) {
  std::string body = Notification("ses/bounce_permanent.json").dump();
  auto result = ParseSes(Request(body), Options(), kNow + std::chrono::hours(2));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kStale);
  EXPECT_NE(result.error().message.find("old"), std::string::npos) << result.error().message;
}

TEST_F(SesTest, AnExpiredCertificateIsRefused) {
  SesOptions options = Options();
  auto result = ParseSes(Request(Notification("ses/complaint.json").dump()), options,
                         At("2026-02-01T00:00:00Z"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kUnauthenticated);
  EXPECT_EQ(result.error().message, "ses webhook: the signing certificate has expired");
}

TEST_F(SesTest, ACertificateThatCannotBeFetchedIs503) {
  SesOptions options = Options();
  options.fetch_certificate = [](const std::string&) -> Result<std::string> {
    return RuntimeFailure("connect timed out");
  };
  auto result = ParseSes(Request(Notification("ses/complaint.json").dump()), options, kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kUnavailable);
  EXPECT_EQ(HttpStatusFor(result.error().failure), 503);
}

TEST_F(SesTest, MalformedBodiesAre400) {
  for (std::string body :
       {"", "{", "[]", R"({"Type": "Notification"})", R"({"Type": "Something", "Message": "x"})"}) {
    auto result = ParseSes(Request(body), Options(), kNow);
    ASSERT_FALSE(result) << body;
    EXPECT_EQ(result.error().failure, WebhookFailure::kMalformed) << body;
  }
  json m = Notification("ses/complaint.json");
  m["Message"] = "not json";
  m.erase("Signature");
  auto result = ParseSes(Request(Signed(m).dump()), Options(), kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kMalformed);
}

TEST_F(SesTest, RecipientsPerNotificationAreBounded) {
  json ses = json::parse(ReadFixture("ses/bounce_permanent.json"));
  json& list = ses["bounce"]["bouncedRecipients"];
  while (list.size() < 30) list.push_back(list[0]);
  json m = Notification("ses/complaint.json");
  m["Message"] = ses.dump();
  m.erase("Signature");
  SesOptions options = Options();
  options.limits.max_events = 20;
  auto result = ParseSes(Request(Signed(m).dump()), options, kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().failure, WebhookFailure::kTooLarge);
}

}  // namespace
}  // namespace followup::feedback
