// ASCII text helpers for the keywords, names and addresses the parts compare without regard to
// case. Only the 26 letters A-Z change: every other byte (digits, punctuation, UTF-8 sequences)
// passes through as it is, and the process locale plays no part.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace followup {

// 'A'-'Z' to 'a'-'z'; any other byte unchanged.
constexpr char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// A copy of `s` with 'A'-'Z' lower-cased.
std::string AsciiLower(std::string_view s);

// True when `s` begins with `prefix`, letters compared without regard to case ("mail from:<a@b>"
// begins with "MAIL FROM").
bool AsciiStartsWithNoCase(std::string_view s, std::string_view prefix);

// The words of `s`: the runs between ASCII blanks (space, \t, \n, \v, \f, \r), in order; none for a
// blank or empty `s`.
std::vector<std::string> AsciiWords(std::string_view s);

}  // namespace followup
