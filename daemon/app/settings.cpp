#include "app/settings.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/money.h"
#include "delivery/mime.h"
#include "delivery/unsubscribe.h"

namespace followup::app {
namespace {

namespace fs = std::filesystem;

// A secret file's path: absolute as is; else in $CREDENTIALS_DIRECTORY when set; else next to the
// config file.
std::string SecretPath(const std::string& name, const Config& config) {
  if (name.empty()) return "";
  if (fs::path(name).is_absolute()) return name;
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir)
    return (fs::path(dir) / name).string();
  if (!config.path.empty()) return (fs::absolute(config.path).parent_path() / name).string();
  return name;
}

}  // namespace

rules::LoadOptions Settings::RuleLoadOptions(Instant now) const {
  rules::LoadOptions o;
  o.rules_dir = rules_dir;
  o.templates_dir = templates_dir;
  o.now = now;
  o.zone = zone;
  return o;
}

worth::FactsOptions Settings::FactsAt(Instant now) const {
  worth::FactsOptions o = facts;
  o.at = now;
  return o;
}

Settings MakeSettings(const Config& config, std::string store_url, const date::time_zone* zone) {
  Settings s;
  s.store_url = std::move(store_url);
  s.zone = zone;
  s.rules_dir = config.rules_dir;
  s.templates_dir = config.templates_dir;
  s.policy = config.contact_policy;

  s.facts.zone = zone;
  s.facts.unit =
      config.worth.time_unit == "days" ? worth::TimeUnit::kDays : worth::TimeUnit::kWeeks;
  s.facts.default_margin = config.worth.default_margin;
  s.facts.annual_discount_rate = config.worth.annual_discount_rate;
  s.facts.currency_exponent = CurrencyExponent(config.business.currency);

  const auto& d = config.delivery;
  delivery::TransportOptions& t = s.delivery.transport;
  t.url = d.transport;
  t.require_tls = d.require_tls;
  t.api_kind = d.api;
  t.connections = d.connections;
  t.timeout = d.timeout;
  t.rate_per_second = d.rate_per_second;
  t.rate_per_domain = d.rate_per_domain;
  s.delivery.credentials_path = SecretPath(d.credentials_file, config);
  s.delivery.from = d.from;
  s.delivery.reply_to = d.reply_to;
  s.delivery.business_name = config.business.name;
  s.delivery.currency = config.business.currency;
  s.delivery.unsubscribe_url = d.unsubscribe_url;
  s.delivery.unsubscribe_key_file = d.unsubscribe_key_file;
  s.delivery.outbox.max_attempts = d.max_attempts;
  s.delivery.outbox.retry_base = d.retry_base;
  s.delivery.outbox.max_age = d.max_age;

  const auto& f = config.feedback;
  s.feedback.bounces = d.bounces;
  s.feedback.verp_prefix = f.verp_prefix;
  s.feedback.verp_domain = f.verp_domain;
  s.feedback.verp_key_file = f.verp_key_file;
  s.feedback.policy.soft_bounce_limit = f.soft_bounce_limit;
  s.feedback.policy.soft_bounce_window = std::chrono::days(f.soft_bounce_days);
  s.feedback.postmark_credentials_path = SecretPath(f.postmark_credentials_file, config);
  s.feedback.ses_topic_arns = f.ses_topic_arns;
  s.feedback.sendgrid_public_key = f.sendgrid_public_key;
  s.feedback.mailgun_signing_key_path = SecretPath(f.mailgun_signing_key_file, config);
  s.feedback.generic_secret_path = SecretPath(f.generic_secret_file, config);

  // The config's reading has checked it; a config with problems runs nothing.
  if (auto listen = ParseListenAddress(config.service.listen); listen && !listen->host.empty())
    s.service.listen = listen->host + ":" + std::to_string(listen->port);
  s.service.max_connections = config.service.max_connections;
  s.service.poll_interval = std::chrono::milliseconds(config.service.poll_interval_ms);
  s.service.full_pass = config.service.full_pass;
  s.service.refit_minute = config.service.refit_minute;
  s.service.console = config.service.console;
  s.service.console_credentials_path = SecretPath(config.service.console_credentials_file, config);
  return s;
}

Result<std::string> ReadSecret(const std::string& path) {
  std::ifstream in(path);
  std::string secret;
  std::getline(in, secret);
  if (!in && secret.empty()) return Fail(ErrorCode::kRuntime, "cannot read " + path);
  return secret;
}

Result<delivery::TransportOptions> LoadTransportOptions(const DeliverySettings& delivery) {
  delivery::TransportOptions o = delivery.transport;
  const std::string& path = delivery.credentials_path;
  if (path.empty()) return o;
  auto read = ReadSecret(path);
  if (!read) return Fail(ErrorCode::kRuntime, "delivery credentials: " + read.error().message);
  const std::string& secret = *read;
  if (o.url.rfind("smtp", 0) == 0) {
    auto colon = secret.find(':');
    if (colon == std::string::npos)
      return Fail(ErrorCode::kInvalidInput,
                  "delivery credentials in " + path + ": expected user:password");
    o.username = secret.substr(0, colon);
    o.password = secret.substr(colon + 1);
  } else {
    o.api_token = secret;
  }
  return o;
}

Result<std::string> LoadUnsubscribeKey(const DeliverySettings& delivery) {
  return delivery::LoadOrCreateKey(delivery.unsubscribe_key_file);
}

Result<std::string> LoadVerpKey(const FeedbackSettings& feedback) {
  return delivery::LoadOrCreateKey(feedback.verp_key_file);
}

Result<delivery::ComposerOptions> LoadComposerOptions(const Settings& settings) {
  const DeliverySettings& d = settings.delivery;
  delivery::ComposerOptions o;
  o.templates_dir = settings.templates_dir;
  auto from = delivery::ParseAddress(d.from);
  if (!from) return Fail(ErrorCode::kInvalidInput, "delivery.from: " + from.error().message);
  o.from = *from;
  if (!d.reply_to.empty()) {
    auto reply = delivery::ParseAddress(d.reply_to);
    if (!reply)
      return Fail(ErrorCode::kInvalidInput, "delivery.reply_to: " + reply.error().message);
    o.reply_to = *reply;
  }
  o.business_name = d.business_name;
  o.currency = d.currency;
  o.unsubscribe_base_url = d.unsubscribe_url;
  auto key = LoadUnsubscribeKey(d);
  if (!key) return tl::unexpected(key.error());
  o.unsubscribe_key = std::move(*key);
  if (const FeedbackSettings& f = settings.feedback; !f.bounces.empty()) {
    auto verp_key = LoadVerpKey(f);
    if (!verp_key) return tl::unexpected(verp_key.error());
    o.verp_key = std::move(*verp_key);
    o.verp_prefix = f.verp_prefix;
    o.verp_domain = f.verp_domain;
    if (o.verp_domain.empty()) o.verp_domain = o.from.email.substr(o.from.email.rfind('@') + 1);
  }
  return o;
}

}  // namespace followup::app
