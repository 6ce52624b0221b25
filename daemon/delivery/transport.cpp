#include "delivery/transport.h"

#include <curl/curl.h>

#include "base/ascii.h"
#include "delivery/transport_curl.h"

namespace followup::delivery {
namespace {

// Checks an smtp/http URL with libcurl's own parser (the one that will use it): a host, no
// credentials (those come from the credentials file, never from the config).
Result<void> CheckNetworkUrl(const std::string& url) {
  EnsureCurlGlobalInit();
  CURLU* parsed = curl_url();
  if (!parsed) return RuntimeFailure("delivery.transport: out of memory");
  auto release = [&] { curl_url_cleanup(parsed); };
  CURLUcode rc = curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0);
  if (rc != CURLUE_OK) {
    release();
    return InvalidInput("delivery.transport: '" + url + "': " + curl_url_strerror(rc));
  }
  char* host = nullptr;
  char* user = nullptr;
  bool has_host = curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host;
  bool has_user = curl_url_get(parsed, CURLUPART_USER, &user, 0) == CURLUE_OK && user;
  curl_free(host);
  curl_free(user);
  release();
  if (!has_host) return InvalidInput("delivery.transport: '" + url + "': no host");
  if (has_user) {
    return InvalidInput("delivery.transport: '" + url +
                        "': credentials do not belong in the URL; use delivery.credentials_file");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Transport>> MakeTransport(const TransportOptions& options) {
  const std::string& url = options.url;
  size_t sep = url.find("://");
  if (sep == std::string::npos) {
    return InvalidInput("delivery.transport: '" + url +
                        "' is not a URL (maildir://PATH, smtp://HOST:PORT, smtps://HOST:PORT, "
                        "https://...)");
  }
  const std::string scheme = AsciiLower(std::string_view(url).substr(0, sep));
  if (options.connections < 1 || options.connections > 1000) {
    return InvalidInput("delivery.connections: " + std::to_string(options.connections) +
                        " is not between 1 and 1000");
  }
  if (options.timeout.count() < 1) {
    return InvalidInput("delivery.timeout: must be at least 1s");
  }
  if (options.rate_per_second < 0 || options.rate_per_domain < 0) {
    return InvalidInput("delivery.rate_per_second/rate_per_domain: must not be negative");
  }

  if (scheme == "maildir") return MakeMaildirTransport(options, url.substr(sep + 3));
  if (scheme == "smtp" || scheme == "smtps") {
    if (auto checked = CheckNetworkUrl(url); !checked) return tl::unexpected(checked.error());
    return MakeSmtpTransport(options);
  }
  if (scheme == "http" || scheme == "https") {
    if (auto checked = CheckNetworkUrl(url); !checked) return tl::unexpected(checked.error());
    return MakeHttpTransport(options);
  }
  return InvalidInput("delivery.transport: unknown scheme '" + scheme + "' in '" + url +
                      "' (maildir, smtp, smtps, http, https)");
}

}  // namespace followup::delivery
