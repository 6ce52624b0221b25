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

namespace followup::cli {
namespace {

// Counts and sums of one group of decisions (or of a sequence's entries).
struct Group {
  int64_t n = 0, converted = 0;
  double revenue = 0, revenue_sq = 0;  // major units

  void Add(const store::DecisionOutcome& o, double scale) {
    ++n;
    if (o.purchases > 0) ++converted;
    double r = o.revenue / scale;
    revenue += r;
    revenue_sq += r * r;
  }
  // A sequence's entries of one side, counted once each (rules/sequence_report.h).
  static Group Of(const rules::EntryGroup& entries, double scale) {
    Group g;
    g.n = entries.entries;
    g.converted = entries.converted;
    for (int64_t minor : entries.revenue) {
      double r = minor / scale;
      g.revenue += r;
      g.revenue_sq += r * r;
    }
    return g;
  }
  double Rate() const { return n ? static_cast<double>(converted) / n : 0; }
  double Mean() const { return n ? revenue / n : 0; }
  double Var() const {
    if (n < 2) return 0;
    return (revenue_sq - revenue * revenue / n) / (n - 1);
  }
};

// Difference a - b with a normal-approximation 95% interval (Wald for rates, Welch for means).
struct Difference {
  double value = 0, low = 0, high = 0;
  bool defined = false;
};

Difference RateDifference(const Group& a, const Group& b) {
  if (!a.n || !b.n) return {};
  double d = a.Rate() - b.Rate();
  double se = std::sqrt(a.Rate() * (1 - a.Rate()) / a.n + b.Rate() * (1 - b.Rate()) / b.n);
  return {d, d - 1.96 * se, d + 1.96 * se, true};
}

Difference MeanDifference(const Group& a, const Group& b) {
  if (!a.n || !b.n) return {};
  double d = a.Mean() - b.Mean();
  double se = std::sqrt(a.Var() / a.n + b.Var() / b.n);
  return {d, d - 1.96 * se, d + 1.96 * se, true};
}

// No customers, no rate: null, not 0.
Json RateOrNull(const Group& g) { return g.n ? Json(g.Rate()) : Json(nullptr); }

Json DiffJson(const Difference& d) {
  if (!d.defined) return nullptr;
  return {{"difference", d.value}, {"low", d.low}, {"high", d.high}};
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
  std::printf("  %-16s %8s %8s %8s %8s %10s %10s  %s\n", "step", "decided", "sent", "held out",
              "skipped", "converted", "conv. held", "left after it");
  for (const auto& step : s.steps)
    std::printf("  %-16s %8lld %8lld %8lld %8lld %10lld %10lld  %s\n", step.step.c_str(),
                static_cast<long long>(step.decided), static_cast<long long>(step.sent),
                static_cast<long long>(step.held_out), static_cast<long long>(step.skipped),
                static_cast<long long>(step.converted),
                static_cast<long long>(step.converted_held_out), CountsText(step.exits).c_str());
}

int RunReport(Env& env, bool json) {
  auto store = env.store();
  if (!store) return Report(store.error());
  // Windows and offer codes come from the rules; rules no longer on disk get the default window.
  std::map<std::string, std::pair<std::chrono::seconds, std::string>> windows;
  std::map<std::string, app::SequenceCounting> counting;
  if (auto set = rules::LoadRules(env.settings().RuleLoadOptions(env.clock().Now()))) {
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
  auto sequences = app::ReportSequences(**store, counting);
  if (!sequences) return Report(sequences.error());

  const double scale = std::pow(10.0, CurrencyExponent(env.config().business.currency));
  Json doc = Json::array();
  if (!json)
    std::printf(
        "conversions and revenue per customer in the window after each decision (for\n"
        "sequences: per entry, in the window after any of its steps, each purchase once):\n"
        "contacted (sent) against held out (holdout and control arms), 95%% intervals\n");
  for (const auto& name : names) {
    auto [window, code] =
        windows.count(name) ? windows[name] : std::make_pair(std::chrono::seconds{14 * 86400}, "");
    std::map<store::DeliveryStatus, int64_t> status;
    int64_t decided = 0, held_out = 0, pending = 0;
    Group contacted, holdout;
    auto r = (*store)->ForEachDecisionOutcome(name, window, code, [&](const auto& o) {
      ++status[o.status];
      if (store::IsPending(o.status)) ++pending;
      if (o.kind == store::DecisionKind::kSend) {
        ++decided;
        if (rules::Arrived(o.status)) contacted.Add(o, scale);
      } else {
        ++held_out;
        holdout.Add(o, scale);
      }
    });
    if (!r) return Report(r.error());
    auto sequence = sequences->find(name);
    const rules::SequenceReport* seq = sequence == sequences->end() ? nullptr : &sequence->second;
    if (seq) {
      contacted = Group::Of(seq->contacted, scale);
      holdout = Group::Of(seq->held_out, scale);
    }
    auto rate = RateDifference(contacted, holdout);
    auto mean = MeanDifference(contacted, holdout);
    if (json) {
      doc.push_back({{"rule", name},
                     {"window_days", window.count() / 86400},
                     {"offer_code", TextOrNull(code)},
                     {"decided", decided},
                     {"sent", status[store::DeliveryStatus::kSent]},
                     {"failed", status[store::DeliveryStatus::kFailed]},
                     {"suppressed", status[store::DeliveryStatus::kSuppressed]},
                     {"bounced", status[store::DeliveryStatus::kBounced]},
                     {"complained", status[store::DeliveryStatus::kComplained]},
                     {"pending", pending},
                     {"held_out", held_out},
                     {"contacted",
                      {{"customers", contacted.n},
                       {"converted", contacted.converted},
                       {"conversion_rate", RateOrNull(contacted)},
                       {"revenue", contacted.revenue}}},
                     {"holdout",
                      {{"customers", holdout.n},
                       {"converted", holdout.converted},
                       {"conversion_rate", RateOrNull(holdout)},
                       {"revenue", holdout.revenue}}},
                     {"conversion_uplift", DiffJson(rate)},
                     {"revenue_per_customer_uplift", DiffJson(mean)}});
      if (seq) doc.back()["sequence"] = SequenceJson(*seq);
      continue;
    }
    std::printf("\n%s (window %lld days%s%s)\n", name.c_str(),
                static_cast<long long>(window.count() / 86400), code.empty() ? "" : ", offer ",
                code.c_str());
    std::printf(
        "  decided %lld, sent %lld, failed %lld, suppressed %lld, pending %lld, held out "
        "%lld\n",
        static_cast<long long>(decided),
        static_cast<long long>(status[store::DeliveryStatus::kSent]),
        static_cast<long long>(status[store::DeliveryStatus::kFailed]),
        static_cast<long long>(status[store::DeliveryStatus::kSuppressed]),
        static_cast<long long>(pending), static_cast<long long>(held_out));
    std::printf("  contacted: %lld customers, %lld converted (%.1f%%), revenue %.2f\n",
                static_cast<long long>(contacted.n), static_cast<long long>(contacted.converted),
                100 * contacted.Rate(), contacted.revenue);
    std::printf("  held out:  %lld customers, %lld converted (%.1f%%), revenue %.2f\n",
                static_cast<long long>(holdout.n), static_cast<long long>(holdout.converted),
                100 * holdout.Rate(), holdout.revenue);
    if (rate.defined) {
      std::printf(
          "  conversion uplift %+.1f points [%+.1f, %+.1f]; revenue per customer %+.2f "
          "[%+.2f, %+.2f]\n",
          100 * rate.value, 100 * rate.low, 100 * rate.high, mean.value, mean.low, mean.high);
    } else {
      std::printf("  uplift: needs both contacted and held-out customers\n");
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
      "Per rule: decided, sent, failed, held out; conversions and revenue after the send for "
      "contacted against held-out customers, and the difference with a 95% interval.");
  app->add_flag("--json", *json, "one JSON document");
  return {app, [json](Env& env) { return RunReport(env, *json); }};
}

}  // namespace followup::cli
