// What a sequence earned (docs/rules.md, "Sequences"; `followupd report`): counted per entry (a
// customer's place for one occurrence), never per step decision, so a customer who got three
// steps and bought once is one conversion. Pure: the places, the step decisions' delivery
// statuses and the purchases in, the counts out.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "store/store.h"

namespace followup::rules {

// One entry as the report sees it.
struct ReportedEntry {
  const store::SequencePlace* place = nullptr;
  // The delivery status of each step's decision, by step name (send entries only).
  std::map<std::string, store::DeliveryStatus> status;
  // The customer's purchases after entry (only those the rule's conversion counts), oldest first.
  struct Purchase {
    Instant at;
    int64_t amount = 0;  // minor units
  };
  std::vector<Purchase> purchases;
};

// The send reached its recipient, as far as followupd knows: `sent`, or `complained` (only someone
// who got it complains). A `bounced` send never arrived: it is no contact (docs/feedback.md).
inline bool Arrived(store::DeliveryStatus status) {
  return status == store::DeliveryStatus::kSent || status == store::DeliveryStatus::kComplained;
}

// Entries of one side (contacted or held out) whose conversion window has closed: how many, how
// many converted, and the revenue of each (minor units, one value per entry, 0 for those who did
// not convert). Entries whose window is still open are only counted, in window_open: whether they
// convert is not known yet.
struct EntryGroup {
  int64_t entries = 0;
  int64_t converted = 0;
  std::vector<int64_t> revenue;
  int64_t window_open = 0;
};

struct StepReport {
  std::string step;
  int64_t decided = 0;     // step decisions for entries to be contacted
  int64_t sent = 0;        // of those, delivered (Arrived: complained ones too)
  int64_t bounced = 0;     // of those decided, bounced after the send: not delivered
  int64_t complained = 0;  // of those sent, the ones whose recipient complained
  int64_t held_out = 0;    // step decisions recorded for holdout and control entries
  int64_t skipped = 0;     // passed over (where: not true, not for the arm, missed too long)
  int64_t converted = 0;   // contacted entries whose conversion came after this step (and before
                           // the next)
  int64_t converted_held_out = 0;        // the same for held-out entries
  std::map<std::string, int64_t> exits;  // entries that left after this step, by reason
};

struct SequenceReport {
  int64_t entered = 0;
  int64_t in_flight = 0;
  int64_t completed = 0;
  std::map<std::string, int64_t> exits;  // by reason, every step
  int64_t exits_before_first_step = 0;
  // Contacted: entries to be contacted with at least one step delivered. Held out: holdout and
  // control entries with at least one step recorded. Others (nothing delivered yet) are in
  // neither. An entry's window is open while it is in flight (more steps may come) and until
  // `window` after its latest contact.
  EntryGroup contacted, held_out;
  std::vector<StepReport> steps;  // in the rule's order, then steps no longer in it
};

// A purchase converts an entry when it comes after one of its contacts (a delivered step, or a
// recorded one for held-out entries) and within `window` of the latest contact before it. The
// entry's revenue is the sum of its converting purchases, each counted once; its conversion is
// credited to the step that preceded its first converting purchase. The step counts take every
// entry; the contacted and held-out groups only those whose window closed by `now`.
SequenceReport ReportSequence(std::span<const std::string> step_names,
                              std::span<const ReportedEntry> entries, std::chrono::seconds window,
                              Instant now);

}  // namespace followup::rules
