// The decision engine: a pure function of (rules, facts, contacts, contact history, events, clock)
// to decisions, each with a dedupe key (rule + customer + occurrence) so that the same decision is
// never made twice, and a reason for every customer not chosen.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/time.h"
#include "config/contact_policy.h"
#include "rules/rule.h"
#include "worth/customer_base.h"

namespace followup::rules {

// What the contact policy needs to know of a customer.
struct Contact {
  int64_t id = 0;
  std::string external_id;
  bool has_email = false;
  bool unsubscribed = false;
  bool suppressed = false;                // their address is on the suppression list
  const date::time_zone* zone = nullptr;  // their own; nullptr = the business's
  int64_t referred_by = 0;                // store id; 0 = none
};

// Customers by store id.
class Contacts {
 public:
  explicit Contacts(std::vector<Contact> contacts);  // any order
  const Contact* Find(int64_t id) const;
  // Adds the contact, or replaces the one with its id.
  void Upsert(Contact contact);
  size_t size() const { return contacts_.size(); }

 private:
  std::vector<Contact> contacts_;  // sorted by id
};

// The global contact policy is config/contact_policy.h's (one definition, one set of defaults);
// the configured one is handed to Evaluate.
using followup::ContactPolicy;

// A decision is the store's record (store/store.h): the engine makes them, the outbox keeps them.
using store::Decision;
using store::DecisionKind;
using store::DecisionKindName;

// What the store remembers of earlier decisions (the outbox).
struct PastDecision {
  std::string rule;
  int64_t customer_id = 0;
  int64_t recipient_id = 0;
  DecisionKind kind = DecisionKind::kSend;
  Instant decided_at;
  std::string dedupe_key;
};

class ContactHistory {
 public:
  void Add(const PastDecision& d);
  bool Decided(const std::string& dedupe_key) const { return keys_.count(dedupe_key) > 0; }
  // The last decision of `rule` about `customer`, if any.
  std::optional<Instant> LastDecision(const std::string& rule, int64_t customer) const;
  // Emails to `recipient` decided after `since`.
  int SendsSince(int64_t recipient, Instant since) const;
  // A customer's entry into a sequence (its key is rule:customer:occurrence): counts for
  // Decided and LastDecision (once_per counts entries); `in_flight` while they are in it.
  void AddEntry(const std::string& rule, int64_t customer, Instant entered_at,
                const std::string& key, bool in_flight);
  // The customer is in `rule`'s sequence now.
  bool InSequence(const std::string& rule, int64_t customer) const {
    return in_flight_.count({rule, customer}) > 0;
  }

 private:
  std::unordered_set<std::string> keys_;
  std::unordered_map<std::string, std::unordered_map<int64_t, Instant>> last_;
  std::unordered_map<int64_t, std::vector<Instant>> sends_;
  std::set<std::pair<std::string, int64_t>> in_flight_;
};

// A transaction that may trigger event rules.
struct Event {
  int64_t customer_id = 0;
  std::string occurrence;  // the transaction's external id
  Instant occurred_at;
  store::Kind kind = store::Kind::kPurchase;
  bool first_purchase = false;  // the customer's first purchase
};

// Why a customer was not chosen (or, for kQuietHours, why the email waits).
enum class Reason {
  kOutOfAudience,
  kNotInTop,
  kAlreadyDecided,
  kNoReferrer,
  kUnsubscribed,
  kSuppressed,
  kNoEmail,
  kOncePer,
  kCapped,
  kHoldout,
  kControl,
  kQuietHours,
  kInSequence,
};
std::string_view ReasonName(Reason reason);

struct Skip {
  std::string rule;
  int64_t customer_id = 0;
  Reason reason;
  std::string detail;
};

struct RuleOutcome {
  bool due = false;        // a schedule that fired in the window, or an event rule with events
  std::string occurrence;  // schedules: the period ("2026-06-30"); events: ""
  int64_t candidates = 0;  // customers (or events) considered
  int64_t decided = 0;     // emails decided (kind send)
  int64_t entered = 0;     // sequences: customers who entered (holdout and control included)
  std::map<Reason, int64_t> reasons;
};

// A triggering event of an explained customer (or, for a `to: referrer` rule, of a customer they
// referred) whose `wait:` still runs: the rule decides at `until`, if they are still in its
// audience then.
struct Waiting {
  std::string rule;
  int64_t customer_id = 0;  // whose event it is
  int64_t recipient_id =
      0;                   // whom the email would go to (0: a referrer rule, nobody referred them)
  std::string occurrence;  // the transaction's external id
  Instant until;
};

struct Evaluation {
  std::vector<Decision> decisions;  // in the order made (rule priority, then audience order)
  // Sequences: the customers who entered, each with their first step still to come
  // (rules/sequence.h advances them).
  std::vector<store::SequencePlace> entries;
  // The sequence places the pass moved (entered, a step taken or passed over, held, left): what
  // the decide pass (app/decide.h) writes with the decisions. Evaluate leaves it empty.
  std::vector<store::SequencePlace> places;
  std::map<std::string, RuleOutcome> rules;
  std::vector<Skip> skips;       // only for EvaluateOptions::explain_customer
  std::vector<Waiting> waiting;  // only for EvaluateInput::explain_customer
};

struct EvaluateInput {
  const RuleSet* rules = nullptr;
  const worth::CustomerBase* facts = nullptr;
  const Contacts* contacts = nullptr;
  const ContactHistory* history = nullptr;
  const ContactHistory* also = nullptr;  // decisions made earlier in this pass; nullptr: none
  std::span<const Event> events;
  ContactPolicy policy;
  Instant now;
  const date::time_zone* zone = nullptr;  // the business's
  // Record every reason for this customer (explain); 0 = none.
  int64_t explain_customer = 0;
};

// Decides. Pure: no I/O, no clock but `now`; the same input gives the same decisions.
Evaluation Evaluate(const EvaluateInput& input);

// The experiment arm a customer falls in (stable); the rule must have an experiment.
const Arm& AssignArm(const Rule& rule, std::string_view customer_external_id);
// Where a chosen customer falls for `rule` (stable, by a hash of rule and customer): its holdout
// (kHoldout), an experiment arm (a control arm is kControl), or neither (kSend, no arm).
struct Assignment {
  DecisionKind kind = DecisionKind::kSend;
  const Arm* arm = nullptr;
};
Assignment Assign(const Rule& rule, std::string_view customer_external_id);
// The rule's values with the arm's laid over them, as a JSON object text.
std::string ArmValues(const Rule& rule, const Arm& arm);

// The end of the policy's quiet hours if `now` falls inside them in `zone` (nullptr: UTC), else
// nothing.
std::optional<Instant> QuietUntil(const ContactPolicy& policy, Instant now,
                                  const date::time_zone* zone);

// The stable share in [0, 1) that holdout and arm assignment use for (salt, customer).
double StableShare(std::string_view salt, std::string_view customer_external_id);

}  // namespace followup::rules
