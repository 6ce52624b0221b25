#include "rules/runner.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <unordered_set>

namespace followup::rules {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
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
  contact.suppressed = contact.has_email && suppressed.count(Lower(*c.email)) > 0;
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
  for (const auto& d : decisions)
    history.Add({d.rule, d.customer_id, d.recipient_id, d.kind, d.decided_at, d.dedupe_key});
}

Result<Snapshot> LoadSnapshot(store::Store& store, const RuleSet& rules,
                              const ContactPolicy& policy, Instant now) {
  Snapshot snap;
  auto suppressed = store.Suppressions();
  if (!suppressed) return tl::unexpected(suppressed.error());
  std::unordered_set<std::string> suppressed_set(suppressed->begin(), suppressed->end());

  std::vector<Contact> contacts;
  auto customers = store.ForEachCustomer([&](const store::CustomerRow& c) {
    contacts.push_back(ContactFrom(c, suppressed_set, now));
  });
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
  auto past = store.ForEachDecisionSince(now - window - std::chrono::hours{24}, [&](const Decision&
                                                                                        d) {
    snap.history.Add({d.rule, d.customer_id, d.recipient_id, d.kind, d.decided_at, d.dedupe_key});
  });
  if (!past) return tl::unexpected(past.error());

  auto recent = store.ForEachRecentTransaction(
      now - policy.event_lookback - max_wait, now, [&](const store::RecentTransaction& t) {
        snap.events.push_back(
            {t.customer_id, t.external_id, t.occurred_at, t.kind, t.first_purchase});
      });
  if (!recent) return tl::unexpected(recent.error());
  return snap;
}

}  // namespace followup::rules
