// The PostgreSQL backend of Store: one database (a schema on the connection's search_path) that
// followupd shares with other programs writing customers and transactions directly
// (docs/store.md, "PostgreSQL"). Blocking libpq on the thread that owns the Store, as SQLite is
// used; each Store (and each OpenAnother) is one connection.
//
// A lost connection (the server restarted, the network cut) fails the call that noticed it; the
// next call connects again. Calls that are safe to repeat (reads, and writes that are idempotent:
// recording decisions, outcomes, Message-IDs, meta, unsubscribes) are repeated once on a fresh
// connection at once, so a server restart between two calls goes unnoticed. Claims are not
// repeated: a claim whose answer was lost may have marked sends "sending", which RequeueInFlight
// puts back at the next start, as after a crash.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace followup::store {

// Opens the PostgreSQL store named by `url` (postgresql://, postgres:// or a libpq key=value
// string; docs/store.md). The database must exist: OpenMode::kCreate creates followup's tables in
// it and migrates them. See Store::Open.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url, OpenMode mode);

}  // namespace followup::store
