#include "store/record_compare.h"

#include <string>

namespace followup::store {
namespace {

template <typename T>
void Differs(std::string& out, const char* name, const T& a, const T& b) {
  if (a == b) return;
  if (!out.empty()) out += ", ";
  out += name;
}

PutResult Outcome(std::string diff) {
  if (diff.empty()) return PutResult{PutOutcome::kUnchanged, {}};
  return PutResult{PutOutcome::kConflict, std::move(diff)};
}

// `put` where it gives a value, else `stored`; names the field in `changed` when that differs.
template <typename T>
void Take(std::string& changed, const char* name, T& merged, const T& put, bool given) {
  if (!given || merged == put) return;
  merged = put;
  if (!changed.empty()) changed += ", ";
  changed += name;
}

// The earlier of two times, either of which may be absent.
void Earlier(std::string& changed, const char* name, std::optional<Instant>& merged,
             const std::optional<Instant>& put) {
  Take(changed, name, merged, put, put && (!merged || *put < *merged));
}

}  // namespace

CustomerMerge MergeCustomer(const CustomerRecord& stored, const CustomerRecord& put) {
  if (put.referred_by && stored.referred_by && *put.referred_by != *stored.referred_by)
    return {
        PutResult{PutOutcome::kConflict, "referred_by (a referral already credited is not moved)"},
        stored};
  CustomerMerge m{PutResult{PutOutcome::kUnchanged, {}}, stored};
  std::string& changed = m.result.detail;
  Take(changed, "email", m.merged.email, put.email, put.email.has_value());
  Take(changed, "name", m.merged.name, put.name, !put.name.empty());
  Earlier(changed, "created_at", m.merged.created_at, put.created_at);
  Take(changed, "referred_by", m.merged.referred_by, put.referred_by, put.referred_by.has_value());
  Take(changed, "timezone", m.merged.timezone, put.timezone, put.timezone.has_value());
  Take(changed, "attributes", m.merged.attributes_json, put.attributes_json,
       put.attributes_json != "{}");
  Earlier(changed, "unsubscribed_at", m.merged.unsubscribed_at, put.unsubscribed_at);
  if (!changed.empty()) m.result.outcome = PutOutcome::kUpdated;
  return m;
}

PutResult CompareTransaction(const TransactionRecord& stored, const TransactionRecord& put) {
  std::string diff;
  Differs(diff, "customer_id", stored.customer_external_id, put.customer_external_id);
  Differs(diff, "occurred_at", stored.occurred_at, put.occurred_at);
  Differs(diff, "kind", stored.kind, put.kind);
  Differs(diff, "amount", stored.amount, put.amount);
  Differs(diff, "cost", stored.cost, put.cost);
  Differs(diff, "currency", stored.currency, put.currency);
  Differs(diff, "offer_code", stored.offer_code, put.offer_code);
  return Outcome(std::move(diff));
}

}  // namespace followup::store
