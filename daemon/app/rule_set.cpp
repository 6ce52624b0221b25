#include "app/rule_set.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "delivery/template.h"
#include "rules/sequence.h"

namespace followup::app {
namespace {

std::vector<std::string> Keys(const std::string& values_json) {
  std::vector<std::string> keys;
  auto doc = nlohmann::json::parse(values_json, nullptr, false);
  if (doc.is_object())
    for (auto& [key, _] : doc.items()) keys.push_back(key);
  return keys;
}

}  // namespace

std::vector<Error> CheckRuleTemplates(const rules::RuleSet& set, const std::string& templates_dir) {
  std::vector<Error> errors;
  // (template, the values it may use): a template shared by rules is checked against each.
  for (const auto& rule : set.rules) {
    std::vector<std::pair<std::string, std::vector<std::string>>> uses;
    if (!rule.is_sequence()) uses.emplace_back(rule.send, Keys(rule.values_json));
    for (const auto& step : rule.steps) {
      // Each step's template against its values, and per arm against the arm's on top.
      if (step.arms.empty()) uses.emplace_back(step.send, Keys(step.values_json));
      for (const auto& arm : step.arms) {
        auto keys = Keys(step.values_json);
        for (auto& k : Keys(arm.values_json.empty() ? "{}" : arm.values_json)) keys.push_back(k);
        uses.emplace_back(arm.send.empty() ? step.send : arm.send, keys);
      }
    }
    if (rule.experiment && !rule.is_sequence()) {
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

tl::expected<rules::RuleSet, std::vector<Error>> LoadCheckedRules(const Settings& settings,
                                                                  Instant now) {
  auto set = rules::LoadRules(settings.RuleLoadOptions(now));
  std::vector<Error> errors = set ? CheckRuleTemplates(*set, settings.templates_dir) : set.error();
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

Result<InFlight> ReadInFlight(store::Store& store, const rules::RuleSet& set, Instant now) {
  std::vector<store::SequencePlace> places;
  auto read = store.ForEachSequencePlace(now, [&](const store::SequencePlace& p) {
    if (!p.ended_at) places.push_back(p);
  });
  if (!read) return tl::unexpected(read.error());
  return InFlight{static_cast<int64_t>(places.size()), rules::EditEffects(set, places)};
}

}  // namespace followup::app
