// The SQLite backend of Store: one database file in WAL mode, shared by followupd and by other
// programs that write customers and transactions directly (docs/store.md).
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace followup::store {

// Opens the SQLite store at `path`: with kCreate creating it and migrating it. See Store::Open.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                               OpenMode mode = OpenMode::kCreate);

}  // namespace followup::store
