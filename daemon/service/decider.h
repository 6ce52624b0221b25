// The decision thread's work (docs/architecture.md, the daemon's threads): its own store
// connection, the rule set, the contact snapshot and the high-water mark; it alone changes the
// shared customer base. The daemon runs each call as a job on the decision strand; tests call them
// directly, on one thread.
//
//   Start       store opened, rules and templates checked (invalid: exit 1), the high-water mark
//               and every customer's facts loaded (a store that fails: exit 3)
//   FullPass    every rule over every customer at the clock's now, the decisions recorded
//   NewRows     rows other programs committed since the last look: those customers' facts, the
//               event rules without a wait, the decisions recorded; only then the mark moves
//   ScheduleDue a schedule has fired since the last full pass (the poll then runs one)
//   Reload      validate, then swap the rule set whole; the outcome recorded in the store
//   Refit       the worth models refitted
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/decide.h"
#include "app/settings.h"
#include "base/time.h"
#include "rules/rule.h"
#include "rules/runner.h"
#include "service/metrics.h"
#include "service/shared_facts.h"
#include "store/store.h"

namespace followup::service {

// The outcome of the last reload, as the daemon records it in the store (meta "reload"):
// "GENERATION ok" or "GENERATION failed: first error".
inline constexpr const char* kReloadMetaKey = "reload";

class Decider {
 public:
  // Borrows everything. `decided` is called (on the decision thread) whenever decisions were
  // recorded, and after every full pass (deferred sends may have fallen due): it asks for a drain.
  Decider(const app::Settings& settings, const Clock& clock, Metrics& metrics, SharedFacts& facts,
          std::function<void()> decided);

  // The exit status on failure (1: rules, 3: store), else nullopt.
  std::optional<int> Start();
  void FullPass();
  bool ScheduleDue() const;
  void NewRows();
  // True when the new set was taken.
  bool Reload();
  void Refit();

  // Files whose writes mean a commit (Store::CommitSignalFiles), fixed at Start: any thread may
  // read them afterwards.
  const std::vector<std::string>& commit_files() const { return commit_files_; }
  int64_t high_water() const { return high_water_; }

 private:
  bool LoadBase();
  // Puts `set` in force, and tells the metrics its sequences' steps.
  void InForce(rules::RuleSet set);
  void SetAt(Instant now);
  // Cancels the queued sends of rules no longer in force (app::CancelSendsOfGoneRules), logged.
  void CancelSendsOfGoneRules(Instant now);
  // Logs and counts what was recorded; asks for a drain when anything was.
  void Recorded(const app::Decided& decided);

  const app::Settings& settings_;
  const Clock& clock_;
  Metrics& metrics_;
  SharedFacts& facts_;
  const std::function<void()> decided_;
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<const rules::RuleSet> rules_;  // swapped whole on reload
  std::optional<rules::Snapshot> snapshot_;
  std::vector<std::string> commit_files_;
  std::map<std::string, std::string> periods_;  // schedule rule -> period of the last full pass
  int64_t high_water_ = 0;
  int64_t reload_generation_ = 0;
};

}  // namespace followup::service
