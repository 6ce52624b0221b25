// Fuzzes the configuration file: any text parsed as followup.yaml (ParseConfig reads text only;
// nothing is written anywhere). A refusal names the file and cites nothing raw.
#include <cstdint>
#include <string>

#include "config/config.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  static const std::string kPath = "/etc/followup/followup.yaml";
  auto config = ParseConfig(std::string(reinterpret_cast<const char*>(data), size), kPath);
  if (!config) {
    fuzz::Check(config.error().where.file == kPath, "an error lost its file",
                config.error().ToString());
    fuzz::CheckMessage(config.error().message);
    return 0;
  }
  return 0;
}
