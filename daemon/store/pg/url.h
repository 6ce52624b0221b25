// Store URLs for PostgreSQL: what `--store` and the config's `store:` accept, turned into libpq's
// connection parameters (docs/store.md, "PostgreSQL").
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace followup::store::pg {

// libpq's connection parameters for `url`. Besides libpq's own (PGPASSFILE, passfile=, PG*
// variables, ~/.pgpass all work as libpq documents them), the URL may name a systemd credential
// that holds the password: `?credential=NAME` in a URI, `credential=NAME` in a key=value string.
// The password is then the file $CREDENTIALS_DIRECTORY/NAME (a trailing newline dropped).
// kInvalidInput for a malformed credential name; kRuntime when the credential cannot be read.
Result<std::vector<std::pair<std::string, std::string>>> ConnectParams(const std::string& url);

// The URL with any password in it replaced by "***", for messages.
std::string Redacted(const std::string& url);

}  // namespace followup::store::pg
