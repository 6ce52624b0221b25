// Checks for option values, with messages that say what is expected: CLI11's own print the limits
// of the type (a 300-digit number for "positive"). A failed check is a usage error (exit 2).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>

namespace followup::cli {

// A whole number from `lo` to `hi`: "--top: expected a whole number of at least 1, got '0'".
CLI::Validator WholeNumber(int64_t lo, int64_t hi = std::numeric_limits<int64_t>::max());
// Any whole number from 0 to 2^64 - 1 (a seed).
CLI::Validator UnsignedNumber();
// A number (decimals allowed) from `lo` to `hi`.
CLI::Validator Number(double lo, double hi);

}  // namespace followup::cli
