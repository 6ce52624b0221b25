#include "service/http_server.h"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <unordered_map>

#include "base/url.h"

namespace followup::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// After an error response (or Connection: close) the server half-closes and reads what the client
// still sends, for at most this long and this much, before closing: closing with unread input
// would reset the connection and could destroy the response before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 256 * 1024;
// What a read asks the socket for at most (Beast reads up to 64 KiB into the buffer at a time).
constexpr size_t kReadChunkBytes = 64 * 1024;
// Accepting again after a failure the acceptor cannot fix by itself (out of file descriptors).
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

std::string EndpointString(const std::string& address, uint16_t port) {
  if (address.find(':') != std::string::npos) {
    return "[" + address + "]:" + std::to_string(port);
  }
  return address + ":" + std::to_string(port);
}

std::string EndpointString(const tcp::endpoint& endpoint) {
  return EndpointString(endpoint.address().to_string(), endpoint.port());
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits "a; b; c" at `sep` (no quoting; enough for the parameters read here).
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// The value of parameter `name` (case-insensitive) in "type; a=1; b="2"", unquoted; nullopt if
// absent.
std::optional<std::string> HeaderParameter(std::string_view header, std::string_view name) {
  std::vector<std::string_view> parts = Split(header, ';');
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = Trim(parts[i]);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (!beast::iequals(Trim(part.substr(0, eq)), name)) continue;
    std::string_view value = Trim(part.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      std::string unquoted;
      for (size_t j = 1; j + 1 < value.size(); ++j) {
        if (value[j] == '\\' && j + 2 < value.size()) ++j;
        unquoted += value[j];
      }
      return unquoted;
    }
    return std::string(value);
  }
  return std::nullopt;
}

std::string_view MediaType(std::string_view content_type) {
  return Trim(content_type.substr(0, content_type.find(';')));
}

bool IsOneClick(std::string_view key, std::string_view value) {
  return key == "List-Unsubscribe" && Trim(value) == "One-Click";
}

bool UrlencodedHasOneClick(std::string_view body) {
  for (std::string_view pair : Split(Trim(body), '&')) {
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::optional<std::string> key = FormDecode(pair.substr(0, eq));
    std::optional<std::string> value = FormDecode(pair.substr(eq + 1));
    if (key && value && IsOneClick(*key, *value)) return true;
  }
  return false;
}

// RFC 7578: parts separated by CRLF--BOUNDARY, each with header lines, an empty line, content.
bool MultipartHasOneClick(std::string_view body, std::string_view content_type) {
  std::optional<std::string> boundary = HeaderParameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) return false;
  const std::string delimiter = "--" + *boundary;
  const std::string next_delimiter = "\r\n" + delimiter;
  size_t pos = body.find(delimiter);
  if (pos != 0 && pos != std::string_view::npos) {
    // The preamble must end in CRLF right before the first delimiter.
    pos = body.find(next_delimiter);
    if (pos != std::string_view::npos) pos += 2;
  }
  while (pos != std::string_view::npos) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return false;  // the close delimiter
    size_t line_end = body.find("\r\n", pos);       // transport padding, then CRLF
    if (line_end == std::string_view::npos) return false;
    size_t headers_start = line_end + 2;
    size_t content_start;
    std::string_view headers;
    if (body.substr(headers_start, 2) == "\r\n") {
      content_start = headers_start + 2;
    } else {
      size_t headers_end = body.find("\r\n\r\n", headers_start);
      if (headers_end == std::string_view::npos) return false;
      headers = body.substr(headers_start, headers_end - headers_start);
      content_start = headers_end + 4;
    }
    size_t content_end = body.find(next_delimiter, content_start);
    if (content_end == std::string_view::npos) return false;
    std::string_view content = body.substr(content_start, content_end - content_start);
    for (std::string_view line : Split(headers, '\n')) {
      line = Trim(line);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      if (!beast::iequals(Trim(line.substr(0, colon)), "Content-Disposition")) continue;
      std::optional<std::string> name = HeaderParameter(line.substr(colon + 1), "name");
      if (name && IsOneClick(*name, content)) return true;
    }
    pos = content_end + 2;
  }
  return false;
}

// Whether a POST body carries List-Unsubscribe=One-Click (RFC 8058 3.2).
bool HasOneClick(const Request& request) {
  std::string_view content_type = request[http::field::content_type];
  std::string_view media_type = MediaType(content_type);
  if (beast::iequals(media_type, "multipart/form-data")) {
    return MultipartHasOneClick(request.body(), content_type);
  }
  if (media_type.empty() || beast::iequals(media_type, "application/x-www-form-urlencoded")) {
    return UrlencodedHasOneClick(request.body());
  }
  return false;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The GET page: a form that POSTs the one-click body back to the same URL. The action is the
// query alone (a relative reference), so that the page works behind a proxy that moves the path.
std::string ConfirmationPage(std::string_view query) {
  return "<!DOCTYPE html>\n"
         "<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"robots\" content=\"noindex\"><title>Unsubscribe</title></head>\n"
         "<body><h1>Unsubscribe</h1>\n"
         "<p>Stop all follow-up emails to this address?</p>\n"
         "<form method=\"post\" action=\"?" +
         HtmlEscape(query) +
         "\">"
         "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
         "<button type=\"submit\">Unsubscribe</button></form>\n"
         "</body></html>\n";
}

Response MakeResponse(http::status status, unsigned version, std::string_view content_type,
                      std::string body) {
  Response response{status, version};
  response.set(http::field::content_type, content_type);
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response Text(http::status status, unsigned version, std::string body) {
  return MakeResponse(status, version, "text/plain; charset=utf-8", std::move(body));
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) <= 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(value));
  }
  std::array<char, 64> buffer;
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes
  return std::string(buffer.data(), end);
}

std::string SanitizedName(std::string_view name, bool allow_colon) {
  std::string out(name);
  for (size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) out[i] = '_';
  }
  if (out.empty()) out = "_";
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class Session;

struct HttpServerState {
  HttpServerState(asio::io_context& io, HttpServerOptions o, HttpHandlers h)
      : options(std::move(o)), handlers(std::move(h)), acceptor(io), backoff(io) {}

  void Log(const std::string& message) const {
    if (handlers.log) {
      try {
        handlers.log(message);
        return;
      } catch (...) {
        // A logger that throws must not take the loop down; fall back to stderr.
      }
    }
    std::fprintf(stderr, "%s\n", message.c_str());
  }

  void Accept(const std::shared_ptr<HttpServerState>& self);
  void OnAccept(const std::shared_ptr<HttpServerState>& self, beast::error_code ec,
                tcp::socket socket);
  Response Handle(const Request& request, const std::string& peer) const;
  Response HandleUnsubscribe(const Request& request, std::string_view query,
                             const std::string& peer) const;

  const HttpServerOptions options;
  const HttpHandlers handlers;
  std::string where;  // ADDRESS:PORT as configured, for logs
  tcp::acceptor acceptor;
  asio::steady_timer backoff;
  bool started = false;
  bool stopped = false;
  bool saturated = false;  // at max_connections; logged once per episode
  // The live connections; each removes itself when destroyed. Loop only.
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
};

// One connection: read a request, answer it, repeat while keep-alive allows; then half-close,
// drain briefly, close. Kept alive by its pending operation's handler; loop only.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<HttpServerState> state, tcp::socket socket, std::string peer)
      : state_(std::move(state)),
        stream_(std::move(socket)),
        peer_(std::move(peer)),
        deadline_(Clock::now() + state_->options.connection_timeout),
        // The parser bounds what it keeps; this bounds what one read may leave unparsed.
        buffer_(state_->options.header_limit_bytes + kReadChunkBytes) {}

  ~Session() { state_->sessions.erase(this); }

  void Run() {
    state_->sessions.emplace(this, weak_from_this());
    ReadRequest();
  }

  // Closes the socket: the pending operation completes with operation_aborted and nothing follows.
  void Close() {
    if (closed_) return;
    closed_ = true;
    stream_.close();
  }

 private:
  void Expire(std::chrono::milliseconds timeout) {
    stream_.expires_at(std::min(Clock::now() + timeout, deadline_));
  }

  void ReadRequest() {
    if (Clock::now() >= deadline_) return Close();
    parser_.emplace();
    parser_->header_limit(state_->options.header_limit_bytes);
    parser_->body_limit(state_->options.body_limit_bytes);
    Expire(state_->options.read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (closed_) return;
    if (ec) return OnReadError(ec);
    const Request& request = parser_->get();
    if (!parser_->is_done() && request.version() >= 11 &&
        beast::iequals(request[http::field::expect], "100-continue")) {
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (self->closed_) return;
                          if (ec) return self->OnReadError(ec);
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnRequest();
    // The expiry set for the header covers the body too: one deadline for the whole request.
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (self->closed_) return;
                       if (ec) return self->OnReadError(ec);
                       self->OnRequest();
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == asio::error::operation_aborted) return Close();
    bool got_some = parser_->got_some();
    if (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
        ec == asio::error::broken_pipe || ec == asio::error::eof ||
        (ec == http::error::partial_message)) {
      return Close();  // the client went away
    }
    if (ec == beast::error::timeout) {
      // The stream has closed the socket. Waiting for the next request on a kept-alive
      // connection is not worth a log line; a request that does not arrive in time is.
      if (got_some) {
        state_->Log("http read request from " + peer_ + ": timed out (read timeout " +
                    std::to_string(state_->options.read_timeout.count()) +
                    " ms, or the connection's time limit)");
      }
      return Close();
    }
    if (ec.category() != beast::error_code(http::error::bad_method).category()) {
      // Not a parse error but a socket failure: nothing to answer.
      state_->Log("http read request from " + peer_ + ": " + ec.message());
      return Close();
    }
    http::status status = http::status::bad_request;
    if (ec == http::error::body_limit) status = http::status::payload_too_large;
    if (ec == http::error::header_limit) status = http::status::request_header_fields_too_large;
    state_->Log("http read request from " + peer_ + ": " + ec.message());
    Write(Text(status, 11, std::string(obsolete_reason(status)) + "\n"), false);
  }

  void OnRequest() {
    ++requests_;
    const Request& request = parser_->get();
    Response response = state_->Handle(request, peer_);
    if (request.method() == http::verb::head) {
      // The header a GET would get, without the body (whatever the status).
      size_t length = response.body().size();
      response.body().clear();
      response.content_length(length);
    }
    bool keep_alive = request.keep_alive() && !state_->stopped &&
                      requests_ < state_->options.max_requests_per_connection &&
                      Clock::now() < deadline_;
    Write(std::move(response), keep_alive);
  }

  void Write(Response response, bool keep_alive) {
    response_ = std::move(response);
    response_.keep_alive(keep_alive);
    Expire(state_->options.write_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->OnWritten(ec, keep_alive);
                      });
  }

  void OnWritten(beast::error_code ec, bool keep_alive) {
    if (closed_) return;
    if (ec) {
      if (ec != asio::error::connection_reset && ec != asio::error::broken_pipe) {
        state_->Log("http write response to " + peer_ + ": " + ec.message());
      }
      return Close();
    }
    response_ = {};
    if (keep_alive) return ReadRequest();
    Linger();
  }

  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_at(std::min(Clock::now() + kLingerTime, deadline_));
    OnLinger({}, 0);
  }

  void OnLinger(beast::error_code ec, size_t n) {
    if (closed_) return;
    lingered_ += n;
    if (ec || lingered_ > kLingerBytes) return Close();
    stream_.async_read_some(
        asio::buffer(discard_),
        [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnLinger(ec, n); });
  }

  std::shared_ptr<HttpServerState> state_;
  beast::tcp_stream stream_;
  const std::string peer_;  // ADDRESS:PORT, for logs
  const Clock::time_point deadline_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;  // the request being read
  Response response_;                                              // the response being written
  int requests_ = 0;
  size_t lingered_ = 0;
  bool closed_ = false;
  std::array<char, 4096> discard_;
};

void HttpServerState::Accept(const std::shared_ptr<HttpServerState>& self) {
  if (stopped) return;
  acceptor.async_accept([self](beast::error_code ec, tcp::socket socket) {
    self->OnAccept(self, ec, std::move(socket));
  });
}

void HttpServerState::OnAccept(const std::shared_ptr<HttpServerState>& self, beast::error_code ec,
                               tcp::socket socket) {
  if (stopped || ec == asio::error::operation_aborted) return;
  if (ec) {
    Log("http accept on " + where + ": " + ec.message());
    if (ec == asio::error::connection_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::interrupted || ec == asio::error::try_again) {
      return Accept(self);
    }
    // Out of descriptors or buffers: accepting again at once would spin.
    backoff.expires_after(kAcceptBackoff);
    backoff.async_wait([self](beast::error_code ec) {
      if (!ec) self->Accept(self);
    });
    return;
  }
  beast::error_code peer_ec;
  tcp::endpoint remote = socket.remote_endpoint(peer_ec);
  std::string peer = peer_ec ? std::string("unknown peer") : EndpointString(remote);
  if (sessions.size() >= options.max_connections) {
    if (!saturated) {
      Log("http accept on " + where + ": " + std::to_string(options.max_connections) +
          " connections open, closing new ones (first: " + peer + ")");
      saturated = true;
    }
    beast::error_code close_ec;
    socket.close(close_ec);
    return Accept(self);
  }
  saturated = false;
  std::make_shared<Session>(self, std::move(socket), std::move(peer))->Run();
  Accept(self);
}

Response HttpServerState::Handle(const Request& request, const std::string& peer) const {
  const unsigned version = request.version();
  std::string_view target = request.target();
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
  const http::verb method = request.method();
  const bool get = method == http::verb::get || method == http::verb::head;

  auto method_not_allowed = [&](std::string_view allow) {
    Response response = Text(http::status::method_not_allowed, version, "method not allowed\n");
    response.set(http::field::allow, allow);
    return response;
  };

  Response response;
  try {
    if (path == "/healthz" && handlers.health) {
      if (!get) return method_not_allowed("GET, HEAD");
      auto [healthy, reason] = handlers.health();
      response = healthy ? Text(http::status::ok, version, "ok\n")
                         : Text(http::status::service_unavailable, version, reason + "\n");
    } else if (path == "/metrics" && handlers.metrics) {
      if (!get) return method_not_allowed("GET, HEAD");
      response = MakeResponse(http::status::ok, version, "text/plain; version=0.0.4; charset=utf-8",
                              handlers.metrics());
    } else if (path == "/unsubscribe" && handlers.unsubscribe) {
      if (method == http::verb::post) return HandleUnsubscribe(request, query, peer);
      if (!get) return method_not_allowed("GET, HEAD, POST");
      response = MakeResponse(http::status::ok, version, "text/html; charset=utf-8",
                              ConfirmationPage(query));
      response.set("Content-Security-Policy",
                   "default-src 'none'; form-action 'self'; frame-ancestors 'none'");
      response.set("Referrer-Policy", "no-referrer");
    } else {
      return Text(http::status::not_found, version, "not found\n");
    }
  } catch (const std::exception& e) {
    Log("http " + std::string(request.method_string()) + " " + std::string(path) + " from " + peer +
        ": handler failed: " + e.what());
    return Text(http::status::internal_server_error, version, "internal error\n");
  } catch (...) {
    Log("http " + std::string(request.method_string()) + " " + std::string(path) + " from " + peer +
        ": handler failed: unknown exception");
    return Text(http::status::internal_server_error, version, "internal error\n");
  }
  return response;
}

Response HttpServerState::HandleUnsubscribe(const Request& request, std::string_view query,
                                            const std::string& peer) const {
  const unsigned version = request.version();
  if (!HasOneClick(request)) {
    return Text(http::status::bad_request, version,
                "This is not a one-click unsubscribe request: the form field "
                "List-Unsubscribe=One-Click is missing.\n");
  }
  Result<std::string> customer = handlers.unsubscribe(query);  // Handle catches exceptions
  if (customer) {
    return Text(http::status::ok, version, "You are unsubscribed.\n");
  }
  const Error& error = customer.error();
  if (error.code == ErrorCode::kRuntime) {
    Log("http unsubscribe from " + peer + ": " + error.ToString());
    return Text(http::status::service_unavailable, version,
                "Unsubscribing failed for now; please try again later.\n");
  }
  Log("http unsubscribe from " + peer + ": refused: " + error.ToString());
  return Text(http::status::bad_request, version,
              "This unsubscribe link is not valid: " + error.message + "\n");
}

// ---------------------------------------------------------------------------------------------

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options, HttpHandlers handlers)
    : state_(std::make_shared<HttpServerState>(io, std::move(options), std::move(handlers))) {
  state_->where = EndpointString(state_->options.address, state_->options.port);
}

HttpServer::HttpServer(asio::io_context& io, std::string address, uint16_t port,
                       HttpHandlers handlers)
    : HttpServer(
          io,
          [&] {
            HttpServerOptions options;
            options.address = std::move(address);
            options.port = port;
            return options;
          }(),
          std::move(handlers)) {}

HttpServer::~HttpServer() { Stop(); }

Result<uint16_t> HttpServer::Start() {
  HttpServerState& s = *state_;
  const std::string what = "http listen " + s.where + ": ";
  if (s.started || s.stopped) return RuntimeFailure(what + "already started");
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(s.options.address, ec);
  if (ec) return InvalidInput(what + "not an IP address");
  tcp::endpoint endpoint(address, s.options.port);
  auto fail = [&](const beast::error_code& ec) {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    return RuntimeFailure(what + ec.message());
  };
  if (s.acceptor.open(endpoint.protocol(), ec); ec) return fail(ec);
  if (s.acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) return fail(ec);
  if (s.acceptor.bind(endpoint, ec); ec) return fail(ec);
  if (s.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return fail(ec);
  tcp::endpoint bound = s.acceptor.local_endpoint(ec);
  if (ec) return fail(ec);
  s.started = true;
  s.where = EndpointString(s.options.address, bound.port());
  s.Accept(state_);
  return bound.port();
}

void HttpServer::Stop() {
  HttpServerState& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  beast::error_code ec;
  s.acceptor.close(ec);
  s.backoff.cancel();
  std::vector<std::shared_ptr<Session>> live;
  live.reserve(s.sessions.size());
  for (auto& [session, weak] : s.sessions) {
    if (auto strong = weak.lock()) live.push_back(std::move(strong));
  }
  for (auto& session : live) session->Close();
}

size_t HttpServer::connections() const { return state_->sessions.size(); }

// ---------------------------------------------------------------------------------------------

std::string PrometheusMetric(
    std::string_view name, std::string_view type, std::string_view help,
    const std::vector<std::pair<std::map<std::string, std::string>, double>>& samples) {
  const std::string metric = SanitizedName(name, true);
  std::string out = "# HELP " + metric;
  if (!help.empty()) out += ' ';
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += "\n# TYPE " + metric + " " + std::string(type) + "\n";
  for (const auto& [labels, value] : samples) {
    out += metric;
    if (!labels.empty()) {
      out += '{';
      bool first = true;
      for (const auto& [label, label_value] : labels) {
        if (!first) out += ',';
        first = false;
        out += SanitizedName(label, false);
        out += "=\"";
        for (char c : label_value) {
          if (c == '\\') {
            out += "\\\\";
          } else if (c == '"') {
            out += "\\\"";
          } else if (c == '\n') {
            out += "\\n";
          } else {
            out += c;
          }
        }
        out += '"';
      }
      out += '}';
    }
    out += ' ';
    out += FormatValue(value);
    out += '\n';
  }
  return out;
}

}  // namespace followup::service
