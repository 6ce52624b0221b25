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

}  // namespace

PutResult CompareCustomer(const CustomerRecord& stored, const CustomerRecord& put) {
  std::string diff;
  Differs(diff, "email", stored.email, put.email);
  Differs(diff, "name", stored.name, put.name);
  Differs(diff, "created_at", stored.created_at, put.created_at);
  Differs(diff, "referred_by", stored.referred_by, put.referred_by);
  Differs(diff, "timezone", stored.timezone, put.timezone);
  Differs(diff, "attributes", stored.attributes_json, put.attributes_json);
  Differs(diff, "unsubscribed_at", stored.unsubscribed_at, put.unsubscribed_at);
  return Outcome(std::move(diff));
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
