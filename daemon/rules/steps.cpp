// The sequence parts of a rule file: `steps:` and `exit:` (docs/rules.md, "Sequences").
#include <algorithm>
#include <set>

#include "rules/checker.h"

namespace followup::rules {
namespace {

// `arms:` of a step: arm name -> {send:, values:} (either may be left out).
void ParseStepArms(Checker& check, const YAML::Node& n, const Rule& rule, Step& step,
                   const LoadOptions& o) {
  if (!rule.experiment) {
    check.Add("step '" + step.name + "': arms: needs the rule's experiment:", check.At(n));
    return;
  }
  if (!n.IsMap() || n.size() == 0) {
    check.Add("step '" + step.name + "': arms: maps arm names to {send:, values:}", check.At(n));
    return;
  }
  for (const auto& item : n) {
    Step::ForArm for_arm;
    for_arm.arm = item.first.Scalar();
    const auto& arms = rule.experiment->arms;
    auto arm =
        std::find_if(arms.begin(), arms.end(), [&](const Arm& a) { return a.name == for_arm.arm; });
    if (arm == arms.end()) {
      check.Add("step '" + step.name + "': unknown arm '" + for_arm.arm + "'",
                check.At(item.first));
      continue;
    }
    if (arm->control) {
      check.Add("step '" + step.name + "': arm '" + for_arm.arm +
                    "' is a control arm: it is never contacted",
                check.At(item.first));
      continue;
    }
    const YAML::Node& body = item.second;
    if (!body.IsNull()) {
      if (!check.KnownKeys(body, "arm " + for_arm.arm, {"send", "values"})) continue;
      if (auto s = body["send"]) {
        if (auto name = check.Text(s, "send")) {
          for_arm.send = *name;
          CheckTemplate(check, o, *name, s);
        }
      }
      if (auto v = body["values"]) {
        if (auto json = check.Values(v)) for_arm.values_json = *json;
      }
    }
    step.arms.push_back(std::move(for_arm));
  }
}

}  // namespace

void ParseSteps(Checker& check, const YAML::Node& n, Rule& rule, const LoadOptions& o) {
  if (!n.IsSequence() || n.size() == 0) {
    check.Add("steps: a list of steps, each with name:, wait:, send:", check.At(n));
    return;
  }
  if (rule.experiment) {
    for (const auto& arm : rule.experiment->arms)
      if (!arm.send.empty() || !arm.values_json.empty())
        check.Add("arm '" + arm.name +
                      "': in a rule with steps, each step says what an arm gets (arms: under "
                      "the step)",
                  check.At(n));
  }
  std::set<std::string> names;
  for (const auto& s : n) {
    if (!check.KnownKeys(s, "step", {"name", "wait", "where", "send", "values", "arms"})) continue;
    Step step;
    if (auto name = s["name"] ? check.Text(s["name"], "name") : std::nullopt) {
      step.name = *name;
      if (!ValidName(step.name))
        check.Add("step name '" + step.name + "' must be 1-64 lower-case letters, digits, - or _",
                  check.At(s["name"]));
      else if (!names.insert(step.name).second)
        check.Add("two steps named '" + step.name + "'", check.At(s["name"]));
    } else {
      check.Add("every step needs a name (customers in flight follow it across edits)",
                check.At(s));
    }
    if (auto w = s["wait"]) {
      if (auto d = check.Duration(w, "wait")) step.wait = *d;
    }
    if (auto w = s["where"]) step.where = check.Where(w);
    if (auto t = s["send"]) {
      if (auto name = check.Text(t, "send")) {
        step.send = *name;
        CheckTemplate(check, o, *name, t);
      }
    } else {
      check.Add("step '" + step.name + "' needs 'send: TEMPLATE'", check.At(s));
    }
    if (auto v = s["values"]) {
      if (auto json = check.Values(v)) step.values_json = *json;
    }
    if (auto a = s["arms"]) ParseStepArms(check, a, rule, step, o);
    rule.steps.push_back(std::move(step));
  }
}

void ParseExit(Checker& check, const YAML::Node& n, Rule& rule) {
  if (!check.KnownKeys(n, "exit", {"purchase", "where"})) return;
  if (auto p = n["purchase"]) rule.exit.purchase = check.Flag(p, "purchase").value_or(true);
  if (auto w = n["where"]) rule.exit.where = check.Where(w);
}

}  // namespace followup::rules
