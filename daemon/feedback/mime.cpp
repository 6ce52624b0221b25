// Why a reader of our own rather than a library: what is needed is small and fixed (header fields,
// Content-Type, multipart boundaries, encapsulated headers, two transfer encodings), the input is
// hostile, and every size and depth has to be capped and every failure kept from throwing. What
// Debian 12 offers:
//   - GMime 3 (libgmime-3.0-dev 3.2.13): complete and maintained, but a GLib/GObject API and
//     dependency chain for a few hundred lines of reading, with its own notion of limits.
//   - mimetic (libmimetic-dev 0.9.8): unmaintained since 2014, reads whole trees without caps, and
//     reports errors by exceptions.
// So the reader is here, and tests/feedback/mime_test.cpp holds it to the shapes that matter.
#include "feedback/mime.h"

#include <algorithm>
#include <chrono>

#include "base/ascii.h"
#include "feedback/crypto.h"

namespace followup::feedback::mime {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// The line at `pos` without its line end (LF, CRLF); moves pos past the line end.
std::string_view NextLine(std::string_view text, size_t& pos) {
  size_t end = text.find('\n', pos);
  std::string_view line =
      end == std::string_view::npos ? text.substr(pos) : text.substr(pos, end - pos);
  pos = end == std::string_view::npos ? text.size() : end + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool IsFieldName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 33 && u <= 126 && c != ':';
  });
}

Headers ReadHeaders(std::string_view text, const Limits& limits, std::string_view* body,
                    bool skip_mbox_line) {
  Headers headers;
  size_t pos = 0;
  if (skip_mbox_line && text.starts_with("From ")) NextLine(text, pos);
  bool open = false;  // the last field may still be continued
  auto append = [&](std::string_view piece) {
    std::string& value = headers.fields.back().value;
    if (value.size() >= limits.max_field_bytes) return;
    value.append(piece.substr(0, limits.max_field_bytes - value.size()));
  };
  while (pos < text.size()) {
    std::string_view line = NextLine(text, pos);
    if (line.empty()) {
      if (body != nullptr) *body = text.substr(pos);
      for (Field& f : headers.fields) f.value = std::string(Trim(f.value));
      return headers;
    }
    if (IsBlank(line.front())) {
      if (open) append(line);
      continue;
    }
    size_t colon = line.find(':');
    std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
    while (!name.empty() && IsBlank(name.back())) name.remove_suffix(1);  // "Name :" (obsolete)
    if (colon == std::string_view::npos || !IsFieldName(name) ||
        headers.fields.size() >= limits.max_fields) {
      open = false;
      continue;
    }
    headers.fields.push_back(Field{std::string(name), ""});
    open = true;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && IsBlank(value.front())) value.remove_prefix(1);
    append(value);
  }
  if (body != nullptr) *body = std::string_view();
  for (Field& f : headers.fields) f.value = std::string(Trim(f.value));
  return headers;
}

// The pieces between the boundary delimiter lines of a multipart body (RFC 2046 section 5.1.1):
// the preamble and the epilogue left out, and without the line break that belongs to each
// delimiter. A body whose closing delimiter is missing ends its last part at its end.
std::vector<std::string_view> SplitMultipart(std::string_view body, std::string_view boundary,
                                             size_t max_parts) {
  std::vector<std::string_view> parts;
  std::string delimiter = "--" + std::string(boundary);
  bool in_part = false;
  size_t part_start = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t line_start = pos;
    std::string_view line = NextLine(body, pos);
    if (!line.starts_with(delimiter)) continue;
    std::string_view rest = line.substr(delimiter.size());
    bool close = rest.starts_with("--");
    if (close) rest.remove_prefix(2);
    if (!std::all_of(rest.begin(), rest.end(), IsBlank)) continue;
    if (in_part) {
      size_t end = line_start;
      if (end > part_start && body[end - 1] == '\n') --end;
      if (end > part_start && body[end - 1] == '\r') --end;
      parts.push_back(body.substr(part_start, end - part_start));
    }
    if (close || parts.size() >= max_parts) return parts;
    in_part = true;
    part_start = pos;
  }
  if (in_part && parts.size() < max_parts) parts.push_back(body.substr(part_start));
  return parts;
}

// Skips white space and (nested) comments at `pos`.
void SkipCfws(std::string_view s, size_t& pos) {
  int depth = 0;
  while (pos < s.size()) {
    char c = s[pos];
    if (depth > 0) {
      if (c == '\\') {
        pos += 2;
        continue;
      }
      if (c == '(') ++depth;
      if (c == ')') --depth;
      ++pos;
    } else if (c == '(') {
      ++depth;
      ++pos;
    } else if (IsSpace(c)) {
      ++pos;
    } else {
      return;
    }
  }
  if (pos > s.size()) pos = s.size();
}

bool IsTokenChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 32 || u >= 127) return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

std::string ReadToken(std::string_view s, size_t& pos) {
  size_t start = pos;
  while (pos < s.size() && IsTokenChar(s[pos])) ++pos;
  return std::string(s.substr(start, pos - start));
}

std::string ReadQuoted(std::string_view s, size_t& pos) {
  std::string out;
  ++pos;  // the opening quote
  while (pos < s.size() && s[pos] != '"') {
    if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
    out += s[pos++];
  }
  if (pos < s.size()) ++pos;  // the closing quote
  return out;
}

std::string StripComments(std::string_view s) {
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (depth > 0 && c == '\\') {
      ++i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (depth == 0) {
      out += c;
    }
  }
  return out;
}

int MonthNumber(std::string_view name) {
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  if (name.size() < 3) return 0;
  for (int i = 0; i < 12; ++i) {
    if (EqualsNoCase(name.substr(0, 3), kMonths[i])) return i + 1;
  }
  return 0;
}

// Minutes east of UTC for a zone as RFC 5322 section 4.3 lists them; nullopt when unknown.
std::optional<int> ZoneOffsetMinutes(std::string_view zone) {
  if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-') &&
      std::all_of(zone.begin() + 1, zone.end(), IsDigit)) {
    int hours = (zone[1] - '0') * 10 + (zone[2] - '0');
    int minutes = (zone[3] - '0') * 10 + (zone[4] - '0');
    if (hours > 23 || minutes > 59) return std::nullopt;
    int offset = hours * 60 + minutes;
    return zone[0] == '-' ? -offset : offset;
  }
  std::string z = AsciiLower(zone);
  if (z == "ut" || z == "gmt" || z == "utc" || z == "z") return 0;
  if (z == "edt") return -4 * 60;
  if (z == "est" || z == "cdt") return -5 * 60;
  if (z == "cst" || z == "mdt") return -6 * 60;
  if (z == "mst" || z == "pdt") return -7 * 60;
  if (z == "pst") return -8 * 60;
  if (z.size() == 1 && IsAlpha(z[0]) && z[0] != 'j') return 0;  // military: read as -0000
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const Field& f : fields) {
    if (EqualsNoCase(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::GetAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const Field& f : fields) {
    if (EqualsNoCase(f.name, name)) values.push_back(f.value);
  }
  return values;
}

Headers ParseHeaders(std::string_view text, const Limits& limits, std::string_view* body) {
  return ReadHeaders(text, limits, body, /*skip_mbox_line=*/true);
}

std::vector<Headers> ParseFieldGroups(std::string_view text, const Limits& limits,
                                      size_t max_groups) {
  std::vector<Headers> groups;
  while (!text.empty() && groups.size() < max_groups) {
    size_t pos = 0;
    while (pos < text.size()) {  // blank lines between the groups
      size_t line_start = pos;
      if (!Trim(NextLine(text, pos)).empty()) {
        pos = line_start;
        break;
      }
    }
    text.remove_prefix(pos);
    if (text.empty()) break;
    std::string_view rest;
    Headers group = ReadHeaders(text, limits, &rest, /*skip_mbox_line=*/false);
    if (!group.fields.empty()) groups.push_back(std::move(group));
    text = rest;
  }
  return groups;
}

bool ContentType::Is(std::string_view type_slash_subtype) const {
  return type_slash_subtype.size() == type.size() + 1 + subtype.size() &&
         type_slash_subtype.starts_with(type) && type_slash_subtype[type.size()] == '/' &&
         type_slash_subtype.ends_with(subtype);
}

std::string ContentType::Param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

ContentType ParseContentType(std::string_view value) {
  ContentType result;
  size_t pos = 0;
  SkipCfws(value, pos);
  std::string type = ReadToken(value, pos);
  SkipCfws(value, pos);
  if (type.empty() || pos >= value.size() || value[pos] != '/') return result;
  ++pos;
  SkipCfws(value, pos);
  std::string subtype = ReadToken(value, pos);
  if (subtype.empty()) return result;
  result.type = AsciiLower(type);
  result.subtype = AsciiLower(subtype);
  while (pos < value.size() && result.params.size() < 32) {
    SkipCfws(value, pos);
    if (pos >= value.size()) break;
    if (value[pos] != ';') {  // junk: skip to the next parameter
      size_t next = value.find(';', pos);
      if (next == std::string_view::npos) break;
      pos = next;
    }
    ++pos;
    SkipCfws(value, pos);
    std::string name = AsciiLower(ReadToken(value, pos));
    SkipCfws(value, pos);
    if (name.empty() || pos >= value.size() || value[pos] != '=') continue;
    ++pos;
    SkipCfws(value, pos);
    std::string param;
    if (pos < value.size() && value[pos] == '"') {
      param = ReadQuoted(value, pos);
    } else {
      size_t start = pos;
      while (pos < value.size() && value[pos] != ';' && !IsSpace(value[pos])) ++pos;
      param = std::string(value.substr(start, pos - start));
    }
    result.params.emplace(std::move(name), std::move(param));
  }
  return result;
}

Message::Message(std::string_view bytes, const Limits& limits) : limits_(limits) {
  Parse(root_, bytes, 0);
}

std::string_view Message::Decode(std::string_view body, std::string_view transfer_encoding) {
  std::string encoding = AsciiLower(Trim(transfer_encoding));
  bool base64 = encoding == "base64";
  if (!base64 && encoding != "quoted-printable") return body;
  if (decoded_bytes_ + body.size() > limits_.max_decoded_bytes) return std::string_view();
  decoded_bytes_ += body.size();
  decoded_.push_back(base64 ? Base64DecodeMime(body) : DecodeQuotedPrintable(body));
  return decoded_.back();
}

void Message::Parse(Part& part, std::string_view text, int depth) {
  std::string_view body;
  part.headers = ParseHeaders(text, limits_, &body);
  part.content_type = ParseContentType(part.headers.Get("Content-Type").value_or(""));
  std::string_view encoding = part.headers.Get("Content-Transfer-Encoding").value_or("");
  const ContentType& type = part.content_type;
  if (type.type == "multipart") {
    part.body = body;
    std::string boundary = type.Param("boundary");
    if (boundary.empty() || boundary.size() > 200 || depth >= limits_.max_depth) return;
    for (std::string_view piece : SplitMultipart(body, boundary, limits_.max_parts)) {
      if (parts_ >= limits_.max_parts) return;
      ++parts_;
      part.children.emplace_back();
      Parse(part.children.back(), piece, depth + 1);
    }
    return;
  }
  part.body = Decode(body, encoding);
  if (type.type == "message" && (type.subtype == "rfc822" || type.subtype == "global") &&
      depth < limits_.max_depth && parts_ < limits_.max_parts) {
    ++parts_;
    part.children.emplace_back();
    Parse(part.children.back(), part.body, depth + 1);
  }
}

std::string DecodeQuotedPrintable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '=') {
      out += c;
      continue;
    }
    // A soft line break: "=" then (white space and) the line end.
    size_t j = i + 1;
    while (j < text.size() && IsBlank(text[j])) ++j;
    if (j < text.size() && (text[j] == '\n' || text[j] == '\r')) {
      if (text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n') ++j;
      i = j;
      continue;
    }
    if (j == text.size()) break;  // "=" at the very end
    auto hex = [](char h) {
      if (h >= '0' && h <= '9') return h - '0';
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      return -1;
    };
    if (i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += c;  // a broken escape stays as written
    }
  }
  return out;
}

std::vector<std::string> Addresses(std::string_view value, size_t max) {
  std::vector<std::string> out;
  std::string plain, angle;
  bool has_angle = false, in_angle = false, in_quote = false;
  int comment = 0;
  auto flush = [&] {
    std::string candidate = has_angle ? angle : plain;
    std::string word;
    for (char c : candidate) {
      if (!IsSpace(c)) word += c;
    }
    if (word.find('@') != std::string::npos && out.size() < max) out.push_back(std::move(word));
    plain.clear();
    angle.clear();
    has_angle = in_angle = false;
  };
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (in_quote) {
      if (c == '\\') ++i;
      if (c == '"') in_quote = false;
      continue;
    }
    if (comment > 0) {
      if (c == '\\') ++i;
      if (c == '(') ++comment;
      if (c == ')') --comment;
      continue;
    }
    if (in_angle) {
      if (c == '>') {
        in_angle = false;
        has_angle = true;
      } else {
        angle += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_quote = true;
        break;
      case '(':
        comment = 1;
        break;
      case '<':
        in_angle = true;
        angle.clear();
        break;
      case ',':
      case ';':
        flush();
        break;
      case ':':
        plain.clear();  // a group's name
        break;
      default:
        plain += c;
    }
    if (out.size() >= max) return out;
  }
  if (in_angle) has_angle = true;
  flush();
  return out;
}

std::optional<Instant> ParseDate(std::string_view text) {
  std::string clean = StripComments(text);
  std::vector<std::string_view> words;
  std::string_view rest = clean;
  while (!rest.empty() && words.size() < 8) {
    size_t start = 0;
    while (start < rest.size() && (IsSpace(rest[start]) || rest[start] == ',')) ++start;
    size_t end = start;
    while (end < rest.size() && !IsSpace(rest[end]) && rest[end] != ',') ++end;
    if (end > start) words.push_back(rest.substr(start, end - start));
    rest.remove_prefix(end);
  }
  size_t i = 0;
  if (i < words.size() && !words[i].empty() && IsAlpha(words[i][0])) ++i;  // the day of the week
  if (words.size() < i + 4) return std::nullopt;
  auto number = [](std::string_view w, int max_digits) -> int {
    if (w.empty() || static_cast<int>(w.size()) > max_digits ||
        !std::all_of(w.begin(), w.end(), IsDigit)) {
      return -1;
    }
    int n = 0;
    for (char c : w) n = n * 10 + (c - '0');
    return n;
  };
  int day = number(words[i], 2);
  int month = MonthNumber(words[i + 1]);
  int year = number(words[i + 2], 4);
  if (day < 1 || month == 0 || year < 0) return std::nullopt;
  if (words[i + 2].size() == 2) year += year < 50 ? 2000 : 1900;
  if (words[i + 2].size() == 3) year += 1900;
  if (year < 1900) return std::nullopt;
  std::string_view clock = words[i + 3];
  int hms[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    size_t colon = clock.find(':');
    std::string_view piece = clock.substr(0, colon);
    hms[k] = number(piece, 2);
    if (hms[k] < 0 || (piece.size() != 2 && k > 0)) return std::nullopt;
    if (colon == std::string_view::npos) {
      if (k == 0) return std::nullopt;  // no minutes
      break;
    }
    clock.remove_prefix(colon + 1);
    if (k == 2) return std::nullopt;  // a fourth piece
  }
  if (hms[0] > 23 || hms[1] > 59 || hms[2] > 60) return std::nullopt;
  int offset = 0;
  if (words.size() > i + 4) {
    auto zone = ZoneOffsetMinutes(words[i + 4]);
    if (!zone) return std::nullopt;
    offset = *zone;
  }
  std::chrono::year_month_day ymd{std::chrono::year{year},
                                  std::chrono::month{static_cast<unsigned>(month)},
                                  std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  auto seconds = std::chrono::sys_days{ymd}.time_since_epoch() + std::chrono::hours{hms[0]} +
                 std::chrono::minutes{hms[1] - offset} + std::chrono::seconds{std::min(hms[2], 59)};
  return Instant{std::chrono::duration_cast<std::chrono::seconds>(seconds)};
}

}  // namespace followup::feedback::mime
