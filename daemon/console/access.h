// Who may read the console (docs/console.md, "Access"): HTTP basic authentication against the
// password hashes of a credentials file, one `USER:HASH` per line, HASH as crypt(3) makes it
// (yescrypt `$y$...` from `mkpasswd -m yescrypt`, SHA-512 `$6$...` from `openssl passwd -6`,
// bcrypt `$2b$...`). Blank lines and lines starting with '#' are skipped.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace followup::console {

struct Credentials {
  std::vector<std::pair<std::string, std::string>> users;  // user, hash
};

// kInvalidInput "PATH:LINE: ..." for a line that is not USER:HASH or a hash crypt(3) does not
// know; kRuntime "cannot read PATH"; kInvalidInput when the file names nobody.
Result<Credentials> ReadCredentials(const std::string& path);
Result<Credentials> ParseCredentials(std::string_view text, const std::string& path);

// Whether `authorization` (the request's Authorization header) is "Basic BASE64(USER:PASSWORD)"
// for a user of `credentials` whose hash the password matches. Takes as long as one crypt(3) of
// the user's hash (milliseconds, on purpose): call it off the HTTP loop.
bool Authorized(const Credentials& credentials, std::string_view authorization);

}  // namespace followup::console
