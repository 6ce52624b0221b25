// Files and folders followupd makes for itself (the store, mail, keys) are its own: folders 0700,
// files 0600, whatever the umask of whoever started it (systemd's UMask=0077 or a shell's 022).
#pragma once

#include <filesystem>

#include "base/error.h"

namespace followup {

// Creates `dir` and every missing folder above it with mode 0700; folders that exist are left as
// they are. kRuntime naming the folder that could not be made.
Result<void> MakePrivateDirectories(const std::filesystem::path& dir);

}  // namespace followup
