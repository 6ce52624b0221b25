// The PostgreSQL schema as a list of versioned migrations, numbered apart from SQLite's (the two
// schemas hold the same things: docs/store.md). Migration N (1-based) takes the schema from
// version N-1 to N; the version is recorded in `meta`. Append, never edit a shipped one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"

namespace followup::store::pg {

class Connection;

std::span<const std::string_view> PostgresMigrations();

// The key of the advisory lock that migrations hold (a process that starts while another
// migrates waits for it, then finds nothing left to do).
inline constexpr int64_t kMigrationLock = 0x666f6c6c6f777570;  // "followup" in ASCII

// Brings the database to the latest schema version: every pending migration in one transaction,
// under kMigrationLock. Returns that version; kRuntime when the database is newer than this
// program or a migration fails (nothing is then changed).
Result<int> Migrate(Connection& conn);

// The database's schema version when it is this program's (OpenMode::kExisting): nothing is
// created or migrated. `store` names the database in messages (without its password).
Result<int> CheckSchemaVersion(Connection& conn, const std::string& store);

}  // namespace followup::store::pg
