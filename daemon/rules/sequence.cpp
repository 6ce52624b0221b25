#include "rules/sequence.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_set>

namespace followup::rules {
namespace {

using What = AdvanceOutcome::What;

// `over` laid over `base` (JSON objects of text); either may be empty.
std::string Merge(const std::string& base, const std::string& over) {
  if (over.empty() || over == "{}") return base.empty() ? "{}" : base;
  if (base.empty() || base == "{}") return over;
  auto merged = nlohmann::json::parse(base);
  merged.update(nlohmann::json::parse(over));
  return merged.dump();
}

// Facts of one customer, read through the customer base.
class BaseFacts final : public FactSource {
 public:
  BaseFacts(const worth::CustomerBase& base, const worth::CustomerSummary& s)
      : base_(base), s_(s) {}
  std::optional<double> Get(worth::Fact fact) const override { return base_.Value(s_, fact); }

 private:
  const worth::CustomerBase& base_;
  const worth::CustomerSummary& s_;
};

// "7d", "36h", "90m", "45s": the largest unit that divides it.
std::string Compact(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

const Step::ForArm* ForArm(const Step& step, const std::string& arm) {
  for (const auto& a : step.arms)
    if (a.arm == arm) return &a;
  return nullptr;
}

}  // namespace

std::chrono::seconds MissedWindow(const Step& step) {
  return std::max<std::chrono::seconds>(step.wait, std::chrono::hours{24});
}

std::optional<NextStep> NextOf(const Rule& rule, const SequencePlace& place) {
  std::unordered_set<std::string> done;
  for (const auto& d : place.done) done.insert(d.step);
  size_t from = 0;
  for (size_t i = 0; i < rule.steps.size(); ++i)
    if (done.count(rule.steps[i].name)) from = i + 1;
  for (size_t i = from; i < rule.steps.size(); ++i)
    if (!done.count(rule.steps[i].name))
      return NextStep{&rule.steps[i], place.last_at + rule.steps[i].wait};
  return std::nullopt;
}

SequencePlace Enter(const Rule& rule, int64_t customer_id, std::string occurrence,
                    DecisionKind kind, std::string arm, Instant now) {
  SequencePlace p;
  p.rule = rule.name;
  p.customer_id = customer_id;
  p.occurrence = std::move(occurrence);
  p.kind = kind;
  p.arm = std::move(arm);
  p.entered_at = p.last_at = now;
  if (auto next = NextOf(rule, p)) {
    p.next_step = next->step->name;
    p.next_due = next->due;
  }
  return p;
}

std::string StepKey(const Rule& rule, std::string_view customer_external_id,
                    const SequencePlace& place, const Step& step) {
  return StepKey(rule.name, customer_external_id, place.occurrence, step.name);
}

std::string StepKey(std::string_view rule, std::string_view customer_external_id,
                    std::string_view occurrence, std::string_view step) {
  std::string key;
  key.reserve(rule.size() + customer_external_id.size() + occurrence.size() + step.size() + 3);
  return key.append(rule)
      .append(":")
      .append(customer_external_id)
      .append(":")
      .append(occurrence)
      .append(":")
      .append(step);
}

AdvanceOutcome Advance(const AdvanceInput& in) {
  AdvanceOutcome out;
  out.place = *in.place;
  SequencePlace& p = out.place;
  if (p.ended_at) return out;
  auto end = [&](What what, std::string reason) {
    p.ended_at = in.now;
    p.end_reason = std::move(reason);
    p.next_step.clear();
    p.next_due.reset();
    p.held_since.reset();
    out.what = what;
    out.changed = true;
    return out;
  };
  const Rule& rule = *in.rule;
  const Contact* c = in.customer;
  // Exits, whatever the next step's time: what the customer did ends the sequence at once.
  if (!rule.enabled) return end(What::kExit, "disabled");
  if (rule.exit.purchase && in.last_purchase && *in.last_purchase > p.entered_at)
    return end(What::kExit, "purchase");
  if (!c || !c->has_email) return end(What::kExit, "no email");
  if (c->unsubscribed) return end(What::kExit, "unsubscribed");
  if (c->suppressed) return end(What::kExit, "suppressed");
  if (rule.exit.where && in.facts && rule.exit.where->Matches(*in.facts))
    return end(What::kExit, "exit where");

  // Each pass over a step not taken records it in `done`: the loop ends within steps.size().
  for (;;) {
    auto next = NextOf(rule, p);
    if (!next) return end(What::kCompleted, "completed");
    const Step& step = *next->step;
    if (p.next_step != step.name || p.next_due != next->due) {
      // Moved on, or the rule was edited (a step removed, a wait changed).
      p.next_step = step.name;
      p.next_due = next->due;
      out.changed = true;
    }
    if (next->due > in.now) {
      out.what = What::kWait;
      return out;
    }
    auto pass_over = [&](Instant at, std::string why) {
      p.done.push_back({step.name, at, std::move(why)});
      p.last_at = at;
      p.held_since.reset();
      out.changed = true;
    };
    if (!p.held_since && in.now > next->due + MissedWindow(step)) {
      pass_over(next->due, "dropped: missed (due " + FormatInstant(next->due) +
                               "; a step goes out at most " + Compact(MissedWindow(step)) +
                               " late)");
      continue;
    }
    if (step.where && !(in.facts && step.where->Matches(*in.facts))) {
      pass_over(in.now, "skipped: where");
      continue;
    }
    const Step::ForArm* for_arm = ForArm(step, p.arm);
    if (!step.arms.empty() && !for_arm) {
      pass_over(in.now, "skipped: not for arm " + (p.arm.empty() ? "(none)" : p.arm));
      continue;
    }

    Decision d;
    d.rule = rule.name;
    d.customer_id = p.customer_id;
    d.recipient_id = c->id;
    d.dedupe_key = StepKey(rule, c->external_id, p, step);
    d.kind = p.kind;
    d.arm = p.arm;
    d.template_name = for_arm && !for_arm->send.empty() ? for_arm->send : step.send;
    d.values_json = Merge(step.values_json, for_arm ? for_arm->values_json : "");
    d.decided_at = d.send_after = in.now;
    if (d.kind == DecisionKind::kSend) {
      if (in.policy.max_contacts > 0 && in.sends_in_period >= in.policy.max_contacts) {
        if (!p.held_since) {
          p.held_since = in.now;
          out.changed = true;
        }
        out.what = What::kHeld;
        return out;
      }
      if (auto until = QuietUntil(in.policy, in.now, c->zone ? c->zone : in.zone))
        d.send_after = *until;
    }
    p.done.push_back({step.name, in.now, std::string(DecisionKindName(d.kind))});
    p.last_at = in.now;
    p.held_since.reset();
    out.decision = std::move(d);
    out.what = What::kStep;
    out.changed = true;
    if (auto after = NextOf(rule, p)) {
      p.next_step = after->step->name;
      p.next_due = after->due;
    } else {
      p.ended_at = in.now;
      p.end_reason = "completed";
      p.next_step.clear();
      p.next_due.reset();
    }
    return out;
  }
}

Advanced AdvanceAll(const RuleSet& rules, const worth::CustomerBase& facts,
                    const Contacts& contacts, const ContactHistory& past, ContactHistory& made,
                    std::span<const SequencePlace> places, const ContactPolicy& policy, Instant now,
                    const date::time_zone* zone, bool new_places) {
  Advanced out;
  for (const auto& place : places) {
    auto rule = std::find_if(rules.rules.begin(), rules.rules.end(),
                             [&](const Rule& r) { return r.name == place.rule; });
    if (rule == rules.rules.end() || !rule->is_sequence()) continue;
    AdvanceInput in;
    in.rule = &*rule;
    in.place = &place;
    in.customer = contacts.Find(place.customer_id);
    std::optional<BaseFacts> source;
    if (const auto* s = facts.Find(place.customer_id)) {
      source.emplace(facts, *s);
      in.facts = &*source;
      if (s->has_purchases()) in.last_purchase = Instant{std::chrono::seconds{s->last_purchase_at}};
    }
    if (in.customer) {
      Instant since = now - policy.per;
      in.sends_in_period =
          past.SendsSince(in.customer->id, since) + made.SendsSince(in.customer->id, since);
    }
    in.policy = policy;
    in.now = now;
    in.zone = zone;
    auto moved = Advance(in);
    if (moved.decision) {
      const Decision& d = *moved.decision;
      made.Add({d.rule, d.customer_id, d.recipient_id, d.kind, d.decided_at, d.dedupe_key});
      out.decisions.push_back(std::move(*moved.decision));
    }
    if (moved.what == AdvanceOutcome::What::kExit) ++out.exits;
    if (moved.changed || new_places) out.places.push_back(std::move(moved.place));
  }
  return out;
}

std::vector<std::string> EditEffects(const RuleSet& rules, std::span<const SequencePlace> places) {
  // The places grouped by what the rules do to them; the groups in the order of their first place.
  enum class Change { kNotLoaded, kNoSteps, kDisabled, kStepGone, kOtherStep, kDue };
  struct Group {
    size_t order = 0;  // the first place's index: groups come out in the places' order
    Change change;
    std::string rule, from, to;
    std::chrono::seconds moved{0};
    int64_t customers = 0;
  };
  std::map<std::tuple<std::string, Change, std::string, std::string, int64_t>, Group> groups;
  auto add = [&](size_t i, Change change, const SequencePlace& p, std::string to,
                 std::chrono::seconds moved) {
    // A change of the whole rule counts its places together, whatever step they wait for.
    bool whole_rule =
        change == Change::kNotLoaded || change == Change::kNoSteps || change == Change::kDisabled;
    std::string from = whole_rule ? "" : p.next_step;
    auto key = std::tuple(p.rule, change, from, to, int64_t{moved.count()});
    auto [it, fresh] = groups.try_emplace(key, Group{i, change, p.rule, from, to, moved});
    ++it->second.customers;
  };
  for (size_t i = 0; i < places.size(); ++i) {
    const SequencePlace& p = places[i];
    if (p.ended_at) continue;
    auto rule = std::find_if(rules.rules.begin(), rules.rules.end(),
                             [&](const Rule& r) { return r.name == p.rule; });
    if (rule == rules.rules.end()) {
      add(i, Change::kNotLoaded, p, "", {});
      continue;
    }
    if (!rule->is_sequence()) {
      add(i, Change::kNoSteps, p, "", {});
      continue;
    }
    if (!rule->enabled) {
      add(i, Change::kDisabled, p, "", {});
      continue;
    }
    auto next = NextOf(*rule, p);
    bool exists = std::any_of(rule->steps.begin(), rule->steps.end(),
                              [&](const Step& s) { return s.name == p.next_step; });
    std::string to = next ? next->step->name : "";
    if (!exists)
      add(i, Change::kStepGone, p, to, {});
    else if (to != p.next_step)
      add(i, Change::kOtherStep, p, to, {});
    else if (p.next_due && next->due != *p.next_due)
      add(i, Change::kDue, p, to,
          std::chrono::duration_cast<std::chrono::seconds>(next->due - *p.next_due));
  }
  std::vector<const Group*> ordered;
  for (const auto& [key, g] : groups) ordered.push_back(&g);
  std::sort(ordered.begin(), ordered.end(),
            [](const Group* a, const Group* b) { return a->order < b->order; });
  std::vector<std::string> lines;
  for (const Group* g : ordered) {
    std::string n = std::to_string(g->customers) + (g->customers == 1 ? " customer" : " customers");
    std::string at = n + " at step '" + g->from + "'";
    std::string line = "rule " + g->rule + ": ";
    switch (g->change) {
      case Change::kNotLoaded:
        line += n + " in flight, but no such rule is loaded: they stay where they are";
        break;
      case Change::kNoSteps:
        line += n + " in flight, but it has no steps now: they stay where they are";
        break;
      case Change::kDisabled:
        line += "enabled: false: " + n + " in flight will exit";
        break;
      case Change::kStepGone:
        line += at + " which no longer exists: " +
                (g->to.empty() ? "they complete the sequence" : "they skip to '" + g->to + "'");
        break;
      case Change::kOtherStep:
        line += at + ": their next step is now '" + g->to + "'";
        break;
      case Change::kDue:
        line += at + ": due " + Compact(g->moved < g->moved.zero() ? -g->moved : g->moved) +
                (g->moved < g->moved.zero() ? " sooner" : " later") + " (its wait changed)";
        break;
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace followup::rules
