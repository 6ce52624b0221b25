// followupd check | simulate | explain: the rules part, for operators.
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <tuple>

#include "app/decide.h"
#include "app/rule_set.h"
#include "app/simulate.h"
#include "cli/command.h"
#include "cli/output.h"
#include "cli/worth_view.h"

namespace followup::cli {
namespace {

int RunCheck(Env& env) {
  // Every problem of the config, then of the rules and templates, in one run.
  for (const auto& e : env.config_problems()) std::fprintf(stderr, "%s\n", e.ToString().c_str());
  auto set = app::LoadCheckedRules(env.settings(), env.clock().Now());
  if (!set) ReportAll(set.error());
  if (!set || !env.config_problems().empty()) return 1;
  std::printf("config %s: ok\n",
              env.config().path.empty() ? "(defaults)" : env.config().path.c_str());
  std::printf("rules %s: %zu ok\n", env.config().rules_dir.c_str(), set->rules.size());
  Table table({{"rule"}, {"trigger"}, {"sends"}}, "  ");
  for (const auto& r : set->rules) {
    std::string trigger = r.trigger.schedule
                              ? r.trigger.schedule->text
                              : "on " + std::string(rules::EventName(*r.trigger.event));
    std::string sends = r.send + (r.to_referrer ? " to the referrer" : "");
    if (r.is_sequence()) {
      sends = std::to_string(r.steps.size()) + " steps:";
      for (const auto& step : r.steps) sends += " " + step.name;
    }
    table.Add({r.name, trigger, sends + (r.enabled ? "" : " (disabled)")});
  }
  table.Finish();
  // What the rules do to the customers in the store's sequences, when there is a store.
  auto st = env.store();
  if (!st) {
    if (st.error().code != ErrorCode::kNotFound)
      std::printf("in flight: not read: %s\n", st.error().ToString().c_str());
    return 0;
  }
  auto in_flight = app::ReadInFlight(**st, *set, env.clock().Now());
  if (!in_flight) {
    std::printf("in flight: not read: %s\n", in_flight.error().ToString().c_str());
    return 0;
  }
  if (in_flight->customers == 0) return 0;
  std::printf("in flight: %lld customers in sequences%s\n",
              static_cast<long long>(in_flight->customers),
              in_flight->effects.empty() ? "; the rules leave them where they are" : "");
  for (const auto& line : in_flight->effects) std::printf("  %s\n", line.c_str());
  return 0;
}

int RunSimulate(Env& env, bool json) {
  auto set = app::LoadCheckedRules(env.settings(), env.clock().Now());
  if (!set) return ReportAll(set.error());
  auto base = LoadBase(env);
  if (!base) return Report(base.error());
  auto store = env.store();
  if (!store) return Report(store.error());
  rules::Snapshot snapshot;
  auto evaluated =
      app::EvaluateAll(**store, *set, *base, env.settings(), env.clock().Now(), snapshot);
  if (!evaluated) return Report(evaluated.error());
  rules::Evaluation& eval = *evaluated;
  std::map<int64_t, std::string> ids;
  for (const auto& d : eval.decisions) {
    for (int64_t id : {d.customer_id, d.recipient_id}) {
      if (ids.count(id)) continue;
      if (const auto* c = snapshot.contacts.Find(id)) ids[id] = c->external_id;
    }
  }
  if (json) {
    Json doc;
    doc["at"] = FormatInstant(env.clock().Now());
    Json rules_json = Json::array();
    for (const auto& r : set->rules) {
      const auto& o = eval.rules[r.name];
      Json reasons = Json::object();
      for (const auto& [reason, n] : o.reasons) reasons[JsonKey(rules::ReasonName(reason))] = n;
      rules_json.push_back({{"rule", r.name},
                            {"due", o.due},
                            {"occurrence", TextOrNull(o.occurrence)},
                            {"candidates", o.candidates},
                            {"decided", o.decided},
                            {"entered", o.entered},
                            {"reasons", reasons}});
    }
    doc["rules"] = rules_json;
    Json decisions = Json::array();
    for (const auto& d : eval.decisions) {
      decisions.push_back({{"rule", d.rule},
                           {"customer", ids[d.customer_id]},
                           {"recipient", ids[d.recipient_id]},
                           {"kind", rules::DecisionKindName(d.kind)},
                           {"arm", TextOrNull(d.arm)},
                           {"template", d.template_name},
                           {"dedupe_key", d.dedupe_key},
                           {"send_after", FormatInstant(d.send_after)}});
    }
    doc["decisions"] = decisions;
    std::printf("%s\n", doc.dump().c_str());
    return 0;
  }
  std::printf("simulation at %s (nothing is written)\n", FormatInstant(env.clock().Now()).c_str());
  for (const auto& r : set->rules) {
    const auto& o = eval.rules[r.name];
    if (!o.due) {
      std::printf("\n%s: not due\n", r.name.c_str());
      continue;
    }
    std::string entered =
        r.is_sequence() ? ", " + std::to_string(o.entered) + " entered its sequence" : "";
    std::printf("\n%s%s%s: %lld candidates, %lld emails decided%s\n", r.name.c_str(),
                o.occurrence.empty() ? "" : " for ", o.occurrence.c_str(),
                static_cast<long long>(o.candidates), static_cast<long long>(o.decided),
                entered.c_str());
    if (o.reasons.empty()) continue;
    Table reasons({{"reason"}, {"customers", true}}, "  ");
    for (const auto& [reason, n] : o.reasons)
      reasons.Add({std::string(rules::ReasonName(reason)), std::to_string(n)});
  }
  if (eval.decisions.empty()) return 0;
  std::printf("\ndecisions:\n");
  Table decisions({{"rule"}, {"customer"}, {"recipient"}, {"kind"}, {"template"}, {"arm"}}, "  ");
  for (const auto& d : eval.decisions)
    decisions.Add({d.rule, ids[d.customer_id], ids[d.recipient_id],
                   std::string(rules::DecisionKindName(d.kind)), d.template_name, d.arm});
  return 0;
}

// simulate --until: the passes from --at to `until_text` on a scratch copy of the store, in a
// temporary folder removed afterwards.
int RunSimulateUntil(Env& env, const std::string& until_text, bool json) {
  auto until = ParseInstant(until_text, env.zone());
  if (!until) return Report(Error{ErrorCode::kUsage, "--until: " + until.error().message, {}});
  const Instant from = env.clock().Now();
  if (*until < from)
    return Report(
        Error{ErrorCode::kUsage,
              "--until: " + FormatInstant(*until) + " is before --at (" + FormatInstant(from) + ")",
              {}});
  auto set = app::LoadCheckedRules(env.settings(), from);
  if (!set) return ReportAll(set.error());
  auto store = env.store();
  if (!store) return Report(store.error());
  std::string folder = (std::filesystem::temp_directory_path() / "followupd-simulate-XXXXXX");
  if (!mkdtemp(folder.data()))
    return Report(RuntimeFailure("simulate: cannot make a temporary folder in " +
                                 std::filesystem::temp_directory_path().string()));
  struct Remove {
    std::string path;
    ~Remove() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } remove{folder};
  auto scratch = app::MakeScratchCopy(**store, folder + "/scratch.db");
  if (!scratch) return Report(scratch.error());
  auto passes = app::WalkForward(**scratch, *set, env.settings(), from, *until);
  if (!passes) return Report(passes.error());
  if (json) {
    Json doc = {{"from", FormatInstant(from)}, {"until", FormatInstant(*until)}};
    Json days = Json::array();
    for (const auto& pass : *passes) {
      Json decisions = Json::array();
      for (const auto& s : pass.decisions)
        decisions.push_back({{"rule", s.decision.rule},
                             {"step", s.step},
                             {"customer", s.customer},
                             {"kind", store::DecisionKindName(s.decision.kind)},
                             {"arm", s.decision.arm},
                             {"template", s.decision.template_name},
                             {"send_after", FormatInstant(s.decision.send_after)}});
      days.push_back({{"at", FormatInstant(pass.at)}, {"decisions", decisions}});
    }
    doc["passes"] = days;
    std::printf("%s\n", doc.dump().c_str());
    return 0;
  }
  std::printf(
      "simulation from %s until %s, a pass a day, no purchases assumed (nothing is "
      "written)\n",
      FormatInstant(from).c_str(), FormatInstant(*until).c_str());
  for (const auto& pass : *passes) {
    // Per rule, step and kind: how many.
    std::map<std::tuple<std::string, std::string, std::string>, int64_t> counts;
    for (const auto& s : pass.decisions)
      ++counts[{s.decision.rule, s.step, std::string(store::DecisionKindName(s.decision.kind))}];
    std::printf("\n%s\n", FormatInstant(pass.at).c_str());
    for (const auto& [key, n] : counts) {
      const auto& [rule, step, kind] = key;
      std::string what = step.empty() ? rule : rule + " / " + step;
      std::printf("  %-40s %-8s %lld\n", what.c_str(), kind.c_str(), static_cast<long long>(n));
    }
  }
  if (passes->empty()) std::printf("\nno decisions\n");
  return 0;
}

// Where a place stands: the next step and when it is due, or how it ended.
std::string PlaceText(const store::SequencePlace& p) {
  std::string text = p.ended_at ? "left " + FormatInstant(*p.ended_at) + ": " + p.end_reason
                                : "next " + p.next_step + " due " +
                                      (p.next_due ? FormatInstant(*p.next_due) : "-") +
                                      (p.held_since ? " (held by the contact cap since " +
                                                          FormatInstant(*p.held_since) + ")"
                                                    : "");
  if (p.kind != store::DecisionKind::kSend)
    text += " [" + std::string(store::DecisionKindName(p.kind)) + "]";
  return text;
}

Json PlaceJson(const store::SequencePlace& p) {
  auto at = [](const std::optional<Instant>& t) { return t ? Json(FormatInstant(*t)) : Json(); };
  Json done = Json::array();
  for (const auto& d : p.done)
    done.push_back({{"step", d.step}, {"at", FormatInstant(d.at)}, {"outcome", d.outcome}});
  return {{"rule", p.rule},
          {"occurrence", p.occurrence},
          {"kind", store::DecisionKindName(p.kind)},
          {"arm", p.arm},
          {"entered_at", FormatInstant(p.entered_at)},
          {"steps_done", done},
          {"next_step", p.next_step},
          {"next_due", at(p.next_due)},
          {"held_since", at(p.held_since)},
          {"ended_at", at(p.ended_at)},
          {"end_reason", p.end_reason}};
}

int RunExplain(Env& env, const std::string& customer, bool json) {
  auto row = env.Customer(customer);
  if (!row) return Report(row.error());
  // Rules are optional here: facts are worth explaining even while a rule file is broken.
  auto set = rules::LoadRules(env.settings().RuleLoadOptions(env.clock().Now()));
  rules::RuleSet rules = set ? std::move(*set) : rules::RuleSet{};
  auto base = LoadBase(env);
  if (!base) return Report(base.error());
  auto store = env.store();
  if (!store) return Report(store.error());
  rules::Snapshot snapshot;
  auto evaluated =
      app::EvaluateAll(**store, rules, *base, env.settings(), env.clock().Now(), snapshot, row->id);
  if (!evaluated) return Report(evaluated.error());
  const auto* s = base->Find(row->id);
  if (!s)
    return Report(Error{ErrorCode::kNotFound, "no facts for customer '" + customer + "'", {}});
  rules::Evaluation& eval = *evaluated;
  auto places = (*store)->SequencePlacesOf(row->id);
  if (!places) return Report(places.error());
  // The mail still to go to or about them (a thank-you decided for a referrer among it).
  std::vector<store::LogEntry> queued;
  store::LogFilter to_come;
  to_come.customer = customer;
  to_come.in_queue = true;
  auto read =
      (*store)->ForEachLogEntry(to_come, [&](const store::LogEntry& e) { queued.push_back(e); });
  if (!read) return Report(read.error());
  auto external = [&](int64_t id) {
    const auto* c = snapshot.contacts.Find(id);
    return c ? c->external_id : std::to_string(id);
  };
  // Per rule: the decision about (or to) this customer, or the reasons it was not made, or the
  // triggering events whose wait still runs.
  std::map<std::string, std::vector<std::string>> why;
  std::map<std::string, const rules::Decision*> decided;
  std::map<std::string, std::vector<const rules::Waiting*>> waiting;
  for (const auto& d : eval.decisions)
    if (d.customer_id == row->id || d.recipient_id == row->id) decided[d.rule] = &d;
  for (const auto& skip : eval.skips)
    why[skip.rule].push_back(std::string(rules::ReasonName(skip.reason)) +
                             (skip.detail.empty() ? "" : ": " + skip.detail));
  for (const auto& w : eval.waiting) waiting[w.rule].push_back(&w);
  auto wait_text = [&](const rules::Waiting& w) {
    std::string text = "waiting until " + FormatInstant(w.until) + ": after " + w.occurrence;
    if (w.customer_id != row->id) text += " of " + external(w.customer_id) + ", whom they referred";
    return text;
  };
  auto verdict = [&](const rules::Rule& r) -> std::pair<std::string, std::string> {
    const auto& o = eval.rules[r.name];
    auto d = decided.find(r.name);
    std::string reasons;
    for (const auto& w : why[r.name]) reasons += (reasons.empty() ? "" : "; ") + w;
    if (d != decided.end()) {
      const rules::Decision& made = *d->second;
      if (made.customer_id != row->id)
        reasons = "to them, about " + external(made.customer_id) + ", whom they referred" +
                  (reasons.empty() ? "" : "; " + reasons);
      return {std::string(rules::DecisionKindName(made.kind)), reasons};
    }
    if (!waiting[r.name].empty()) {
      std::string waits;
      for (const auto* w : waiting[r.name]) waits += (waits.empty() ? "" : "; ") + wait_text(*w);
      return {"waiting", waits + (reasons.empty() ? "" : "; " + reasons)};
    }
    if (!o.due)
      return {"not due", r.trigger.schedule ? "schedule " + r.trigger.schedule->text
                                            : "no triggering event in the window"};
    if (reasons.empty()) reasons = "no triggering event for this customer";
    return {"not decided", reasons};
  };
  auto waiting_until = [&](const rules::Rule& r) -> Json {
    if (waiting[r.name].empty()) return nullptr;
    Instant first = waiting[r.name].front()->until;
    for (const auto* w : waiting[r.name]) first = std::min(first, w->until);
    return FormatInstant(first);
  };
  if (json) {
    Json doc = FactsJson(*base, *s, customer);
    Json rules_json = Json::array();
    for (const auto& r : rules.rules) {
      auto [decision, reasons] = verdict(r);
      rules_json.push_back({{"rule", r.name},
                            {"decision", decision},
                            {"why", TextOrNull(reasons)},
                            {"waiting_until", waiting_until(r)}});
    }
    doc["rules"] = rules_json;
    Json mail = Json::array();
    for (const auto& e : queued)
      mail.push_back({{"id", e.id},
                      {"rule", e.rule},
                      {"customer", e.customer},
                      {"recipient", e.recipient},
                      {"template", e.template_name},
                      {"status", store::DeliveryStatusName(e.status)},
                      {"send_after", FormatInstant(e.send_after)}});
    doc["queued"] = mail;
    Json sequences = Json::array();
    for (const auto& p : *places) sequences.push_back(PlaceJson(p));
    doc["sequences"] = sequences;
    doc["rules_error"] = set ? Json(nullptr) : Json(set.error().front().ToString());
    std::printf("%s\n", doc.dump().c_str());
    return 0;
  }
  std::printf("customer %s%s%s, facts at %s\n", customer.c_str(), row->name.empty() ? "" : " ",
              row->name.c_str(), FormatInstant(base->options().at).c_str());
  std::printf("%s\n\n", ModelLine(base->population().model).c_str());
  int exponent = base->options().currency_exponent;
  for (const auto& info : worth::AllFacts()) {
    std::printf("  %-26s %22s  %s\n", std::string(info.name).c_str(),
                FactText(info, base->Value(*s, info.fact), exponent).c_str(),
                std::string(info.meaning).c_str());
  }
  std::printf("\nrules:\n");
  if (!set) {
    std::printf("  the rules do not load (run followupd check): %s\n",
                set.error().front().ToString().c_str());
    return 0;
  }
  for (const auto& r : rules.rules) {
    auto [decision, reasons] = verdict(r);
    std::printf("  %-24s %-12s %s\n", r.name.c_str(), decision.c_str(), reasons.c_str());
  }
  if (!queued.empty()) std::printf("\nmail to come:\n");
  for (const auto& e : queued) {
    std::string about = e.recipient == customer ? "" : " (to " + e.recipient + ")";
    if (e.customer != customer) about = " (about " + e.customer + ")";
    std::printf("  %-24s %-8s due %s%s\n", e.rule.c_str(),
                std::string(store::DeliveryStatusName(e.status)).c_str(),
                FormatInstant(e.send_after).c_str(), about.c_str());
  }
  if (!places->empty()) std::printf("\nsequences:\n");
  for (const auto& p : *places) {
    std::printf("  %-24s entered %s: %s\n", p.rule.c_str(), FormatInstant(p.entered_at).c_str(),
                PlaceText(p).c_str());
    for (const auto& d : p.done)
      std::printf("    %-22s %s %s\n", d.step.c_str(), FormatInstant(d.at).c_str(),
                  d.outcome.c_str());
  }
  return 0;
}

}  // namespace

Command AddCheckCommand(CLI::App& root) {
  auto* app = root.add_subcommand(
      "check",
      "Validate the config, every rule and the templates they name. Every problem is printed as "
      "FILE:LINE:COL: message; exit 1 if there is any. Nothing is written. When the store exists, "
      "also says what the rules do to the customers in flight in sequences.");
  return {app, [](Env& env) { return RunCheck(env); }, store::OpenMode::kExisting, true, true};
}

Command AddSimulateCommand(CLI::App& root) {
  struct Args {
    std::string until;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* app = root.add_subcommand(
      "simulate",
      "The decisions the rules would make at --at (default now), with counts per rule and per "
      "reason; with --until, a pass a day from --at to then (sequence steps included, no "
      "purchases assumed). Writes nothing.");
  app->add_option("--until", args->until,
                  "walk forward a day at a time until this time (business time zone)");
  app->add_flag("--json", args->json, "one JSON document");
  return {app, [args](Env& env) {
            return args->until.empty() ? RunSimulate(env, args->json)
                                       : RunSimulateUntil(env, args->until, args->json);
          }};
}

Command AddExplainCommand(CLI::App& root) {
  struct Args {
    std::string customer;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* app = root.add_subcommand(
      "explain",
      "One customer's facts, each with its meaning, and each rule's decision and why (the clause "
      "of where: that failed, a wait still running, a referrer's thank-you to come), and the "
      "mail still queued to or about them.");
  app->add_option("customer", args->customer, "the customer's id (external)")->required();
  app->add_flag("--json", args->json, "one JSON document");
  return {app, [args](Env& env) { return RunExplain(env, args->customer, args->json); }};
}

}  // namespace followup::cli
