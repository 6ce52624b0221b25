#include "service/http_session.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>

#include "service/http_parse.h"

namespace followup::service {

using namespace http_detail;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// After an error response (or Connection: close) the server half-closes and reads what the client
// still sends, for at most this long and this much, before closing: closing with unread input
// would reset the connection and could destroy the response before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 256 * 1024;
// What a read asks the socket for at most (Beast reads up to 64 KiB into the buffer at a time).
constexpr size_t kReadChunkBytes = 64 * 1024;

Response ToBeast(HttpResponse in, unsigned version) {
  Response response{static_cast<http::status>(in.status), version};
  response.set(http::field::content_type, in.content_type);
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : in.headers) response.set(name, value);
  response.body() = std::move(in.body);
  response.prepare_payload();
  return response;
}

}  // namespace

Session::Session(std::shared_ptr<HttpServerState> state, tcp::socket socket, std::string peer)
    : state_(std::move(state)),
      stream_(std::move(socket)),
      peer_(std::move(peer)),
      deadline_(Clock::now() + state_->options.connection_timeout),
      since_(Clock::now()),
      // The parser bounds what it keeps; this bounds what one read may leave unparsed.
      buffer_(state_->options.header_limit_bytes + kReadChunkBytes),
      handler_timer_(stream_.get_executor()) {}

Session::~Session() { state_->sessions.erase(this); }

void Session::Run() {
  state_->sessions.emplace(this, weak_from_this());
  ReadRequest();
}

void Session::Close() {
  if (closed_) return;
  closed_ = true;
  stream_.close();
  handler_timer_.cancel();
}

void Session::EnterStage(Stage stage) {
  stage_ = stage;
  since_ = Clock::now();
}

void Session::ReadRequest() {
  if (Clock::now() >= deadline_) return Close();
  EnterStage(kReading);
  parser_.emplace();
  ConfigureRequestParser(*parser_,
                         {state_->options.header_limit_bytes, state_->LargestBodyLimit()});
  request_start_ = Clock::now();
  auto header_time = std::min(state_->options.header_timeout, state_->options.read_timeout);
  stream_.expires_at(std::min(request_start_ + header_time, deadline_));
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void Session::OnHeader(beast::error_code ec) {
  if (closed_) return;
  if (ec) return OnReadError(ec);
  // The body (and the 100 Continue before it) within what is left of the whole request's time.
  stream_.expires_at(std::min(request_start_ + state_->options.read_timeout, deadline_));
  const Request& request = parser_->get();
  // Now that the route is known, its own limit: from Content-Length at once, else (chunked) as
  // the body arrives.
  const uint64_t limit = state_->BodyLimitFor(request.method_string(), request.target());
  if (parser_->content_length().value_or(0) > limit) return OnReadError(http::error::body_limit);
  parser_->body_limit(limit);
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

void Session::ReadBody() {
  if (parser_->is_done()) return OnRequest();
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     if (self->closed_) return;
                     if (ec) return self->OnReadError(ec);
                     self->OnRequest();
                   });
}

void Session::OnReadError(beast::error_code ec) {
  if (ec == asio::error::operation_aborted) return Close();
  bool got_some = parser_->got_some();
  if (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == asio::error::eof ||
      (ec == http::error::partial_message)) {
    return Close();  // the client went away
  }
  if (ec == beast::error::timeout) {
    // The stream has closed the socket. Waiting for the next request on a kept-alive connection
    // is not worth a log line; a request that does not arrive in time is.
    if (got_some) {
      state_->Log("http read request from " + peer_ + ": timed out (header timeout " +
                  std::to_string(state_->options.header_timeout.count()) + " ms, read timeout " +
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
  int status = 400;
  if (ec == http::error::body_limit) status = 413;
  if (ec == http::error::header_limit) status = 431;
  state_->Log("http read request from " + peer_ + ": " + ec.message());
  Write(ToBeast(TextResponse(
                    status,
                    std::string(http::obsolete_reason(static_cast<http::status>(status))) + "\n"),
                11),
        false);
}

void Session::OnRequest() {
  ++requests_;
  EnterStage(kHandling);
  const uint64_t generation = ++generation_;
  const Request& raw = parser_->get();
  HttpRequest request = ToHttpRequest(raw, peer_);
  std::string allow;
  const bool head = raw.method() == http::verb::head;
  const Route* route = state_->Find(head ? "GET" : request.method, request.path, allow);
  if (!route) {
    if (allow.empty()) return Finish(generation, TextResponse(404, "not found\n"));
    HttpResponse response = TextResponse(405, "method not allowed\n");
    response.headers.emplace_back("Allow", allow);
    return Finish(generation, std::move(response));
  }
  // A handler that never answers gets an answer for it.
  handler_timer_.expires_after(state_->options.handler_timeout);
  handler_timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
    if (ec) return;
    self->state_->Log("http " + std::string(self->parser_->get().method_string()) + " from " +
                      self->peer_ + ": no answer within the handler timeout");
    self->Finish(generation, TextResponse(503, "no answer in time; please try again later\n"));
  });
  auto failed = [&](const std::string& why) {
    state_->Log("http " + request.method + " " + request.path + " from " + peer_ +
                ": handler failed: " + why);
    Finish(generation, TextResponse(500, "internal error\n"));
  };
  try {
    route->handler(request, MakeRespond(generation));
  } catch (const std::exception& e) {
    failed(e.what());
  } catch (...) {
    failed("unknown exception");
  }
}

Respond Session::MakeRespond(uint64_t generation) {
  auto once = std::make_shared<std::atomic<bool>>(false);
  std::weak_ptr<Session> weak = weak_from_this();
  auto executor = stream_.get_executor();
  return [once, weak, executor, generation](HttpResponse response) {
    if (once->exchange(true)) return;
    asio::post(executor, [weak, generation, response = std::move(response)]() mutable {
      if (auto self = weak.lock()) self->Finish(generation, std::move(response));
    });
  };
}

void Session::Finish(uint64_t generation, HttpResponse answer) {
  if (closed_ || stage_ != kHandling || generation != generation_) return;
  handler_timer_.cancel();
  const Request& request = parser_->get();
  Response response = ToBeast(std::move(answer), request.version());
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

void Session::Write(Response response, bool keep_alive) {
  EnterStage(kWriting);
  response_ = std::move(response);
  response_.keep_alive(keep_alive);
  stream_.expires_at(std::min(Clock::now() + state_->options.write_timeout, deadline_));
  http::async_write(stream_, response_,
                    [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                      self->OnWritten(ec, keep_alive);
                    });
}

void Session::OnWritten(beast::error_code ec, bool keep_alive) {
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

void Session::Linger() {
  EnterStage(kLingering);
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return Close();
  stream_.expires_at(std::min(Clock::now() + kLingerTime, deadline_));
  OnLinger({}, 0);
}

void Session::OnLinger(beast::error_code ec, size_t n) {
  if (closed_) return;
  lingered_ += n;
  if (ec || lingered_ > kLingerBytes) return Close();
  stream_.async_read_some(
      asio::buffer(discard_),
      [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnLinger(ec, n); });
}

}  // namespace followup::service
