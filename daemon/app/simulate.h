// `followupd simulate --until DATE` (docs/rules.md, "Seeing it"): the decide pass run day after day
// from `--at` on a scratch copy of the store, as the daemon would run it, with no purchases beyond
// those already stored: a preview of the mail of the coming weeks, sequence steps included.
//
// Thread safety: uses the caller's store connections, on the caller's thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "app/settings.h"
#include "base/error.h"
#include "rules/rule.h"
#include "store/store.h"

namespace followup::app {

struct SimulatedDecision {
  store::Decision decision;
  std::string customer;  // external id
  std::string step;      // the sequence step, if the rule has steps
};

// The decisions one pass would make at `at`.
struct SimulatedPass {
  Instant at;
  std::vector<SimulatedDecision> decisions;
};

// Runs the full decide pass on `scratch` at `from`, then every `every` up to and including
// `until`, recording into `scratch` (which the caller made for it: a copy of the store, see
// MakeScratchCopy) so that each pass sees the ones before it. Only passes with decisions are
// returned. kRuntime when a store fails; kInvalidInput when the rules or `every` are unusable.
Result<std::vector<SimulatedPass>> WalkForward(store::Store& scratch, const rules::RuleSet& rules,
                                               const Settings& settings, Instant from,
                                               Instant until,
                                               std::chrono::seconds every = std::chrono::days{1});

// Copies `store` into a new SQLite store at `path` (which must not exist) and opens it.
Result<std::unique_ptr<store::Store>> MakeScratchCopy(store::Store& store, const std::string& path);

}  // namespace followup::app
