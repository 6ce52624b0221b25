#include "cli/options.h"

#include <charconv>
#include <cmath>
#include <sstream>
#include <string>

namespace followup::cli {
namespace {

template <typename T>
bool ParseAll(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && stop == end;
}

std::string Limits(int64_t lo, int64_t hi) {
  if (hi == std::numeric_limits<int64_t>::max()) return "of at least " + std::to_string(lo);
  return "from " + std::to_string(lo) + " to " + std::to_string(hi);
}

}  // namespace

CLI::Validator WholeNumber(int64_t lo, int64_t hi) {
  std::string expected = "a whole number " + Limits(lo, hi);
  return CLI::Validator(
      [lo, hi, expected](std::string& text) -> std::string {
        int64_t v = 0;
        if (!ParseAll(text, v) || v < lo || v > hi)
          return "expected " + expected + ", got '" + text + "'";
        return "";
      },
      "N", "whole number");
}

CLI::Validator UnsignedNumber() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        uint64_t v = 0;
        if (!ParseAll(text, v))
          return "expected a whole number from 0 to 18446744073709551615, got '" + text + "'";
        return "";
      },
      "N", "unsigned number");
}

CLI::Validator Number(double lo, double hi) {
  std::ostringstream limits;
  limits << "a number from " << lo << " to " << hi;
  std::string expected = limits.str();
  return CLI::Validator(
      [lo, hi, expected](std::string& text) -> std::string {
        double v = 0;
        if (!ParseAll(text, v) || !std::isfinite(v) || v < lo || v > hi)
          return "expected " + expected + ", got '" + text + "'";
        return "";
      },
      "X", "number");
}

}  // namespace followup::cli
