#include "config/config.h"

#include <gtest/gtest.h>

#include "support/test_util.h"

namespace followup {
namespace {

TEST(ConfigTest, ShippedConfigLoadsAndMatchesTheDefaults) {
  auto c = LoadConfig(FOLLOWUP_SOURCE_DIR "/config/followup.yaml");
  ASSERT_TRUE(c) << c.error().ToString();
  Config defaults;
  EXPECT_EQ(c->business.timezone, defaults.business.timezone);
  EXPECT_EQ(c->business.currency, defaults.business.currency);
  EXPECT_EQ(c->worth.time_unit, defaults.worth.time_unit);
  EXPECT_EQ(c->worth.default_margin, defaults.worth.default_margin);
  EXPECT_EQ(c->import.max_field_bytes, defaults.import.max_field_bytes);
  EXPECT_EQ(c->contact_policy.max_contacts, defaults.contact_policy.max_contacts);
  EXPECT_EQ(c->contact_policy.per, defaults.contact_policy.per);
  EXPECT_EQ(c->contact_policy.quiet_start_minute, defaults.contact_policy.quiet_start_minute);
  EXPECT_EQ(c->contact_policy.quiet_end_minute, defaults.contact_policy.quiet_end_minute);
  // Relative paths resolve against the config file's folder.
  EXPECT_EQ(c->store, "sqlite:" FOLLOWUP_SOURCE_DIR "/var/followup.db");
  EXPECT_EQ(c->rules_dir, FOLLOWUP_SOURCE_DIR "/rules");
}

TEST(ConfigTest, UnknownKeyIsReportedWithLineAndColumn) {
  auto c = ParseConfig("business:\n  name: Shop\n  timezon: UTC\n", "/etc/f.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().where.line, 3);
  EXPECT_EQ(c.error().where.column, 3);
  EXPECT_NE(c.error().ToString().find("/etc/f.yaml:3:3: unknown key 'timezon'"), std::string::npos)
      << c.error().ToString();
}

TEST(ConfigTest, BadValuesAreReportedWhereTheyAre) {
  auto zone = ParseConfig("business:\n  timezone: Mars/Base\n", "f.yaml");
  ASSERT_FALSE(zone);
  EXPECT_EQ(zone.error().where.line, 2);
  EXPECT_EQ(zone.error().where.column, 13);
  EXPECT_NE(zone.error().message.find("Mars/Base"), std::string::npos);

  auto margin = ParseConfig("worth:\n  default_margin: 1.5\n", "f.yaml");
  ASSERT_FALSE(margin);
  EXPECT_EQ(margin.error().where.line, 2);
  EXPECT_NE(margin.error().message.find("out of range"), std::string::npos);

  auto unit = ParseConfig("worth:\n  time_unit: months\n", "f.yaml");
  ASSERT_FALSE(unit);
  EXPECT_EQ(unit.error().where.line, 2);

  auto number = ParseConfig("import:\n  max_field_bytes: lots\n", "f.yaml");
  ASSERT_FALSE(number);
  EXPECT_NE(number.error().message.find("whole number"), std::string::npos);
}

TEST(ConfigTest, YamlSyntaxErrorHasAPlace) {
  auto c = ParseConfig("business:\n  name: [unclosed\n", "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().where.file, "f.yaml");
  EXPECT_GT(c.error().where.line, 0);
}

TEST(ConfigTest, ContactPolicy) {
  auto c = ParseConfig(
      "contact_policy:\n  max_contacts: 2\n  per: 14d\n  quiet_hours: \"22:30-07:15\"\n"
      "  event_lookback: 3d\n",
      "f.yaml");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->contact_policy.max_contacts, 2);
  EXPECT_EQ(c->contact_policy.per, std::chrono::days{14});
  EXPECT_EQ(c->contact_policy.quiet_start_minute, 22 * 60 + 30);
  EXPECT_EQ(c->contact_policy.quiet_end_minute, 7 * 60 + 15);
  EXPECT_EQ(c->contact_policy.event_lookback, std::chrono::days{3});
  auto none = ParseConfig("contact_policy:\n  quiet_hours: \"\"\n", "f.yaml");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->contact_policy.quiet_start_minute, none->contact_policy.quiet_end_minute);
  auto bad = ParseConfig("contact_policy:\n  quiet_hours: 9pm-8am\n", "f.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where.line, 2);
  EXPECT_NE(bad.error().message.find("bad hours '9pm-8am'"), std::string::npos);
  auto per = ParseConfig("contact_policy:\n  per: weekly\n", "f.yaml");
  ASSERT_FALSE(per);
  EXPECT_NE(per.error().message.find("bad duration"), std::string::npos);
}

// A full pass every 0 s would keep the daemon's decision thread busy for ever (and its loop
// re-arming the timer): the config refuses it, and a delivery timeout of 0 s, with the place.
TEST(ConfigTest, ServiceIntervalsHaveAMinimum) {
  auto zero = ParseConfig("service:\n  full_pass: 0s\n", "f.yaml");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().ToString(), "f.yaml:2:14: duration 0s is below the minimum of 10s");
  auto short_pass = ParseConfig("service:\n  full_pass: 9s\n", "f.yaml");
  ASSERT_FALSE(short_pass);
  EXPECT_TRUE(ParseConfig("service:\n  full_pass: 10s\n", "f.yaml"));
  auto timeout = ParseConfig("delivery:\n  timeout: 0s\n", "f.yaml");
  ASSERT_FALSE(timeout);
  EXPECT_EQ(timeout.error().ToString(), "f.yaml:2:12: duration 0s is below the minimum of 1s");
  // delivery.max_age: the retry lifetime, 5d unless set; at least a minute.
  EXPECT_EQ(ParseConfig("", "f.yaml")->delivery.max_age, std::chrono::days{5});
  auto age = ParseConfig("delivery:\n  max_age: 2w\n", "f.yaml");
  ASSERT_TRUE(age) << age.error().ToString();
  EXPECT_EQ(age->delivery.max_age, std::chrono::days{14});
  auto no_age = ParseConfig("delivery:\n  max_age: 0s\n", "f.yaml");
  ASSERT_FALSE(no_age);
  EXPECT_EQ(no_age.error().ToString(), "f.yaml:2:12: duration 0s is below the minimum of 60s");
  auto bad_age = ParseConfig("delivery:\n  max_age: five days\n", "f.yaml");
  ASSERT_FALSE(bad_age);
  EXPECT_EQ(bad_age.error().where.line, 2);
  auto connections = ParseConfig("service:\n  max_connections: 2000\n", "f.yaml");
  ASSERT_TRUE(connections) << connections.error().ToString();
  EXPECT_EQ(connections->service.max_connections, 2000);
  EXPECT_FALSE(ParseConfig("service:\n  max_connections: 0\n", "f.yaml"));
}

// The contact policy has one definition and one set of defaults: the shipped quiet hours.
TEST(ConfigTest, ContactPolicyDefaultsAreTheShippedOnes) {
  ContactPolicy policy;
  EXPECT_EQ(policy.quiet_start_minute, 21 * 60);
  EXPECT_EQ(policy.quiet_end_minute, 8 * 60);
  EXPECT_EQ(Config{}.contact_policy.quiet_start_minute, policy.quiet_start_minute);
}

TEST(ConfigTest, EmptyFileMeansDefaults) {
  auto c = ParseConfig("", "f.yaml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->business.currency, "EUR");
}

TEST(ConfigTest, StoreUrlForms) {
  testing::TempDir dir;
  auto path = dir.Write("conf/f.yaml", "store: data/x.db\n");
  auto c = LoadConfig(path);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->store, (dir.path() / "conf/data/x.db").string());
  EXPECT_EQ(ParseConfig("store: sqlite:/abs/x.db\n", "f.yaml")->store, "sqlite:/abs/x.db");
  // PostgreSQL URLs and libpq key=value strings are not paths: kept as written.
  EXPECT_EQ(ParseConfig("store: postgresql://followup@db/shop\n", "f.yaml")->store,
            "postgresql://followup@db/shop");
  EXPECT_EQ(
      LoadConfig(dir.Write("conf/g.yaml", "store: host=/run/postgresql dbname=shop\n"))->store,
      "host=/run/postgresql dbname=shop");
}

TEST(ConfigTest, ADuplicateKeyIsLocated) {
  // yaml-cpp keeps both pairs and a look-up finds the first: the second block would be ignored.
  auto c = ParseConfig(
      "delivery:\n  from: a@example.com\nbusiness:\n  name: Shop\ndelivery:\n"
      "  from: b@example.com\n",
      "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().ToString(),
            "f.yaml:5:1: duplicate key 'delivery' (first at line 1, column 1)");
  auto inner = ParseConfig("worth:\n  default_margin: 0.2\n  default_margin: 0.5\n", "f.yaml");
  ASSERT_FALSE(inner);
  EXPECT_EQ(inner.error().where.line, 3);
  EXPECT_EQ(inner.error().where.column, 3);
}

TEST(ConfigTest, ASecondDocumentIsAnError) {
  auto c = ParseConfig("business:\n  name: Shop\n---\nbusiness:\n  name: Other\n", "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().where.line, 3);  // the '---'
  EXPECT_NE(c.error().message.find("second YAML document"), std::string::npos);
}

TEST(ConfigTest, EveryProblemIsReportedInFileOrder) {
  auto r = ReadConfigText(
      "business:\n  timezone: Mars/Base\n  colour: red\nworth:\n  default_margin: 2\n"
      "service:\n  listen: 127.0.0.1:99999\n",
      "f.yaml");
  ASSERT_EQ(r.problems.size(), 4u);
  EXPECT_EQ(r.problems[0].where.line, 2);
  EXPECT_EQ(r.problems[1].where.line, 3);
  EXPECT_EQ(r.problems[2].where.line, 5);
  EXPECT_EQ(r.problems[3].where.line, 7);
  // What could be read is there, for the checks that follow (the rules folder, say).
  EXPECT_EQ(r.config.service.listen, "127.0.0.1:99999");
}

TEST(ConfigTest, FeedbackKeysAreReadAndCheckedWhereTheyAre) {
  auto c = ParseConfig(
      "delivery:\n  bounces: ../var/bounces\n"
      "feedback:\n  verp_prefix: returns\n  verp_domain: mail.shop.example\n"
      "  verp_key_file: verp.key\n  soft_bounce_limit: 5\n  soft_bounce_days: 30\n"
      "  postmark:\n    credentials_file: postmark\n"
      "  ses:\n    topic_arns: [\"arn:aws:sns:eu-west-1:123456789012:bounces\"]\n"
      "  sendgrid:\n    public_key: MFkw\n"
      "  mailgun:\n    signing_key_file: mailgun\n"
      "  generic:\n    secret_file: generic\n",
      "/etc/f/followup.yaml");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->delivery.bounces, "/etc/var/bounces");
  EXPECT_EQ(c->feedback.verp_prefix, "returns");
  EXPECT_EQ(c->feedback.verp_domain, "mail.shop.example");
  EXPECT_EQ(c->feedback.verp_key_file, "/etc/f/verp.key");
  EXPECT_EQ(c->feedback.soft_bounce_limit, 5);
  EXPECT_EQ(c->feedback.soft_bounce_days, 30);
  EXPECT_EQ(c->feedback.postmark_credentials_file, "postmark");
  EXPECT_EQ(c->feedback.ses_topic_arns,
            std::vector<std::string>{"arn:aws:sns:eu-west-1:123456789012:bounces"});
  EXPECT_EQ(c->feedback.sendgrid_public_key, "MFkw");
  EXPECT_EQ(c->feedback.mailgun_signing_key_file, "mailgun");
  EXPECT_EQ(c->feedback.generic_secret_file, "generic");
  EXPECT_EQ(c->Where("feedback.postmark.credentials_file").line, 10);
  EXPECT_TRUE(Config().delivery.bounces.empty()) << "no bounce address unless configured";

  auto r = ReadConfigText(
      "feedback:\n  verp_prefix: \"bounces+x\"\n  verp_domain: \"-bad domain\"\n"
      "  soft_bounce_limit: 0\n  ses:\n    topic_arns: not-a-list\n  postmark:\n"
      "    password: x\n",
      "f.yaml");
  ASSERT_EQ(r.problems.size(), 5u);
  EXPECT_EQ(r.problems[0].where.line, 2);
  EXPECT_NE(r.problems[0].message.find("verp_prefix"), std::string::npos);
  EXPECT_EQ(r.problems[1].where.line, 3);
  EXPECT_NE(r.problems[1].message.find("verp_domain"), std::string::npos);
  EXPECT_EQ(r.problems[2].where.line, 4);
  EXPECT_EQ(r.problems[3].where.line, 6);
  EXPECT_NE(r.problems[3].message.find("topic ARNs"), std::string::npos);
  EXPECT_EQ(r.problems[4].where.line, 8);
  EXPECT_NE(r.problems[4].message.find("unknown key 'password' in 'feedback.postmark'"),
            std::string::npos)
      << r.problems[4].message;
}

// The console is open on loopback only: any other address needs its credentials file, or the
// console turned off.
TEST(ConfigTest, TheConsoleOnAnAddressBeyondLoopbackNeedsCredentials) {
  for (const char* open : {"127.0.0.1:8025", "127.9.9.9:1", "[::1]:8025", "localhost:0"})
    EXPECT_TRUE(ParseConfig(std::string("service:\n  listen: \"") + open + "\"\n", "f.yaml"))
        << open;
  for (const char* wide : {"0.0.0.0:8025", "192.0.2.7:80", "[::]:8025"}) {
    auto c = ParseConfig(std::string("service:\n  listen: \"") + wide + "\"\n", "f.yaml");
    ASSERT_FALSE(c) << wide;
    EXPECT_NE(c.error().message.find("needs service.console.credentials_file"), std::string::npos)
        << c.error().message;
    EXPECT_EQ(c.error().where.line, 2) << wide;
    EXPECT_TRUE(ParseConfig(std::string("service:\n  listen: \"") + wide +
                                "\"\n  console:\n    credentials_file: console-users\n",
                            "f.yaml"))
        << wide;
    auto off = ParseConfig(
        std::string("service:\n  listen: \"") + wide + "\"\n  console:\n    enabled: false\n",
        "f.yaml");
    ASSERT_TRUE(off) << wide;
    EXPECT_FALSE(off->service.console);
  }
  auto bad = ParseConfig("service:\n  console:\n    enabled: maybe\n", "f.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where.line, 3);
}

TEST(ConfigTest, ListenIsAnAddressAndAPort) {
  for (const char* bad : {"127.0.0.1:99999", "127.0.0.1:abc", "127.0.0.1:-1", "127.0.0.1",
                          "shop.example.com:8025", "[::1:8025", "127.0.0.1:80x"}) {
    auto c = ParseConfig(std::string("service:\n  listen: \"") + bad + "\"\n", "f.yaml");
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().where.line, 2) << bad;
    EXPECT_EQ(c.error().where.column, 11) << bad;
  }
  auto v4 = ParseListenAddress("127.0.0.1:8025");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8025);
  auto v6 = ParseListenAddress("[::1]:65535");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
  auto any = ParseListenAddress("127.0.0.1:0");  // a free port, which the daemon logs
  ASSERT_TRUE(any);
  EXPECT_EQ(any->host, "127.0.0.1");
  EXPECT_EQ(any->port, 0);
  auto local = ParseListenAddress("localhost:8025");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->host, "127.0.0.1");
  auto none = ParseListenAddress("");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->port, 0);
}

TEST(ConfigTest, StoreAndMaildirMustNameSomethingThisBuildCanUse) {
  auto other = ParseConfig("store: mysql://db.example.com/followup\n", "f.yaml");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().where.line, 1);
  EXPECT_EQ(other.error().where.column, 8);
  EXPECT_NE(other.error().message.find("unknown store URL scheme 'mysql'"), std::string::npos)
      << other.error().message;
  auto empty = ParseConfig("delivery:\n  transport: maildir://\n", "f.yaml");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().where.line, 2);
  EXPECT_NE(empty.error().message.find("needs a folder"), std::string::npos);
}

TEST(ConfigTest, WhereSaysWhereAValueWasRead) {
  auto c = ParseConfig("delivery:\n  from: \"hello at example\"\n", "f.yaml");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->Where("delivery.from").line, 2);
  EXPECT_EQ(c->Where("delivery.from").column, 9);
  EXPECT_EQ(c->Where("delivery.reply_to").file, "f.yaml");
  EXPECT_EQ(c->Where("delivery.reply_to").line, 0);
}

TEST(ConfigTest, MissingFileIsAnError) {
  auto c = LoadConfig("/nonexistent/followup.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().where.file, "/nonexistent/followup.yaml");
}

TEST(ConfigTest, ErrorsCiteTheFileEscapedAndCutShort) {
  // Found by fuzzing: the YAML parser's message carried a NUL from the file raw ("unknown escape
  // character: \0"), and keys and values were cited whole, control characters and all.
  auto escape = ParseConfig(std::string("business:\n  name: \"a\\\0b\"\n", 25), "f.yaml");
  ASSERT_FALSE(escape);
  EXPECT_EQ(escape.error().message, "unknown escape character: \\0");
  auto key = ParseConfig("business:\n  \"na\\nme\x1b[2J\": Shop\n", "f.yaml");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().message.rfind("unknown key 'na\\nme\\x1b[2J' in 'business'", 0), 0u)
      << key.error().message;
  auto hours =
      ParseConfig("contact_policy:\n  quiet_hours: \"" + std::string(5000, '9') + "\"\n", "f.yaml");
  ASSERT_FALSE(hours);
  EXPECT_EQ(hours.error().message,
            "bad hours '" + std::string(64, '9') + "...' (expected HH:MM-HH:MM, e.g. 21:00-08:00)");
  for (const auto& e : {escape.error(), key.error(), hours.error()}) {
    EXPECT_EQ(e.where.file, "f.yaml");
    for (unsigned char ch : e.message) EXPECT_GE(ch, 0x20) << e.message;
  }
}

TEST(ConfigTest, AStrayCommaIsASyntaxErrorNotAHang) {
  // yaml-cpp's parser hands out empty documents forever at a ',' outside [ ] or { } (found by
  // fuzz_config and fuzz_rule: ", " made both run until they ran out of memory).
  for (const char* text : {", ", "# note\n, ", "business:\n  name: Shop\n---\n,", "{a: 1},"}) {
    auto c = ParseConfig(text, "f.yaml");
    ASSERT_FALSE(c) << text;
    EXPECT_NE(c.error().message.find("unexpected ','"), std::string::npos) << c.error().ToString();
  }
  auto c = ParseConfig("# note\n, ", "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().ToString(), "f.yaml:2:1: unexpected ',' (a ',' belongs inside [ ] or { })");
}

}  // namespace
}  // namespace followup
