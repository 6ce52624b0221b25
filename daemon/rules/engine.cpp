#include "rules/engine.h"

#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "rules/sequence.h"

namespace followup::rules {
namespace {

// Facts of one customer, read lazily through the customer base.
class SummaryFacts final : public FactSource {
 public:
  SummaryFacts(const worth::CustomerBase& base, const worth::CustomerSummary& s)
      : base_(base), s_(s) {}
  std::optional<double> Get(worth::Fact fact) const override { return base_.Value(s_, fact); }

 private:
  const worth::CustomerBase& base_;
  const worth::CustomerSummary& s_;
};

// One candidate of a rule: a customer, and what occurrence of the rule it is for.
struct Candidate {
  const worth::CustomerSummary* summary;
  const std::string* occurrence;  // owned by the rule's evaluation (its period or the event)
};

}  // namespace

Contacts::Contacts(std::vector<Contact> contacts) : contacts_(std::move(contacts)) {
  std::sort(contacts_.begin(), contacts_.end(),
            [](const Contact& a, const Contact& b) { return a.id < b.id; });
}

const Contact* Contacts::Find(int64_t id) const {
  auto it = std::lower_bound(contacts_.begin(), contacts_.end(), id,
                             [](const Contact& c, int64_t v) { return c.id < v; });
  return it != contacts_.end() && it->id == id ? &*it : nullptr;
}

void Contacts::Upsert(Contact contact) {
  auto it = std::lower_bound(contacts_.begin(), contacts_.end(), contact.id,
                             [](const Contact& c, int64_t v) { return c.id < v; });
  if (it != contacts_.end() && it->id == contact.id)
    *it = std::move(contact);
  else
    contacts_.insert(it, std::move(contact));
}

void ContactHistory::Add(const PastDecision& d) {
  keys_.insert(d.dedupe_key);
  auto& last = last_[d.rule][d.customer_id];
  last = std::max(last, d.decided_at);
  if (d.kind == DecisionKind::kSend) sends_[d.recipient_id].push_back(d.decided_at);
}

void ContactHistory::AddEntry(const std::string& rule, int64_t customer, Instant entered_at,
                              const std::string& key, bool in_flight) {
  keys_.insert(key);
  auto& last = last_[rule][customer];
  last = std::max(last, entered_at);
  if (in_flight) in_flight_.insert({rule, customer});
}

std::optional<Instant> ContactHistory::LastDecision(const std::string& rule,
                                                    int64_t customer) const {
  auto r = last_.find(rule);
  if (r == last_.end()) return std::nullopt;
  auto c = r->second.find(customer);
  if (c == r->second.end()) return std::nullopt;
  return c->second;
}

int ContactHistory::SendsSince(int64_t recipient, Instant since) const {
  auto it = sends_.find(recipient);
  if (it == sends_.end()) return 0;
  return static_cast<int>(
      std::count_if(it->second.begin(), it->second.end(), [&](Instant t) { return t > since; }));
}

std::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kOutOfAudience:
      return "out of audience";
    case Reason::kNotInTop:
      return "not in top";
    case Reason::kAlreadyDecided:
      return "already decided";
    case Reason::kNoReferrer:
      return "no referrer";
    case Reason::kUnsubscribed:
      return "unsubscribed";
    case Reason::kSuppressed:
      return "suppressed";
    case Reason::kNoEmail:
      return "no email";
    case Reason::kOncePer:
      return "once_per";
    case Reason::kCapped:
      return "capped";
    case Reason::kHoldout:
      return "holdout";
    case Reason::kControl:
      return "control";
    case Reason::kQuietHours:
      return "quiet hours";
    case Reason::kInSequence:
      return "in sequence";
  }
  return "";
}

std::optional<Instant> QuietUntil(const ContactPolicy& p, Instant now,
                                  const date::time_zone* zone) {
  if (p.quiet_start_minute == p.quiet_end_minute) return std::nullopt;
  auto local = zone ? zone->to_local(now) : date::local_seconds{now.time_since_epoch()};
  auto midnight = date::floor<date::days>(local);
  int minute =
      static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - midnight).count());
  bool wraps = p.quiet_start_minute > p.quiet_end_minute;  // e.g. 21:00-08:00
  bool quiet = wraps ? (minute >= p.quiet_start_minute || minute < p.quiet_end_minute)
                     : (minute >= p.quiet_start_minute && minute < p.quiet_end_minute);
  if (!quiet) return std::nullopt;
  auto end_day = midnight;
  if (wraps && minute >= p.quiet_start_minute) end_day += date::days{1};
  date::local_seconds end{end_day + std::chrono::minutes{p.quiet_end_minute}};
  if (!zone) return Instant{end.time_since_epoch()};
  return std::chrono::time_point_cast<std::chrono::seconds>(
      zone->to_sys(end, date::choose::earliest));
}

double StableShare(std::string_view salt, std::string_view customer) {
  // FNV-1a over salt, a separator and the id: stable across runs, machines and releases.
  uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(salt);
  mix(std::string_view("\0", 1));
  mix(customer);
  // Finalise (splitmix64) so that neighbouring ids spread over the whole range.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

const Arm& AssignArm(const Rule& rule, std::string_view customer_external_id) {
  double share = StableShare(rule.name + "/arm", customer_external_id);
  const auto& arms = rule.experiment->arms;
  for (const auto& a : arms) {
    if (share < a.weight) return a;
    share -= a.weight;
  }
  return arms.back();
}

std::string ArmValues(const Rule& rule, const Arm& arm) {
  if (arm.values_json.empty()) return rule.values_json;
  auto merged = nlohmann::json::parse(rule.values_json);
  merged.update(nlohmann::json::parse(arm.values_json));
  return merged.dump();
}

Assignment Assign(const Rule& rule, std::string_view customer_external_id) {
  Assignment a;
  if (rule.holdout > 0 && StableShare(rule.name, customer_external_id) < rule.holdout) {
    a.kind = DecisionKind::kHoldout;
  } else if (rule.experiment) {
    a.arm = &AssignArm(rule, customer_external_id);
    if (a.arm->control) a.kind = DecisionKind::kControl;
  }
  return a;
}

Evaluation Evaluate(const EvaluateInput& in) {
  Evaluation out;
  // The past, and this pass's own decisions on top of it (the past is not copied: it can be big).
  const ContactHistory& past = *in.history;
  static const ContactHistory kNone;
  const ContactHistory& also = in.also ? *in.also : kNone;
  ContactHistory made;
  const ContactHistory* all[] = {&past, &also, &made};
  auto decided = [&](const std::string& key) {
    return std::any_of(std::begin(all), std::end(all), [&](auto* h) { return h->Decided(key); });
  };
  auto in_sequence = [&](const std::string& rule, int64_t customer) {
    return std::any_of(std::begin(all), std::end(all),
                       [&](auto* h) { return h->InSequence(rule, customer); });
  };
  auto last_decision = [&](const std::string& rule, int64_t customer) {
    std::optional<Instant> last;
    for (auto* h : all)
      if (auto t = h->LastDecision(rule, customer); t && (!last || *t > *last)) last = t;
    return last;
  };
  auto sends_since = [&](int64_t recipient, Instant since) {
    int n = 0;
    for (auto* h : all) n += h->SendsSince(recipient, since);
    return n;
  };
  const auto& base = *in.facts;
  auto skip = [&](RuleOutcome& outcome, const Rule& rule, int64_t customer, Reason reason,
                  std::string detail = {}) {
    ++outcome.reasons[reason];
    if (customer == in.explain_customer)
      out.skips.push_back({rule.name, customer, reason, std::move(detail)});
  };

  // "clause (fact value, ...)": the clause of `where:` that left an explained customer out.
  auto failing_clause = [&](const Rule& rule, const worth::CustomerSummary& s) {
    SummaryFacts facts(base, s);
    auto failed = rule.where->FailingClause(facts);
    if (!failed) return rule.where->text();
    std::string values;
    for (worth::Fact fact : failed->facts) {
      const auto& info = worth::InfoOf(fact);
      auto v = facts.Get(fact);
      values += (values.empty() ? "" : ", ") + std::string(info.name) + " " +
                (v ? worth::FormatFact(info, *v, base.options().currency_exponent) : "undefined");
    }
    return std::string(failed->text) + (values.empty() ? "" : " (" + values + ")");
  };

  for (const auto& rule : in.rules->rules) {
    if (!rule.enabled) continue;
    auto& outcome = out.rules[rule.name];
    // Who is a candidate, for which occurrence of the rule.
    std::vector<Candidate> candidates;
    if (rule.trigger.schedule) {
      auto fired = rule.trigger.schedule->LastFiring(in.now, in.zone);
      if (!fired || fired->at <= in.now - in.policy.event_lookback) continue;
      outcome.occurrence = fired->period;
      candidates.reserve(base.customers().size());
      for (const auto& s : base.customers()) candidates.push_back({&s, &outcome.occurrence});
    } else if (rule.trigger.event) {
      for (const auto& e : in.events) {
        Instant due = e.occurred_at + rule.trigger.wait;
        if (due <= in.now - in.policy.event_lookback) continue;
        if (due > in.now && !in.explain_customer) continue;
        bool matches = false;
        switch (*rule.trigger.event) {
          case EventKind::kPurchase:
            matches = e.kind == store::Kind::kPurchase;
            break;
          case EventKind::kFirstPurchase:
            matches = e.kind == store::Kind::kPurchase && e.first_purchase;
            break;
          case EventKind::kReturn:
            matches = e.kind == store::Kind::kReturn || e.kind == store::Kind::kRefund;
            break;
          case EventKind::kReferralConverted: {
            const Contact* c = in.contacts->Find(e.customer_id);
            matches =
                e.kind == store::Kind::kPurchase && e.first_purchase && c && c->referred_by != 0;
            break;
          }
        }
        if (!matches) continue;
        if (due > in.now) {  // its wait still runs: only explain hears of it
          const Contact* c = in.contacts->Find(e.customer_id);
          const int64_t recipient = rule.to_referrer ? (c ? c->referred_by : 0) : e.customer_id;
          if (e.customer_id == in.explain_customer || recipient == in.explain_customer)
            out.waiting.push_back({rule.name, e.customer_id, recipient, e.occurrence, due});
          continue;
        }
        if (const auto* s = base.Find(e.customer_id)) candidates.push_back({s, &e.occurrence});
      }
    }
    outcome.due = true;
    outcome.candidates = static_cast<int64_t>(candidates.size());

    // Audience: where, then top.
    std::vector<Candidate> audience;
    for (auto& c : candidates) {
      if (rule.where && !rule.where->Matches(SummaryFacts(base, *c.summary))) {
        const int64_t id = c.summary->customer_id;
        skip(outcome, rule, id, Reason::kOutOfAudience,
             id == in.explain_customer ? failing_clause(rule, *c.summary) : std::string());
        continue;
      }
      audience.push_back(std::move(c));
    }
    if (rule.top) {
      std::vector<std::pair<std::optional<double>, size_t>> ranked;
      ranked.reserve(audience.size());
      for (size_t i = 0; i < audience.size(); ++i)
        ranked.emplace_back(base.Value(*audience[i].summary, rule.top->by), i);
      std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        if (!a.first || !b.first) return a.first.has_value() && !b.first.has_value();
        return *a.first > *b.first;
      });
      size_t keep = rule.top->percent
                        ? static_cast<size_t>(std::ceil(rule.top->amount * audience.size()))
                        : static_cast<size_t>(rule.top->amount);
      keep = std::min(keep, ranked.size());
      std::vector<Candidate> top;
      for (size_t i = 0; i < ranked.size(); ++i) {
        auto& c = audience[ranked[i].second];
        if (i < keep)
          top.push_back(std::move(c));
        else
          skip(outcome, rule, c.summary->customer_id, Reason::kNotInTop);
      }
      audience = std::move(top);
    }

    // Contact policy, holdout and arms, in audience order.
    for (const auto& c : audience) {
      const int64_t id = c.summary->customer_id;
      const Contact* customer = in.contacts->Find(id);
      if (!customer) continue;  // facts without a customer row: nothing to contact
      std::string key = rule.name + ":" + customer->external_id + ":" + *c.occurrence;
      if (decided(key)) {
        skip(outcome, rule, id, Reason::kAlreadyDecided, key);
        continue;
      }
      if (rule.is_sequence() && in_sequence(rule.name, id)) {
        skip(outcome, rule, id, Reason::kInSequence);
        continue;
      }
      const Contact* recipient = customer;
      if (rule.to_referrer) {
        recipient = customer->referred_by ? in.contacts->Find(customer->referred_by) : nullptr;
        if (!recipient) {
          skip(outcome, rule, id, Reason::kNoReferrer);
          continue;
        }
      }
      if (recipient->unsubscribed) {
        skip(outcome, rule, id, Reason::kUnsubscribed);
        continue;
      }
      if (!recipient->has_email) {
        skip(outcome, rule, id, Reason::kNoEmail);
        continue;
      }
      if (recipient->suppressed) {
        skip(outcome, rule, id, Reason::kSuppressed);
        continue;
      }
      if (rule.once_per) {
        auto last = last_decision(rule.name, id);
        if (last && *last > in.now - *rule.once_per) {
          skip(outcome, rule, id, Reason::kOncePer, FormatInstant(*last));
          continue;
        }
      }
      if (rule.is_sequence()) {  // enters; the contact policy applies to each step
        auto group = Assign(rule, customer->external_id);
        if (group.kind == DecisionKind::kHoldout) skip(outcome, rule, id, Reason::kHoldout);
        if (group.kind == DecisionKind::kControl)
          skip(outcome, rule, id, Reason::kControl, group.arm->name);
        out.entries.push_back(
            Enter(rule, id, *c.occurrence, group.kind, group.arm ? group.arm->name : "", in.now));
        made.AddEntry(rule.name, id, in.now, key, /*in_flight=*/true);
        ++outcome.entered;
        continue;
      }
      if (in.policy.max_contacts > 0 &&
          sends_since(recipient->id, in.now - in.policy.per) >= in.policy.max_contacts) {
        skip(outcome, rule, id, Reason::kCapped);
        continue;
      }
      Decision d;
      d.rule = rule.name;
      d.customer_id = id;
      d.recipient_id = recipient->id;
      d.dedupe_key = std::move(key);
      d.template_name = rule.send;
      d.values_json = rule.values_json;
      d.decided_at = d.send_after = in.now;
      auto group = Assign(rule, customer->external_id);
      d.kind = group.kind;
      if (group.kind == DecisionKind::kHoldout) skip(outcome, rule, id, Reason::kHoldout);
      if (const Arm* arm = group.arm) {
        d.arm = arm->name;
        if (!arm->send.empty()) d.template_name = arm->send;
        d.values_json = ArmValues(rule, *arm);
        if (arm->control) skip(outcome, rule, id, Reason::kControl, arm->name);
      }
      if (d.kind == DecisionKind::kSend) {
        if (auto until =
                QuietUntil(in.policy, in.now, recipient->zone ? recipient->zone : in.zone)) {
          d.send_after = *until;
          skip(outcome, rule, id, Reason::kQuietHours, "waits until " + FormatInstant(*until));
        }
        ++outcome.decided;
      }
      made.Add({d.rule, d.customer_id, d.recipient_id, d.kind, d.decided_at, d.dedupe_key});
      out.decisions.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace followup::rules
