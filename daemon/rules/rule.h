// Follow-up rules: one YAML file a rule under rules/ (format: docs/rules.md). This header holds the
// parsed form and the loader; the loader validates everything and reports every problem with its
// file:line:column, never just the first.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/time.h"
#include "rules/expression.h"
#include "worth/facts.h"

namespace followup::rules {

enum class EventKind { kPurchase, kFirstPurchase, kReturn, kReferralConverted };
std::string_view EventName(EventKind kind);

// When a scheduled rule fires, in the business time zone.
struct Schedule {
  enum class Every { kDaily, kWeekly, kOnce } every = Every::kDaily;
  int minute_of_day = 9 * 60;  // local time of day
  int weekday = 1;             // kWeekly: 0 = Sunday .. 6 = Saturday
  int64_t once_day = 0;        // kOnce: local day number (days since 1970-01-01)
  std::string text;            // as written, for messages

  // The latest time it fired at or before `now`, with its period key ("2026-06-30" daily,
  // "2026-W27" weekly, "once"), or nothing if it has not fired yet.
  struct Firing {
    Instant at;
    std::string period;
  };
  std::optional<Firing> LastFiring(Instant now, const date::time_zone* zone) const;
};

// Parses "daily at 09:00", "weekly on monday at 09:00", "once at 2026-07-01 09:00" (the time is
// optional: 09:00). kInvalidInput with the reason otherwise.
Result<Schedule> ParseSchedule(std::string_view text);

struct Trigger {
  std::optional<EventKind> event;    // an event trigger, or
  std::optional<Schedule> schedule;  // a schedule
  std::chrono::seconds wait{0};      // events: act this long after the event (a return window)
};

// "top: 10% by profit" or "top: 500 by clv_12m".
struct Top {
  bool percent = false;
  double amount = 0;  // a share (0..1] when percent, else a count
  worth::Fact by = worth::Fact::kProfit;
};

struct Arm {
  std::string name;
  double weight = 0;  // share, all arms sum to 1
  bool control = false;
  std::string send;         // template (empty: the rule's)
  std::string values_json;  // merged over the rule's values
};

struct Experiment {
  std::vector<Arm> arms;
  std::chrono::seconds conversion_within{14 * 86400};
  std::string conversion_offer_code;  // empty: any purchase converts
};

// One step of a sequence (docs/rules.md, "Sequences").
struct Step {
  std::string name;                 // unique in the rule: customers in flight follow it by name
  std::chrono::seconds wait{0};     // after the previous step (or entry)
  std::optional<Expression> where;  // re-checked when the step is due; false: the step is skipped
  std::string send;                 // template
  std::string values_json = "{}";   // for the template
  // Per experiment arm: the template and values for that arm. When not empty, the step is only
  // for the arms listed.
  struct ForArm {
    std::string arm;
    std::string send;         // empty: the step's
    std::string values_json;  // empty: the step's; else laid over them
  };
  std::vector<ForArm> arms;
};

// When a customer leaves a sequence before its end (checked before every step). Unsubscribed,
// suppressed and address-less customers always leave.
struct SequenceExit {
  bool purchase = true;             // a purchase since entry
  std::optional<Expression> where;  // true: they leave
};

struct Rule {
  std::string name;
  std::string description;
  std::string file;
  bool enabled = true;  // false: nobody is chosen; customers in its sequence leave ("disabled")
  Trigger trigger;
  std::optional<Expression> where;  // none: everyone
  std::optional<Top> top;
  std::string send;                // template name
  bool to_referrer = false;        // to: referrer (else customer)
  std::string values_json = "{}";  // values for the template
  std::optional<std::chrono::seconds> once_per;
  int priority = 0;    // higher first when rules compete for a customer
  double holdout = 0;  // share never contacted, recorded as control
  std::optional<Experiment> experiment;
  std::vector<Step> steps;  // a sequence: steps instead of one action (send is then empty)
  SequenceExit exit;

  bool is_sequence() const { return !steps.empty(); }
};

// The loaded, validated rules: immutable, shared by readers, swapped whole on reload.
struct RuleSet {
  std::vector<Rule> rules;  // sorted by priority (highest first), then name
};

struct LoadOptions {
  std::string rules_dir;
  std::string templates_dir;  // a rule's template must exist as templates_dir/NAME/
  Instant now;                // a `once` schedule before now never fires: an error
  const date::time_zone* zone = nullptr;
};

// Loads every *.yaml / *.yml file in rules_dir. On success the whole set; on failure every problem
// found in every file (each an Error with file:line:column), and no set. An empty folder is a
// valid, empty set.
tl::expected<RuleSet, std::vector<Error>> LoadRules(const LoadOptions& options);

// Parses one rule from YAML text (tests); `file` names it in errors. Appends problems to `errors`.
std::optional<Rule> ParseRule(const std::string& yaml_text, const std::string& file,
                              const LoadOptions& options, std::vector<Error>& errors);

}  // namespace followup::rules
