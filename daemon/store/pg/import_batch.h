// The PostgreSQL backend's import batch: one transaction; customers one by one, transactions in
// chunks through one binary COPY each (docs/store.md).
#pragma once

#include <memory>

#include "store/pg/pq.h"
#include "store/store.h"

namespace followup::store::pg {

// Begins a batch on `conn` (a transaction, open until Commit or Rollback).
Result<std::unique_ptr<ImportBatch>> BeginImportBatch(Connection& conn);

}  // namespace followup::store::pg
