#include "base/money.h"

#include <array>
#include <limits>

#include "base/printable.h"

namespace followup {

int CurrencyExponent(std::string_view currency) {
  static constexpr std::array<std::string_view, 16> kZero = {
      "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
      "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF"};
  static constexpr std::array<std::string_view, 7> kThree = {"BHD", "IQD", "JOD", "KWD",
                                                             "LYD", "OMR", "TND"};
  for (auto c : kZero)
    if (c == currency) return 0;
  for (auto c : kThree)
    if (c == currency) return 3;
  return 2;
}

bool IsCurrencyCode(std::string_view currency) {
  if (currency.size() != 3) return false;
  for (char c : currency)
    if (c < 'A' || c > 'Z') return false;
  return true;
}

Result<int64_t> ParseAmount(std::string_view text, int exponent) {
  auto bad = [&](const std::string& why) {
    return InvalidInput("bad amount " + Quote(text) + ": " + why);
  };
  size_t pos = 0;
  if (!text.empty() && text[0] == '-') return bad("negative (use kind return or refund)");
  if (!text.empty() && text[0] == '+') ++pos;
  if (pos == text.size()) return bad("not a number");
  // value = value * 10 + digit, false when that leaves the range of int64_t.
  int64_t value = 0;
  auto shift_in = [&](int digit) {
    return !__builtin_mul_overflow(value, 10, &value) &&
           !__builtin_add_overflow(value, digit, &value);
  };
  const std::string too_large =
      "too large (at most " + FormatAmount(std::numeric_limits<int64_t>::max(), exponent) + ")";
  int digits = 0;
  for (; pos < text.size() && text[pos] != '.'; ++pos) {
    char c = text[pos];
    if (c < '0' || c > '9') return bad("not a number");
    if (!shift_in(c - '0')) return bad(too_large);
    ++digits;
  }
  int fraction = 0;
  if (pos < text.size()) {  // at '.'
    ++pos;
    if (pos == text.size() && digits == 0) return bad("not a number");
    for (; pos < text.size(); ++pos) {
      char c = text[pos];
      if (c < '0' || c > '9') return bad("not a number");
      if (fraction == exponent) {
        if (c != '0')
          return bad("more than " + std::to_string(exponent) + " digits after the point");
        continue;
      }
      if (!shift_in(c - '0')) return bad(too_large);
      ++fraction;
    }
  } else if (digits == 0) {
    return bad("not a number");
  }
  for (; fraction < exponent; ++fraction) {
    if (!shift_in(0)) return bad(too_large);
  }
  return value;
}

std::string FormatAmount(int64_t minor, int exponent) {
  bool negative = minor < 0;
  uint64_t v = negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  std::string digits = std::to_string(v);
  if (exponent > 0) {
    if (digits.size() <= static_cast<size_t>(exponent))
      digits.insert(0, static_cast<size_t>(exponent) + 1 - digits.size(), '0');
    digits.insert(digits.size() - static_cast<size_t>(exponent), 1, '.');
  }
  return negative ? "-" + digits : digits;
}

}  // namespace followup
