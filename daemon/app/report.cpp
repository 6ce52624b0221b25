#include "app/report.h"

#include <algorithm>
#include <set>
#include <utility>

#include "rules/sequence.h"

namespace followup::app {

void ReportGroup::AddClosed(int64_t purchases, int64_t revenue_minor, double scale) {
  ++customers;
  if (purchases > 0) ++converted;
  revenue += revenue_minor;
  const double r = static_cast<double>(revenue_minor) / scale;
  per_customer.Add(r);
  most = std::max(most, r);
}

void ReportGroup::Add(const store::DecisionOutcome& o, std::chrono::seconds window, Instant now,
                      double scale) {
  if (o.decided_at + window > now)
    ++window_open;
  else
    AddClosed(o.purchases, o.revenue, scale);
}

ReportGroup ReportGroup::Of(const rules::EntryGroup& entries, double scale) {
  ReportGroup g;
  for (int64_t minor : entries.revenue) g.AddClosed(0, minor, scale);
  g.converted = entries.converted;  // converted or not is the sequence report's to say
  g.window_open = entries.window_open;
  return g;
}

std::optional<double> ReportGroup::rate() const {
  if (customers == 0) return std::nullopt;
  return static_cast<double>(converted) / static_cast<double>(customers);
}

Comparison Compare(const ReportGroup& contacted, const ReportGroup& held_out) {
  Comparison out;
  out.too_few = contacted.customers < worth::kMinCustomersPerGroup ||
                held_out.customers < worth::kMinCustomersPerGroup;
  if (out.too_few) return out;
  out.conversion = worth::RateDifference(contacted.converted, contacted.customers,
                                         held_out.converted, held_out.customers);
  out.revenue_per_customer = worth::MeanDifference(contacted.per_customer, held_out.per_customer);
  if (auto& r = out.revenue_per_customer) {
    r->low = std::clamp(r->low, -held_out.most, r->estimate);
    r->high = std::clamp(r->high, r->estimate, contacted.most);
  }
  return out;
}

Result<std::map<std::string, rules::SequenceReport>> ReportSequences(
    store::Store& store, const std::map<std::string, SequenceCounting>& loaded, Instant now) {
  std::map<std::string, std::vector<store::SequencePlace>> places;
  std::set<int64_t> customer_ids;
  auto read = store.ForEachSequencePlace(Instant::min(), [&](const store::SequencePlace& p) {
    places[p.rule].push_back(p);
    customer_ids.insert(p.customer_id);
  });
  if (!read) return tl::unexpected(read.error());
  std::vector<int64_t> ids(customer_ids.begin(), customer_ids.end());
  auto customers = store.FindCustomersById(ids);
  if (!customers) return tl::unexpected(customers.error());
  std::map<int64_t, std::string> external;
  for (const auto& c : *customers)
    if (c) external[c->id] = c->external_id;

  std::map<std::string, rules::SequenceReport> reports;
  for (const auto& [rule, rule_places] : places) {
    SequenceCounting counting;
    if (auto it = loaded.find(rule); it != loaded.end()) counting = it->second;
    std::map<std::string, store::DeliveryStatus> status;  // by dedupe key
    store::LogFilter filter;
    filter.rule = rule;
    auto log = store.ForEachLogEntry(
        filter, [&](const store::LogEntry& e) { status[e.dedupe_key] = e.status; });
    if (!log) return tl::unexpected(log.error());
    std::map<std::pair<int64_t, std::string>, std::vector<rules::ReportedEntry::Purchase>> bought;
    auto purchases = store.ForEachSequencePurchase(
        rule, counting.window, counting.offer_code, [&](const store::SequencePurchase& p) {
          bought[{p.customer_id, p.occurrence}].push_back({p.occurred_at, p.amount});
        });
    if (!purchases) return tl::unexpected(purchases.error());

    std::vector<rules::ReportedEntry> entries;
    entries.reserve(rule_places.size());
    for (const auto& place : rule_places) {
      rules::ReportedEntry entry;
      entry.place = &place;
      const std::string& customer = external[place.customer_id];
      for (const auto& done : place.done) {
        auto it = status.find(rules::StepKey(rule, customer, place.occurrence, done.step));
        if (it != status.end()) entry.status[done.step] = it->second;
      }
      if (auto it = bought.find({place.customer_id, place.occurrence}); it != bought.end())
        entry.purchases = std::move(it->second);
      entries.push_back(std::move(entry));
    }
    reports[rule] = rules::ReportSequence(counting.steps, entries, counting.window, now);
  }
  return reports;
}

}  // namespace followup::app
