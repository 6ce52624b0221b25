// What `followupd report` counts (docs/delivery.md, "The outbox and the send log"): per rule, the
// customers contacted against those held out, each counted once their conversion window has
// closed, and the differences with intervals (worth/uplift.h), or "too few to tell". For
// sequences, what it reads: each sequence's places, its step decisions' delivery statuses and its
// customers' purchases after entry, counted per entry by rules::ReportSequence.
//
// Thread safety: the counting is pure; ReportSequences uses the caller's store connection, on the
// caller's thread.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "rules/sequence_report.h"
#include "store/store.h"
#include "worth/uplift.h"

namespace followup::app {

// One side of a rule's report: contacted (sends delivered) or held out (holdout and control
// decisions); for a sequence, its entries.
struct ReportGroup {
  int64_t customers = 0;        // decisions whose conversion window has closed
  int64_t converted = 0;        // of those, the ones with a purchase in their window
  int64_t revenue = 0;          // their purchases' sum, minor units
  worth::Moments per_customer;  // revenue per customer, major units (0 for those who did not buy)
  double most = 0;              // the largest revenue of one customer, major units
  int64_t window_open = 0;      // decisions whose window is still open: in none of the above

  // Adds a decision whose window has closed: its purchases and revenue (minor units); `scale` is
  // 10^(the currency's exponent).
  void AddClosed(int64_t purchases, int64_t revenue_minor, double scale);
  // Adds one decision's outcome as its window stands at `now` (open until decided_at + window).
  void Add(const store::DecisionOutcome& o, std::chrono::seconds window, Instant now, double scale);
  // A sequence's entries of one side, counted once each.
  static ReportGroup Of(const rules::EntryGroup& entries, double scale);
  // The share of customers who converted; nullopt with no customer.
  std::optional<double> rate() const;
};

// Contacted against held out. Below worth::kMinCustomersPerGroup customers with a closed window in
// either group it is too few to tell, and there are no intervals. Otherwise the conversion
// difference with Newcombe's hybrid score interval (always within [-1, 1]) and the revenue per
// customer difference with Welch's t interval (nullopt when every customer of both groups spent
// the same), clipped to what the amounts seen allow: no lower than minus the most one held-out
// customer spent, no higher than the most one contacted customer spent.
struct Comparison {
  bool too_few = true;
  std::optional<worth::Interval> conversion;
  std::optional<worth::Interval> revenue_per_customer;
};
Comparison Compare(const ReportGroup& contacted, const ReportGroup& held_out);

// How a sequence is counted: its steps in order and its conversion window and offer code, as
// the loaded rule says.
struct SequenceCounting {
  std::vector<std::string> steps;
  std::chrono::seconds window{std::chrono::days{14}};
  std::string offer_code;
};

// Every sequence with places in the store, by rule name: those in `loaded` counted as it says,
// others (rules no longer loaded) with the default window and their steps in the order met;
// windows still open at `now` counted apart. kRuntime when the store fails.
Result<std::map<std::string, rules::SequenceReport>> ReportSequences(
    store::Store& store, const std::map<std::string, SequenceCounting>& loaded, Instant now);

}  // namespace followup::app
