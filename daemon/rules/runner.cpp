#include "rules/runner.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "base/ascii.h"

namespace followup::rules {
namespace {

PastDecision Past(const Decision& d) {
  return {d.rule, d.customer_id, d.recipient_id, d.kind, d.decided_at, d.dedupe_key};
}

Event EventOf(const store::RecentTransaction& t) {
  return {t.customer_id, t.external_id, t.occurred_at, t.kind, t.first_purchase};
}

Result<std::unordered_set<std::string>> SuppressedSet(store::Store& store) {
  auto suppressed = store.Suppressions();
  if (!suppressed) return tl::unexpected(suppressed.error());
  return std::unordered_set<std::string>(suppressed->begin(), suppressed->end());
}

}  // namespace

Contact ContactFrom(const store::CustomerRow& c, const std::unordered_set<std::string>& suppressed,
                    Instant now) {
  // Zones by name, looked up once: customers share a handful of them.
  thread_local std::unordered_map<std::string, const date::time_zone*> zones;
  Contact contact;
  contact.id = c.id;
  contact.external_id = c.external_id;
  contact.has_email = c.email.has_value() && !c.email->empty();
  contact.unsubscribed = c.unsubscribed_at.has_value() && *c.unsubscribed_at <= now;
  contact.suppressed = contact.has_email && suppressed.count(AsciiLower(*c.email)) > 0;
  contact.referred_by = c.referred_by.value_or(0);
  if (c.timezone) {
    auto [it, fresh] = zones.emplace(*c.timezone, nullptr);
    if (fresh) {
      auto zone = LookupZone(*c.timezone);
      it->second = zone ? *zone : nullptr;
    }
    contact.zone = it->second;
  }
  return contact;
}

void Remember(ContactHistory& history, const std::vector<Decision>& decisions) {
  for (const auto& d : decisions) history.Add(Past(d));
}

void RememberPlaces(Snapshot& snapshot, std::span<const store::SequencePlace> places) {
  for (const auto& p : places) {
    const Contact* c = snapshot.contacts.Find(p.customer_id);
    std::string key = p.rule + ":" + (c ? c->external_id : "") + ":" + p.occurrence;
    snapshot.history.AddEntry(p.rule, p.customer_id, p.entered_at, key, !p.ended_at);
  }
}

Result<Snapshot> LoadSnapshot(store::Store& store, const RuleSet& rules,
                              const ContactPolicy& policy, Instant now) {
  Snapshot snap;
  auto suppressed = SuppressedSet(store);
  if (!suppressed) return tl::unexpected(suppressed.error());

  std::vector<Contact> contacts;
  auto customers = store.ForEachCustomer(
      [&](const store::CustomerRow& c) { contacts.push_back(ContactFrom(c, *suppressed, now)); });
  if (!customers) return tl::unexpected(customers.error());
  snap.contacts = Contacts(std::move(contacts));

  // Long enough for every limit that looks back.
  std::chrono::seconds window = std::max(policy.per, policy.event_lookback);
  std::chrono::seconds max_wait{0};
  for (const auto& r : rules.rules) {
    if (r.once_per) window = std::max(window, *r.once_per);
    max_wait = std::max(max_wait, r.trigger.wait);
  }
  window = std::max(window, policy.event_lookback + max_wait);
  Instant since = now - window - std::chrono::hours{24};
  auto past =
      store.ForEachDecisionSince(since, [&](const Decision& d) { snap.history.Add(Past(d)); });
  if (!past) return tl::unexpected(past.error());
  std::vector<store::SequencePlace> places;
  auto read = store.ForEachSequencePlace(
      since, [&](const store::SequencePlace& p) { places.push_back(p); });
  if (!read) return tl::unexpected(read.error());
  RememberPlaces(snap, places);
  for (auto& p : places)
    if (!p.ended_at) snap.places.push_back(std::move(p));

  auto recent = store.ForEachRecentTransaction(
      now - policy.event_lookback - max_wait, now,
      [&](const store::RecentTransaction& t) { snap.events.push_back(EventOf(t)); });
  if (!recent) return tl::unexpected(recent.error());
  return snap;
}

Result<NewRows> ReadNewRows(store::Store& store, int64_t after_id) {
  NewRows rows;
  rows.high_water = after_id;
  auto scan = store.ForEachTransactionAfter(after_id, [&](const store::RecentTransaction& t) {
    rows.events.push_back(EventOf(t));
    rows.customers.push_back(t.customer_id);
    rows.high_water = std::max(rows.high_water, t.id);
  });
  if (!scan) return tl::unexpected(scan.error());
  std::sort(rows.customers.begin(), rows.customers.end());
  rows.customers.erase(std::unique(rows.customers.begin(), rows.customers.end()),
                       rows.customers.end());
  return rows;
}

Result<void> RefreshContacts(store::Store& store, Snapshot& snapshot,
                             std::span<const int64_t> customers, Instant now) {
  if (customers.empty()) return {};
  auto suppressed = SuppressedSet(store);
  if (!suppressed) return tl::unexpected(suppressed.error());
  auto rows = store.FindCustomersById(customers);
  if (!rows) return tl::unexpected(rows.error());
  for (const auto& row : *rows)
    if (row) snapshot.contacts.Upsert(ContactFrom(*row, *suppressed, now));
  return {};
}

RuleSet ImmediateRules(const RuleSet& rules) {
  RuleSet immediate;
  for (const auto& r : rules.rules)
    if (r.trigger.event && r.trigger.wait.count() == 0) immediate.rules.push_back(r);
  return immediate;
}

EvaluateInput MakeInput(const RuleSet& rules, const worth::CustomerBase& facts,
                        const Snapshot& snapshot, std::span<const Event> events,
                        const ContactPolicy& policy, Instant now, const date::time_zone* zone,
                        int64_t explain_customer) {
  EvaluateInput in;
  in.rules = &rules;
  in.facts = &facts;
  in.contacts = &snapshot.contacts;
  in.history = &snapshot.history;
  in.events = events;
  in.policy = policy;
  in.now = now;
  in.zone = zone;
  in.explain_customer = explain_customer;
  return in;
}

}  // namespace followup::rules
