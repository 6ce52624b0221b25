// followupd customers | model | explain: the worth part's facts, for people and for scripts.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/money.h"
#include "cli/command.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/worth_view.h"
#include "worth/customer_base.h"

namespace followup::cli {
namespace {

using worth::Fact;

struct CustomersArgs {
  std::optional<int64_t> top;
  std::string by;
  bool json = false;
};

int RunCustomers(Env& env, const CustomersArgs& args) {
  std::optional<Fact> by;
  if (!args.by.empty()) {
    by = worth::FindFact(args.by);
    if (!by) {
      std::string known;
      for (const auto& f : worth::AllFacts())
        known += (known.empty() ? "" : ", ") + std::string(f.name);
      return Report(Error{
          ErrorCode::kUsage, "--by: unknown fact '" + args.by + "' (facts: " + known + ")", {}});
    }
  } else if (args.top) {
    by = Fact::kProfit;
  }
  auto base = LoadBase(env);
  if (!base) return Report(base.error());
  auto store = env.store();
  if (!store) return Report(store.error());

  // Which customers, in which order: by the fact descending (undefined last), else by store id.
  std::vector<const worth::CustomerSummary*> chosen;
  chosen.reserve(base->customers().size());
  for (const auto& s : base->customers()) chosen.push_back(&s);
  if (by) {
    std::stable_sort(chosen.begin(), chosen.end(), [&](auto* a, auto* b) {
      auto va = base->Value(*a, *by), vb = base->Value(*b, *by);
      if (!va || !vb) return va.has_value() && !vb.has_value();
      return *va > *vb;
    });
  }
  if (args.top && static_cast<size_t>(*args.top) < chosen.size()) chosen.resize(*args.top);

  // External ids: one look-up each for a short list, else one pass over the customers.
  std::unordered_map<int64_t, std::string> names;
  if (chosen.size() <= 1000) {
    for (auto* s : chosen) {
      auto row = (*store)->FindCustomerById(s->customer_id);
      if (!row) return Report(row.error());
      if (*row) names[s->customer_id] = (*row)->external_id;
    }
  } else {
    auto all = (*store)->ForEachCustomer(
        [&](const store::CustomerRow& c) { names[c.id] = c.external_id; });
    if (!all) return Report(all.error());
  }

  int exponent = base->options().currency_exponent;
  if (args.json) {
    for (auto* s : chosen)
      std::printf("%s\n", FactsJson(*base, *s, names[s->customer_id]).dump().c_str());
    return 0;
  }
  std::printf("%s\n", ModelLine(base->population().model).c_str());
  const Fact columns[] = {Fact::kPurchases,    Fact::kDaysSinceLastPurchase,
                          Fact::kOverdueRatio, Fact::kNetRevenue,
                          Fact::kProfit,       Fact::kReturnRate,
                          Fact::kReferrals,    Fact::kPAlive,
                          Fact::kClv12m};
  std::vector<Table::Column> headers = {{"id"}};
  for (Fact f : columns) headers.push_back({std::string(worth::InfoOf(f).name), true});
  Table table(std::move(headers));
  for (auto* s : chosen) {
    std::vector<std::string> cells = {names[s->customer_id]};
    for (Fact f : columns)
      cells.push_back(FactText(worth::InfoOf(f), base->Value(*s, f), exponent));
    table.Add(std::move(cells));
  }
  return 0;
}

int RunModel(Env& env, bool json) {
  auto base = LoadBase(env);
  if (!base) return Report(base.error());
  const auto& m = base->population().model;
  Json doc;
  doc["time_unit"] = env.config().worth.time_unit;
  doc["at"] = FormatInstant(base->options().at);
  doc["customers"] = m.customers;
  doc["patterns"] = m.patterns;
  doc["repeat_buyers"] = m.repeat_buyers;
  doc["spend_patterns"] = m.spend_patterns;
  if (m.bgnbd)
    doc["bgnbd"] = {{"r", m.bgnbd->r},
                    {"alpha", m.bgnbd->alpha},
                    {"a", m.bgnbd->a},
                    {"b", m.bgnbd->b},
                    {"log_likelihood", m.bgnbd->log_likelihood}};
  else
    doc["bgnbd"] = {{"error", m.bgnbd_note}};
  if (m.gamma_gamma)
    doc["gamma_gamma"] = {{"p", m.gamma_gamma->p},
                          {"q", m.gamma_gamma->q},
                          {"v", m.gamma_gamma->v},
                          {"log_likelihood", m.gamma_gamma->log_likelihood}};
  else
    doc["gamma_gamma"] = {{"error", m.gamma_gamma_note}};
  if (json) {
    std::printf("%s\n", doc.dump().c_str());
    return 0;
  }
  std::printf("observation window ends %s; time unit %s\n",
              FormatInstant(base->options().at).c_str(), env.config().worth.time_unit.c_str());
  std::printf("customers with a purchase: %lld (%lld distinct patterns), repeat buyers: %lld\n",
              static_cast<long long>(m.customers), static_cast<long long>(m.patterns),
              static_cast<long long>(m.repeat_buyers));
  if (m.bgnbd)
    std::printf("BG/NBD:      r = %.4f  alpha = %.4f  a = %.4f  b = %.4f  log-likelihood = %.2f\n",
                m.bgnbd->r, m.bgnbd->alpha, m.bgnbd->a, m.bgnbd->b, m.bgnbd->log_likelihood);
  else
    std::printf("BG/NBD:      not fitted: %s\n", m.bgnbd_note.c_str());
  if (m.gamma_gamma)
    std::printf("Gamma-Gamma: p = %.4f  q = %.4f  v = %.4f  log-likelihood = %.2f\n",
                m.gamma_gamma->p, m.gamma_gamma->q, m.gamma_gamma->v,
                m.gamma_gamma->log_likelihood);
  else
    std::printf("Gamma-Gamma: not fitted: %s\n", m.gamma_gamma_note.c_str());
  return 0;
}

}  // namespace

Command AddCustomersCommand(CLI::App& root) {
  auto args = std::make_shared<CustomersArgs>();
  auto* app = root.add_subcommand(
      "customers",
      "Every customer's facts: a table, or JSON Lines (id and every fact) with --json.");
  app->add_option("--top", args->top, "only the first N (by --by, default profit)")
      ->check(WholeNumber(1));
  app->add_option("--by", args->by, "order by this fact, highest first");
  app->add_flag("--json", args->json, "JSON Lines: id and every fact");
  return {app, [args](Env& env) { return RunCustomers(env, *args); }};
}

Command AddModelCommand(CLI::App& root) {
  auto json = std::make_shared<bool>(false);
  auto* app = root.add_subcommand(
      "model", "The fitted worth models (BG/NBD, Gamma-Gamma): parameters and log-likelihood.");
  app->add_flag("--json", *json, "one JSON document");
  return {app, [json](Env& env) { return RunModel(env, *json); }};
}

}  // namespace followup::cli
