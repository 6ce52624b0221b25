// Fuzzes the HTTP request path: the bytes a client sends, read by the server's own request parser
// (service/http_parse.h, the same parser and limits the server reads the network with), then the
// form decoding the one-click unsubscribe route does on the body. Pure: no socket.
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "service/http_forms.h"
#include "service/http_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  static const service::HttpParseLimits limits{.header_limit_bytes = 1024,
                                               .body_limit_bytes = 2048};
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto request = service::ParseHttpRequest(bytes, limits);
  if (!request) {
    fuzz::Check(!request.error().message.empty(), "a request refused without a reason");
    return 0;
  }
  fuzz::Check(request->body.size() <= limits.body_limit_bytes, "a body over its limit",
              request->body);
  fuzz::Check(request->query.empty() || request->path.find('?') == std::string_view::npos,
              "the path keeps the query", request->path);
  (void)service::FormValues(request->Header("Content-Type"), request->body, "List-Unsubscribe");
  return 0;
}
