#include "base/printable.h"

#include <algorithm>

namespace followup {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The length of the UTF-8 sequence at the start of `s` (1..4), or 0 when it is not one: overlong
// forms, surrogates and code points past U+10FFFF count as broken.
size_t Utf8Length(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  return n;
}

void AppendByteEscape(std::string& out, unsigned char c) {
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\0':
      out += "\\0";
      return;
    default:
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
  }
}

}  // namespace

std::string Printable(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 8);
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = Utf8Length(text.substr(i));
    const size_t step = n == 0 ? 1 : n;
    if (i + step > max_bytes) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f))) {
      AppendByteEscape(out, c);
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      // A C1 control (U+0080..U+009F): some terminals act on these as on ESC sequences.
      const auto low = static_cast<unsigned char>(text[i + 1]);
      out += "\\u00";
      out += kHex[low >> 4];
      out += kHex[low & 0xf];
    } else {
      out.append(text.substr(i, n));
    }
    i += step;
  }
  if (i < text.size()) out += "...";
  return out;
}

std::string Quote(std::string_view text) { return "'" + Printable(text, kQuotedBytes) + "'"; }

}  // namespace followup
