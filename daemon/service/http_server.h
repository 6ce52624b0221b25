// The daemon's small HTTP/1.1 server (Boost.Beast): health, metrics and one-click unsubscribe.
//
//   GET|HEAD  /healthz       200 "ok\n" when handlers.health says healthy, else 503 "REASON\n"
//   GET|HEAD  /metrics       200, Content-Type text/plain; version=0.0.4, body from
//   handlers.metrics GET|HEAD  /unsubscribe?Q an HTML page whose form POSTs to the same URL;
//   changes nothing (mail
//                            scanners and link previews fetch links, so a GET must never
//                            unsubscribe)
//   POST      /unsubscribe?Q RFC 8058 one-click: the body must carry List-Unsubscribe=One-Click, as
//                            application/x-www-form-urlencoded or multipart/form-data (no
//                            Content-Type: read as urlencoded). Then handlers.unsubscribe(Q): 200
//                            "You are unsubscribed.\n" on success; 400 with the error for
//                            kInvalidInput, kNotFound and kUsage (bad or forged token), 503 for
//                            kRuntime (store down: the mail receiver retries); 400 without calling
//                            it when the body lacks List-Unsubscribe=One-Click.
//   a known path, another method: 405 with Allow;  any other path: 404.
//   Q is the raw query string (after '?', not decoded), as delivery/unsubscribe.h's links carry it
//   (c=CUSTOMER&t=TOKEN) and VerifyUnsubscribe takes it.
//
// Everything from the network is bounded: request header (start line + fields) to
// header_limit_bytes (else 431), body to body_limit_bytes (else 413, decided from Content-Length
// before the body is read), a whole request (including waiting for it on a kept-alive connection)
// to read_timeout, writing a response to write_timeout, a connection's whole life to
// connection_timeout and max_requests_per_connection, and live connections to max_connections (one
// more is closed as soon as it is accepted). A connection that sends something unparseable gets
// 400 (or 413/431) and is closed; one that times out is closed without a response. Handlers that
// throw give 500. Expect: 100-continue is answered. Responses carry Cache-Control: no-store.
//
// Thread safety: loop only. The server runs on the caller's io_context; the caller runs it (one
// thread) and calls Start and Stop from that thread, or before run() starts / after it returns.
// The handlers are called on the loop and must not block for long.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace followup::service {

struct HttpHandlers {
  // Healthy?, and the reason when not (the 503 body). Unset: /healthz is 404.
  std::function<std::pair<bool, std::string>()> health;
  // The Prometheus text exposition body (see PrometheusMetric). Unset: /metrics is 404.
  std::function<std::string()> metrics;
  // Verifies the query and records the unsubscribe (idempotent); returns the customer's external
  // id, or an Error (kInvalidInput for a bad or forged token). Unset: /unsubscribe is 404.
  std::function<Result<std::string>(std::string_view query)> unsubscribe;
  // One line per failure worth an operator's attention, naming the operation ("http listen ...",
  // "http accept ...", "http read request from PEER: ..."). Unset: written to stderr.
  std::function<void(std::string_view message)> log;
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // a numeric IPv4 or IPv6 address
  uint16_t port = 8025;               // 0: any free port (Start returns it)
  size_t max_connections = 64;        // live connections; more are closed on accept
  uint32_t header_limit_bytes = 8 * 1024;
  uint64_t body_limit_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout{10'000};        // wait for + read one whole request
  std::chrono::milliseconds write_timeout{10'000};       // write one response
  std::chrono::milliseconds connection_timeout{60'000};  // a connection's whole life
  int max_requests_per_connection = 100;                 // then Connection: close
};

struct HttpServerState;  // the server's internals, shared with its connections (http_server.cpp)

class HttpServer {
 public:
  // Borrows `io` for the server's whole life; nothing happens until Start.
  HttpServer(boost::asio::io_context& io, HttpServerOptions options, HttpHandlers handlers);
  // The same with the default options for everything but the address and port.
  HttpServer(boost::asio::io_context& io, std::string address, uint16_t port,
             HttpHandlers handlers);
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

  // Closes the acceptor and every connection (requests in flight are dropped; the handlers run
  // synchronously, so none is half-done) and cancels the server's timers, so that io.run() returns
  // as soon as the rest of the program's work is done. Idempotent.
  void Stop();

  // Live connections (for tests and metrics).
  size_t connections() const;

 private:
  std::shared_ptr<HttpServerState> state_;  // shared with the connections' pending operations
};

// One metric family in the Prometheus text exposition format (version 0.0.4):
//
//   # HELP NAME HELP
//   # TYPE NAME TYPE
//   NAME{label="value",...} VALUE     (one line per sample; no braces when it has no labels)
//
// HELP escapes '\' and newline; label values escape '\', '"' and newline. Characters not allowed
// in a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or a label name ([a-zA-Z_][a-zA-Z0-9_]*) become '_'.
// Values: integers up to 2^53 in plain digits, other numbers in the shortest form that reads back
// exactly, NaN, +Inf and -Inf. `type` is counter, gauge, untyped, ... (written as given). Pure.
std::string PrometheusMetric(
    std::string_view name, std::string_view type, std::string_view help,
    const std::vector<std::pair<std::map<std::string, std::string>, double>>& samples);

}  // namespace followup::service
