// What putting a record over the stored one with the same external id does, for every backend's
// import batch: unchanged when every field is the same, else a conflict naming the fields that
// differ ("email, name"), and nothing is changed.
#pragma once

#include "store/store.h"

namespace followup::store {

PutResult CompareCustomer(const CustomerRecord& stored, const CustomerRecord& put);
PutResult CompareTransaction(const TransactionRecord& stored, const TransactionRecord& put);

}  // namespace followup::store
