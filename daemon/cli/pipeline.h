// The commands' view of the shared pipeline (service/pipeline.h): the same steps, with the config,
// clock and store of the command line.
#pragma once

#include <optional>

#include "cli/command.h"
#include "service/pipeline.h"

namespace followup::cli {

rules::LoadOptions RuleOptions(const Env& env);
rules::ContactPolicy PolicyFor(const Env& env);

// Loads the rules and checks their templates, printing every problem to stderr; nullopt when there
// was any.
std::optional<rules::RuleSet> LoadCheckedRules(const Env& env);

// Everything Evaluate needs at --at, loaded from the store.
struct World {
  rules::RuleSet rules;
  worth::CustomerBase base;
  rules::Snapshot snapshot;
};
Result<World> LoadWorld(Env& env, rules::RuleSet set);
rules::Evaluation EvaluateWorld(const Env& env, const World& w, int64_t explain_customer = 0);
rules::Evaluation EvaluateAll(const Env& env, const rules::RuleSet& set,
                              const worth::CustomerBase& base, const rules::Snapshot& snap);

}  // namespace followup::cli
