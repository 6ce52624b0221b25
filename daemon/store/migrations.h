// The SQLite schema as a list of versioned migrations. Migration N (1-based) takes the schema from
// version N-1 to N; applied versions are recorded in `meta`. Append, never edit a shipped one.
// docs/store.md describes the resulting schema for programs that write to the store directly.
#pragma once

#include <span>
#include <string_view>

namespace followup::store {

std::span<const std::string_view> SqliteMigrations();

}  // namespace followup::store
