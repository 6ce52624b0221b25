// Money is never a float: amounts are integer minor units (cents) of an ISO 4217 currency.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace followup {

// Digits after the decimal point of `currency` (2 for USD/EUR, 0 for JPY, 3 for KWD ...).
int CurrencyExponent(std::string_view currency);

// True for three upper-case ASCII letters.
bool IsCurrencyCode(std::string_view currency);

// "29.33" in a 2-digit currency -> 2933. Accepts an optional leading '+', digits, and at most
// `exponent` fraction digits. A negative, non-numeric, too precise or too large amount (more than
// 2^63 - 1 minor units: 92233720368547758.07 in a 2-digit currency) is kInvalidInput with the
// reason; the message cites the text escaped and cut short (base/printable.h).
Result<int64_t> ParseAmount(std::string_view text, int exponent);

// 2933, 2 -> "29.33"; -5, 2 -> "-0.05".
std::string FormatAmount(int64_t minor, int exponent);

}  // namespace followup
