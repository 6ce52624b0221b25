// URL and form encoding helpers shared by the unsubscribe links and the HTTP endpoints.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace followup {

// The value of a hexadecimal digit, or -1.
int HexValue(char c);

// Form decoding (application/x-www-form-urlencoded): %XX is a byte, '+' a space. nullopt for a
// broken escape.
std::optional<std::string> FormDecode(std::string_view s);

}  // namespace followup
