#include "service/pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/money.h"
#include "delivery/mime.h"
#include "delivery/template.h"
#include "delivery/unsubscribe.h"

namespace followup::service {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Keys(const std::string& values_json) {
  std::vector<std::string> keys;
  auto doc = nlohmann::json::parse(values_json, nullptr, false);
  if (doc.is_object())
    for (auto& [key, _] : doc.items()) keys.push_back(key);
  return keys;
}

// A secret file's path: absolute as is; else in $CREDENTIALS_DIRECTORY when set; else next to
// the config file.
std::string SecretPath(const std::string& name, const Config& config) {
  if (fs::path(name).is_absolute()) return name;
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir)
    return (fs::path(dir) / name).string();
  if (!config.path.empty()) return (fs::absolute(config.path).parent_path() / name).string();
  return name;
}

}  // namespace

rules::LoadOptions RuleOptions(const Config& config, Instant now, const date::time_zone* zone) {
  rules::LoadOptions o;
  o.rules_dir = config.rules_dir;
  o.templates_dir = config.templates_dir;
  o.now = now;
  o.zone = zone;
  return o;
}

rules::ContactPolicy PolicyFor(const Config& config) { return config.contact_policy; }

worth::FactsOptions FactsOptionsFor(const Config& config, Instant now,
                                    const date::time_zone* zone) {
  worth::FactsOptions o;
  o.at = now;
  o.zone = zone;
  o.unit = config.worth.time_unit == "days" ? worth::TimeUnit::kDays : worth::TimeUnit::kWeeks;
  o.default_margin = config.worth.default_margin;
  o.annual_discount_rate = config.worth.annual_discount_rate;
  o.currency_exponent = CurrencyExponent(config.business.currency);
  return o;
}

std::vector<Error> CheckRuleTemplates(const rules::RuleSet& set, const std::string& templates_dir) {
  std::vector<Error> errors;
  // (template, the values it may use): a template shared by rules is checked against each.
  for (const auto& rule : set.rules) {
    std::vector<std::pair<std::string, std::vector<std::string>>> uses;
    uses.emplace_back(rule.send, Keys(rule.values_json));
    if (rule.experiment) {
      for (const auto& arm : rule.experiment->arms) {
        auto keys = Keys(rule.values_json);
        for (auto& k : Keys(arm.values_json.empty() ? "{}" : arm.values_json)) keys.push_back(k);
        uses.emplace_back(arm.send.empty() ? rule.send : arm.send, keys);
      }
    }
    for (const auto& [name, keys] : uses) {
      auto tmpl = delivery::LoadTemplate(templates_dir, name);
      if (!tmpl) {
        errors.push_back(tmpl.error());
        continue;
      }
      for (auto& e : delivery::CheckTemplate(*tmpl, keys)) {
        e.message += " (rule " + rule.name + ")";
        errors.push_back(std::move(e));
      }
    }
  }
  return errors;
}

tl::expected<rules::RuleSet, std::vector<Error>> LoadCheckedRules(const Config& config, Instant now,
                                                                  const date::time_zone* zone) {
  auto set = rules::LoadRules(RuleOptions(config, now, zone));
  std::vector<Error> errors = set ? CheckRuleTemplates(*set, config.templates_dir) : set.error();
  if (errors.empty()) return std::move(*set);
  // Each problem once (a template shared by several rules or arms is reported once).
  std::vector<Error> unique;
  std::vector<std::string> seen;
  for (auto& e : errors) {
    auto text = e.ToString();
    if (std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
    seen.push_back(text);
    unique.push_back(std::move(e));
  }
  return tl::unexpected(unique);
}

rules::Evaluation EvaluateAll(const Config& config, const date::time_zone* zone, Instant now,
                              const rules::RuleSet& set, const worth::CustomerBase& base,
                              const rules::Snapshot& snap, int64_t explain_customer) {
  auto in = rules::MakeInput(set, base, snap, snap.events, PolicyFor(config), now, zone,
                             explain_customer);
  return rules::Evaluate(in);
}

Result<std::unique_ptr<delivery::Transport>> MakeConfiguredTransport(const Config& config) {
  const auto& d = config.delivery;
  delivery::TransportOptions o;
  o.url = d.transport;
  o.require_tls = d.require_tls;
  o.api_kind = d.api;
  o.connections = d.connections;
  o.timeout = d.timeout;
  o.rate_per_second = d.rate_per_second;
  o.rate_per_domain = d.rate_per_domain;
  if (!d.credentials_file.empty()) {
    std::string path = SecretPath(d.credentials_file, config);
    std::ifstream in(path);
    std::string secret;
    std::getline(in, secret);
    if (!in && secret.empty())
      return Fail(ErrorCode::kRuntime, "delivery credentials: cannot read " + path);
    if (d.transport.rfind("smtp", 0) == 0) {
      auto colon = secret.find(':');
      if (colon == std::string::npos)
        return Fail(ErrorCode::kInvalidInput,
                    "delivery credentials in " + path + ": expected user:password");
      o.username = secret.substr(0, colon);
      o.password = secret.substr(colon + 1);
    } else {
      o.api_token = secret;
    }
  }
  return delivery::MakeTransport(o);
}

Result<delivery::ComposerOptions> ComposerOptionsFor(const Config& config) {
  const auto& d = config.delivery;
  delivery::ComposerOptions o;
  o.templates_dir = config.templates_dir;
  auto from = delivery::ParseAddress(d.from);
  if (!from) return Fail(ErrorCode::kInvalidInput, "delivery.from: " + from.error().message);
  o.from = *from;
  if (!d.reply_to.empty()) {
    auto reply = delivery::ParseAddress(d.reply_to);
    if (!reply)
      return Fail(ErrorCode::kInvalidInput, "delivery.reply_to: " + reply.error().message);
    o.reply_to = *reply;
  }
  o.business_name = config.business.name;
  o.currency = config.business.currency;
  o.unsubscribe_base_url = d.unsubscribe_url;
  auto key = delivery::LoadOrCreateKey(d.unsubscribe_key_file);
  if (!key) return tl::unexpected(key.error());
  o.unsubscribe_key = *key;
  return o;
}

delivery::OutboxOptions OutboxOptionsFor(const Config& config) {
  delivery::OutboxOptions o;
  o.max_attempts = config.delivery.max_attempts;
  o.retry_base = config.delivery.retry_base;
  return o;
}

store::OutboxItem PreviewItem(const rules::Rule& rule, const std::string& customer_external_id) {
  store::OutboxItem item;
  item.rule = rule.name;
  item.template_name = rule.send;
  item.values_json = rule.values_json;
  item.dedupe_key = rule.name + ":" + customer_external_id + ":preview";
  if (rule.experiment) {
    const auto& arm = rules::AssignArm(rule, customer_external_id);
    item.arm = arm.name;
    if (!arm.send.empty()) item.template_name = arm.send;
    item.values_json = rules::ArmValues(rule, arm);
  }
  return item;
}

}  // namespace followup::service
