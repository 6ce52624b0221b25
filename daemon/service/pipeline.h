// The pieces the daemon and the commands share to go from config to decisions to delivery: the
// data flows one way, store -> worth -> rules -> outbox -> delivery.
#pragma once

#include <memory>
#include <vector>

#include "config/config.h"
#include "delivery/outbox.h"
#include "delivery/transport.h"
#include "rules/runner.h"
#include "worth/customer_base.h"

namespace followup::service {

rules::LoadOptions RuleOptions(const Config& config, Instant now, const date::time_zone* zone);
rules::ContactPolicy PolicyFor(const Config& config);
worth::FactsOptions FactsOptionsFor(const Config& config, Instant now, const date::time_zone* zone);

// Every problem with the templates the rules name: the files, and every name they use against
// what the rule's values (and its arms') provide.
std::vector<Error> CheckRuleTemplates(const rules::RuleSet& set, const std::string& templates_dir);

// Loads the rules and checks their templates: the whole set, or every problem (each once).
tl::expected<rules::RuleSet, std::vector<Error>> LoadCheckedRules(const Config& config, Instant now,
                                                                  const date::time_zone* zone);

// Evaluates the rules at `now` (see rules::Evaluate).
rules::Evaluation EvaluateAll(const Config& config, const date::time_zone* zone, Instant now,
                              const rules::RuleSet& set, const worth::CustomerBase& base,
                              const rules::Snapshot& snap, int64_t explain_customer = 0);

// The configured transport, with its credentials (delivery.credentials_file: an absolute path, or
// a name in $CREDENTIALS_DIRECTORY when set, else relative to the config's folder).
Result<std::unique_ptr<delivery::Transport>> MakeConfiguredTransport(const Config& config);
// Composer options from the config, with the unsubscribe key loaded (or created).
Result<delivery::ComposerOptions> ComposerOptionsFor(const Config& config);
delivery::OutboxOptions OutboxOptionsFor(const Config& config);

// The outbox item the rule would queue for a customer (its template and values, with the arm the
// customer falls in), for preview.
store::OutboxItem PreviewItem(const rules::Rule& rule, const std::string& customer_external_id);

}  // namespace followup::service
