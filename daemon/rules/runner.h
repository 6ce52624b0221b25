// The shell around the decision engine: reads what Evaluate needs from the store, and records the
// decisions it makes. (The engine itself, engine.h, does no I/O.)
#pragma once

#include <unordered_set>
#include <vector>

#include "base/error.h"
#include "rules/engine.h"
#include "store/store.h"

namespace followup::rules {

struct Snapshot {
  Contacts contacts{{}};
  ContactHistory history;
  std::vector<Event> events;
};

// Customers' contactability, the decisions of the last `history window` (long enough for the
// policy period, every rule's once_per and the event lookback) and the transactions that may
// trigger event rules at `now`. kRuntime when the store fails.
Result<Snapshot> LoadSnapshot(store::Store& store, const RuleSet& rules,
                              const ContactPolicy& policy, Instant now);

// What the contact policy needs of one customer row. `suppressed` holds lower-cased addresses.
Contact ContactFrom(const store::CustomerRow& row,
                    const std::unordered_set<std::string>& suppressed, Instant now);

// Adds decisions just made to a history (so that the next evaluation sees them).
void Remember(ContactHistory& history, const std::vector<Decision>& decisions);

}  // namespace followup::rules
