#include "service/store_watch.h"

#include <boost/asio/buffer.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace followup::service {

StoreWatch::StoreWatch(boost::asio::io_context& io, std::function<void()> changed)
    : descriptor_(io), changed_(std::move(changed)) {}

Result<void> StoreWatch::Start(const std::vector<std::string>& files) {
  namespace fs = std::filesystem;
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return RuntimeFailure(std::string("inotify: ") + std::strerror(errno));
  descriptor_.assign(fd);
  for (const auto& file : files) {
    fs::path path = fs::absolute(file);
    std::string folder = path.parent_path().string();
    int wd = inotify_add_watch(fd, folder.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO);
    if (wd < 0) return RuntimeFailure("inotify " + folder + ": " + std::strerror(errno));
    names_[wd].insert(path.filename().string());
  }
  Read();
  return {};
}

void StoreWatch::Stop() {
  boost::system::error_code ignored;
  descriptor_.close(ignored);
}

void StoreWatch::Read() {
  descriptor_.async_read_some(
      boost::asio::buffer(buffer_), [this](boost::system::error_code ec, size_t n) {
        if (ec) return;  // cancelled at stop
        bool hit = false;
        for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
          const auto* event = reinterpret_cast<const inotify_event*>(buffer_.data() + at);
          auto it = names_.find(event->wd);
          if (event->mask & IN_Q_OVERFLOW) hit = true;  // events were lost: look anyway
          if (event->len > 0 && it != names_.end() && it->second.count(event->name)) hit = true;
          at += sizeof(inotify_event) + event->len;
        }
        if (hit) changed_();
        Read();
      });
}

}  // namespace followup::service
