// What putting a record over the stored one with the same external id does, for every backend's
// import batch.
#pragma once

#include "store/store.h"

namespace followup::store {

// A known customer imported again: what changes. A value the row does not give (an absent column
// or an empty cell) never clears a stored one; history is kept where it matters:
// - email, name, timezone, attributes: the row's value, when it gives one;
// - unsubscribed_at: the earlier of the two (an import never undoes an unsubscribe; resubscribing
//   is `followupd resubscribe`); created_at: the earlier of the two;
// - referred_by: taken when none is stored; another referrer than the stored one is a conflict
//   (a referral already credited is not moved).
// kUnchanged when nothing changes, kUpdated with `merged` and the changed fields named ("email,
// unsubscribed_at"), or kConflict saying why.
struct CustomerMerge {
  PutResult result;
  CustomerRecord merged;
};
CustomerMerge MergeCustomer(const CustomerRecord& stored, const CustomerRecord& put);

// A transaction is history: unchanged when every field is the same, else a conflict naming the
// fields that differ ("amount, currency"), and nothing is changed.
PutResult CompareTransaction(const TransactionRecord& stored, const TransactionRecord& put);

}  // namespace followup::store
