// One HTTPS GET with libcurl, for the few things the daemon fetches besides sending mail: an Amazon
// SNS signing certificate, and the URL that confirms an SNS subscription (docs/feedback.md). The
// peer's certificate and name are verified, only https is spoken (no redirects, no other scheme),
// and the answer is bounded in time and size.
//
// Thread safety: any thread; each call uses an easy handle of its own and blocks until it is done.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "base/error.h"

namespace followup::delivery {

struct HttpsGetOptions {
  std::string ca_file;               // "" = the system's CA bundle
  std::chrono::seconds timeout{10};  // the whole transfer
  size_t max_bytes = 64 * 1024;      // the most body taken
};

// The body of a 2xx answer to GET `url`. kInvalidInput when `url` is not https; kRuntime
// "GET URL: WHY" when it could not be had (no answer in time, TLS not verified, a status other than
// 2xx, a body over max_bytes).
Result<std::string> HttpsGet(const std::string& url, const HttpsGetOptions& options = {});

}  // namespace followup::delivery
