// The provider webhooks as the daemon's routes run them: signed requests in, a real SQLite store,
// and what became of the addresses and sends they name.
#include "app/webhooks.h"

#include <gtest/gtest.h>

#include <string>

#include "base/time.h"
#include "delivery/https_get.h"
#include "delivery/test_servers.h"
#include "feedback/crypto.h"
#include "feedback/sns_messages.h"
#include "support/sqlite_util.h"
#include "support/store_fixture.h"
#include "support/test_util.h"

namespace followup::app {
namespace {

const Instant kNow = *ParseInstant("2025-02-14T08:20:00Z", nullptr);
const int64_t kSentAt = 1739521190;  // 2025-02-14T08:19:50Z, within the freshness window

std::string Fixture(const std::string& name) {
  return testing::ReadFile(std::string(FOLLOWUP_SOURCE_DIR "/tests/data/feedback/") + name);
}

class WebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.Customers(
        "id,email,name\nnobody,nobody@example.com,No Body\n"
        "complainer,complainer@example.com,Com Plainer\n");
    f_.dir.Write("generic.secret", "generic-webhook-secret\n");
    f_.dir.Write("postmark.secret", "postmark:s3cret-webhook-password\n");
    settings_.generic_secret_path = f_.dir / "generic.secret";
    settings_.postmark_credentials_path = f_.dir / "postmark.secret";
    auto loaded = LoadWebhooks(settings_, {}, {});
    ASSERT_TRUE(loaded) << loaded.error().ToString();
    webhooks_ = std::move(*loaded);
  }

  WebhookAnswer Generic(const std::string& body, const std::string& secret) {
    feedback::WebhookRequest request;
    request.headers["X-Followup-Timestamp"] = std::to_string(kSentAt);
    request.headers["X-Followup-Signature"] = feedback::GenericSignature(secret, kSentAt, body);
    request.body = body;
    return ReceiveWebhook(*f_.store, webhooks_, "generic", request, policy_, kNow);
  }

  WebhookAnswer Postmark(const std::string& body, const std::string& credentials) {
    feedback::WebhookRequest request;
    request.headers["Authorization"] = "Basic " + feedback::Base64Encode(credentials);
    request.body = body;
    return ReceiveWebhook(*f_.store, webhooks_, "postmark", request, policy_, kNow);
  }

  std::string Suppressions() { return f_.Suppressions(); }
  std::string Recorded() { return testing::Sql(f_.db(), "SELECT count(*) FROM feedback_events"); }

  testing::StoreFixture f_;
  FeedbackSettings settings_;
  store::FeedbackPolicy policy_;
  Webhooks webhooks_;
};

TEST_F(WebhooksTest, OnlyTheConfiguredProvidersHaveRoutes) {
  EXPECT_EQ(webhooks_.Providers(), (std::vector<std::string>{"postmark", "generic"}));
  EXPECT_EQ(webhooks_.BodyLimit("generic"), 1u << 20);
  WebhookAnswer answer = ReceiveWebhook(*f_.store, webhooks_, "mailgun", {}, policy_, kNow);
  EXPECT_EQ(answer.status, 404);
}

// Every event of a signed request is recorded and acted on, authenticated: the addresses are
// suppressed or unsubscribed whether or not a send of ours matches.
TEST_F(WebhooksTest, ASignedRequestSuppressesAndUnsubscribes) {
  WebhookAnswer answer = Generic(Fixture("generic/events.json"), "generic-webhook-secret");
  EXPECT_EQ(answer.status, 200) << answer.log;
  EXPECT_EQ(answer.applied, 4) << answer.log;
  EXPECT_EQ(answer.body, "4 applied, 0 recorded before, 0 only counted");
  std::string suppressed = Suppressions();
  EXPECT_NE(suppressed.find("nobody@example.com: hard bounce (generic): 550 5.1.1 user unknown"),
            std::string::npos)
      << suppressed;
  EXPECT_NE(suppressed.find("complainer@example.com: complaint (generic)"), std::string::npos)
      << suppressed;
  EXPECT_EQ(testing::Sql(f_.db(),
                         "SELECT unsubscribed_at IS NOT NULL FROM customers WHERE "
                         "external_id = 'complainer'"),
            "1");
}

// A provider's retry of the same request: 200 again, nothing applied twice.
TEST_F(WebhooksTest, TheSameRequestTwiceIsAppliedOnce) {
  const std::string body = Fixture("generic/events.json");
  ASSERT_EQ(Generic(body, "generic-webhook-secret").applied, 4);
  std::string before = Suppressions();
  WebhookAnswer again = Generic(body, "generic-webhook-secret");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.applied, 0);
  EXPECT_EQ(again.duplicates, 4);
  EXPECT_EQ(Suppressions(), before);
  EXPECT_EQ(Recorded(), "4");
}

// A bad signature or wrong credentials: 401 and nothing recorded, nothing suppressed.
TEST_F(WebhooksTest, AForgedRequestIsRefusedAndChangesNothing) {
  WebhookAnswer forged = Generic(Fixture("generic/events.json"), "a guess");
  EXPECT_EQ(forged.status, 401);
  EXPECT_NE(forged.log.find("refused"), std::string::npos) << forged.log;
  WebhookAnswer wrong = Postmark(Fixture("postmark/bounce_hard.json"), "postmark:wrong");
  EXPECT_EQ(wrong.status, 401);
  WebhookAnswer malformed = Postmark("{not json", "postmark:s3cret-webhook-password");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(Suppressions(), "");
  EXPECT_EQ(Recorded(), "0");
}

// Postmark: a hard bounce suppresses; a delivery is only counted.
TEST_F(WebhooksTest, PostmarkBounceSuppressesAndADeliveryIsOnlyCounted) {
  WebhookAnswer bounce =
      Postmark(Fixture("postmark/bounce_hard.json"), "postmark:s3cret-webhook-password");
  EXPECT_EQ(bounce.status, 200) << bounce.log;
  EXPECT_EQ(bounce.applied, 1);
  EXPECT_NE(Suppressions().find("nobody@example.com: hard bounce (postmark)"), std::string::npos)
      << Suppressions();
  WebhookAnswer delivered =
      Postmark(Fixture("postmark/delivery.json"), "postmark:s3cret-webhook-password");
  EXPECT_EQ(delivered.status, 200) << delivered.log;
  EXPECT_EQ(delivered.applied, 0);
  EXPECT_EQ(delivered.counted, 1);
  EXPECT_EQ(Recorded(), "1");
}

// A store that cannot take the events: 503, so that the provider tries again later.
TEST_F(WebhooksTest, AStoreThatFailsGets503) {
  testing::Exec(f_.db(), "DROP TABLE feedback_events");
  WebhookAnswer answer = Generic(Fixture("generic/events.json"), "generic-webhook-secret");
  EXPECT_EQ(answer.status, 503) << answer.log;
}

// Amazon SES through SNS, with the certificate and the subscription URL served over real HTTPS
// (OpenSSL's s_server, trusted by the test's CA file): the subscription is confirmed by visiting
// its URL, a signed bounce is verified with the fetched certificate and suppresses, the
// certificate is fetched once; a message signed by another key is refused.
TEST(SesWebhookTest, ConfirmsTheSubscriptionAndVerifiesNotificationsWithTheFetchedCertificate) {
  using nlohmann::json;
  const Instant now = *ParseInstant("2025-02-13T10:00:30Z", nullptr);
  const std::string topic = "arn:aws:sns:us-east-1:123456789012:shop-ses-feedback";
  testing::StoreFixture f;
  f.Customers("id,email,name\nnobody,nobody@example.com,No Body\n");
  testing::TempDir www;
  testing::HttpsFileServer server(www.path());
  ASSERT_NE(server.port(), 0) << "openssl s_server did not start";
  feedback::testing::SigningCertificate cert{*ParseInstant("2025-01-01T00:00:00Z", nullptr),
                                             *ParseInstant("2026-01-01T00:00:00Z", nullptr)};
  server.Write("SimpleNotificationService-test.pem", cert.pem);
  server.Write("confirm", "<ConfirmSubscriptionResponse/>");
  const std::string cert_url = server.url("/SimpleNotificationService-test.pem");

  int fetches = 0, visits = 0;
  delivery::HttpsGetOptions trusting;
  trusting.ca_file = server.ca_file();
  FeedbackSettings settings;
  settings.ses_topic_arns = {topic};
  auto loaded = LoadWebhooks(
      settings,
      [&](const std::string& url) {
        ++fetches;
        return delivery::HttpsGet(url, trusting);
      },
      [&](const std::string& url) {
        ++visits;
        return delivery::HttpsGet(url, trusting);
      });
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  Webhooks webhooks = std::move(*loaded);
  ASSERT_TRUE(webhooks.ses);
  webhooks.ses->test_allowed_host = "127.0.0.1:" + std::to_string(server.port());
  store::FeedbackPolicy policy;
  auto post = [&](const json& m, const char* type) {
    feedback::WebhookRequest request;
    request.headers["x-amz-sns-message-type"] = type;
    const std::string body = m.dump();
    request.body = body;
    return ReceiveWebhook(*f.store, webhooks, "ses", request, policy, now);
  };

  json confirmation = feedback::testing::SignSns(
      {{"Type", "SubscriptionConfirmation"},
       {"MessageId", "165545c9-2a5c-472c-8df2-7ff2be2b3b1b"},
       {"Token", "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92"},
       {"TopicArn", topic},
       {"Message", "You have chosen to subscribe to the topic " + topic + "."},
       {"SubscribeURL", server.url("/confirm")},
       {"Timestamp", "2025-02-13T10:00:00.000Z"}},
      cert.key.get(), cert_url);
  WebhookAnswer confirmed = post(confirmation, "SubscriptionConfirmation");
  EXPECT_EQ(confirmed.status, 200) << confirmed.log;
  EXPECT_EQ(visits, 1);

  auto notification = [&](const std::string& id) {
    return feedback::testing::SignSns({{"Type", "Notification"},
                                       {"MessageId", id},
                                       {"TopicArn", topic},
                                       {"Message", Fixture("ses/bounce_permanent.json")},
                                       {"Timestamp", "2025-02-13T10:00:07.125Z"}},
                                      cert.key.get(), cert_url);
  };
  WebhookAnswer bounce = post(notification("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"), "Notification");
  EXPECT_EQ(bounce.status, 200) << bounce.log;
  EXPECT_GE(bounce.applied, 1) << bounce.log;
  auto list = f.store->ListSuppressions();
  ASSERT_TRUE(list);
  ASSERT_FALSE(list->empty());
  EXPECT_NE(list->front().reason.find("hard bounce (ses)"), std::string::npos)
      << list->front().reason;

  server.Stop();  // the certificate is kept: the next notification needs no fetch
  WebhookAnswer second = post(notification("5f0a6a7c-3b1e-4f7a-9c55-0d2f1e8b7a61"), "Notification");
  EXPECT_EQ(second.status, 200) << second.log;
  EXPECT_EQ(fetches, 1);

  feedback::testing::SigningCertificate other{*ParseInstant("2025-01-01T00:00:00Z", nullptr),
                                              *ParseInstant("2026-01-01T00:00:00Z", nullptr)};
  json forged = notification("9d7e5c3a-1b2f-4e6d-8a9c-0b1d2e3f4a5b");
  forged = feedback::testing::SignSns(forged, other.key.get(), cert_url);
  WebhookAnswer refused = post(forged, "Notification");
  EXPECT_EQ(refused.status, 401) << refused.log;
}

TEST(LoadWebhooksTest, SecretsThatCannotBeReadOrAreNotUserPasswordAreErrors) {
  testing::TempDir dir;
  FeedbackSettings settings;
  settings.mailgun_signing_key_path = dir / "missing";
  auto missing = LoadWebhooks(settings, {}, {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
  dir.Write("postmark", "no-colon-here\n");
  FeedbackSettings postmark;
  postmark.postmark_credentials_path = dir / "postmark";
  auto bad = LoadWebhooks(postmark, {}, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
}

// The certificate fetcher asks once per URL; a failure is not kept.
TEST(CachingCertificateFetcherTest, FetchesEachUrlOnceAndRetriesFailures) {
  int calls = 0;
  bool fail = true;
  auto fetch = CachingCertificateFetcher([&](const std::string& url) -> Result<std::string> {
    ++calls;
    if (fail) return RuntimeFailure("down");
    return "PEM of " + url;
  });
  EXPECT_FALSE(fetch("https://a/x.pem"));
  fail = false;
  EXPECT_EQ(*fetch("https://a/x.pem"), "PEM of https://a/x.pem");
  EXPECT_EQ(*fetch("https://a/x.pem"), "PEM of https://a/x.pem");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(*fetch("https://b/y.pem"), "PEM of https://b/y.pem");
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace followup::app
