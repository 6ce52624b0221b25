// Fuzzes VERP (feedback/verp.h): any address a bounce came back to, and any token read from it,
// must be refused with a clean reason unless it was signed with our key; any outbox id
// round-trips through a return path.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "feedback/verp.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  static const std::string key = "verp-fuzz-key-0123456789abcdef";
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto read = feedback::ReadVerpToken(key, input);
  if (!read) fuzz::CheckMessage(read.error().message);
  if (auto token = feedback::VerpTokenOf(input, "bounces")) {
    auto id = feedback::ReadVerpToken(key, *token);
    if (id) {
      fuzz::Check(*id >= 0, "a negative outbox id verified", *token);
      fuzz::Check(feedback::VerpToken(key, *id) == *token, "a token verified that we never made",
                  *token);
    }
  }

  // Any id we sign comes back as itself, and under no other key.
  if (size >= sizeof(int64_t)) {
    int64_t id = 0;
    std::memcpy(&id, data, sizeof id);
    if (id < 0) id = -(id + 1);
    const std::string path = feedback::VerpReturnPath(key, "Bounces", "shop.example", id);
    auto token = feedback::VerpTokenOf("<" + path + ">", "bounces");
    fuzz::Check(token.has_value(), "our return path has no token", path);
    auto back = feedback::ReadVerpToken(key, *token);
    fuzz::Check(back && *back == id, "our return path does not give its id back", path);
    fuzz::Check(!feedback::ReadVerpToken("another key", *token),
                "a token verified under another key", path);
  }
  return 0;
}
