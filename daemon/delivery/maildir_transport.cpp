// The maildir transport: nothing leaves the machine. Each message is written to PATH/tmp/NAME,
// fsync'ed, renamed into PATH/new/NAME, and PATH/new is fsync'ed so that the rename survives a
// crash. NAME follows the maildir convention (https://cr.yp.to/proto/maildir.html and Dovecot's
// extension): "SECONDS.M<usec>P<pid>Q<counter>R<random>.HOST", unique across processes and hosts.
// The file has LF line ends, as maildir readers expect (BuildMime's CRLF are converted).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>

#include "base/files.h"
#include "delivery/mime.h"
#include "delivery/transport_curl.h"

namespace followup::delivery {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// The host name with "/" and ":" escaped as maildir asks.
std::string MaildirHost() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  std::string out;
  for (const char* p = buf; *p; ++p) {
    if (*p == '/') {
      out += "\\057";
    } else if (*p == ':') {
      out += "\\072";
    } else {
      out += *p;
    }
  }
  return out;
}

std::string ToLf(const std::string& crlf) {
  std::string out;
  out.reserve(crlf.size());
  for (size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n') continue;
    out += crlf[i];
  }
  return out;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

bool MakeDir(const std::string& path, std::string& error) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
    error = "maildir create: " + path + ": not a directory";
    return false;
  }
  error = "maildir create: " + path + ": " + ErrnoText(errno);
  return false;
}

class MaildirTransport : public Transport {
 public:
  MaildirTransport(std::string path, const TransportOptions& options)
      : path_(std::move(path)),
        host_(MaildirHost()),
        limiter_(options.rate_per_second, options.rate_per_domain),
        random_(std::random_device{}()) {}

  std::vector<SendResult> Send(std::span<const Message> messages,
                               const Accepted& accepted) override {
    std::vector<SendResult> results;
    results.reserve(messages.size());
    for (const Message& message : messages) {
      if (auto rejected = CheckMessage(message)) {
        results.push_back(std::move(*rejected));
        continue;
      }
      if (!limiter_.unlimited()) limiter_.Acquire(RecipientDomain(message));
      results.push_back(Write(message));
      if (results.back().outcome == Outcome::kSent && accepted)
        accepted(results.size() - 1, results.back());
    }
    return results;
  }
  std::string_view kind() const override { return "maildir"; }

 private:
  // The time part is the message's Date (the injected clock's time when it was composed), so a
  // run at --at TIME files its mail under that time; the pid, counter and random part keep names
  // unique within a second.
  std::string UniqueName(const Message& message) {
    using namespace std::chrono;
    static std::atomic<uint64_t> counter{0};
    auto now = message.date.time_since_epoch();
    auto secs = duration_cast<seconds>(now);
    auto usecs = duration_cast<microseconds>(now - secs);
    char random[17];
    snprintf(random, sizeof random, "%016llx", static_cast<unsigned long long>(random_()));
    return std::to_string(secs.count()) + ".M" + std::to_string(usecs.count()) + "P" +
           std::to_string(::getpid()) + "Q" + std::to_string(++counter) + "R" + random + "." +
           host_;
  }

  SendResult Write(const Message& message) {
    SendResult r;
    r.outcome = Outcome::kTemporary;
    std::string name = UniqueName(message);
    std::string tmp = path_ + "/tmp/" + name;
    std::string dest = path_ + "/new/" + name;
    std::string bytes = ToLf(BuildMime(message));
    auto fail = [&](std::string_view op, const std::string& file, int err) {
      ::unlink(tmp.c_str());
      r.reply = std::string(op) + ": " + file + ": " + ErrnoText(err);
      return r;
    };
    FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
      int err = errno;
      r.reply = "maildir write: " + tmp + ": " + ErrnoText(err);
      return r;
    }
    size_t written = 0;
    while (written < bytes.size()) {
      ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail("maildir write", tmp, errno);
      written += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return fail("maildir fsync", tmp, errno);
    if (::close(fd.release()) != 0) return fail("maildir write", tmp, errno);
    if (::rename(tmp.c_str(), dest.c_str()) != 0) return fail("maildir rename", dest, errno);
    FileDescriptor dir(::open((path_ + "/new").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
      // The message is in new/ (a reader sees it); only its durability across a crash is in
      // doubt. Report it as sent rather than deliver it twice.
      int err = errno;
      r.reply = "maildir fsync: " + path_ + "/new: " + ErrnoText(err) + " (message written)";
    } else {
      r.reply = "maildir: new/" + name;
    }
    r.outcome = Outcome::kSent;
    r.provider_message_id = name;
    return r;
  }

  std::string path_;
  std::string host_;
  RateLimiter limiter_;
  std::mt19937_64 random_;
};

}  // namespace

Result<std::unique_ptr<Transport>> MakeMaildirTransport(const TransportOptions& options,
                                                        std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.empty()) return InvalidInput("delivery.transport: maildir:// needs a path");
  std::string error;
  if (auto made = MakePrivateDirectories(path); !made)
    return RuntimeFailure("maildir " + made.error().message);
  if (!MakeDir(path, error) || !MakeDir(path + "/tmp", error) || !MakeDir(path + "/new", error) ||
      !MakeDir(path + "/cur", error)) {
    return RuntimeFailure(error);
  }
  return std::unique_ptr<Transport>(std::make_unique<MaildirTransport>(path, options));
}

}  // namespace followup::delivery
