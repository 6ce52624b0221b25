#include "app/decide.h"

#include <nlohmann/json.hpp>
#include <set>

#include "rules/sequence.h"

namespace followup::app {

rules::Evaluation EvaluatePass(const rules::RuleSet& rules, const worth::CustomerBase& base,
                               const Settings& settings, Instant now,
                               const rules::Snapshot& snapshot,
                               std::span<const rules::Event> events,
                               std::span<const store::SequencePlace> in_flight,
                               int64_t explain_customer) {
  rules::ContactHistory made;
  auto steps = rules::AdvanceAll(rules, base, snapshot.contacts, snapshot.history, made, in_flight,
                                 settings.policy, now, settings.zone);
  auto in = rules::MakeInput(rules, base, snapshot, events, settings.policy, now, settings.zone,
                             explain_customer);
  in.also = &made;
  rules::Evaluation evaluation = rules::Evaluate(in);
  rules::Remember(made, evaluation.decisions);
  auto entered = rules::AdvanceAll(rules, base, snapshot.contacts, snapshot.history, made,
                                   evaluation.entries, settings.policy, now, settings.zone,
                                   /*new_places=*/true);
  auto& decisions = evaluation.decisions;
  for (auto* advanced : {&steps, &entered}) {
    decisions.insert(decisions.end(), std::make_move_iterator(advanced->decisions.begin()),
                     std::make_move_iterator(advanced->decisions.end()));
    evaluation.places.insert(evaluation.places.end(),
                             std::make_move_iterator(advanced->places.begin()),
                             std::make_move_iterator(advanced->places.end()));
  }
  return evaluation;
}

Result<worth::CustomerBase> LoadFacts(store::Store& store, const Settings& settings, Instant now,
                                      const std::function<void(int64_t rows)>& progress) {
  return worth::CustomerBase::Load(store, settings.FactsAt(now), progress);
}

Result<rules::Evaluation> EvaluateAll(store::Store& store, const rules::RuleSet& rules,
                                      const worth::CustomerBase& base, const Settings& settings,
                                      Instant now, rules::Snapshot& snapshot,
                                      int64_t explain_customer) {
  auto snap = rules::LoadSnapshot(store, rules, settings.policy, now);
  if (!snap) return tl::unexpected(snap.error());
  snapshot = std::move(*snap);
  return EvaluatePass(rules, base, settings, now, snapshot, snapshot.events, snapshot.places,
                      explain_customer);
}

Result<Decided> Record(store::Store& store, rules::Evaluation evaluation,
                       rules::Snapshot& snapshot) {
  Decided decided;
  const auto& decisions = evaluation.decisions;
  if (!decisions.empty() || !evaluation.places.empty()) {
    auto recorded = store.RecordSequenceSteps(decisions, evaluation.places);
    if (!recorded) return tl::unexpected(recorded.error());
    decided.recorded = *recorded;
    rules::Remember(snapshot.history, decisions);
    rules::RememberPlaces(snapshot, evaluation.places);
  }
  decided.places = static_cast<int64_t>(evaluation.places.size());
  decided.evaluation = std::move(evaluation);
  return decided;
}

Result<std::map<std::string, int64_t>> CancelSendsOfGoneRules(store::Store& store,
                                                              const rules::RuleSet& rules,
                                                              Instant now) {
  constexpr std::string_view kInForce = "rules_in_force";  // a JSON list of names
  std::set<std::string> live, gone;
  for (const auto& rule : rules.rules) (rule.enabled ? live : gone).insert(rule.name);
  auto before = store.GetMeta(kInForce);
  if (!before) return tl::unexpected(before.error());
  auto was = nlohmann::json::parse(*before, nullptr, /*allow_exceptions=*/false);
  if (was.is_array())
    for (const auto& name : was)
      if (name.is_string() && !live.count(name.get<std::string>()))
        gone.insert(name.get<std::string>());
  std::map<std::string, int64_t> cancelled;
  if (!gone.empty()) {
    std::vector<std::string> names(gone.begin(), gone.end());
    auto n = store.CancelSendsOfRules(names, kRuleGoneReason, now);
    if (!n) return tl::unexpected(n.error());
    cancelled = std::move(*n);
  }
  std::string now_in_force =
      nlohmann::json(live).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (now_in_force != *before)
    if (auto r = store.SetMeta(kInForce, now_in_force); !r) return tl::unexpected(r.error());
  return cancelled;
}

Result<Decided> DecideAll(store::Store& store, const rules::RuleSet& rules,
                          const worth::CustomerBase& base, const Settings& settings, Instant now,
                          rules::Snapshot& snapshot) {
  auto cancelled = CancelSendsOfGoneRules(store, rules, now);
  if (!cancelled) return tl::unexpected(cancelled.error());
  auto evaluation = EvaluateAll(store, rules, base, settings, now, snapshot);
  if (!evaluation) return tl::unexpected(evaluation.error());
  auto decided = Record(store, std::move(*evaluation), snapshot);
  if (decided) decided->cancelled = std::move(*cancelled);
  return decided;
}

Result<Decided> DecideNew(store::Store& store, const rules::RuleSet& rules,
                          const worth::CustomerBase& base, const Settings& settings, Instant now,
                          rules::Snapshot& snapshot, const rules::NewRows& rows) {
  if (auto r = rules::RefreshContacts(store, snapshot, rows.customers, now); !r)
    return tl::unexpected(r.error());
  rules::RuleSet immediate = rules::ImmediateRules(rules);
  if (immediate.rules.empty() || rows.events.empty()) return Decided{};
  return Record(store, EvaluatePass(immediate, base, settings, now, snapshot, rows.events, {}, 0),
                snapshot);
}

}  // namespace followup::app
