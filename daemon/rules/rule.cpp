#include "rules/rule.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "base/ascii.h"
#include "config/yaml_document.h"
#include "rules/checker.h"

namespace followup::rules {
namespace {

namespace fs = std::filesystem;

void ParseTrigger(Checker& check, const YAML::Node& n, Rule& rule, const LoadOptions& o) {
  if (!check.KnownKeys(n, "trigger", {"event", "schedule", "wait"})) return;
  if (n["event"] && n["schedule"]) {
    check.Add("a trigger is an event or a schedule, not both", check.At(n));
    return;
  }
  if (auto e = n["event"]) {
    auto text = check.Text(e, "event");
    if (!text) return;
    static const std::map<std::string, EventKind, std::less<>> kEvents = {
        {"purchase", EventKind::kPurchase},
        {"first_purchase", EventKind::kFirstPurchase},
        {"return", EventKind::kReturn},
        {"referral_converted", EventKind::kReferralConverted}};
    auto it = kEvents.find(*text);
    if (it == kEvents.end()) {
      check.Add("unknown event '" + *text +
                    "' (events: purchase, first_purchase, return, referral_converted)",
                check.At(e));
      return;
    }
    rule.trigger.event = it->second;
    if (auto w = n["wait"]) {
      if (auto d = check.Duration(w, "wait")) rule.trigger.wait = *d;
    }
  } else if (auto s = n["schedule"]) {
    if (n["wait"])
      check.Add("wait goes with an event trigger, not a schedule", check.At(n["wait"]));
    auto text = check.Text(s, "schedule");
    if (!text) return;
    auto schedule = ParseSchedule(*text);
    if (!schedule) {
      check.Add(schedule.error().message, check.At(s));
      return;
    }
    if (schedule->every == Schedule::Every::kOnce) {
      auto fired = schedule->LastFiring(o.now, o.zone);
      if (fired && fired->at < o.now - std::chrono::hours{24})
        check.Add("schedule '" + *text + "' lies in the past: it would never fire", check.At(s));
    }
    rule.trigger.schedule = *schedule;
  } else {
    check.Add("a trigger needs an event or a schedule", check.At(n));
  }
}

void ParseAudience(Checker& check, const YAML::Node& n, Rule& rule) {
  if (!check.KnownKeys(n, "audience", {"where", "top"})) return;
  if (auto w = n["where"]) {
    rule.where = check.Where(w);
  }
  if (auto t = n["top"]) {
    auto text = check.Text(t, "top");
    if (!text) return;
    auto words = AsciiWords(*text);
    if (words.size() != 3 || words[1] != "by") {
      check.Add("top: expected 'N by FACT' or 'N% by FACT', e.g. '10% by profit'", check.At(t));
      return;
    }
    Top top;
    auto fact = worth::FindFact(words[2]);
    if (!fact) {
      check.Add("top: unknown fact '" + words[2] + "'", check.At(t));
      return;
    }
    top.by = *fact;
    std::string amount = words[0];
    top.percent = !amount.empty() && amount.back() == '%';
    if (top.percent) amount.pop_back();
    try {
      size_t used = 0;
      top.amount = std::stod(amount, &used);
      if (used != amount.size()) throw std::invalid_argument(amount);
    } catch (const std::exception&) {
      check.Add("top: bad amount '" + words[0] + "'", check.At(t));
      return;
    }
    if (top.percent) top.amount /= 100;
    if (top.amount <= 0 || (top.percent && top.amount > 1) ||
        (!top.percent && top.amount != std::floor(top.amount))) {
      check.Add("top: '" + words[0] + "' must be a whole number or a percentage up to 100%",
                check.At(t));
      return;
    }
    rule.top = top;
  }
}

void ParseAction(Checker& check, const YAML::Node& n, Rule& rule, const LoadOptions& o) {
  if (!check.KnownKeys(n, "action", {"send", "to", "values"})) return;
  if (auto s = n["send"]) {
    if (auto name = check.Text(s, "send")) {
      rule.send = *name;
      CheckTemplate(check, o, *name, s);
    }
  } else {
    check.Add("action needs 'send: TEMPLATE'", check.At(n));
  }
  if (auto t = n["to"]) {
    auto to = check.Text(t, "to");
    if (to && *to != "customer" && *to != "referrer")
      check.Add("to: expected customer or referrer, found '" + *to + "'", check.At(t));
    rule.to_referrer = to && *to == "referrer";
  }
  if (auto v = n["values"]) {
    if (auto json = check.Values(v)) rule.values_json = *json;
  }
}

void ParseExperiment(Checker& check, const YAML::Node& n, Rule& rule, const LoadOptions& o) {
  if (!check.KnownKeys(n, "experiment", {"arms", "conversion"})) return;
  Experiment ex;
  auto arms = n["arms"];
  if (!arms || !arms.IsSequence() || arms.size() < 2) {
    check.Add("experiment needs 'arms:' with at least two arms", check.At(arms ? arms : n));
    return;
  }
  double total = 0;
  std::set<std::string> names;
  for (const auto& a : arms) {
    if (!check.KnownKeys(a, "arm", {"name", "weight", "control", "send", "values"})) continue;
    Arm arm;
    if (auto name = a["name"] ? check.Text(a["name"], "name") : std::nullopt) {
      arm.name = *name;
      if (!names.insert(arm.name).second)
        check.Add("two arms named '" + arm.name + "'", check.At(a));
    } else {
      check.Add("every arm needs a name", check.At(a));
    }
    if (a["weight"]) {
      if (auto w = check.Percent(a["weight"], "weight", 0, 1)) arm.weight = *w;
    } else {
      check.Add("arm '" + arm.name + "' needs a weight such as 50%", check.At(a));
    }
    if (a["control"]) arm.control = check.Flag(a["control"], "control").value_or(false);
    if (a["send"]) {
      if (auto name = check.Text(a["send"], "send")) {
        arm.send = *name;
        CheckTemplate(check, o, *name, a["send"]);
      }
    }
    if (a["values"]) {
      if (auto json = check.Values(a["values"])) arm.values_json = *json;
    }
    total += arm.weight;
    ex.arms.push_back(arm);
  }
  if (std::abs(total - 1.0) > 1e-9)
    check.Add("arm weights add up to " +
                  std::to_string(static_cast<int>(std::lround(total * 100))) + "%, not 100%",
              check.At(arms));
  if (auto c = n["conversion"]) {
    if (check.KnownKeys(c, "conversion", {"within", "offer_code"})) {
      if (c["within"]) {
        if (auto d = check.Duration(c["within"], "within")) ex.conversion_within = *d;
      }
      if (c["offer_code"]) {
        if (auto code = check.Text(c["offer_code"], "offer_code")) ex.conversion_offer_code = *code;
      }
    }
  }
  rule.experiment = std::move(ex);
}

}  // namespace

std::string_view EventName(EventKind kind) {
  switch (kind) {
    case EventKind::kPurchase:
      return "purchase";
    case EventKind::kFirstPurchase:
      return "first_purchase";
    case EventKind::kReturn:
      return "return";
    case EventKind::kReferralConverted:
      return "referral_converted";
  }
  return "purchase";
}

std::optional<Rule> ParseRule(const std::string& yaml_text, const std::string& file,
                              const LoadOptions& o, std::vector<Error>& errors) {
  Checker check(file, errors);
  size_t before = errors.size();
  auto document = ReadYamlDocument(yaml_text, file, errors);
  if (!document) return std::nullopt;
  const YAML::Node& root = *document;
  Rule rule;
  rule.file = file;
  try {
    if (!root.IsMap()) {
      check.Add("a rule file holds one mapping (name:, trigger:, audience:, action: ...)",
                Location{file, 1, 1});
      return std::nullopt;
    }
    check.KnownKeys(root, "the rule",
                    {"name", "description", "enabled", "trigger", "audience", "action", "steps",
                     "exit", "limits", "priority", "holdout", "experiment"});
    if (auto n = root["name"]) {
      if (auto name = check.Text(n, "name")) {
        rule.name = *name;
        if (!ValidName(rule.name))
          check.Add("name '" + rule.name + "' must be 1-64 lower-case letters, digits, - or _",
                    check.At(n));
      }
    } else {
      check.Add("a rule needs a name", Location{file, 1, 1});
    }
    if (auto n = root["description"]) {
      if (auto d = check.Text(n, "description")) rule.description = *d;
    }
    if (auto n = root["trigger"])
      ParseTrigger(check, n, rule, o);
    else
      check.Add("a rule needs a trigger (event: or schedule:)", Location{file, 1, 1});
    if (auto n = root["audience"]) ParseAudience(check, n, rule);
    if (auto n = root["enabled"]) rule.enabled = check.Flag(n, "enabled").value_or(true);
    if (root["action"] && root["steps"])
      check.Add("a rule has an action or steps, not both", check.At(root["steps"]));
    else if (auto n = root["action"])
      ParseAction(check, n, rule, o);
    else if (!root["steps"])
      check.Add("a rule needs an action (send: TEMPLATE) or steps", Location{file, 1, 1});
    if (auto n = root["exit"]) {
      if (root["steps"])
        ParseExit(check, n, rule);
      else
        check.Add("exit goes with steps (a sequence)", check.At(n));
    }
    if (auto n = root["limits"]) {
      if (check.KnownKeys(n, "limits", {"once_per"}) && n["once_per"])
        rule.once_per = check.Duration(n["once_per"], "once_per");
    }
    if (auto n = root["priority"]) {
      int p = 0;
      if (!n.IsScalar() || !YAML::convert<int>::decode(n, p))
        check.Add("priority must be a whole number", check.At(n));
      rule.priority = p;
    }
    if (auto n = root["holdout"]) {
      if (auto h = check.Percent(n, "holdout", 0, 0.9)) rule.holdout = *h;
    }
    if (auto n = root["experiment"]) ParseExperiment(check, n, rule, o);
    // Last: a step's arms are checked against the experiment's.
    if (auto n = root["steps"]) ParseSteps(check, n, rule, o);
  } catch (const YAML::Exception& e) {
    check.Add(e.msg, check.At(e.mark));
  }
  if (errors.size() != before) return std::nullopt;
  return rule;
}

tl::expected<RuleSet, std::vector<Error>> LoadRules(const LoadOptions& o) {
  std::vector<Error> errors;
  RuleSet set;
  std::error_code ec;
  if (!fs::is_directory(o.rules_dir, ec)) {
    errors.push_back(
        Error{ErrorCode::kInvalidInput, "rules folder not found", {o.rules_dir, 0, 0}});
    return tl::unexpected(errors);
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(o.rules_dir, ec)) {
    auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> names;  // rule name -> file
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      errors.push_back(Error{ErrorCode::kInvalidInput, "cannot read", {path.string(), 0, 0}});
      continue;
    }
    auto rule = ParseRule(text.str(), path.string(), o, errors);
    if (!rule) continue;
    auto [it, fresh] = names.emplace(rule->name, rule->file);
    if (!fresh) {
      errors.push_back(
          Error{ErrorCode::kInvalidInput,
                "two rules named '" + rule->name + "' (the other is in " + it->second + ")",
                {rule->file, 1, 1}});
      continue;
    }
    set.rules.push_back(std::move(*rule));
  }
  if (!errors.empty()) return tl::unexpected(errors);
  std::stable_sort(set.rules.begin(), set.rules.end(), [](const Rule& a, const Rule& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.name < b.name;
  });
  return set;
}

}  // namespace followup::rules
