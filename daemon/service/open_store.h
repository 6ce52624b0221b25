// Opening the store for one of the service's rooms, the same way for each of them.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "store/store.h"

namespace followup::service {

// Opens the store at `url` into `store`. Returns std::nullopt when it is open; else logs
// "store open URL: reason" and returns the exit status for the failure (ExitCodeFor), which the
// room's Start() hands on.
std::optional<int> OpenStore(const std::string& url, std::unique_ptr<store::Store>& store);

}  // namespace followup::service
