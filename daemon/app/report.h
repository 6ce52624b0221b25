// What `followupd report` reads for sequences (docs/rules.md, "Sequences"): each sequence's places,
// its step decisions' delivery statuses and its customers' purchases after entry, counted per entry
// by rules::ReportSequence.
//
// Thread safety: uses the caller's store connection, on the caller's thread.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "rules/sequence_report.h"
#include "store/store.h"

namespace followup::app {

// How a sequence is counted: its steps in order and its conversion window and offer code, as
// the loaded rule says.
struct SequenceCounting {
  std::vector<std::string> steps;
  std::chrono::seconds window{std::chrono::days{14}};
  std::string offer_code;
};

// Every sequence with places in the store, by rule name: those in `loaded` counted as it says,
// others (rules no longer loaded) with the default window and their steps in the order met.
// kRuntime when the store fails.
Result<std::map<std::string, rules::SequenceReport>> ReportSequences(
    store::Store& store, const std::map<std::string, SequenceCounting>& loaded);

}  // namespace followup::app
