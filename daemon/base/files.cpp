#include "base/files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace followup {

Result<void> MakePrivateDirectories(const std::filesystem::path& dir) {
  std::filesystem::path made;
  for (const auto& part : dir.lexically_normal()) {
    made /= part;
    if (part.empty() || part == made.root_path()) continue;
    if (::mkdir(made.c_str(), 0700) == 0) continue;
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(made.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    return RuntimeFailure("create folder " + made.string() + ": " +
                          (err == EEXIST ? "not a folder" : std::strerror(err)));
  }
  return {};
}

}  // namespace followup
