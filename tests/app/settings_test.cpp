// The config turned into each part's options once, and what delivery reads from files.
#include "app/settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "support/test_util.h"

namespace followup::app {
namespace {

Settings Make(const Config& config) {
  return MakeSettings(config, "sqlite:x.db", *LookupZone("Europe/Berlin"));
}

TEST(SettingsTest, EachPartGetsItsOptionsFromTheConfig) {
  auto config = ParseConfig(
      "rules_dir: r\ntemplates_dir: t\nbusiness:\n  currency: JPY\n"
      "worth:\n  time_unit: days\n  default_margin: 0.5\n"
      "contact_policy:\n  max_contacts: 3\n  quiet_hours: \"22:00-07:00\"\n"
      "delivery:\n  transport: smtp://mail.example:25\n  connections: 3\n  timeout: 7s\n"
      "  max_attempts: 4\n  retry_base: 2m\n"
      "service:\n  listen: \"\"\n  max_connections: 99\n  poll_interval_ms: 250\n"
      "  full_pass: 1h\n  refit_at: \"04:30\"\n",
      "/etc/f/followup.yaml");
  ASSERT_TRUE(config) << config.error().ToString();
  Settings s = Make(*config);
  EXPECT_EQ(s.store_url, "sqlite:x.db");
  EXPECT_EQ(s.rules_dir, "/etc/f/r");
  auto lo = s.RuleLoadOptions(Instant{std::chrono::seconds{5}});
  EXPECT_EQ(lo.templates_dir, "/etc/f/t");
  EXPECT_EQ(lo.now, Instant{std::chrono::seconds{5}});
  EXPECT_EQ(lo.zone, s.zone);
  EXPECT_EQ(s.policy.max_contacts, 3);
  EXPECT_EQ(s.policy.quiet_start_minute, 22 * 60);
  auto facts = s.FactsAt(Instant{std::chrono::seconds{9}});
  EXPECT_EQ(facts.at, Instant{std::chrono::seconds{9}});
  EXPECT_EQ(facts.unit, worth::TimeUnit::kDays);
  EXPECT_EQ(facts.default_margin, 0.5);
  EXPECT_EQ(facts.currency_exponent, 0);  // yen have no minor unit
  EXPECT_EQ(s.delivery.transport.url, "smtp://mail.example:25");
  EXPECT_EQ(s.delivery.transport.connections, 3);
  EXPECT_EQ(s.delivery.transport.timeout, std::chrono::seconds{7});
  EXPECT_EQ(s.delivery.outbox.max_attempts, 4);
  EXPECT_EQ(s.delivery.outbox.retry_base, std::chrono::minutes{2});
  EXPECT_EQ(s.service.max_connections, 99);
  EXPECT_EQ(s.service.poll_interval, std::chrono::milliseconds{250});
  EXPECT_EQ(s.service.full_pass, std::chrono::hours{1});
  EXPECT_EQ(s.service.refit_minute, 4 * 60 + 30);
}

TEST(SettingsTest, TheListenerIsAnAddressTheSocketTakes) {
  for (auto [written, taken] : {std::pair{"localhost:8025", "127.0.0.1:8025"},
                                {"[::1]:9000", "::1:9000"},
                                {"0.0.0.0:80", "0.0.0.0:80"},
                                {"127.0.0.1:0", "127.0.0.1:0"},
                                {"", ""}}) {
    auto config = ParseConfig(
        std::string("service:\n  listen: \"") + written + "\"\n  console:\n    enabled: false\n",
        "f.yaml");
    ASSERT_TRUE(config) << config.error().ToString();
    EXPECT_EQ(Make(*config).service.listen, taken) << written;
  }
}

class CredentialsTest : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv("CREDENTIALS_DIRECTORY"); }
  testing::TempDir dir_;
};

TEST_F(CredentialsTest, SmtpUserAndPasswordComeFromTheFileNextToTheConfig) {
  dir_.Write("secret", "mailer:pa:ss\n");
  Config config;
  config.path = dir_ / "followup.yaml";
  config.delivery.transport = "smtp://mail.example";
  config.delivery.credentials_file = "secret";
  auto o = LoadTransportOptions(Make(config).delivery);
  ASSERT_TRUE(o) << o.error().ToString();
  EXPECT_EQ(o->username, "mailer");
  EXPECT_EQ(o->password, "pa:ss");
}

TEST_F(CredentialsTest, TheApiTokenComesFromTheCredentialsDirectoryWhenSet) {
  testing::TempDir creds;
  creds.Write("followup-delivery", "tok-123\n");
  setenv("CREDENTIALS_DIRECTORY", creds.path().c_str(), 1);
  Config config;
  config.path = dir_ / "followup.yaml";
  config.delivery.transport = "https://api.example/email";
  config.delivery.credentials_file = "followup-delivery";
  auto o = LoadTransportOptions(Make(config).delivery);
  ASSERT_TRUE(o) << o.error().ToString();
  EXPECT_EQ(o->api_token, "tok-123");
}

TEST_F(CredentialsTest, MissingOrMalformedSecretsAreErrors) {
  Config config;
  config.path = dir_ / "followup.yaml";
  config.delivery.transport = "smtp://mail.example";
  config.delivery.credentials_file = "missing";
  auto missing = LoadTransportOptions(Make(config).delivery);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kRuntime);
  EXPECT_EQ(missing.error().message, "delivery credentials: cannot read " + dir_ / "missing");
  dir_.Write("nocolon", "justapassword\n");
  config.delivery.credentials_file = "nocolon";
  auto malformed = LoadTransportOptions(Make(config).delivery);
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, ErrorCode::kInvalidInput);
}

TEST_F(CredentialsTest, ComposerOptionsParseTheAddressesAndCreateTheKey) {
  Config config;
  config.templates_dir = dir_ / "templates";
  config.delivery.from = "The Shop <hello@shop.example>";
  config.delivery.unsubscribe_key_file = dir_ / "key";
  auto o = LoadComposerOptions(Make(config));
  ASSERT_TRUE(o) << o.error().ToString();
  EXPECT_EQ(o->from.email, "hello@shop.example");
  EXPECT_EQ(o->from.display_name, "The Shop");
  EXPECT_EQ(o->templates_dir, dir_ / "templates");
  EXPECT_FALSE(o->unsubscribe_key.empty());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "key"));
  EXPECT_EQ(*LoadUnsubscribeKey(Make(config).delivery), o->unsubscribe_key) << "the same key";
  config.delivery.from = "not an address";
  auto bad = LoadComposerOptions(Make(config));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(bad.error().message.rfind("delivery.from: ", 0), 0u) << bad.error().message;
}

// With a bounce maildir, messages get a VERP return path: its key is created like the unsubscribe
// key, and the domain is delivery.from's unless feedback.verp_domain names one.
TEST_F(CredentialsTest, ABounceMaildirGivesTheComposerItsVerpKeyAndDomain) {
  Config config;
  config.delivery.from = "The Shop <hello@shop.example>";
  config.delivery.unsubscribe_key_file = dir_ / "key";
  config.feedback.verp_key_file = dir_ / "verp.key";
  auto without = LoadComposerOptions(Make(config));
  ASSERT_TRUE(without) << without.error().ToString();
  EXPECT_TRUE(without->verp_key.empty()) << "no bounce maildir: no VERP";
  EXPECT_FALSE(std::filesystem::exists(dir_ / "verp.key"));

  config.delivery.bounces = dir_ / "bounces";
  config.feedback.soft_bounce_limit = 5;
  config.feedback.soft_bounce_days = 30;
  Settings s = Make(config);
  EXPECT_EQ(s.feedback.policy.soft_bounce_limit, 5);
  EXPECT_EQ(s.feedback.policy.soft_bounce_window, std::chrono::days(30));
  auto with = LoadComposerOptions(s);
  ASSERT_TRUE(with) << with.error().ToString();
  EXPECT_FALSE(with->verp_key.empty());
  EXPECT_NE(with->verp_key, with->unsubscribe_key);
  EXPECT_EQ(*LoadVerpKey(s.feedback), with->verp_key) << "the same key, kept in its file";
  EXPECT_EQ(with->verp_prefix, "bounces");
  EXPECT_EQ(with->verp_domain, "shop.example");
  config.feedback.verp_domain = "bounce.shop.example";
  EXPECT_EQ(LoadComposerOptions(Make(config))->verp_domain, "bounce.shop.example");
}

}  // namespace
}  // namespace followup::app
