// The decide pass, as `run --once`, `simulate`, `explain` and the daemon's decision thread do it:
// the snapshot read from the store, the engine run over the customer base, the decisions recorded.
// Sequences (rules with steps, rules/sequence.h) go with it: the full pass advances every customer
// in flight, and both passes advance those who just entered; each step's decision and the place it
// moves the customer to are recorded in one store transaction.
// The full pass (every rule over every customer) and the incremental one (event rules without a
// wait over rows other programs just committed) differ only in what they evaluate.
//
// Thread safety: each call uses the caller's store connection, base and snapshot, on the
// caller's thread.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "app/settings.h"
#include "base/error.h"
#include "rules/runner.h"
#include "store/store.h"
#include "worth/customer_base.h"

namespace followup::app {

// Every customer's facts at `now` (worth::CustomerBase::Load with the settings' options).
Result<worth::CustomerBase> LoadFacts(store::Store& store, const Settings& settings, Instant now,
                                      const std::function<void(int64_t rows)>& progress = {});

struct Decided {
  rules::Evaluation evaluation;  // every decision made, and why the others were not
  int64_t recorded = 0;          // how many of them were new to the store
  int64_t places = 0;            // sequence places written (entered, moved on, left)
  // Sends still queued of rules that are gone or disabled, cancelled by the full pass: by rule.
  std::map<std::string, int64_t> cancelled;
};

// The reply a send cancelled because its rule is gone or disabled keeps.
inline constexpr std::string_view kRuleGoneReason = "cancelled: its rule was removed or disabled";

// One pass at `now` on a snapshot already read: the sequence places `in_flight` advanced first (a
// conversation under way keeps its slot under the cap), then the rules evaluated against `events`
// (customers entering sequences among the decisions), then the new entries advanced (a first step
// without a wait is decided at once). The steps' decisions join the evaluation's, the places moved
// go in its `places`. Pure: writes nothing. (The passes below call it; so does the sequence
// benchmark.)
rules::Evaluation EvaluatePass(const rules::RuleSet& rules, const worth::CustomerBase& base,
                               const Settings& settings, Instant now,
                               const rules::Snapshot& snapshot,
                               std::span<const rules::Event> events,
                               std::span<const store::SequencePlace> in_flight,
                               int64_t explain_customer = 0);

// Reads a fresh snapshot into `snapshot` and evaluates every rule over every customer at `now`.
// Writes nothing (simulate, explain). `explain_customer` as EvaluateInput's. kRuntime when the
// store fails.
Result<rules::Evaluation> EvaluateAll(store::Store& store, const rules::RuleSet& rules,
                                      const worth::CustomerBase& base, const Settings& settings,
                                      Instant now, rules::Snapshot& snapshot,
                                      int64_t explain_customer = 0);

// Records the evaluation's decisions and sequence places (one store transaction) and remembers
// them in `snapshot`.
// kRuntime when the store fails (nothing is recorded then).
Result<Decided> Record(store::Store& store, rules::Evaluation evaluation,
                       rules::Snapshot& snapshot);

// Cancels the sends still queued (queued, deferred, held) of the rules disabled in `rules` and of
// those in force at the last call that `rules` no longer has (the store remembers them: meta
// rules_in_force), with kRuleGoneReason as their reply: by rule, how many. Sends of a rule that
// was never in force are left alone. Part of every full pass and reload.
Result<std::map<std::string, int64_t>> CancelSendsOfGoneRules(store::Store& store,
                                                              const rules::RuleSet& rules,
                                                              Instant now);

// The full pass: the queued sends of rules no longer in `rules` (removed, or enabled: false)
// cancelled (kRuleGoneReason), EvaluateAll, then the decisions recorded (one store transaction)
// and remembered in the snapshot. kRuntime when the store fails (nothing is recorded then).
Result<Decided> DecideAll(store::Store& store, const rules::RuleSet& rules,
                          const worth::CustomerBase& base, const Settings& settings, Instant now,
                          rules::Snapshot& snapshot);

// The incremental pass over `rows` (rules::ReadNewRows): their customers' contacts refreshed in
// `snapshot`, the event rules without a wait evaluated against their events, the decisions
// recorded and remembered. The caller brings those customers' facts in `base` up to date first.
// kRuntime when the store fails (nothing is recorded then; reading the rows again is harmless).
Result<Decided> DecideNew(store::Store& store, const rules::RuleSet& rules,
                          const worth::CustomerBase& base, const Settings& settings, Instant now,
                          rules::Snapshot& snapshot, const rules::NewRows& rows);

}  // namespace followup::app
