// The one configuration struct, loaded from one YAML file. `config/followup.yaml` mirrors it line
// for line with every default; keep the two together. Only the app layer (app/settings.h) reads it:
// it turns it into each part's own options once (docs/architecture.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "config/contact_policy.h"

namespace followup {

struct BusinessConfig {
  std::string name = "Example Shop";
  // IANA zone the business speaks: dates without a time are midnight here, schedules fire here.
  std::string timezone = "UTC";
  // ISO 4217 currency for rows that name none.
  std::string currency = "EUR";
};

struct WorthConfig {
  std::string time_unit = "weeks";  // "days" or "weeks": the unit of the BG/NBD model
  double default_margin = 0.3;      // share of revenue that is profit where cost is unknown
  double annual_discount_rate = 0.1;
};

struct ImportConfig {
  int max_field_bytes = 4096;  // a longer CSV field or JSON value is rejected
  int max_line_bytes = 65536;  // a longer line is rejected
};

// How email leaves (delivery.* in the file).
struct DeliveryConfig {
  // maildir://PATH (relative to the config's folder), smtp://HOST:PORT, smtps://HOST:PORT, or the
  // URL of an HTTP mail API (https://api.postmarkapp.com/email).
  std::string transport = "maildir:///var/lib/followup/mail";
  std::string from = "Example Shop <hello@example.com>";
  std::string reply_to;          // "" = none
  bool require_tls = true;       // SMTP: refuse to send without STARTTLS
  std::string credentials_file;  // "user:password" for SMTP AUTH, or the API token; relative to
                                 // $CREDENTIALS_DIRECTORY when that is set; "" = none
  std::string api = "postmark";  // HTTP API shape: postmark | generic
  int connections = 8;
  std::chrono::seconds timeout{30};     // at least 1s
  double rate_per_second = 0;           // 0 = unlimited
  double rate_per_domain = 0;           // per recipient domain; 0 = unlimited
  int max_attempts = 8;                 // temporary failures retried up to this, then failed
  std::chrono::seconds retry_base{60};  // first retry after this, doubling, with jitter
  // A send still failing temporarily this long after it was queued is failed ("expired after
  // 5d"), like Postfix's maximal_queue_lifetime; at least 1m.
  std::chrono::seconds max_age{5 * 86400};
  // The public https URL of the one-click unsubscribe endpoint (the daemon's /unsubscribe behind
  // the shop's web server), and the file holding the HMAC key that signs its links.
  std::string unsubscribe_url = "https://shop.example.com/unsubscribe";
  std::string unsubscribe_key_file = "/var/lib/followup/unsubscribe.key";
  // The maildir the bounce address (feedback.verp_prefix+TOKEN@feedback.verp_domain) is delivered
  // to, with new/, cur/ and unmatched/ (docs/feedback.md). "" = no bounce address: messages go out
  // with `from` as their return path.
  std::string bounces;
};

// Bounces and complaints after the send (feedback.* in the file; docs/feedback.md).
struct FeedbackConfig {
  std::string verp_prefix = "bounces";  // the bounce address's local part before '+'
  std::string verp_domain;              // its domain; "" = delivery.from's
  std::string verp_key_file = "/var/lib/followup/verp.key";  // created like the unsubscribe key
  int soft_bounce_limit = 3;  // this many soft bounces of an address ...
  int soft_bounce_days = 14;  // ... within this many days suppress it
  // Each provider's secret; a provider without one has no webhook route. Files are read as the
  // delivery credentials are ($CREDENTIALS_DIRECTORY for a relative name).
  std::string postmark_credentials_file;    // postmark.credentials_file: "user:password"
  std::vector<std::string> ses_topic_arns;  // ses.topic_arns
  std::string sendgrid_public_key;          // sendgrid.public_key: base64 DER
  std::string mailgun_signing_key_file;     // mailgun.signing_key_file
  std::string generic_secret_file;          // generic.secret_file
};

// The always-on daemon (`followupd run`).
struct ServiceConfig {
  std::string listen = "127.0.0.1:8025";  // HTTP: /unsubscribe, /healthz, /metrics ("" = none)
  // HTTP connections held at once; when all are taken, the one idle the longest makes room.
  int max_connections = 512;
  int poll_interval_ms = 50;  // how often the store is checked for new rows
  // Every rule over everyone, this often (and on start); at least kMinFullPass.
  std::chrono::seconds full_pass{300};
  int refit_minute = 3 * 60;  // refit the worth models daily at this local time
  // The console (docs/console.md) under /console: console.enabled, and console.credentials_file
  // (USER:HASH lines, read as delivery.credentials_file is), which a listen address other than
  // loopback requires.
  bool console = true;
  std::string console_credentials_file;
  static constexpr std::chrono::seconds kMinFullPass{10};
};

struct Config {
  // Where the config came from ("" = built-in defaults); relative paths below resolve against its
  // folder when loaded from a file.
  std::string path;
  // The store: "sqlite:PATH" or a plain path to a SQLite file, or a PostgreSQL database
  // ("postgresql://...", "postgres://..." or a libpq key=value string; docs/store.md).
  std::string store = "sqlite:/var/lib/followup/followup.db";
  std::string rules_dir = "/etc/followup/rules";
  std::string templates_dir = "/etc/followup/templates";
  BusinessConfig business;
  WorthConfig worth;
  ImportConfig import;
  ContactPolicy contact_policy;
  DeliveryConfig delivery;
  FeedbackConfig feedback;
  ServiceConfig service;

  // Where each value was read ("delivery.from" -> FILE:LINE:COL), for problems found once the
  // whole config is known.
  std::map<std::string, Location> locations;
  // That place, or just the file when the key was not given.
  Location Where(std::string_view key) const;
};

// service.listen taken apart: an IP address (IPv4, or IPv6 written in brackets, or "localhost",
// which is 127.0.0.1) and a port from 0 (any free one) to 65535. "" (no listener) is an empty
// host.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
Result<ListenAddress> ParseListenAddress(std::string_view text);
// Whether `host` (as ListenAddress has it) is a loopback address: 127.0.0.0/8 or ::1.
bool IsLoopback(std::string_view host);

// A config as read: every value that could be read (defaults for the rest), and every problem
// found, in file order, each with FILE:LINE:COL. `check` reports them all.
struct ConfigReading {
  Config config;
  std::vector<Error> problems;
};
ConfigReading ReadConfig(const std::string& path);
ConfigReading ReadConfigText(const std::string& yaml_text, const std::string& path);

// Reads `path`. Every key not in Config, every value of the wrong type or out of range, YAML
// syntax errors, a key given twice and a second YAML document are kInvalidInput with the file,
// line and column (1-based); the first of them is the error. Missing keys keep their defaults.
// Relative paths are made absolute against the config file's folder.
Result<Config> LoadConfig(const std::string& path);

// Parses YAML text (for tests): `path` only names the source in errors and anchors relative paths.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& path);

}  // namespace followup
