// The PostgreSQL schema as a list of versioned migrations, numbered apart from SQLite's (the two
// schemas hold the same things: docs/store.md). Migration N (1-based) takes the schema from
// version N-1 to N; the version is recorded in `meta`. Append, never edit a shipped one.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace followup::store::pg {

std::span<const std::string_view> PostgresMigrations();

// The key of the advisory lock that migrations hold (a process that starts while another
// migrates waits for it, then finds nothing left to do).
inline constexpr int64_t kMigrationLock = 0x666f6c6c6f777570;  // "followup" in ASCII

}  // namespace followup::store::pg
