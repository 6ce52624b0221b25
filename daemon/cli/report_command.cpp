// followupd report: what the follow-ups earned, per rule: conversions and revenue of contacted
// against held-out customers. Sequences are counted per entry, and per step (docs/rules.md,
// "Sequences").
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "app/report.h"
#include "base/money.h"
#include "cli/command.h"
#include "cli/output.h"
#include "cli/worth_view.h"
#include "rules/rule.h"
#include "worth/uplift.h"

namespace followup::cli {
namespace {

// A group's counts, and a rate or revenue that is absent (no customer yet) as null.
Json GroupJson(const app::ReportGroup& g, double scale) {
  auto rate = g.rate();
  return {{"customers", g.customers},
          {"converted", g.converted},
          {"conversion_rate", rate ? Json(*rate) : Json(nullptr)},
          {"revenue", static_cast<double>(g.revenue) / scale},
          {"window_open", g.window_open}};
}

Json DiffJson(const std::optional<worth::Interval>& d) {
  if (!d) return nullptr;
  return {{"difference", d->estimate}, {"low", d->low}, {"high", d->high}};
}

Json CountsJson(const std::map<std::string, int64_t>& counts) {
  Json out = Json::object();
  for (const auto& [key, n] : counts) out[key] = n;
  return out;
}

Json SequenceJson(const rules::SequenceReport& s) {
  Json steps = Json::array();
  for (const auto& step : s.steps)
    steps.push_back({{"step", step.step},
                     {"decided", step.decided},
                     {"sent", step.sent},
                     {"bounced", step.bounced},
                     {"complained", step.complained},
                     {"held_out", step.held_out},
                     {"skipped", step.skipped},
                     {"converted", step.converted},
                     {"converted_held_out", step.converted_held_out},
                     {"exits", CountsJson(step.exits)}});
  return {{"entered", s.entered},
          {"in_flight", s.in_flight},
          {"completed", s.completed},
          {"exits", CountsJson(s.exits)},
          {"exits_before_first_step", s.exits_before_first_step},
          {"steps", steps}};
}

std::string CountsText(const std::map<std::string, int64_t>& counts) {
  std::string out;
  for (const auto& [key, n] : counts)
    out += (out.empty() ? "" : ", ") + key + " " + std::to_string(n);
  return out.empty() ? "-" : out;
}

void PrintSequence(const rules::SequenceReport& s) {
  std::printf("  sequence: entered %lld, in flight %lld, completed %lld, left %s\n",
              static_cast<long long>(s.entered), static_cast<long long>(s.in_flight),
              static_cast<long long>(s.completed), CountsText(s.exits).c_str());
  std::printf("  %-16s %8s %8s %8s %10s %8s %8s %10s %10s  %s\n", "step", "decided", "sent",
              "bounced", "complained", "held out", "skipped", "converted", "conv. held",
              "left after it");
  for (const auto& step : s.steps)
    std::printf("  %-16s %8lld %8lld %8lld %10lld %8lld %8lld %10lld %10lld  %s\n",
                step.step.c_str(), static_cast<long long>(step.decided),
                static_cast<long long>(step.sent), static_cast<long long>(step.bounced),
                static_cast<long long>(step.complained), static_cast<long long>(step.held_out),
                static_cast<long long>(step.skipped), static_cast<long long>(step.converted),
                static_cast<long long>(step.converted_held_out), CountsText(step.exits).c_str());
}

// "12 converted of 40 (30.0%), revenue 123.45 EUR; 3 with the window still open".
std::string GroupText(const app::ReportGroup& g, int exponent, const std::string& currency) {
  char rate[32] = "-";
  if (auto r = g.rate()) std::snprintf(rate, sizeof rate, "%.1f%%", 100 * *r);
  std::string text = std::to_string(g.customers) + " customers, " + std::to_string(g.converted) +
                     " converted (" + rate + "), revenue " + FormatAmount(g.revenue, exponent) +
                     " " + currency;
  if (g.window_open > 0)
    text += "; " + std::to_string(g.window_open) + " with the window still open (not counted)";
  return text;
}

int RunReport(Env& env, bool json) {
  auto store = env.store();
  if (!store) return Report(store.error());
  const Instant now = env.clock().Now();
  // Windows and offer codes come from the rules; rules no longer on disk get the default window.
  std::map<std::string, std::pair<std::chrono::seconds, std::string>> windows;
  std::map<std::string, app::SequenceCounting> counting;
  if (auto set = rules::LoadRules(env.settings().RuleLoadOptions(now))) {
    for (const auto& r : set->rules) {
      windows[r.name] = {std::chrono::days{14}, ""};
      if (r.experiment)
        windows[r.name] = {r.experiment->conversion_within, r.experiment->conversion_offer_code};
      if (!r.is_sequence()) continue;
      auto& c = counting[r.name];
      for (const auto& step : r.steps) c.steps.push_back(step.name);
      std::tie(c.window, c.offer_code) = windows[r.name];
    }
  }
  std::set<std::string> names;
  for (const auto& [name, _] : windows) names.insert(name);
  auto all = (*store)->ForEachLogEntry({}, [&](const store::LogEntry& e) { names.insert(e.rule); });
  if (!all) return Report(all.error());
  // Sequences are counted per entry (a customer's place for one occurrence), not per step.
  auto sequences = app::ReportSequences(**store, counting, now);
  if (!sequences) return Report(sequences.error());

  const std::string& currency = env.config().business.currency;
  const int exponent = CurrencyExponent(currency);
  const double scale = std::pow(10.0, exponent);
  Json doc = Json::array();
  if (!json)
    std::printf(
        "report at %s\n"
        "conversions and revenue per customer in the window after each decision (for\n"
        "sequences: per entry, in the window after any of its steps, each purchase once):\n"
        "contacted (sent) against held out (holdout and control arms), counted once the window\n"
        "has closed; 95%% intervals, or too few to tell below %lld customers a group\n",
        FormatInstant(now).c_str(), static_cast<long long>(worth::kMinCustomersPerGroup));
  for (const auto& name : names) {
    auto [rule_window, code] =
        windows.count(name) ? windows[name] : std::make_pair(std::chrono::seconds{14 * 86400}, "");
    const std::chrono::seconds window = rule_window;  // a plain variable: lambdas capture it
    std::map<store::DeliveryStatus, int64_t> status;
    int64_t decided = 0, held_out = 0, pending = 0;
    app::ReportGroup contacted, holdout;
    auto r = (*store)->ForEachDecisionOutcome(name, window, code, [&](const auto& o) {
      ++status[o.status];
      if (store::IsPending(o.status)) ++pending;
      if (o.kind == store::DecisionKind::kSend) {
        ++decided;
        if (rules::Arrived(o.status)) contacted.Add(o, window, now, scale);
      } else {
        ++held_out;
        holdout.Add(o, window, now, scale);
      }
    });
    if (!r) return Report(r.error());
    auto sequence = sequences->find(name);
    const rules::SequenceReport* seq = sequence == sequences->end() ? nullptr : &sequence->second;
    if (seq) {
      contacted = app::ReportGroup::Of(seq->contacted, scale);
      holdout = app::ReportGroup::Of(seq->held_out, scale);
    }
    const app::Comparison diff = app::Compare(contacted, holdout);
    if (json) {
      doc.push_back({{"rule", name},
                     {"window_days", window.count() / 86400},
                     {"offer_code", TextOrNull(code)},
                     {"currency", currency},
                     {"decided", decided},
                     {"sent", status[store::DeliveryStatus::kSent]},
                     {"failed", status[store::DeliveryStatus::kFailed]},
                     {"suppressed", status[store::DeliveryStatus::kSuppressed]},
                     {"bounced", status[store::DeliveryStatus::kBounced]},
                     {"complained", status[store::DeliveryStatus::kComplained]},
                     {"pending", pending},
                     {"held_out", held_out},
                     {"contacted", GroupJson(contacted, scale)},
                     {"holdout", GroupJson(holdout, scale)},
                     {"too_few_to_tell", diff.too_few},
                     {"conversion_uplift", DiffJson(diff.conversion)},
                     {"revenue_per_customer_uplift", DiffJson(diff.revenue_per_customer)}});
      if (seq) doc.back()["sequence"] = SequenceJson(*seq);
      continue;
    }
    std::printf("\n%s (window %lld days%s%s)\n", name.c_str(),
                static_cast<long long>(window.count() / 86400), code.empty() ? "" : ", offer ",
                code.c_str());
    std::printf(
        "  decided %lld, sent %lld, bounced %lld, complained %lld, failed %lld, suppressed %lld, "
        "pending %lld, held out %lld\n",
        static_cast<long long>(decided),
        static_cast<long long>(status[store::DeliveryStatus::kSent]),
        static_cast<long long>(status[store::DeliveryStatus::kBounced]),
        static_cast<long long>(status[store::DeliveryStatus::kComplained]),
        static_cast<long long>(status[store::DeliveryStatus::kFailed]),
        static_cast<long long>(status[store::DeliveryStatus::kSuppressed]),
        static_cast<long long>(pending), static_cast<long long>(held_out));
    std::printf("  contacted: %s\n", GroupText(contacted, exponent, currency).c_str());
    std::printf("  held out:  %s\n", GroupText(holdout, exponent, currency).c_str());
    if (diff.too_few) {
      std::printf(
          "  uplift: too few to tell (%lld contacted and %lld held out with the window closed; "
          "needs %lld of each)\n",
          static_cast<long long>(contacted.customers), static_cast<long long>(holdout.customers),
          static_cast<long long>(worth::kMinCustomersPerGroup));
    } else {
      const auto& c = *diff.conversion;
      std::printf("  conversion uplift %+.1f points [%+.1f, %+.1f]\n", 100 * c.estimate,
                  100 * c.low, 100 * c.high);
      const double money = contacted.per_customer.mean() - holdout.per_customer.mean();
      if (const auto& m = diff.revenue_per_customer)
        std::printf("  revenue per customer %+.*f %s [%+.*f, %+.*f]\n", exponent, m->estimate,
                    currency.c_str(), exponent, m->low, exponent, m->high);
      else
        std::printf(
            "  revenue per customer %+.*f %s (no interval: every customer spent the same)\n",
            exponent, money, currency.c_str());
    }
    if (seq) PrintSequence(*seq);
  }
  if (json) std::printf("%s\n", doc.dump().c_str());
  return 0;
}

}  // namespace

Command AddReportCommand(CLI::App& root) {
  auto json = std::make_shared<bool>(false);
  auto* app = root.add_subcommand(
      "report",
      "Per rule: decided, sent, bounced, complained, failed, held out; conversions and revenue "
      "after the send for "
      "contacted against held-out customers once their conversion window has closed (those "
      "still open counted apart), and the difference with a 95% interval, or too few to tell.");
  app->add_flag("--json", *json, "one JSON document");
  return {app, [json](Env& env) { return RunReport(env, *json); }};
}

}  // namespace followup::cli
