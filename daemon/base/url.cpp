#include "base/url.h"

#include <cctype>

#include "base/printable.h"

namespace followup {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool IsPostgresStoreUrl(std::string_view url) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return true;
  // key=value: a keyword (letters and underscores), optional spaces, then '='.
  size_t i = 0;
  while (i < url.size() && std::isspace(static_cast<unsigned char>(url[i]))) ++i;
  size_t start = i;
  while (i < url.size() && (std::isalpha(static_cast<unsigned char>(url[i])) || url[i] == '_')) ++i;
  if (i == start) return false;
  while (i < url.size() && url[i] == ' ') ++i;
  return i < url.size() && url[i] == '=';
}

Result<std::optional<std::string>> StoreFilePath(std::string_view url) {
  if (IsPostgresStoreUrl(url)) return std::optional<std::string>();
  std::string_view u = url;
  if (u.rfind("sqlite:", 0) == 0) {
    u.remove_prefix(7);
    if (u.rfind("//", 0) == 0) u.remove_prefix(2);  // sqlite:///abs/path
  } else if (auto sep = u.find("://"); sep != std::string_view::npos) {
    return InvalidInput("unknown store URL scheme '" + Printable(u.substr(0, sep), 40) +
                        "' (this followupd knows sqlite:PATH or a plain path, postgresql://... "
                        "and libpq key=value strings)");
  }
  if (u.empty()) return InvalidInput("the store URL names no file");
  return std::optional<std::string>(std::string(u));
}

namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace followup
