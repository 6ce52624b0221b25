#include "app/simulate.h"

#include <map>
#include <set>

#include "app/decide.h"
#include "store/copy_store.h"

namespace followup::app {

Result<std::unique_ptr<store::Store>> MakeScratchCopy(store::Store& store,
                                                      const std::string& path) {
  auto scratch = store::Store::Open("sqlite:" + path);
  if (!scratch) return tl::unexpected(scratch.error());
  if (auto copied = store::CopyStore(store, **scratch, nullptr); !copied)
    return tl::unexpected(copied.error());
  return scratch;
}

Result<std::vector<SimulatedPass>> WalkForward(store::Store& scratch, const rules::RuleSet& rules,
                                               const Settings& settings, Instant from,
                                               Instant until, std::chrono::seconds every) {
  if (every <= std::chrono::seconds{0}) return InvalidInput("simulate: the step must be positive");
  std::set<std::string> sequences;
  for (const auto& r : rules.rules)
    if (r.is_sequence()) sequences.insert(r.name);
  std::vector<SimulatedPass> passes;
  rules::Snapshot snapshot;
  for (Instant at = from; at <= until; at += every) {
    auto base = LoadFacts(scratch, settings, at);
    if (!base) return tl::unexpected(base.error());
    auto decided = DecideAll(scratch, rules, *base, settings, at, snapshot);
    if (!decided) return tl::unexpected(decided.error());
    if (decided->evaluation.decisions.empty()) continue;
    SimulatedPass pass{at, {}};
    std::vector<int64_t> ids;
    for (const auto& d : decided->evaluation.decisions) ids.push_back(d.customer_id);
    auto customers = scratch.FindCustomersById(ids);
    if (!customers) return tl::unexpected(customers.error());
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& d = decided->evaluation.decisions[i];
      SimulatedDecision s{d, (*customers)[i] ? (*customers)[i]->external_id : "", ""};
      // A step's dedupe key ends with its name (rule:customer:occurrence:step); step names hold
      // no ':'.
      if (sequences.count(d.rule) && d.dedupe_key.rfind(':') != std::string::npos)
        s.step = d.dedupe_key.substr(d.dedupe_key.rfind(':') + 1);
      pass.decisions.push_back(std::move(s));
    }
    passes.push_back(std::move(pass));
  }
  return passes;
}

}  // namespace followup::app
