#include "app/decide.h"

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
  return Record(store, EvaluatePass(immediate, base, settings, now, snapshot, rows.events, {}, 0),
                snapshot);
}

}  // namespace followup::app
