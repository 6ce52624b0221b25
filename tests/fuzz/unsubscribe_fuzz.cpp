// Fuzzes what comes back from one-click unsubscribe links: any query or URL is verified (a forged
// one must fail with a clean reason), the form decoder reads it, and any customer id round-trips
// through a signed link.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/url.h"
#include "delivery/unsubscribe.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  static const std::string key(32, 'k');
  static const std::string other_key(32, 'o');
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto verified = delivery::VerifyUnsubscribe(key, input);
  if (!verified) fuzz::CheckMessage(verified.error().message);
  (void)FormDecode(input);

  // Any id, signed into a link, verifies as itself under its key and under no other.
  if (size >= 1 && size <= 1000) {
    const std::string id(input);
    for (const char* base :
         {"https://shop.example/unsubscribe", "https://shop.example/u?src=mail"}) {
      const std::string url = delivery::UnsubscribeUrl(base, key, id);
      auto back = delivery::VerifyUnsubscribe(key, url);
      fuzz::Check(back.has_value(), "a signed link does not verify", url);
      fuzz::Check(*back == id, "a signed link verifies as another customer", url);
      fuzz::Check(!delivery::VerifyUnsubscribe(other_key, url).has_value(),
                  "a link verifies under another key", url);
    }
  }
  return 0;
}
