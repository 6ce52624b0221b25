#include "store/delivery_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace followup::store {

DeliveryLockFile::DeliveryLockFile(const std::string& database)
    : path_(database == ":memory:" ? std::string() : database + ".delivery.lock") {}

DeliveryLockFile::~DeliveryLockFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<DeliveryOwner> DeliveryLockFile::Take(bool one_pass) {
  if (path_.empty() || held_)
    return DeliveryOwner{true, static_cast<int64_t>(::getpid()), held_ ? one_pass_ : one_pass};
  auto fail = [&](const char* what) {
    return Fail(ErrorCode::kRuntime, std::string("store delivery lock ") + path_ + ": " + what +
                                         ": " + std::strerror(errno));
  };
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) return fail("cannot open");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return fail("cannot lock");
    char text[64] = {};
    ssize_t n = ::pread(fd_, text, sizeof text - 1, 0);
    DeliveryOwner other;
    if (n > 0) {
      other.pid = std::atoll(text);
      other.one_pass = std::strstr(text, " once") != nullptr;
    }
    return other;
  }
  held_ = true;
  one_pass_ = one_pass;
  std::string who = std::to_string(::getpid()) + (one_pass ? " once\n" : " run\n");
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, who.data(), who.size(), 0) != static_cast<ssize_t>(who.size()))
    return fail("cannot write the owner");
  return DeliveryOwner{true, static_cast<int64_t>(::getpid()), one_pass};
}

}  // namespace followup::store
