#include "feedback/event.h"

#include <cstdint>

#include "base/ascii.h"
#include "feedback/crypto.h"

namespace followup::feedback {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when invalid (overlong forms, surrogates and
// code points above U+10FFFF included).
size_t Utf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t length;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if ((length == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (length == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return 0;
  }
  return length;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string_view SourceName(Source source) {
  switch (source) {
    case Source::kPostmark:
      return "postmark";
    case Source::kSes:
      return "ses";
    case Source::kSendGrid:
      return "sendgrid";
    case Source::kMailgun:
      return "mailgun";
    case Source::kGeneric:
      return "generic";
    case Source::kDsn:
      return "dsn";
    case Source::kArf:
      return "arf";
  }
  return "generic";
}

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kHardBounce:
      return "hard_bounce";
    case EventType::kSoftBounce:
      return "soft_bounce";
    case EventType::kComplaint:
      return "complaint";
    case EventType::kUnsubscribe:
      return "unsubscribe";
    case EventType::kDelivered:
      return "delivered";
    case EventType::kDelayed:
      return "delayed";
    case EventType::kOpened:
      return "opened";
    case EventType::kResubscribed:
      return "resubscribed";
    case EventType::kOther:
      return "other";
  }
  return "other";
}

bool IsActionable(EventType type) {
  return type == EventType::kHardBounce || type == EventType::kSoftBounce ||
         type == EventType::kComplaint || type == EventType::kUnsubscribe;
}

std::string CleanReason(std::string_view text) {
  std::string out;
  bool space = false;  // a space is pending (written before the next visible character)
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F || c == ' ') {
      space = !out.empty();
      ++i;
      continue;
    }
    size_t length = Utf8Length(text, i);
    std::string_view piece =
        length == 0 ? std::string_view("\xEF\xBF\xBD") : text.substr(i, length);
    i += length == 0 ? 1 : length;
    if (out.size() + (space ? 1 : 0) + piece.size() > kMaxReasonBytes) break;
    if (space) out += ' ';
    space = false;
    out += piece;
  }
  return out;
}

std::string FindStatusCode(std::string_view text) {
  for (size_t i = 0; i + 5 <= text.size(); ++i) {
    char cls = text[i];
    if (cls != '2' && cls != '4' && cls != '5') continue;
    if (i > 0 && (IsDigit(text[i - 1]) || text[i - 1] == '.')) continue;
    if (text[i + 1] != '.') continue;
    size_t j = i + 2, start = j;
    while (j < text.size() && IsDigit(text[j]) && j - start < 4) ++j;
    if (j == start || j - start > 3 || j >= text.size() || text[j] != '.') continue;
    size_t detail = ++j;
    while (j < text.size() && IsDigit(text[j]) && j - detail < 4) ++j;
    if (j == detail || j - detail > 3) continue;
    if (j < text.size() && (IsDigit(text[j]) || text[j] == '.')) {
      // "5.1.1.2" or a longer number is not a status code; a full stop ending a sentence is fine.
      if (text[j] != '.' || (j + 1 < text.size() && IsDigit(text[j + 1]))) continue;
    }
    return std::string(text.substr(i, j - i));
  }
  return "";
}

std::string DigestEventId(Source source, std::initializer_list<std::string_view> parts) {
  std::string input;
  for (std::string_view part : parts) {
    input += part;
    input += '\0';
  }
  return std::string(SourceName(source)) + ":" + HexEncode(Sha256(input)).substr(0, 32);
}

std::string NormalizeAddress(std::string_view address) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!address.empty() && blank(address.front())) address.remove_prefix(1);
  while (!address.empty() && blank(address.back())) address.remove_suffix(1);
  if (size_t open = address.rfind('<'); open != std::string_view::npos) {
    size_t close = address.find('>', open);
    if (close == std::string_view::npos) return "";
    address = address.substr(open + 1, close - open - 1);
  }
  size_t at = address.rfind('@');
  if (address.size() > 254 || at == std::string_view::npos || at == 0 || at + 1 == address.size()) {
    return "";
  }
  for (char c : address) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f || c == '<' || c == '>') return "";
  }
  return AsciiLower(address);
}

std::string StripAngles(std::string_view id) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!id.empty() && blank(id.front())) id.remove_prefix(1);
  while (!id.empty() && blank(id.back())) id.remove_suffix(1);
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  while (!id.empty() && blank(id.front())) id.remove_prefix(1);
  while (!id.empty() && blank(id.back())) id.remove_suffix(1);
  return std::string(id);
}

}  // namespace followup::feedback
