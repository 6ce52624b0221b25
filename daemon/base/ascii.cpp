#include "base/ascii.h"

namespace followup {
namespace {

bool IsAsciiBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool AsciiStartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (AsciiLower(s[i]) != AsciiLower(prefix[i])) return false;
  }
  return true;
}

std::vector<std::string> AsciiWords(std::string_view s) {
  std::vector<std::string> words;
  size_t i = 0;
  while (true) {
    while (i < s.size() && IsAsciiBlank(s[i])) ++i;
    if (i == s.size()) return words;
    const size_t start = i;
    while (i < s.size() && !IsAsciiBlank(s[i])) ++i;
    words.emplace_back(s.substr(start, i - start));
  }
}

}  // namespace followup
