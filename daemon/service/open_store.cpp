#include "service/open_store.h"

#include <spdlog/spdlog.h>

namespace followup::service {

std::optional<int> OpenStore(const std::string& url, std::unique_ptr<store::Store>& store) {
  auto opened = store::Store::Open(url);
  if (!opened) {
    spdlog::error("store open {}: {}", url, opened.error().ToString());
    return ExitCodeFor(opened.error());
  }
  store = std::move(*opened);
  return std::nullopt;
}

}  // namespace followup::service
