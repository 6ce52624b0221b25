// followupd log | report: the send log and what the follow-ups earned.
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "base/money.h"
#include "cli/command.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/worth_view.h"
#include "rules/rule.h"

namespace followup::cli {
namespace {

struct LogArgs {
  std::string since, rule, customer, status;
  int64_t limit = 0;
  bool json = false;
};

Json TimeOrNull(const std::optional<Instant>& t) {
  if (!t) return nullptr;
  return FormatInstant(*t);
}

int RunLog(Env& env, const LogArgs& args) {
  store::LogFilter filter;
  filter.rule = args.rule;
  filter.customer = args.customer;
  filter.limit = args.limit;
  if (!args.since.empty()) {
    // "7d" (that long before --at/now) or a time.
    if (auto d = ParseDuration(args.since)) {
      filter.since = env.clock().Now() - *d;
    } else if (auto t = ParseInstant(args.since, env.zone())) {
      filter.since = *t;
    } else {
      return Report(Error{ErrorCode::kUsage,
                          "--since: expected a duration such as 7d or a time such as 2026-06-01",
                          {}});
    }
  }
  if (!args.status.empty()) {
    filter.status = store::ParseDeliveryStatus(args.status);
    if (!filter.status)
      return Report(
          Error{ErrorCode::kUsage, "--status: one of " + store::DeliveryStatusNames(), {}});
  }
  auto store = env.store();
  if (!store) return Report(store.error());
  std::optional<Table> table;
  if (!args.json)
    table.emplace(std::vector<Table::Column>{
        {"decided"}, {"rule"}, {"customer"}, {"to"}, {"status"}, {"try", true}, {"reply"}});
  auto r = (*store)->ForEachLogEntry(filter, [&](const store::LogEntry& e) {
    if (args.json) {
      Json line = {{"id", e.id},
                   {"decided_at", FormatInstant(e.decided_at)},
                   {"rule", e.rule},
                   {"customer", e.customer},
                   {"recipient", e.recipient},
                   {"email", TextOrNull(e.recipient_email)},
                   {"kind", store::DecisionKindName(e.kind)},
                   {"arm", TextOrNull(e.arm)},
                   {"template", e.template_name},
                   {"status", store::DeliveryStatusName(e.status)},
                   {"attempts", e.attempts},
                   {"send_after", FormatInstant(e.send_after)},
                   {"next_attempt_at", TimeOrNull(e.next_attempt_at)},
                   {"sent_at", TimeOrNull(e.sent_at)},
                   {"reply", TextOrNull(e.last_reply)},
                   {"provider_message_id", TextOrNull(e.provider_message_id)},
                   {"message_id", TextOrNull(e.message_id)},
                   {"dedupe_key", e.dedupe_key},
                   {"updated_at", FormatInstant(e.updated_at)}};
      std::printf("%s\n", line.dump().c_str());
      return;
    }
    std::string to = e.kind == store::DecisionKind::kSend
                         ? e.recipient_email
                         : "(" + std::string(store::DecisionKindName(e.kind)) + ")";
    table->Add({FormatInstant(e.decided_at), e.rule, e.customer, to,
                std::string(store::DeliveryStatusName(e.status)), std::to_string(e.attempts),
                e.last_reply});
  });
  if (!r) return Report(r.error());
  return 0;
}

// Counts and sums of one group of decisions.
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

int RunReport(Env& env, bool json) {
  auto store = env.store();
  if (!store) return Report(store.error());
  // Windows and offer codes come from the rules; rules no longer on disk get the default window.
  std::map<std::string, std::pair<std::chrono::seconds, std::string>> windows;
  if (auto set = rules::LoadRules(env.settings().RuleLoadOptions(env.clock().Now()))) {
    for (const auto& r : set->rules) {
      windows[r.name] = {std::chrono::days{14}, ""};
      if (r.experiment)
        windows[r.name] = {r.experiment->conversion_within, r.experiment->conversion_offer_code};
    }
  }
  std::set<std::string> names;
  for (const auto& [name, _] : windows) names.insert(name);
  auto all = (*store)->ForEachLogEntry({}, [&](const store::LogEntry& e) { names.insert(e.rule); });
  if (!all) return Report(all.error());

  const double scale = std::pow(10.0, CurrencyExponent(env.config().business.currency));
  Json doc = Json::array();
  if (!json)
    std::printf(
        "conversions and revenue per customer in the window after each decision:\n"
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
        if (o.status == store::DeliveryStatus::kSent) contacted.Add(o, scale);
      } else {
        ++held_out;
        holdout.Add(o, scale);
      }
    });
    if (!r) return Report(r.error());
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
  }
  if (json) std::printf("%s\n", doc.dump().c_str());
  return 0;
}

}  // namespace

Command AddLogCommand(CLI::App& root) {
  auto args = std::make_shared<LogArgs>();
  auto* app = root.add_subcommand(
      "log",
      "The send log, newest first: every decision and its delivery. JSON Lines with --json.");
  app->add_option("--since", args->since, "decided after: a duration back from now (7d) or a time");
  app->add_option("--rule", args->rule, "only this rule");
  app->add_option("--customer", args->customer, "only this customer (or recipient), external id");
  app->add_option("--status", args->status, "only this status: " + store::DeliveryStatusNames());
  app->add_option("--limit", args->limit, "at most this many rows")->check(WholeNumber(1));
  app->add_flag("--json", args->json, "JSON Lines");
  return {app, [args](Env& env) { return RunLog(env, *args); }};
}

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
