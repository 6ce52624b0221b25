#include "console/access.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "base/ascii.h"
#include "base/printable.h"
#include "feedback/crypto.h"

namespace followup::console {
namespace {

// The hash of `password` under the settings (algorithm, cost, salt) of `hash`; "" when crypt(3)
// does not know them.
std::string Crypt(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  if (!out || out[0] == '*') return "";  // libxcrypt's failure tokens start with '*'
  return out;
}

}  // namespace

Result<Credentials> ParseCredentials(std::string_view text, const std::string& path) {
  Credentials c;
  int line_number = 0;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(line_number) + ": ";
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string::npos) return InvalidInput(where + "expected USER:HASH");
    std::string user = line.substr(0, colon), hash = line.substr(colon + 1);
    // Checked by its settings only (crypt_checksalt): nothing is hashed while the file is read.
    // The old DES and MD5 methods are refused: they are broken.
    if (hash.empty() || hash[0] != '$' || crypt_checksalt(hash.c_str()) != CRYPT_SALT_OK)
      return InvalidInput(where + "the hash of " + Quote(user) +
                          " is not one crypt(3) takes (make one with mkpasswd -m yescrypt or "
                          "openssl passwd -6)");
    c.users.emplace_back(std::move(user), std::move(hash));
  }
  if (c.users.empty()) return InvalidInput(path + ": names no user (USER:HASH lines)");
  return c;
}

Result<Credentials> ReadCredentials(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return RuntimeFailure("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return ParseCredentials(text.str(), path);
}

bool Authorized(const Credentials& credentials, std::string_view authorization) {
  if (!AsciiStartsWithNoCase(authorization, "Basic ")) return false;
  std::optional<std::string> decoded = feedback::Base64Decode(authorization.substr(6));
  if (!decoded) return false;
  const std::string& pair = *decoded;
  size_t colon = pair.find(':');
  if (colon == std::string::npos) return false;
  const std::string user = pair.substr(0, colon), password = pair.substr(colon + 1);
  for (const auto& [name, hash] : credentials.users) {
    if (name != user) continue;
    std::string computed = Crypt(password, hash);
    return computed.size() == hash.size() &&
           CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
  }
  return false;
}

}  // namespace followup::console
