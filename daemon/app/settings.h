// The config turned into each part's own options, once (docs/architecture.md). Below this layer
// no part sees `Config`: the rules get their LoadOptions, the engine its ContactPolicy, worth its
// FactsOptions, delivery its TransportOptions, ComposerOptions and OutboxOptions, the service its
// ServiceSettings.
//
// MakeSettings is pure. What delivery needs from files (the credentials, the unsubscribe key) is
// read only by the Load* functions, so that `check`, `simulate` and the like never touch them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/time.h"
#include "config/config.h"
#include "delivery/composer.h"
#include "delivery/outbox.h"
#include "delivery/transport.h"
#include "rules/rule.h"
#include "store/store.h"
#include "worth/facts.h"

namespace followup::app {

// How the always-on daemon runs (config `service`).
struct ServiceSettings {
  // HTTP: ADDRESS:PORT with ADDRESS an IP address as the socket takes it (localhost as 127.0.0.1,
  // IPv6 without brackets: the port follows the last ':'); "" = none.
  std::string listen;
  int max_connections = 512;
  std::chrono::milliseconds poll_interval{50};
  std::chrono::seconds full_pass{300};
  int refit_minute = 3 * 60;  // local minute of the day
  bool console = true;        // the console's routes under /console
  // Its USER:HASH file, as secret files are found (DeliverySettings::credentials_path); "" = no
  // login asked (the config allows that on loopback only).
  std::string console_credentials_path;
};

// Delivery as configured, before anything is read from a file.
struct DeliverySettings {
  delivery::TransportOptions transport;  // without credentials (LoadTransportOptions adds them)
  // The secret file: absolute; else in $CREDENTIALS_DIRECTORY when set; else next to the config
  // file. "" = none.
  std::string credentials_path;
  std::string from, reply_to;  // as written ("Name <address>"); checked when loaded
  std::string business_name;
  std::string currency;
  std::string unsubscribe_url;
  std::string unsubscribe_key_file;
  delivery::OutboxOptions outbox;
};

// Bounces and complaints after the send (config delivery.bounces and feedback; docs/feedback.md).
struct FeedbackSettings {
  std::string bounces;  // the bounce maildir; "" = none, and no VERP return path
  std::string verp_prefix;
  std::string verp_domain;  // the config's, else delivery.from's domain (LoadComposerOptions)
  std::string verp_key_file;
  store::FeedbackPolicy policy;
  // The providers' secrets, as secret files are found (DeliverySettings::credentials_path); ""
  // (no topics) = no route for that provider.
  std::string postmark_credentials_path;
  std::vector<std::string> ses_topic_arns;
  std::string sendgrid_public_key;
  std::string mailgun_signing_key_path;
  std::string generic_secret_path;
};

struct Settings {
  std::string store_url;
  const date::time_zone* zone = nullptr;  // the business's
  std::string rules_dir;
  std::string templates_dir;
  ContactPolicy policy;
  worth::FactsOptions facts;  // `at` is set by FactsAt
  DeliverySettings delivery;
  FeedbackSettings feedback;
  ServiceSettings service;

  // The rule loader's options for loading at `now`.
  rules::LoadOptions RuleLoadOptions(Instant now) const;
  // The facts options with the observation window ending at `now`.
  worth::FactsOptions FactsAt(Instant now) const;
};

// The settings for `config`, the store at `store_url` (the config's, or --store) and the business
// zone (looked up from config.business.timezone by the caller). Reads no file.
Settings MakeSettings(const Config& config, std::string store_url, const date::time_zone* zone);

// The transport's options with its credentials: "user:password" for SMTP AUTH, else the API
// token, from the first line of credentials_path. kRuntime when the file cannot be read;
// kInvalidInput when an SMTP secret has no ':'.
Result<delivery::TransportOptions> LoadTransportOptions(const DeliverySettings& delivery);

// The unsubscribe links' HMAC key, from unsubscribe_key_file (created with a random key when
// missing). kRuntime when it cannot be read or written.
Result<std::string> LoadUnsubscribeKey(const DeliverySettings& delivery);

// The first line of a secret file (delivery credentials, a provider's webhook secret). kRuntime
// "cannot read PATH" when it cannot be read or the line is empty.
Result<std::string> ReadSecret(const std::string& path);

// The VERP return paths' HMAC key, from feedback.verp_key_file (created with a random key when
// missing). kRuntime when it cannot be read or written.
Result<std::string> LoadVerpKey(const FeedbackSettings& feedback);

// The composer's options: the addresses parsed (kInvalidInput "delivery.from: ..."), the key
// loaded as LoadUnsubscribeKey; with a bounce maildir, the VERP return path's key (LoadVerpKey),
// prefix and domain.
Result<delivery::ComposerOptions> LoadComposerOptions(const Settings& settings);

}  // namespace followup::app
