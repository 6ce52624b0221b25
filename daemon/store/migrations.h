// The SQLite schema as a list of versioned migrations. Migration N (1-based) takes the schema from
// version N-1 to N; applied versions are recorded in `meta`. Append, never edit a shipped one.
// docs/store.md describes the resulting schema for programs that write to the store directly.
#pragma once

#include <span>
#include <string_view>

#include "base/error.h"

namespace followup::store {

std::span<const std::string_view> SqliteMigrations();

// The schema version as `meta.schema_version` holds it: decimal digits, 0 to SqliteMigrations()'s
// size and beyond (a newer followupd's). kRuntime naming the value (escaped and cut short) for
// anything else: the store is damaged or was written by something else, and nothing may be read
// from it as if it were ours.
Result<int> ParseSchemaVersion(std::string_view text);

}  // namespace followup::store
