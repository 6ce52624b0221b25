// Whole tables in and out of a SQLite store, for copy-store (Store::ForEachRowOf and
// Store::BeginRowWriter).
#pragma once

#include <functional>
#include <memory>

#include "store/sqlite.h"
#include "store/store.h"

namespace followup::store {

Result<void> SqliteForEachRowOf(sqlite::Database& db, const StoreTable& table,
                                const std::function<Result<void>(const RowValues&)>& fn);
Result<std::unique_ptr<RowWriter>> SqliteBeginRowWriter(sqlite::Database& db);

}  // namespace followup::store
