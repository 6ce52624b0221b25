#include "delivery/https_get.h"

#include <curl/curl.h>

#include <memory>

#include "base/ascii.h"
#include "delivery/transport_curl.h"

namespace followup::delivery {
namespace {

struct Body {
  std::string text;
  size_t max_bytes = 0;
  bool too_large = false;
};

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t n = size * count;
  if (body->text.size() + n > body->max_bytes) {
    body->too_large = true;
    return 0;  // libcurl ends the transfer (CURLE_WRITE_ERROR)
  }
  body->text.append(data, n);
  return n;
}

struct EasyFree {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};

}  // namespace

Result<std::string> HttpsGet(const std::string& url, const HttpsGetOptions& options) {
  if (!AsciiStartsWithNoCase(url, "https://"))
    return InvalidInput("GET " + url + ": only https URLs are fetched");
  EnsureCurlGlobalInit();
  std::unique_ptr<CURL, EasyFree> easy(curl_easy_init());
  if (!easy) return RuntimeFailure("GET " + url + ": libcurl could not start a transfer");
  Body body;
  body.max_bytes = options.max_bytes;
  char error[CURL_ERROR_SIZE] = {};
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count() * 1000));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  if (!options.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  CURLcode code = curl_easy_perform(e);
  if (body.too_large || code == CURLE_FILESIZE_EXCEEDED)
    return RuntimeFailure("GET " + url + ": the answer is larger than " +
                          std::to_string(options.max_bytes) + " bytes");
  if (code != CURLE_OK) return RuntimeFailure("GET " + url + ": " + DescribeCurlError(code, error));
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299)
    return RuntimeFailure("GET " + url + ": HTTP " + std::to_string(status));
  return std::move(body.text);
}

}  // namespace followup::delivery
