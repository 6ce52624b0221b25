// Calls `changed` when one of the store's commit files is written (inotify on the folders holding
// them, so a file that is replaced or created later is still seen): a commit by another program
// wakes the decision thread at once (docs/architecture.md, a transaction's path). The poll stays
// as the fallback, and the only way when this fails. Loop only.
#pragma once

#include <sys/inotify.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"

namespace followup::service {

class StoreWatch {
 public:
  StoreWatch(boost::asio::io_context& io, std::function<void()> changed);

  // kRuntime when inotify cannot watch a folder.
  Result<void> Start(const std::vector<std::string>& files);
  void Stop();

 private:
  void Read();

  boost::asio::posix::stream_descriptor descriptor_;
  std::function<void()> changed_;
  std::map<int, std::set<std::string>> names_;  // watch descriptor -> file names in its folder
  alignas(inotify_event) std::array<char, 8192> buffer_;
};

}  // namespace followup::service
