// Fuzzes the HTTP request path end to end: the input is what a client sends on one connection,
// to a real HttpServer (health, metrics and one-click unsubscribe, as the daemon serves them) on a
// loopback port. The client then half-closes and reads until the server closes. Whatever comes
// back must be HTTP responses, and the server must close within its own time limits.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "delivery/unsubscribe.h"
#include "fuzz_util.h"
#include "service/http_server.h"

namespace followup::fuzz {
namespace {

constexpr int kAnswerWithinMs = 10'000;  // well past the server's read timeout below

// The server, as the daemon sets it up, on its own loop thread.
struct Server {
  Server() : work(io.get_executor()), server(io, Options(), Handlers()) {
    auto bound = server.Start();
    Check(bound.has_value(), "the server does not start", bound ? "" : bound.error().message);
    port = *bound;
    thread = std::thread([this] { io.run(); });
  }

  static service::HttpServerOptions Options() {
    service::HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.read_timeout = std::chrono::milliseconds(2'000);
    options.write_timeout = std::chrono::milliseconds(2'000);
    options.connection_timeout = std::chrono::milliseconds(5'000);
    options.header_limit_bytes = 1024;
    options.body_limit_bytes = 2048;
    return options;
  }

  static service::HttpHandlers Handlers() {
    static const std::string key(32, 'k');
    service::HttpHandlers handlers;
    handlers.health = [] { return std::pair<bool, std::string>(true, ""); };
    handlers.metrics = [] {
      return service::PrometheusMetric("followup_sent_total", "counter", "Messages sent.",
                                       {{{{"rule", "winback"}}, 3}});
    };
    handlers.unsubscribe = [](std::string_view query) {
      return delivery::VerifyUnsubscribe(key, query);
    };
    handlers.log = [](std::string_view) {};
    return handlers;
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  service::HttpServer server;
  std::thread thread;
  uint16_t port = 0;
};

// Started on first use and never stopped: the run ends with exit(), the loop still running.
uint16_t ServerPort() {
  static Server* server = new Server();
  return server->port;
}

// Sends `request` on a fresh connection, half-closes, and returns all the server answers.
std::string Exchange(std::string_view request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  Check(fd >= 0, "socket", std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(ServerPort());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Check(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0, "connect",
        std::strerror(errno));
  // The server may answer and close before it has read everything: sending then fails, fine.
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[4096];
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerWithinMs);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    Check(ready > 0, "the server neither answered nor closed in time", request);
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;  // closed (or reset)
    answer.append(buffer, static_cast<size_t>(n));
  }
  // Close with a reset rather than into TIME_WAIT: a run makes millions of connections.
  linger no_linger{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
  close(fd);
  return answer;
}

}  // namespace
}  // namespace followup::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  std::string_view request(reinterpret_cast<const char*>(data), size);
  std::string answer = fuzz::Exchange(request);
  fuzz::Check(answer.empty() || answer.rfind("HTTP/1.", 0) == 0, "the answer is not HTTP", answer);
  return 0;
}
