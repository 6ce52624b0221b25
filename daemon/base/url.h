// URL and form encoding helpers shared by the unsubscribe links and the HTTP endpoints, and the
// store URL, which the config and the store read alike.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace followup {

// The value of a hexadecimal digit, or -1.
int HexValue(char c);

// Form decoding (application/x-www-form-urlencoded): %XX is a byte, '+' a space. nullopt for a
// broken escape.
std::optional<std::string> FormDecode(std::string_view s);

// Percent-encoding of every byte but the unreserved ones (RFC 3986: letters, digits, "-._~"):
// safe as a query value, a form value or a path segment.
std::string PercentEncode(std::string_view s);

// Whether a store URL names a PostgreSQL database: postgresql://..., postgres://... or a libpq
// key=value string ("host=/run/postgresql dbname=followup").
bool IsPostgresStoreUrl(std::string_view url);

// The SQLite file a store URL names: "sqlite:PATH", "sqlite:///ABSOLUTE" or a plain PATH; nullopt
// for a PostgreSQL store. Any other scheme, or no path, is kInvalidInput (the message does not
// repeat the URL, which may hold a password).
Result<std::optional<std::string>> StoreFilePath(std::string_view url);

}  // namespace followup
