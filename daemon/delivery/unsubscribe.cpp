#include "delivery/unsubscribe.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "base/files.h"
#include "base/url.h"

namespace followup::delivery {
namespace {

namespace fs = std::filesystem;

constexpr unsigned char kTokenVersion = 1;
constexpr size_t kMacBytes = 32;                           // SHA-256
constexpr size_t kTokenBytes = 1 + kMacBytes;              // version + MAC
constexpr size_t kTokenChars = (kTokenBytes * 8 + 5) / 6;  // base64url without padding: 44
constexpr size_t kMaxKeyFileBytes = 4096;

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(const unsigned char* data, size_t size) {
  std::string out;
  out.reserve((size * 8 + 5) / 6);
  uint32_t bits = 0;
  int count = 0;
  for (size_t i = 0; i < size; ++i) {
    bits = (bits << 8) | data[i];
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kBase64Url[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) out += kBase64Url[(bits << (6 - count)) & 0x3f];
  return out;
}

int Base64Value(char c, bool url) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == (url ? '-' : '+')) return 62;
  if (c == (url ? '_' : '/')) return 63;
  return -1;
}

// Strict decoding: only the alphabet's characters (url-safe, or standard when `url` is false),
// optional '=' padding only when `allow_padding`, and no stray bits in the last character.
std::optional<std::string> Base64Decode(std::string_view text, bool url, bool allow_padding) {
  if (allow_padding) {
    size_t pad = 0;
    while (!text.empty() && text.back() == '=' && pad < 2) text.remove_suffix(1), ++pad;
    if (pad > 0 && (text.size() + pad) % 4 != 0) return std::nullopt;
  }
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = Base64Value(c, url);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  if ((bits & ((1u << count) - 1)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

std::array<unsigned char, kTokenBytes> TokenBytes(std::string_view key,
                                                  std::string_view customer_external_id) {
  std::vector<unsigned char> message;
  message.reserve(1 + customer_external_id.size());
  message.push_back(kTokenVersion);
  message.insert(message.end(), customer_external_id.begin(), customer_external_id.end());
  std::array<unsigned char, kTokenBytes> token{};
  token[0] = kTokenVersion;
  unsigned int length = 0;
  static const unsigned char kEmpty[1] = {0};
  const void* key_data = key.empty() ? static_cast<const void*>(kEmpty) : key.data();
  HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), message.data(), message.size(),
       token.data() + 1, &length);
  return token;
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

Error KeyError(ErrorCode code, const std::string& path, std::string message) {
  return Error{code, std::move(message), {path, 0, 0}};
}

std::string Errno(int e) { return std::error_code(e, std::generic_category()).message(); }

// Decodes a key file's text: hex when it is all hex digits, else base64 (either alphabet).
std::optional<std::string> DecodeKeyText(std::string_view text) {
  text = TrimSpace(text);
  if (text.empty()) return std::string();
  if (text.size() % 2 == 0 &&
      std::all_of(text.begin(), text.end(), [](char c) { return HexValue(c) >= 0; })) {
    std::string out;
    for (size_t i = 0; i < text.size(); i += 2)
      out += static_cast<char>(HexValue(text[i]) * 16 + HexValue(text[i + 1]));
    return out;
  }
  if (auto standard = Base64Decode(text, /*url=*/false, /*allow_padding=*/true)) return standard;
  return Base64Decode(text, /*url=*/true, /*allow_padding=*/true);
}

// nullopt when the file does not exist.
Result<std::optional<std::string>> ReadKey(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return tl::unexpected(
        KeyError(ErrorCode::kRuntime, path, "cannot read the unsubscribe key: " + Errno(errno)));
  }
  std::string text;
  std::array<char, 1024> buffer;
  while (true) {
    ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return tl::unexpected(
          KeyError(ErrorCode::kRuntime, path, "cannot read the unsubscribe key: " + Errno(e)));
    }
    if (n == 0) break;
    text.append(buffer.data(), static_cast<size_t>(n));
    if (text.size() > kMaxKeyFileBytes) break;
  }
  close(fd);
  OPENSSL_cleanse(buffer.data(), buffer.size());
  if (text.size() > kMaxKeyFileBytes) {
    return tl::unexpected(KeyError(
        ErrorCode::kInvalidInput, path,
        "the unsubscribe key file is larger than " + std::to_string(kMaxKeyFileBytes) + " bytes"));
  }
  auto key = DecodeKeyText(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!key) {
    return tl::unexpected(KeyError(ErrorCode::kInvalidInput, path,
                                   "the unsubscribe key is neither hex nor base64 text"));
  }
  if (key->size() < kUnsubscribeKeyMinBytes) {
    return tl::unexpected(
        KeyError(ErrorCode::kInvalidInput, path,
                 "the unsubscribe key is too short: " + std::to_string(key->size()) +
                     " bytes, at least " + std::to_string(kUnsubscribeKeyMinBytes) +
                     " are needed (a new key invalidates the links sent so far)"));
  }
  return std::optional<std::string>(std::move(*key));
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Writes a fresh key to `path` unless it exists by then; the key that is in the file afterwards.
Result<std::string> CreateKey(const std::string& path) {
  auto fail = [&](const std::string& what, int e) {
    return tl::unexpected(KeyError(ErrorCode::kRuntime, path,
                                   "cannot create the unsubscribe key: " + what + ": " + Errno(e)));
  };
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  if (auto made = MakePrivateDirectories(parent); !made)
    return tl::unexpected(KeyError(ErrorCode::kRuntime, path,
                                   "cannot create the unsubscribe key: " + made.error().message));

  std::array<unsigned char, kUnsubscribeKeyMinBytes> key;
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return tl::unexpected(KeyError(ErrorCode::kRuntime, path,
                                   "cannot create the unsubscribe key: RAND_bytes failed"));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char c : key) {
    text += kHex[c >> 4];
    text += kHex[c & 0xf];
  }
  text += '\n';
  std::string raw(reinterpret_cast<const char*>(key.data()), key.size());
  OPENSSL_cleanse(key.data(), key.size());

  std::string temp = (parent / (fs::path(path).filename().string() + ".tmp-XXXXXX")).string();
  int fd = mkstemp(temp.data());
  if (fd < 0) return fail("temp file in " + parent.string(), errno);
  auto abandon = [&](const std::string& what, int e) {
    close(fd);
    unlink(temp.c_str());
    OPENSSL_cleanse(text.data(), text.size());
    return fail(what, e);
  };
  if (fchmod(fd, 0600) != 0) return abandon("chmod " + temp, errno);
  if (!WriteAll(fd, text)) return abandon("write " + temp, errno);
  OPENSSL_cleanse(text.data(), text.size());
  if (fsync(fd) != 0) return abandon("fsync " + temp, errno);
  if (close(fd) != 0) {
    int e = errno;
    unlink(temp.c_str());
    return fail("close " + temp, e);
  }
  // link() never replaces: when another process made the key first, theirs wins and is used.
  if (link(temp.c_str(), path.c_str()) != 0) {
    int e = errno;
    if (e == EEXIST) {
      unlink(temp.c_str());
      auto existing = ReadKey(path);
      if (!existing) return tl::unexpected(existing.error());
      if (!*existing) return fail("it vanished while being created", ENOENT);
      return std::move(**existing);
    }
    // File systems without hard links: rename, which is atomic but may replace.
    if (rename(temp.c_str(), path.c_str()) != 0) {
      int r = errno;
      unlink(temp.c_str());
      return fail("rename " + temp, r);
    }
  } else {
    unlink(temp.c_str());
  }
  int dir = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    int synced = fsync(dir);
    int e = errno;
    close(dir);
    if (synced != 0) return fail("fsync " + parent.string(), e);
  }
  return raw;
}

}  // namespace

std::string UnsubscribeToken(std::string_view key, std::string_view customer_external_id) {
  auto token = TokenBytes(key, customer_external_id);
  return Base64UrlEncode(token.data(), token.size());
}

std::string UnsubscribeUrl(std::string_view base_url, std::string_view key,
                           std::string_view customer_external_id) {
  std::string url(base_url);
  url += base_url.find('?') == std::string_view::npos ? '?' : '&';
  url += "c=" + PercentEncode(customer_external_id);
  url += "&t=" + UnsubscribeToken(key, customer_external_id);
  return url;
}

Result<std::string> VerifyUnsubscribe(std::string_view key, std::string_view query_or_url) {
  if (query_or_url.size() > kMaxUnsubscribeQueryBytes) {
    return InvalidInput("unsubscribe link: longer than " +
                        std::to_string(kMaxUnsubscribeQueryBytes) + " bytes");
  }
  std::string_view query = query_or_url;
  if (size_t q = query.find('?'); q != std::string_view::npos) query.remove_prefix(q + 1);
  if (size_t f = query.find('#'); f != std::string_view::npos) query = query.substr(0, f);

  std::optional<std::string> customer;
  std::optional<std::string> token;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = FormDecode(pair.substr(0, eq));
    if (!name || (*name != "c" && *name != "t")) continue;
    auto& slot = *name == "c" ? customer : token;
    if (slot) return InvalidInput("unsubscribe link: " + *name + " given twice");
    auto value = FormDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value) return InvalidInput("unsubscribe link: " + *name + " is badly percent-encoded");
    slot = std::move(*value);
  }
  if (!customer || customer->empty()) return InvalidInput("unsubscribe link: no customer (c=)");
  if (!token || token->empty()) return InvalidInput("unsubscribe link: no token (t=)");
  if (token->size() != kTokenChars) {
    return InvalidInput("unsubscribe link: the token has " + std::to_string(token->size()) +
                        " characters, not " + std::to_string(kTokenChars));
  }
  auto given = Base64Decode(*token, /*url=*/true, /*allow_padding=*/false);
  if (!given || given->size() != kTokenBytes) {
    return InvalidInput("unsubscribe link: the token is not base64url");
  }
  if (static_cast<unsigned char>((*given)[0]) != kTokenVersion) {
    return InvalidInput("unsubscribe link: unknown token version");
  }
  auto expected = TokenBytes(key, *customer);
  if (CRYPTO_memcmp(expected.data(), given->data(), kTokenBytes) != 0) {
    return InvalidInput("unsubscribe link: the token does not match the customer");
  }
  return std::move(*customer);
}

Result<std::string> LoadOrCreateKey(const std::string& path) {
  auto existing = ReadKey(path);
  if (!existing) return tl::unexpected(existing.error());
  if (*existing) return std::move(**existing);
  return CreateKey(path);
}

}  // namespace followup::delivery
