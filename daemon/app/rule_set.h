// The rule set as every caller loads it: the rule files, checked against the templates they name
// (each template's every name against the values the rule and its arms give).
#pragma once

#include <string>
#include <vector>

#include "app/settings.h"
#include "base/error.h"
#include "rules/rule.h"
#include "store/store.h"

namespace followup::app {

// Every problem with the templates the rules name: the files, and every name they use against
// what the rule's values (and its arms') provide.
std::vector<Error> CheckRuleTemplates(const rules::RuleSet& set, const std::string& templates_dir);

// Loads the rules at `now` and checks their templates: the whole set, or every problem (each
// once, with its FILE:LINE:COL).
tl::expected<rules::RuleSet, std::vector<Error>> LoadCheckedRules(const Settings& settings,
                                                                  Instant now);

// The customers in flight in the store's sequences, and what `set` does to them
// (rules::EditEffects): what `check` says about an edit. kRuntime when the store fails.
struct InFlight {
  int64_t customers = 0;  // places not ended
  std::vector<std::string> effects;
};
Result<InFlight> ReadInFlight(store::Store& store, const rules::RuleSet& set, Instant now);

}  // namespace followup::app
