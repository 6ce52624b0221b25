#include "service/http_server.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <cstdio>

#include "service/http_session.h"

namespace followup::service {

using namespace http_detail;

namespace {

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

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [n, value] : headers)
    if (beast::iequals(n, name)) return value;
  return {};
}

HttpResponse TextResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

void HttpServerState::Log(const std::string& message) const {
  if (log) {
    try {
      log(message);
      return;
    } catch (...) {
      // A logger that throws must not take the loop down; fall back to stderr.
    }
  }
  std::fprintf(stderr, "%s\n", message.c_str());
}

const Route* HttpServerState::Find(std::string_view method, std::string_view path,
                                   std::string& allow) const {
  allow.clear();
  for (const Route& route : routes) {
    if (route.path != path) continue;
    if (route.method == method) return &route;
    allow += (allow.empty() ? "" : ", ") + route.method;
    if (route.method == "GET") allow += ", HEAD";
  }
  return nullptr;
}

uint64_t HttpServerState::BodyLimitFor(std::string_view method, std::string_view target) const {
  std::string allow;
  const Route* route =
      Find(method == "HEAD" ? "GET" : method, target.substr(0, target.find('?')), allow);
  return route && route->body_limit_bytes > 0 ? route->body_limit_bytes : options.body_limit_bytes;
}

uint64_t HttpServerState::LargestBodyLimit() const {
  uint64_t largest = options.body_limit_bytes;
  for (const Route& route : routes) largest = std::max(largest, route.body_limit_bytes);
  return largest;
}

void HttpServerState::Accept(const std::shared_ptr<HttpServerState>& self) {
  if (stopped) return;
  acceptor.async_accept([self](beast::error_code ec, tcp::socket socket) {
    self->OnAccept(self, ec, std::move(socket));
  });
}

bool HttpServerState::MakeRoom(const std::string& newcomer) {
  std::shared_ptr<Session> oldest;
  for (auto& [session, weak] : sessions) {
    auto strong = weak.lock();
    if (!strong || !strong->Idle()) continue;
    if (!oldest || strong->idle_since() < oldest->idle_since()) oldest = std::move(strong);
  }
  if (!saturated) {
    Log("http accept on " + where + ": " + std::to_string(options.max_connections) +
        " connections open; " +
        (oldest ? "closing the one idle longest (first: " + oldest->peer() + ") for new ones"
                : "all busy with requests, closing new ones (first: " + newcomer + ")"));
    saturated = true;
  }
  if (!oldest) return false;
  oldest->Close();  // it leaves `sessions` once its pending operation has ended
  return true;
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
  size_t open = 0;  // closed ones leave `sessions` once their pending operation has ended
  for (auto& [session, weak] : sessions) open += !session->closed();
  if (open >= options.max_connections && !MakeRoom(peer)) {
    beast::error_code close_ec;
    socket.close(close_ec);
    return Accept(self);
  }
  if (open < options.max_connections) saturated = false;
  std::make_shared<Session>(self, std::move(socket), std::move(peer))->Run();
  Accept(self);
}

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options, std::vector<Route> routes,
                       Log log)
    : state_(std::make_shared<HttpServerState>(io, std::move(options), std::move(routes),
                                               std::move(log))) {
  state_->where = EndpointString(state_->options.address, state_->options.port);
}

HttpServer::HttpServer(asio::io_context& io, std::string address, uint16_t port,
                       std::vector<Route> routes, Log log)
    : HttpServer(
          io,
          [&] {
            HttpServerOptions options;
            options.address = std::move(address);
            options.port = port;
            return options;
          }(),
          std::move(routes), std::move(log)) {}

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

}  // namespace followup::service
