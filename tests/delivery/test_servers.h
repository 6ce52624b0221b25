// Real servers on 127.0.0.1 for the transport tests: Postfix's smtp-sink (started as a child
// process), a TCP proxy that counts connections and can cut one at a chosen SMTP DATA command, and
// a small scripted HTTP/1.1 server. Nothing here listens on anything but loopback.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/ascii.h"

namespace followup::testing {

inline constexpr const char* kSmtpSink = "/usr/sbin/smtp-sink";

// A port that was free a moment ago (bind to port 0 and let go).
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

inline int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A listening socket on 127.0.0.1 (port 0 = any); returns the fd and sets `port`.
inline int ListenLoopback(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

inline bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Postfix's smtp-sink on 127.0.0.1:port, with fault injection flags, e.g. {"-r", "RCPT"}.
// Every accepted message is dumped to a file under dump_dir() (-d), and the conversation is logged
// (-v) to log(). Killed (SIGTERM, then SIGKILL) when the object dies.
class SmtpSink {
 public:
  explicit SmtpSink(std::vector<std::string> flags = {}) {
    dir_ = std::filesystem::temp_directory_path() /
           ("followup-sink-" + std::to_string(getpid()) + "-" + std::to_string(++Counter()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "dump");
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) Start(flags);
  }
  ~SmtpSink() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  const std::vector<std::string>& argv() const { return argv_; }

  // The messages the sink accepted, as dumped (its own X-* and Received headers first).
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ / "dump")) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream s;
      s << in.rdbuf();
      out.push_back(s.str());
    }
    return out;
  }
  std::string Log() const {
    std::ifstream in(dir_ / "log", std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  static int& Counter() {
    static int counter = 0;
    return counter;
  }

  void Start(const std::vector<std::string>& flags) {
    port_ = FreeLoopbackPort();
    argv_ = {kSmtpSink};
    if (geteuid() == 0) argv_.insert(argv_.end(), {"-u", "root"});  // required when root
    argv_.insert(argv_.end(), {"-v", "-d", (dir_ / "dump" / "%M.").string()});
    argv_.insert(argv_.end(), flags.begin(), flags.end());
    argv_.push_back("127.0.0.1:" + std::to_string(port_));
    argv_.push_back("100");
    std::string log = (dir_ / "log").string();
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> args;
      for (auto& a : argv_) args.push_back(a.data());
      args.push_back(nullptr);
      execv(kSmtpSink, args.data());
      _exit(127);
    }
    pid_ = pid;
    // Ready when it accepts a connection and logs it (-v): so the listener is this sink, not
    // another process that took the port first. Gone if it exited (port taken): try another.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    bool connected = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      if (!connected) {
        int fd = ConnectLoopback(port_);
        if (fd >= 0) {
          WriteAll(fd, "QUIT\r\n");
          close(fd);
          connected = true;
        }
      }
      if (connected && Log().find("connect (") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Stop();
  }

  std::filesystem::path dir_;
  std::vector<std::string> argv_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A TCP proxy on 127.0.0.1 in front of `upstream_port`: counts the client connections, and with
// drop_at_data = N cuts the connection (both sides, nothing forwarded) when the N-th SMTP "DATA"
// command (counted over all connections) arrives.
class TcpProxy {
 public:
  explicit TcpProxy(int upstream_port, int drop_at_data = 0)
      : upstream_(upstream_port), drop_at_data_(drop_at_data) {
    listen_fd_ = ListenLoopback(port_);
    pipe2(wake_, O_CLOEXEC);
    thread_ = std::thread([this] { Run(); });
  }
  ~TcpProxy() {
    stop_ = true;
    char c = 0;
    (void)!write(wake_[1], &c, 1);
    thread_.join();
    for (auto& link : links_) {
      close(link.client);
      close(link.server);
    }
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
  }

  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }

 private:
  struct Link {
    int client;
    int server;
    std::string line;  // the client's partial command line
    bool in_body = false;
  };

  void Run() {
    while (!stop_) {
      std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      for (auto& link : links_) {
        fds.push_back({link.client, POLLIN, 0});
        fds.push_back({link.server, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), 1000) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
          ++connections_;
          int server = ConnectLoopback(upstream_);
          int one = 1;  // forward every piece at once (no Nagle delays)
          setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (server >= 0) setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (server < 0) {
            close(client);
          } else {
            links_.push_back(Link{client, server, {}, false});
          }
        }
      }
      std::vector<size_t> dead;
      for (size_t i = 0; i < links_.size() && 2 + 2 * i + 1 < fds.size(); ++i) {
        Link& link = links_[i];
        if (fds[2 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)) {
          if (!Forward(link, true)) dead.push_back(i);
          continue;
        }
        if (fds[3 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)) {
          if (!Forward(link, false)) dead.push_back(i);
        }
      }
      for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
        close(links_[*it].client);
        close(links_[*it].server);
        links_.erase(links_.begin() + static_cast<long>(*it));
      }
    }
  }

  // Moves what is readable; false when the link is finished.
  bool Forward(Link& link, bool from_client) {
    char buf[16384];
    ssize_t n = recv(from_client ? link.client : link.server, buf, sizeof buf, 0);
    if (n <= 0) return false;
    std::string_view data(buf, static_cast<size_t>(n));
    if (from_client && drop_at_data_ > 0) {
      link.line.append(data);
      size_t nl;
      while ((nl = link.line.find("\r\n")) != std::string::npos) {
        std::string line = link.line.substr(0, nl);
        link.line.erase(0, nl + 2);
        if (link.in_body) {
          if (line == ".") link.in_body = false;
          continue;
        }
        std::string upper = line;
        std::transform(upper.begin(), upper.end(), upper.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        if (upper == "DATA") {
          if (++data_commands_ == drop_at_data_) return false;  // cut before forwarding
          link.in_body = true;
        }
      }
    }
    return WriteAll(from_client ? link.server : link.client, data);
  }

  int upstream_;
  int drop_at_data_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  int data_commands_ = 0;
  std::vector<Link> links_;
  std::thread thread_;
};

struct HttpRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpReply {
  enum class Action { kRespond, kHang, kDrop };
  Action action = Action::kRespond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// An HTTPS file server on 127.0.0.1: OpenSSL's own `openssl s_server -WWW`, serving the files of
// its folder (Write) under a self-signed certificate for 127.0.0.1 (ca_file(): what a client must
// trust). One connection at a time. Killed when the object dies; port() is 0 when it could not
// start.
class HttpsFileServer {
 public:
  explicit HttpsFileServer(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_ / "www");
    const std::string made =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
        (dir_ / "key.pem").string() + "' -out '" + (dir_ / "cert.pem").string() +
        "' >/dev/null 2>&1";
    if (std::system(made.c_str()) != 0) return;
    for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) Start();
  }
  ~HttpsFileServer() { Stop(); }
  HttpsFileServer(const HttpsFileServer&) = delete;
  HttpsFileServer& operator=(const HttpsFileServer&) = delete;

  int port() const { return port_; }
  std::string ca_file() const { return (dir_ / "cert.pem").string(); }
  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Serves `text` at /`name`.
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / "www" / name, std::ios::binary) << text;
  }
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  void Start() {
    int port = FreeLoopbackPort();
    std::vector<std::string> argv = {"openssl", "s_server",
                                     "-accept", "127.0.0.1:" + std::to_string(port),
                                     "-cert",   (dir_ / "cert.pem").string(),
                                     "-key",    (dir_ / "key.pem").string(),
                                     "-WWW"};
    const std::string log = (dir_ / "log").string();
    const std::string www = (dir_ / "www").string();
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      if (chdir(www.c_str()) != 0) _exit(127);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp("openssl", args.data());
      _exit(127);
    }
    pid_ = pid;
    // Ready once it says ACCEPT; gone if it exited (the port was taken): try another.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find("ACCEPT") != std::string::npos) {
        port_ = port;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Stop();
  }

  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A scripted HTTP/1.1 server on 127.0.0.1 (keep-alive; a thread per connection). `handler` decides
// each reply: respond, hang (never answer, until the server is destroyed) or drop the connection.
class HttpTestServer {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;

  explicit HttpTestServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ListenLoopback(port_);
    pipe2(wake_, O_CLOEXEC);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~HttpTestServer() {
    stop_ = true;
    char c = 0;
    (void)!write(wake_[1], &c, 1);
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (int fd : client_fds_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
  }

  std::string url(const std::string& path = "/email") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_; }
  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void Accept() {
    while (!stop_) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, 1000) <= 0 || !(fds[0].revents & POLLIN)) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard lock(mutex_);
      client_fds_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Reads until `delim` is in `buffer`; false on EOF, error or stop.
  bool ReadUntil(int fd, std::string& buffer, size_t want_size, const std::string& delim) {
    while (delim.empty() ? buffer.size() < want_size : buffer.find(delim) == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (stop_) return false;
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[8192];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      buffer.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  void Serve(int fd) {
    std::string buffer;
    while (!stop_) {
      if (!ReadUntil(fd, buffer, 0, "\r\n\r\n")) break;
      size_t end = buffer.find("\r\n\r\n");
      std::string head = buffer.substr(0, end);
      buffer.erase(0, end + 4);
      HttpRequest request;
      std::istringstream lines(head);
      std::string line;
      std::getline(lines, line);
      std::istringstream first(line);
      first >> request.method >> request.target;
      while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string name = AsciiLower(std::string_view(line).substr(0, colon));
        size_t v = line.find_first_not_of(' ', colon + 1);
        request.headers[name] = v == std::string::npos ? "" : line.substr(v);
      }
      size_t length = request.headers.count("content-length")
                          ? std::stoul(request.headers["content-length"])
                          : 0;
      if (!ReadUntil(fd, buffer, length, "")) break;
      request.body = buffer.substr(0, length);
      buffer.erase(0, length);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      HttpReply reply = handler_(request);
      if (reply.action == HttpReply::Action::kDrop) break;
      if (reply.action == HttpReply::Action::kHang) {
        while (!stop_) {
          pollfd p{fd, POLLIN, 0};
          if (poll(&p, 1, 100) > 0) {
            char buf[256];
            if (recv(fd, buf, sizeof buf, 0) <= 0) break;
          }
        }
        break;
      }
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " Status\r\n";
      out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
      bool has_type = false;
      for (const auto& [name, value] : reply.headers) {
        out += name + ": " + value + "\r\n";
        if (name == "Content-Type") has_type = true;
      }
      if (!has_type) out += "Content-Type: application/json\r\n";
      out += "\r\n" + reply.body;
      if (!WriteAll(fd, out)) break;
    }
    std::lock_guard lock(mutex_);
    std::erase(client_fds_, fd);
    close(fd);
  }

  Handler handler_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<int> client_fds_;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::vector<HttpRequest> requests_;
};

}  // namespace followup::testing
