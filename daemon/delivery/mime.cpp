// Why hand-written encoders: the job is small and fixed (one text/plain + one text/html part, a
// handful of headers), and what matters is control over every byte that comes from data. What was
// considered (Debian 12):
//   - libcurl's curl_mime_*: builds a MIME body only as the upload of a transfer (SMTP/HTTP); it
//     cannot hand back the bytes for the maildir transport, does not encode header words (RFC 2047)
//     nor fold headers, and leaves header injection to the caller.
//   - GMime 3 (libgmime-3.0-dev): maintained and complete, but a GLib/GObject API and dependency
//     chain for ~400 lines of encoding.
//   - VMime (libvmime-dev 0.9.2): pulls GnuTLS and GSASL for its own transports; upstream releases
//     are rare. mimetic (libmimetic-dev 0.9.8): unmaintained since 2014.
// So: RFC 2047 encoded words, quoted-printable (RFC 2045), folding (RFC 5322) and sanitising are
// implemented here and tested byte for byte in tests/delivery/mime_test.cpp.
#include "delivery/mime.h"

#include <idn2.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace followup::delivery {
namespace {

constexpr size_t kMaxLine = 76;         // header and body lines (RFC 2047 and RFC 2045 limits)
constexpr size_t kMaxEncodedWord = 66;  // fits "Reply-To: " + one word within kMaxLine
constexpr std::string_view kHex = "0123456789ABCDEF";

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < bytes) {  // no getrandom (very old kernels): still unpredictable enough for ids
    static std::atomic<uint64_t> counter{0};
    std::random_device device;
    std::mt19937_64 gen(
        (uint64_t{device()} << 32) ^ device() ^
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (counter++ << 48));
    for (size_t i = got; i < bytes; ++i) raw[i] = static_cast<char>(gen() & 0xff);
  }
  std::string hex;
  hex.reserve(bytes * 2);
  for (unsigned char c : raw) {
    hex += static_cast<char>(std::tolower(kHex[c >> 4]));
    hex += static_cast<char>(std::tolower(kHex[c & 15]));
  }
  return hex;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid (overlong forms,
// surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return len;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// Invalid bytes become U+FFFD, so that what we label UTF-8 is UTF-8.
std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

bool IsAtext(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)) && static_cast<unsigned char>(c) < 0x80) {
    return true;
  }
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool IsPlainAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// Keeps only what may stand in an addr-spec or msg-id: printable ASCII without space, quotes,
// angle brackets, commas, semicolons, parentheses and backslashes.
std::string SanitizeAddrSpec(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) continue;
    if (std::string_view("<>\"(),;\\").find(c) != std::string_view::npos) continue;
    out += c;
  }
  return out;
}

std::string SanitizeDomain(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x80 && std::isalnum(u)) || c == '.' || c == '-') out += c;
  }
  return out.empty() ? "localhost" : out;
}

}  // namespace

std::string SanitizeHeaderUrl(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) continue;
    if (u == ' ' || u >= 0x80 || c == '<' || c == '>' || c == '"') {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string Base64(std::string_view bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = at(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// RFC 2047 Q, restricted to the characters allowed in a phrase (5.(3)).
bool IsQLiteral(unsigned char c) {
  return (c < 0x80 && std::isalnum(c)) || c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}
size_t QLength(unsigned char c) { return (IsQLiteral(c) || c == ' ') ? 1 : 3; }
void AppendQ(std::string& out, unsigned char c) {
  if (IsQLiteral(c)) {
    out += static_cast<char>(c);
  } else if (c == ' ') {
    out += '_';
  } else {
    out += '=';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
}

// A display name ready for a header; `allow_utf8` keeps non-ASCII as is (JSON APIs) instead of
// encoding it.
std::string FormatDisplayName(std::string_view raw, bool allow_utf8) {
  std::string name = SanitizeHeaderText(raw);
  if (name.empty()) return name;
  bool ascii = IsPlainAscii(name);
  if (!ascii && !allow_utf8) return EncodeWords(name);
  // A word too long to fold is split into encoded words instead.
  size_t run = 0;
  for (char c : name) {
    run = c == ' ' ? 0 : run + 1;
    if (run > kMaxLine - 10 && !allow_utf8) return EncodeWords(name);
  }
  bool atoms = name.find("=?") == std::string::npos;
  for (char c : name) {
    if (c != ' ' && static_cast<unsigned char>(c) < 0x80 && !IsAtext(c)) atoms = false;
  }
  if (atoms) return name;
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string FormatAddressImpl(const Address& address, bool allow_utf8) {
  std::string email = SanitizeAddrSpec(address.email);
  std::string name = FormatDisplayName(address.display_name, allow_utf8);
  if (name.empty()) return email;
  return name + " <" + email + ">";
}

std::string DomainOf(std::string_view email) {
  size_t at = email.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(email.substr(at + 1));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A subject that can go out as it is: printable ASCII, nothing that looks like an encoded word,
// and words short enough to fold.
bool SubjectNeedsNoEncoding(std::string_view s) {
  if (!IsPlainAscii(s) || s.find("=?") != std::string_view::npos) return false;
  size_t run = 0;
  for (char c : s) {
    run = c == ' ' ? 0 : run + 1;
    if (run > kMaxLine - 10) return false;
  }
  return true;
}

}  // namespace

std::string SanitizeHeaderText(std::string_view text) {
  std::string valid = ValidUtf8(text);
  std::string out;
  out.reserve(valid.size());
  for (size_t i = 0; i < valid.size(); ++i) {
    auto c = static_cast<unsigned char>(valid[i]);
    if (c < 0x20 || c == 0x7F) {
      out += ' ';
    } else if (c == 0xC2 && i + 1 < valid.size() &&
               static_cast<unsigned char>(valid[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(valid[i + 1]) <= 0x9F) {
      out += ' ';  // C1 controls (U+0080..U+009F), e.g. NEL
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return std::string(Trim(out));
}

std::string EncodeWords(std::string_view utf8_in) {
  std::string text = ValidUtf8(utf8_in);
  size_t q_len = 0;
  for (unsigned char c : text) q_len += QLength(c);
  size_t b_len = (text.size() + 2) / 3 * 4;
  bool use_q = q_len <= b_len;

  constexpr size_t kOverhead = std::string_view(
                                   "=?UTF-8?Q?"
                                   "?=")
                                   .size();
  constexpr size_t kPayload = kMaxEncodedWord - kOverhead;  // encoded characters per word
  constexpr size_t kBBytes = kPayload / 4 * 3;              // raw bytes per B word

  std::vector<std::string> words;
  std::string chunk;  // raw bytes of the current word
  size_t chunk_encoded = 0;
  auto flush = [&] {
    if (chunk.empty()) return;
    std::string word = use_q ? "=?UTF-8?Q?" : "=?UTF-8?B?";
    if (use_q) {
      for (unsigned char c : chunk) AppendQ(word, c);
    } else {
      word += Base64(chunk);
    }
    word += "?=";
    words.push_back(std::move(word));
    chunk.clear();
    chunk_encoded = 0;
  };
  for (size_t i = 0; i < text.size();) {
    size_t len = std::max<size_t>(1, Utf8SequenceLength(text, i));
    std::string_view ch(text.data() + i, len);
    size_t enc = 0;
    for (unsigned char c : ch) enc += QLength(c);
    bool fits = use_q ? chunk_encoded + enc <= kPayload : chunk.size() + len <= kBBytes;
    if (!fits) flush();
    chunk.append(ch);
    chunk_encoded += enc;
    i += len;
  }
  flush();
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::string FormatAddress(const Address& address) { return FormatAddressImpl(address, false); }
std::string FormatAddressUtf8(const Address& address) { return FormatAddressImpl(address, true); }

std::string FoldHeader(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ':';
  size_t line_len = out.size();
  size_t name_len = out.size();
  size_t pos = 0;
  while (pos <= value.size() && !value.empty()) {
    size_t next = value.find(' ', pos);
    if (next == std::string_view::npos) next = value.size();
    std::string_view token = value.substr(pos, next - pos);
    if (!token.empty() && line_len > name_len && line_len + 1 + token.size() > kMaxLine) {
      out += "\r\n";
      line_len = 0;
    }
    out += ' ';
    out += token;
    line_len += 1 + token.size();
    pos = next + 1;
  }
  out += "\r\n";
  return out;
}

std::string EncodeQuotedPrintable(std::string_view input) {
  std::string repaired;
  std::string_view text = input;
  if (!IsValidUtf8(input)) {
    repaired = ValidUtf8(input);
    text = repaired;
  }
  // Written through a pointer into room for the worst case (every byte encoded, a soft break
  // every 25 bytes, every line break CRLF), then cut to size.
  std::string out(text.size() * 4 + 16, '\0');
  char* p = out.data();
  size_t line_len = 0;
  auto room = [&](size_t n) {
    if (line_len + n > kMaxLine - 1) {  // leave room for the soft break's "="
      *p++ = '=';
      *p++ = '\r';
      *p++ = '\n';
      line_len = 0;
    }
    line_len += n;
  };
  size_t i = 0;
  while (i <= text.size()) {
    size_t end = text.find_first_of("\r\n", i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(i, end - i);
    for (size_t k = 0; k < line.size(); ++k) {
      auto c = static_cast<unsigned char>(line[k]);
      bool last = k + 1 == line.size();
      bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
      // At the start of an output line: "." (SMTP dot-stuffing) and "From " (mbox) are encoded.
      bool at_start = line_len == 0 || line_len + 1 > kMaxLine - 1;
      if (at_start && (c == '.' || (c == 'F' && line.substr(k).starts_with("From ")))) {
        literal = false;
      }
      if (literal) {
        room(1);
        *p++ = static_cast<char>(c);
      } else {
        room(3);
        *p++ = '=';
        *p++ = kHex[c >> 4];
        *p++ = kHex[c & 15];
      }
    }
    if (end == text.size()) break;
    *p++ = '\r';
    *p++ = '\n';
    line_len = 0;
    i = end + ((text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? 2 : 1);
  }
  out.resize(static_cast<size_t>(p - out.data()));
  return out;
}

std::string FormatRfc5322Date(Instant t) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  sys_days day = floor<days>(t);
  year_month_day ymd(day);
  weekday wd(day);
  hh_mm_ss<seconds> hms(t - day);
  char buf[64];
  snprintf(buf, sizeof buf, "%s, %u %s %d %02d:%02d:%02d +0000", kDays[wd.c_encoding()],
           static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
           static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
           static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string NewMessageId(std::string_view domain) {
  return "<" + RandomHex(16) + "@" + SanitizeDomain(domain) + ">";
}

bool IsValidEmail(std::string_view email) {
  if (email.empty() || email.size() > 254) return false;
  size_t at = email.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 == email.size()) return false;
  std::string_view local = email.substr(0, at);
  std::string_view domain = email.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : local) {
    if (c != '.' && !IsAtext(c)) return false;
  }
  if (domain.front() == '[') {
    if (domain.back() != ']' || domain.size() < 3) return false;
    std::string_view literal = domain.substr(1, domain.size() - 2);
    if (literal.starts_with("IPv6:")) literal.remove_prefix(5);
    for (char c : literal) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '.' && c != ':') return false;
    }
    return true;
  }
  if (domain.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      auto u = static_cast<unsigned char>(c);
      if (!(u < 0x80 && std::isalnum(u)) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

std::optional<std::string> WireEmail(std::string_view email) {
  auto ascii = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  };
  if (ascii(email)) return std::string(email);
  size_t at = email.rfind('@');
  if (at == std::string_view::npos || !ascii(email.substr(0, at))) return std::nullopt;
  std::string domain(email.substr(at + 1));
  char* converted = nullptr;
  int rc = idn2_to_ascii_8z(domain.c_str(), &converted, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
  if (rc != IDN2_OK) return std::nullopt;
  std::string out = std::string(email.substr(0, at + 1)) + converted;
  idn2_free(converted);
  return out;
}

Result<Address> ParseAddress(std::string_view text) {
  std::string_view s = Trim(text);
  Address address;
  size_t open = s.find('<');
  if (open == std::string_view::npos) {
    address.email = std::string(s);
  } else {
    size_t close = s.find('>', open);
    if (close == std::string_view::npos || !Trim(s.substr(close + 1)).empty()) {
      return InvalidInput("address: '" + std::string(s) + "': expected Name <email>");
    }
    address.email = std::string(Trim(s.substr(open + 1, close - open - 1)));
    std::string_view name = Trim(s.substr(0, open));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
      for (size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '\\' && i + 1 < name.size()) ++i;
        address.display_name += name[i];
      }
    } else {
      address.display_name = std::string(name);
    }
  }
  if (!IsValidEmail(address.email)) {
    return InvalidInput("address: '" + std::string(s) + "': '" + address.email +
                        "' is not a valid email address");
  }
  return address;
}

std::string ReadableMessage(const Message& message) {
  auto address = [](const Address& a) {
    if (!a.email.empty()) return SanitizeHeaderText(FormatAddressUtf8(a));
    std::string name = SanitizeHeaderText(a.display_name);
    return (name.empty() ? "" : name + " ") + "(no email address)";
  };
  std::string out = "Date: " + FormatRfc5322Date(message.date) + "\n";
  out += "From: " + address(message.from) + "\n";
  out += "To: " + address(message.to) + "\n";
  if (message.reply_to) out += "Reply-To: " + address(*message.reply_to) + "\n";
  out += "Subject: " + SanitizeHeaderText(message.subject) + "\n";
  if (std::string url = SanitizeHeaderUrl(message.unsubscribe_url); !url.empty())
    out += "List-Unsubscribe: <" + url + ">\n";
  out += "\n";
  for (size_t i = 0; i < message.text.size(); ++i) {  // CRLF and lone CR as LF
    if (message.text[i] != '\r') {
      out += message.text[i];
    } else if (i + 1 == message.text.size() || message.text[i + 1] != '\n') {
      out += '\n';
    }
  }
  if (!out.ends_with('\n')) out += '\n';
  if (!message.html.empty()) out += "\n(an HTML part goes with this text)\n";
  return out;
}

std::string BuildMime(const Message& message) {
  std::string out;
  out += "Date: " + FormatRfc5322Date(message.date) + "\r\n";
  out += FoldHeader("From", FormatAddress(message.from));
  out += FoldHeader("To", FormatAddress(message.to));
  if (message.reply_to) out += FoldHeader("Reply-To", FormatAddress(*message.reply_to));

  std::string id = SanitizeAddrSpec(message.message_id);
  if (id.empty() || id.size() > 250) {
    id = NewMessageId(DomainOf(message.from.email));
  } else {
    id = "<" + id + ">";
  }
  out += "Message-ID: " + id + "\r\n";

  std::string subject = SanitizeHeaderText(message.subject);
  if (subject.empty()) {
    out += "Subject:\r\n";
  } else {
    out += FoldHeader("Subject", SubjectNeedsNoEncoding(subject) ? subject : EncodeWords(subject));
  }
  out += "MIME-Version: 1.0\r\n";

  std::string url = SanitizeHeaderUrl(message.unsubscribe_url);
  if (!url.empty()) {
    out += "List-Unsubscribe: <" + url + ">\r\n";
    // RFC 8058: one-click is defined for HTTPS URIs only (http is let through for local tests).
    if (url.starts_with("https://") || url.starts_with("http://")) {
      out += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
    }
  }

  constexpr std::string_view kTextPartHeaders =
      "Content-Type: text/plain; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n";
  if (message.html.empty()) {
    out += kTextPartHeaders;
    out += "\r\n";
    out += EncodeQuotedPrintable(message.text);
    out += "\r\n";
    return out;
  }
  // "=_" never occurs in quoted-printable output ("=" is followed by hex digits or CRLF there), so
  // the boundary cannot occur in either part.
  std::string boundary = "=_followup_" + RandomHex(16);
  out += "Content-Type: multipart/alternative;\r\n boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  out += "This is a multi-part message in MIME format.\r\n";
  out += "--" + boundary + "\r\n";
  out += kTextPartHeaders;
  out += "\r\n";
  out += EncodeQuotedPrintable(message.text);
  out += "\r\n--" + boundary + "\r\n";
  out +=
      "Content-Type: text/html; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n";
  out += "\r\n";
  out += EncodeQuotedPrintable(message.html);
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

}  // namespace followup::delivery
