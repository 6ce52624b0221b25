// The daemon's HTTP/1.1 server (Boost.Beast) on its loop: a route table of (method, path) ->
// handler(request, respond) (http.h), for every page the daemon serves (endpoints.h).
//
// Routing: the path (the target before '?') and the method pick the route; HEAD is served by the
// GET route, without the body; a known path with another method is 405 with Allow; any other path
// is 404. A handler answers through `respond`, at once or later from any thread; one that has not
// answered within handler_timeout gets 503 for it, one that throws gets 500. Responses carry
// Cache-Control: no-store.
//
// Everything from the network is bounded: the request header (start line + fields) to
// header_limit_bytes (else 431) and to header_timeout from when the server starts waiting for it;
// the body to body_limit_bytes, or the route's own Route::body_limit_bytes (else 413, decided from
// Content-Length before the body is read, or as a chunked body arrives);
// the whole request to read_timeout; writing a response to write_timeout; a connection's whole life
// to connection_timeout and max_requests_per_connection; and live connections to max_connections.
// When all are taken, a new connection makes room by closing the connection that has waited
// longest for a request (or lingered longest after its last answer), so that slow or idle clients
// cannot starve new requests; only when every connection is busy with a request is the new one
// closed. A connection that sends something unparseable gets 400 (or 413/431) and is closed; one
// that times out is closed without a response. Expect: 100-continue is answered.
//
// Thread safety: loop only, but for the `respond` callables handed to handlers. The server runs
// on the caller's io_context; the caller runs it (one thread) and calls Start and Stop from that
// thread, or before run() starts / after it returns.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "service/http.h"

namespace followup::service {

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // a numeric IPv4 or IPv6 address
  uint16_t port = 8025;               // 0: any free port (Start returns it)
  size_t max_connections = 512;       // live connections (see above)
  uint32_t header_limit_bytes = 8 * 1024;
  uint64_t body_limit_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{5'000};       // wait for + read a request's header
  std::chrono::milliseconds read_timeout{10'000};        // wait for + read a whole request
  std::chrono::milliseconds handler_timeout{30'000};     // a handler's answer
  std::chrono::milliseconds write_timeout{10'000};       // write one response
  std::chrono::milliseconds connection_timeout{60'000};  // a connection's whole life
  int max_requests_per_connection = 100;                 // then Connection: close
};

struct HttpServerState;  // the server's internals, shared with its connections (http_server.cpp)

class HttpServer {
 public:
  // One line per failure worth an operator's attention, naming the operation ("http listen ...",
  // "http accept ...", "http read request from PEER: ..."). Unset: written to stderr. Loop only.
  using Log = std::function<void(std::string_view message)>;

  // Borrows `io` for the server's whole life; nothing happens until Start.
  HttpServer(boost::asio::io_context& io, HttpServerOptions options, std::vector<Route> routes,
             Log log = {});
  // The same with the default options for everything but the address and port.
  HttpServer(boost::asio::io_context& io, std::string address, uint16_t port,
             std::vector<Route> routes, Log log = {});
  // Stops (see Stop). Callbacks still queued on `io` keep the internals alive until they have run
  // (each then does nothing): destroy the server on the loop or after run() has returned, and
  // before `io`.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (SO_REUSEADDR), starts accepting, and returns the bound port. Errors name the
  // address: kInvalidInput "http listen ADDRESS:PORT: not an IP address"; kRuntime
  // "http listen 127.0.0.1:8025: Address already in use" (and the like); kRuntime when already
  // started or stopped. Call once.
  Result<uint16_t> Start();

  // Closes the acceptor and every connection (requests in flight are dropped; an answer that comes
  // later is ignored) and cancels the server's timers, so that io.run() returns as soon as the rest
  // of the program's work is done. Idempotent.
  void Stop();

  // Live connections (for tests and metrics).
  size_t connections() const;

 private:
  std::shared_ptr<HttpServerState> state_;  // shared with the connections' pending operations
};

}  // namespace followup::service
