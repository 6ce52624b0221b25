#include "app/decide.h"

namespace followup::app {
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
  return rules::Evaluate(rules::MakeInput(rules, base, snapshot, snapshot.events, settings.policy,
                                          now, settings.zone, explain_customer));
}

Result<Decided> Record(store::Store& store, rules::Evaluation evaluation,
                       rules::Snapshot& snapshot) {
  Decided decided;
  if (!evaluation.decisions.empty()) {
    auto recorded = store.RecordDecisions(evaluation.decisions);
    if (!recorded) return tl::unexpected(recorded.error());
    decided.recorded = *recorded;
    rules::Remember(snapshot.history, evaluation.decisions);
  }
  decided.evaluation = std::move(evaluation);
  return decided;
}

Result<Decided> DecideAll(store::Store& store, const rules::RuleSet& rules,
                          const worth::CustomerBase& base, const Settings& settings, Instant now,
                          rules::Snapshot& snapshot) {
  auto evaluation = EvaluateAll(store, rules, base, settings, now, snapshot);
  if (!evaluation) return tl::unexpected(evaluation.error());
  return Record(store, std::move(*evaluation), snapshot);
}

Result<Decided> DecideNew(store::Store& store, const rules::RuleSet& rules,
                          const worth::CustomerBase& base, const Settings& settings, Instant now,
                          rules::Snapshot& snapshot, const rules::NewRows& rows) {
  if (auto r = rules::RefreshContacts(store, snapshot, rows.customers, now); !r)
    return tl::unexpected(r.error());
  rules::RuleSet immediate = rules::ImmediateRules(rules);
  if (immediate.rules.empty() || rows.events.empty()) return Decided{};
  return Record(store,
                rules::Evaluate(rules::MakeInput(immediate, base, snapshot, rows.events,
                                                 settings.policy, now, settings.zone)),
                snapshot);
}

}  // namespace followup::app
