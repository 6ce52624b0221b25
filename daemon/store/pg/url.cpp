#include "store/pg/url.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/url.h"

namespace followup::store::pg {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

bool IsUri(std::string_view url) {
  return StartsWith(url, "postgresql://") || StartsWith(url, "postgres://");
}

std::string PercentDecoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Takes `credential=NAME` out of a URI's query; returns NAME ("" when there is none).
std::string TakeUriCredential(std::string& url) {
  auto q = url.find('?');
  if (q == std::string::npos) return "";
  std::string query = url.substr(q + 1), kept, name;
  std::stringstream parts(query);
  std::string part;
  while (std::getline(parts, part, '&')) {
    if (StartsWith(part, "credential=")) {
      name = PercentDecoded(part.substr(11));
      continue;
    }
    if (!kept.empty()) kept += '&';
    kept += part;
  }
  url.resize(q);
  if (!kept.empty()) url += "?" + kept;
  return name;
}

// Takes `credential=NAME` (NAME possibly 'quoted') out of a key=value string.
std::string TakeKeywordCredential(std::string& conninfo) {
  size_t i = 0;
  const size_t n = conninfo.size();
  auto space = [&](size_t k) {
    return k < n && std::isspace(static_cast<unsigned char>(conninfo[k]));
  };
  while (i < n) {
    while (space(i)) ++i;
    const size_t start = i;
    while (i < n && conninfo[i] != '=' && !space(i)) ++i;
    std::string key = conninfo.substr(start, i - start);
    while (space(i)) ++i;
    if (i < n && conninfo[i] == '=') ++i;
    while (space(i)) ++i;
    std::string value;
    if (i < n && conninfo[i] == '\'') {
      for (++i; i < n && conninfo[i] != '\''; ++i) {
        if (conninfo[i] == '\\' && i + 1 < n) ++i;
        value += conninfo[i];
      }
      if (i < n) ++i;  // the closing quote
    } else {
      for (; i < n && !space(i); ++i) {
        if (conninfo[i] == '\\' && i + 1 < n) ++i;
        value += conninfo[i];
      }
    }
    if (key == "credential") {
      conninfo.erase(start, i - start);
      return value;
    }
  }
  return "";
}

Result<std::string> ReadCredential(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    return InvalidInput("store URL: credential '" + name +
                        "' is not a credential name (a file name in $CREDENTIALS_DIRECTORY)");
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (!dir || !*dir)
    return RuntimeFailure("store URL names credential '" + name +
                          "', but $CREDENTIALS_DIRECTORY is not set (LoadCredential= in the "
                          "unit file provides it)");
  std::string path = std::string(dir) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) return RuntimeFailure("store URL: cannot read credential " + path);
  std::string password((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
    password.pop_back();
  return password;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ConnectParams(const std::string& url) {
  std::string dbname = url;
  std::string credential = IsUri(url) ? TakeUriCredential(dbname) : TakeKeywordCredential(dbname);
  std::vector<std::pair<std::string, std::string>> params = {
      {"fallback_application_name", "followupd"},
      {"dbname", dbname},
      {"client_encoding", "UTF8"},
  };
  if (!credential.empty()) {
    auto password = ReadCredential(credential);
    if (!password) return tl::unexpected(password.error());
    params.emplace_back("password", std::move(*password));
  }
  return params;
}

std::string Redacted(const std::string& url) {
  if (IsUri(url)) {
    // scheme://user:password@host...: the password is between the first ':' after the scheme and
    // the '@' that ends the user part.
    size_t begin = url.find("://") + 3;
    size_t at = url.find('@', begin);
    size_t slash = url.find('/', begin);
    if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
    size_t colon = url.find(':', begin);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
  }
  std::string out = url;
  size_t p = out.find("password");
  while (p != std::string::npos) {
    size_t eq = out.find('=', p);
    if (eq == std::string::npos) break;
    size_t v = eq + 1;
    while (v < out.size() && out[v] == ' ') ++v;
    size_t end = v;
    if (end < out.size() && out[end] == '\'') {
      end = out.find('\'', end + 1);
      end = end == std::string::npos ? out.size() : end + 1;
    } else {
      while (end < out.size() && out[end] != ' ') ++end;
    }
    out.replace(v, end - v, "***");
    p = out.find("password", v + 3);
  }
  return out;
}

}  // namespace followup::store::pg
