// Sequences: rules with steps (docs/rules.md, "Sequences"). The pure core: given a rule, a
// customer's place in its sequence, their facts and contact record, and the time, what happens
// next: a step decided, a wait, an exit with its reason, the end. No I/O; the decide pass
// (app/decide.h) reads the places from the store and records what comes out, together with the
// step's decision, in one store transaction.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rules/engine.h"
#include "rules/rule.h"
#include "store/store.h"

namespace followup::rules {

using store::SequencePlace;
using store::StepDone;

// How late a missed step (the daemon was down when it fell due) may still go out: as long as the
// step's own wait, and at least a day. Later, it is dropped with the reason, and the sequence
// goes on with the next step as if the dropped one had happened when it was due.
std::chrono::seconds MissedWindow(const Step& step);

// The step a place goes to next under `rule` as it is now, and when it is due (the last step's
// time plus the step's wait). Steps are followed by name: the first step not yet done after the
// latest done one in the rule's order, so a removed step is passed over and a step added before
// where a customer stands is not sent to them. Nothing when no step is left.
struct NextStep {
  const Step* step = nullptr;
  Instant due;
};
std::optional<NextStep> NextOf(const Rule& rule, const SequencePlace& place);

// A new place: the customer entered `rule`'s sequence at `now`, for `occurrence`, as a send (to be
// contacted), holdout or control, in `arm` (if any); their first step still to come.
SequencePlace Enter(const Rule& rule, int64_t customer_id, std::string occurrence,
                    DecisionKind kind, std::string arm, Instant now);

struct AdvanceInput {
  const Rule* rule = nullptr;            // the place's rule, as loaded now
  const SequencePlace* place = nullptr;  // where the customer stands
  const Contact* customer = nullptr;     // nullptr: no such customer (any more)
  const FactSource* facts = nullptr;     // their facts now; nullptr: none (where: is not true)
  std::optional<Instant> last_purchase;  // their latest purchase, if any
  int sends_in_period = 0;               // emails decided for them within the policy's period
  ContactPolicy policy;
  Instant now;
  const date::time_zone* zone = nullptr;  // the business's
};

struct AdvanceOutcome {
  enum class What {
    kNone,       // already ended
    kWait,       // the next step is not due yet
    kHeld,       // the next step is due, but the contact policy's cap is reached: it waits
    kStep,       // a step decided (`decision`)
    kExit,       // left before the end (place.end_reason says why)
    kCompleted,  // no step left
  };
  What what = What::kNone;
  SequencePlace place;               // the place afterwards
  std::optional<Decision> decision;  // kStep
  bool changed = false;              // the place differs from the one given: write it
};

// One customer's next move in one sequence. At most one step is decided a call; steps passed
// over (a where: not true, not for their arm, missed beyond their window) are recorded in
// place.done with the reason. Exits are checked first, whenever it is called: a purchase since
// entry (exit: purchase, the default), unsubscribed, suppressed, no email, exit: where true,
// and a rule with enabled: false ("disabled").
AdvanceOutcome Advance(const AdvanceInput& in);

// The dedupe key of a step's decision: rule:customer:occurrence:step.
std::string StepKey(const Rule& rule, std::string_view customer_external_id,
                    const SequencePlace& place, const Step& step);
std::string StepKey(std::string_view rule, std::string_view customer_external_id,
                    std::string_view occurrence, std::string_view step);

// Advances every place in `places` whose rule is in `rules` (a place of a rule no longer loaded
// stays as it is). `past` holds the decisions in the store, `made` those of this pass so far:
// step decisions are added to `made`, so the cap counts them. Returns the step decisions and the
// places that changed (every place when `new_places`: entries not yet stored), to record
// together.
struct Advanced {
  std::vector<Decision> decisions;
  std::vector<SequencePlace> places;
  int64_t exits = 0;
};
Advanced AdvanceAll(const RuleSet& rules, const worth::CustomerBase& facts,
                    const Contacts& contacts, const ContactHistory& past, ContactHistory& made,
                    std::span<const SequencePlace> places, const ContactPolicy& policy, Instant now,
                    const date::time_zone* zone, bool new_places = false);

// What `rules`, as loaded now, do to the customers in flight (`check` after an edit): one line per
// group of places that moves, by rule in the order of `places`, e.g.
//   rule lapsed-winback: 12 customers at step 'offer' which no longer exists: they skip to 'last'
//   rule lapsed-winback: enabled: false: 40 customers in flight will exit
// and the same for a rule no longer loaded or without steps now (they stay where they are), a
// step added before the one they wait for (they get it first), a changed wait (the step falls due
// later or sooner). Empty when the rules leave everyone where they are. Places that ended are
// not looked at.
std::vector<std::string> EditEffects(const RuleSet& rules, std::span<const SequencePlace> places);

}  // namespace followup::rules
