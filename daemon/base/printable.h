// Outside text made safe to show in a message: error lines on a terminal or in the journal must
// not be forged, garbled or cut short by what a row or a request carried.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace followup {

// What Quote() keeps of a text, in bytes, before it cuts it short with "...".
inline constexpr size_t kQuotedBytes = 64;

// `text` with every byte that could act on a terminal or split a line written as an escape: \n \r
// \t \0, other C0 controls and DEL as \xHH, C1 controls (U+0080..U+009F) as \u0080 .. \u009f, and
// bytes that are not UTF-8 as \xHH. Everything else (printable ASCII, the backslash itself, other
// UTF-8) is kept, so the result is printable UTF-8 and Printable(Printable(x)) == Printable(x).
// When `text` is longer than `max_bytes`, only its first `max_bytes` (cut at a character boundary)
// are kept, followed by "...". Pure.
std::string Printable(std::string_view text, size_t max_bytes = std::string_view::npos);

// Printable(text, kQuotedBytes) in single quotes: how a message cites a field it refuses.
std::string Quote(std::string_view text);

}  // namespace followup
