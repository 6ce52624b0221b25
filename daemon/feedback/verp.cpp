#include "feedback/verp.h"

#include <charconv>

#include "base/ascii.h"
#include "feedback/crypto.h"

namespace followup::feedback {
namespace {

constexpr std::string_view kLabel = "followup-verp-1:";
constexpr size_t kMacBytes = 10;                                // 80 bits
constexpr size_t kMacChars = kMacBytes * 8 / 5;                 // 16 base32 characters
constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";  // RFC 4648, lower-cased
constexpr size_t kMaxTokenChars = 64;

std::string Mac(std::string_view key, std::string_view id) {
  std::string message(kLabel);
  message += id;
  std::string mac = HmacSha256(key, message).substr(0, kMacBytes);
  std::string out;
  uint64_t bits = 0;
  int count = 0;
  for (char ch : mac) {
    bits = (bits << 8) | static_cast<unsigned char>(ch);
    count += 8;
    while (count >= 5) {
      count -= 5;
      out += kBase32[(bits >> count) & 31];
    }
  }
  return out;  // 80 bits: exactly 16 characters, nothing left over
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

}  // namespace

std::string VerpToken(std::string_view key, int64_t outbox_id) {
  std::string id = std::to_string(outbox_id);
  return id + "-" + Mac(key, id);
}

std::string VerpReturnPath(std::string_view key, std::string_view prefix, std::string_view domain,
                           int64_t outbox_id) {
  return std::string(prefix) + "+" + VerpToken(key, outbox_id) + "@" + std::string(domain);
}

Result<int64_t> ReadVerpToken(std::string_view key, std::string_view token) {
  if (token.size() > kMaxTokenChars) return InvalidInput("VERP token: too long");
  std::string lower = AsciiLower(token);
  size_t dash = lower.find('-');
  if (dash == std::string::npos || dash == 0) {
    return InvalidInput("VERP token: not of the form ID-MAC");
  }
  std::string_view id(lower.data(), dash);
  std::string_view mac = std::string_view(lower).substr(dash + 1);
  int64_t outbox_id = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), outbox_id);
  if (ec != std::errc() || end != id.data() + id.size() || outbox_id < 0 ||
      std::to_string(outbox_id) != id) {
    return InvalidInput("VERP token: the id is not a number");
  }
  if (mac.size() != kMacChars || !ConstantTimeEquals(mac, Mac(key, id))) {
    return InvalidInput("VERP token: the signature does not match");
  }
  return outbox_id;
}

std::optional<std::string> VerpTokenOf(std::string_view address, std::string_view prefix) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  address = trim(address);
  if (size_t semicolon = address.find(';'); semicolon != std::string_view::npos) {
    address = trim(address.substr(semicolon + 1));  // "rfc822; ..."
  }
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = trim(address.substr(1, address.size() - 2));
  }
  size_t at = address.rfind('@');
  if (at == std::string_view::npos || prefix.empty()) return std::nullopt;
  std::string_view local = address.substr(0, at);
  if (local.size() <= prefix.size() + 1 || local[prefix.size()] != '+' ||
      AsciiLower(local.substr(0, prefix.size())) != AsciiLower(prefix)) {
    return std::nullopt;
  }
  std::string_view token = local.substr(prefix.size() + 1);
  if (token.size() > kMaxTokenChars) return std::nullopt;
  for (char c : token) {
    if (!IsTokenChar(c)) return std::nullopt;
  }
  return AsciiLower(token);
}

}  // namespace followup::feedback
