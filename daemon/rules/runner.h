// The shell around the decision engine: reads what Evaluate needs from the store, turns rows other
// programs committed into events, and records the decisions the engine makes. (The engine itself,
// engine.h, does no I/O.) Both passes go through here: the full pass (LoadSnapshot, MakeInput,
// Evaluate, store::Store::RecordDecisions) and the incremental one over new rows (ReadNewRows,
// RefreshContacts, MakeInput with the new events and ImmediateRules, Evaluate, RecordDecisions).
//
// Thread safety: the functions take the store of the calling thread (store.h); the snapshot is the
// caller's, used by one thread at a time.
#pragma once

#include <span>
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
  std::vector<store::SequencePlace> places;  // sequence places in flight (rules/sequence.h)
};

// Customers' contactability, the decisions and sequence entries of the last `history window`
// (long enough for the policy period, every rule's once_per and the event lookback), the sequence
// places in flight, and the transactions that may trigger event rules at `now`. kRuntime when the
// store fails.
Result<Snapshot> LoadSnapshot(store::Store& store, const RuleSet& rules,
                              const ContactPolicy& policy, Instant now);

// What the contact policy needs of one customer row. `suppressed` holds lower-cased addresses.
Contact ContactFrom(const store::CustomerRow& row,
                    const std::unordered_set<std::string>& suppressed, Instant now);

// Transactions committed after a high-water mark (a transaction row id), as events.
struct NewRows {
  std::vector<Event> events;       // in row id order
  std::vector<int64_t> customers;  // the customers they belong to, each once, ascending
  int64_t high_water = 0;          // the highest row id read (the mark given when there were none)
};
// The transactions with a row id above `after_id`. kRuntime when the store fails.
Result<NewRows> ReadNewRows(store::Store& store, int64_t after_id);

// Reads the rows of `customers` and the suppressions again and brings their contacts in
// `snapshot` up to date (a customer the snapshot did not have is added). kRuntime when the store
// fails, the suppressions included: a contact is never refreshed against a list that could not
// be read.
Result<void> RefreshContacts(store::Store& store, Snapshot& snapshot,
                             std::span<const int64_t> customers, Instant now);

// The rules the incremental pass evaluates: event rules without a wait (waited events, and
// schedules, are the full pass's).
RuleSet ImmediateRules(const RuleSet& rules);

// The one place Evaluate's input is assembled: `rules` over `facts` and the snapshot's contacts
// and history, against `events` (the snapshot's own for a full pass, new rows' for the incremental
// one). Borrows everything: it must outlive the input.
EvaluateInput MakeInput(const RuleSet& rules, const worth::CustomerBase& facts,
                        const Snapshot& snapshot, std::span<const Event> events,
                        const ContactPolicy& policy, Instant now, const date::time_zone* zone,
                        int64_t explain_customer = 0);

// Adds decisions just made to a history (so that the next evaluation sees them).
void Remember(ContactHistory& history, const std::vector<Decision>& decisions);
// Adds sequence places to the snapshot's history: their entries, and who is in flight.
void RememberPlaces(Snapshot& snapshot, std::span<const store::SequencePlace> places);

}  // namespace followup::rules
