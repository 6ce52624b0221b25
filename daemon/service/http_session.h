// Private to the HTTP server (http_server.cpp): the state the server and its connections share,
// and one connection.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "service/http_server.h"

namespace followup::service {

namespace http_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
}  // namespace http_detail

class Session;

// Loop only.
struct HttpServerState {
  HttpServerState(boost::asio::io_context& io, HttpServerOptions o, std::vector<Route> r,
                  HttpServer::Log l)
      : options(std::move(o)), routes(std::move(r)), log(std::move(l)), acceptor(io), backoff(io) {}

  void Log(const std::string& message) const;
  void Accept(const std::shared_ptr<HttpServerState>& self);
  void OnAccept(const std::shared_ptr<HttpServerState>& self, boost::beast::error_code ec,
                http_detail::tcp::socket socket);
  // Makes room for one more connection when all are taken; false when none can give way.
  bool MakeRoom(const std::string& newcomer);

  // The route for `method` on `path`; else nullptr and `allow` (the methods the path takes: 405)
  // or "" (no such path: 404).
  const Route* Find(std::string_view method, std::string_view path, std::string& allow) const;
  // The body limit for a request to `target` (path and query) with `method`: its route's, else
  // the server's.
  uint64_t BodyLimitFor(std::string_view method, std::string_view target) const;
  // The largest body any route takes: the parser's limit until the request's route is known.
  uint64_t LargestBodyLimit() const;

  const HttpServerOptions options;
  const std::vector<Route> routes;
  const HttpServer::Log log;
  std::string where;  // ADDRESS:PORT as configured, for logs
  http_detail::tcp::acceptor acceptor;
  boost::asio::steady_timer backoff;
  bool started = false;
  bool stopped = false;
  bool saturated = false;  // at max_connections; logged once per episode
  // The live connections; each removes itself when destroyed.
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
};

// One connection: read a request, hand it to its route, write the answer, repeat while keep-alive
// allows; then half-close, drain briefly, close. Kept alive by its pending operation's handler
// (while a handler works on a request: by the handler timer's). Loop only, but for the `respond`
// callables it hands out.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<HttpServerState> state, http_detail::tcp::socket socket,
          std::string peer);
  ~Session();

  void Run();
  // Closes the socket and stops waiting for a handler: nothing follows.
  void Close();

  // Waiting for (or reading) a request, or lingering after the last answer: it may be closed to
  // make room for a new connection.
  bool Idle() const { return !closed_ && (stage_ == kReading || stage_ == kLingering); }
  http_detail::Clock::time_point idle_since() const { return since_; }
  const std::string& peer() const { return peer_; }
  bool closed() const { return closed_; }

 private:
  enum Stage { kReading, kHandling, kWriting, kLingering };
  void EnterStage(Stage stage);
  void ReadRequest();
  void OnHeader(boost::beast::error_code ec);
  void ReadBody();
  void OnReadError(boost::beast::error_code ec);
  void OnRequest();
  Respond MakeRespond(uint64_t generation);
  // Answers request `generation` (once; a late or second answer does nothing).
  void Finish(uint64_t generation, HttpResponse response);
  void Write(http_detail::Response response, bool keep_alive);
  void OnWritten(boost::beast::error_code ec, bool keep_alive);
  void Linger();
  void OnLinger(boost::beast::error_code ec, size_t n);

  std::shared_ptr<HttpServerState> state_;
  boost::beast::tcp_stream stream_;
  const std::string peer_;  // ADDRESS:PORT, for logs
  const http_detail::Clock::time_point deadline_;
  http_detail::Clock::time_point since_;          // when the current stage began
  http_detail::Clock::time_point request_start_;  // when the wait for this request began
  Stage stage_ = kReading;
  boost::beast::flat_buffer buffer_;
  std::optional<http_detail::http::request_parser<http_detail::http::string_body>> parser_;
  http_detail::Response response_;  // the response being written
  boost::asio::steady_timer handler_timer_;
  uint64_t generation_ = 0;  // the request being handled
  int requests_ = 0;
  size_t lingered_ = 0;
  bool closed_ = false;
  std::array<char, 4096> discard_;
};

}  // namespace followup::service
