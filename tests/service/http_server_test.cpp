#include "service/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "service/endpoints.h"
#include "service/http_parse.h"
#include "service/prometheus.h"
#include "support/sqlite_util.h"

namespace followup::service {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Response = http::response<http::string_body>;
using SteadyClock = std::chrono::steady_clock;
using testing::WaitFor;

constexpr std::string_view kGoodQuery = "c=alice%40example.com&t=GOODTOKEN";
constexpr std::string_view kOneClickBody = "List-Unsubscribe=One-Click";

// A blocking HTTP client on its own io_context; every step is bounded by a timeout so that a
// broken server fails the test instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port) : stream_(io_) {
    stream_.expires_after(5s);
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [this](beast::error_code ec) { connect_error_ = ec; });
    Run();
  }

  beast::error_code connect_error() const { return connect_error_; }

  beast::error_code Send(std::string_view raw) {
    beast::error_code result;
    stream_.expires_after(5s);
    asio::async_write(stream_, asio::buffer(raw.data(), raw.size()),
                      [&](beast::error_code ec, size_t) { result = ec; });
    Run();
    return result;
  }

  // Reads one response; `head` for the response to a HEAD request (no body follows).
  beast::error_code Read(Response& response, bool head = false) {
    beast::error_code result;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    parser.skip(head);
    stream_.expires_after(5s);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, size_t) { result = ec; });
    Run();
    if (!result) response = parser.release();
    return result;
  }

  // Reads (and drops) whatever comes until the server closes the connection; true when it does
  // within `timeout`. `received` gets the bytes read.
  bool ClosedWithin(std::chrono::milliseconds timeout, std::string* received = nullptr) {
    std::string data(buffer_.size(), '\0');
    asio::buffer_copy(asio::buffer(data), buffer_.data());
    buffer_.consume(buffer_.size());
    beast::error_code result;
    std::array<char, 4096> chunk;
    stream_.expires_after(timeout);
    std::function<void(beast::error_code, size_t)> on_read = [&](beast::error_code ec, size_t n) {
      data.append(chunk.data(), n);
      if (ec) {
        result = ec;
        return;
      }
      stream_.async_read_some(asio::buffer(chunk), on_read);
    };
    stream_.async_read_some(asio::buffer(chunk), on_read);
    Run();
    if (received) *received = data;
    return result != beast::error::timeout;
  }

 private:
  void Run() {
    io_.restart();
    io_.run();
  }

  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code connect_error_;
};

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra_headers) + "\r\n";
}

// A chunked POST of `chunks` chunks of 1,000 bytes to `target`.
std::string ChunkedPost(std::string_view target, int chunks) {
  std::string request =
      "POST " + std::string(target) +
      " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < chunks; ++i) request += "3e8\r\n" + std::string(1000, 'c') + "\r\n";
  return request + "0\r\n\r\n";
}

std::string Post(std::string_view target, std::string_view content_type, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + std::string(content_type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    EndpointHandlers handlers;
    handlers.health = [this] {
      std::lock_guard lock(mu_);
      return std::pair{healthy_, reason_};
    };
    handlers.metrics = [](std::function<void(std::string)> done) {
      done(PrometheusMetric("followup_sends_total", "counter", "Messages sent.",
                            {{{{"rule", "win-back"}}, 3}}));
    };
    handlers.unsubscribe = [this](std::string query,
                                  std::function<void(Result<std::string>)> done) {
      {
        std::lock_guard lock(mu_);
        calls_.emplace_back(query);
        if (query == kGoodQuery) unsubscribed_.push_back("alice@example.com");
      }
      // `done` may log (which takes mu_): called without holding it.
      if (query == "boom") throw std::runtime_error("store exploded");
      if (query == "busy") return done(RuntimeFailure("store unsubscribe: database is locked"));
      if (query != kGoodQuery) return done(InvalidInput("unsubscribe link: token does not match"));
      done(std::string("alice@example.com"));
    };
    auto log = [this](std::string_view message) {
      std::lock_guard lock(mu_);
      logs_.emplace_back(message);
    };
    std::vector<Route> routes = Endpoints(std::move(handlers), log);
    for (auto& route : extra_routes_) routes.push_back(std::move(route));
    server_ = std::make_unique<HttpServer>(io_, options, std::move(routes), log);
    Result<uint16_t> port = server_->Start();
    ASSERT_TRUE(port) << port.error().message;
    ASSERT_NE(*port, 0);
    port_ = *port;
    thread_ = std::thread([this] { io_.run(); });
  }

  // Stops the server from the loop and waits for run() to return; returns how long that took.
  SteadyClock::duration StopServer() {
    if (!thread_.joinable()) return {};
    auto start = SteadyClock::now();
    asio::post(io_, [this] { server_->Stop(); });
    thread_.join();
    return SteadyClock::now() - start;
  }

  void TearDown() override { StopServer(); }

  // Sends `raw` on a new connection and reads the response.
  Response Fetch(const std::string& raw, bool head = false) {
    Client client(port_);
    EXPECT_FALSE(client.connect_error()) << client.connect_error().message();
    EXPECT_FALSE(client.Send(raw));
    Response response;
    beast::error_code ec = client.Read(response, head);
    EXPECT_FALSE(ec) << ec.message();
    return response;
  }

  // Sends `raw` on a new connection: the server answers `status` (or closes without an answer)
  // and closes the connection.
  void ExpectRefused(const std::string& raw, http::status status) {
    Client client(port_);
    client.Send(raw);
    Response response;
    if (!client.Read(response)) {
      EXPECT_EQ(response.result(), status);
    }  // else the server closed the connection: fine too
    EXPECT_TRUE(client.ClosedWithin(3s));
  }

  size_t Connections() {
    std::promise<size_t> count;
    asio::post(io_, [&] { count.set_value(server_->connections()); });
    return count.get_future().get();
  }

  std::vector<std::string> Calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<std::string> Logs() {
    std::lock_guard lock(mu_);
    return logs_;
  }
  bool Logged(std::string_view part) {
    for (const std::string& line : Logs()) {
      if (line.find(part) != std::string::npos) return true;
    }
    return false;
  }
  // For logs written after the client has seen the effect (a timeout closes the socket first).
  bool EventuallyLogged(std::string_view part) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (Logged(part)) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  asio::io_context io_;
  std::vector<Route> extra_routes_;  // served besides the endpoints
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;

  std::mutex mu_;
  bool healthy_ = true;
  std::string reason_;
  std::vector<std::string> calls_;
  std::vector<std::string> unsubscribed_;
  std::vector<std::string> logs_;
};

TEST_F(HttpServerTest, HealthzReportsTheHealthCallback) {
  StartServer();
  Response ok = Fetch(Get("/healthz"));
  EXPECT_EQ(ok.result(), http::status::ok);
  EXPECT_EQ(ok.body(), "ok\n");
  EXPECT_EQ(ok[http::field::content_type], "text/plain; charset=utf-8");

  {
    std::lock_guard lock(mu_);
    healthy_ = false;
    reason_ = "store unreachable";
  }
  Response down = Fetch(Get("/healthz"));
  EXPECT_EQ(down.result(), http::status::service_unavailable);
  EXPECT_EQ(down.body(), "store unreachable\n");

  Response head = Fetch("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", /*head=*/true);
  EXPECT_EQ(head.result(), http::status::service_unavailable);
  EXPECT_EQ(head[http::field::content_length], "18");
  EXPECT_EQ(head.body(), "");

  // HEAD never gets a body, whatever the status; the connection stays usable.
  Client client(port_);
  for (const char* target : {"/nope", "/healthz"}) {
    ASSERT_FALSE(client.Send("HEAD " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    Response response;
    ASSERT_FALSE(client.Read(response, /*head=*/true));
    EXPECT_EQ(response.body(), "");
  }
  ASSERT_FALSE(client.Send(Get("/healthz")));
  Response after;
  ASSERT_FALSE(client.Read(after));
  EXPECT_EQ(after.body(), "store unreachable\n");
}

TEST_F(HttpServerTest, MetricsUseThePrometheusTextFormat) {
  StartServer();
  Response response = Fetch(Get("/metrics"));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.body(),
            "# HELP followup_sends_total Messages sent.\n"
            "# TYPE followup_sends_total counter\n"
            "followup_sends_total{rule=\"win-back\"} 3\n");
}

TEST_F(HttpServerTest, GetUnsubscribeShowsAFormAndChangesNothing) {
  StartServer();
  Response response = Fetch(Get("/unsubscribe?" + std::string(kGoodQuery)));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(response[http::field::cache_control], "no-store");
  const std::string& page = response.body();
  EXPECT_NE(page.find("<form method=\"post\" action=\"?c=alice%40example.com&amp;t=GOODTOKEN\">"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"),
            std::string::npos)
      << page;
  // What the query holds is escaped, never markup.
  Response hostile = Fetch(Get("/unsubscribe?c=%22%3E&t=\"><script>"));
  EXPECT_EQ(hostile.body().find("<script>"), std::string::npos) << hostile.body();
  EXPECT_TRUE(Calls().empty());
}

TEST_F(HttpServerTest, OneClickPostUnsubscribes) {
  StartServer();
  const std::string target = "/unsubscribe?" + std::string(kGoodQuery);
  Response response = Fetch(Post(target, "application/x-www-form-urlencoded", kOneClickBody));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), "You are unsubscribed.\n");

  // A second time (the user clicks again, the mail receiver retries) is as good.
  const std::string multipart =
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
      "\r\n"
      "One-Click\r\n"
      "--XyZ--\r\n";
  response = Fetch(Post(target, "multipart/form-data; boundary=\"XyZ\"", multipart));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), "You are unsubscribed.\n");

  EXPECT_EQ(Calls(), (std::vector<std::string>{std::string(kGoodQuery), std::string(kGoodQuery)}));
}

TEST_F(HttpServerTest, ForgedTokenIsRefusedWithTheCallbacksError) {
  StartServer();
  Response response = Fetch(Post("/unsubscribe?c=alice%40example.com&t=FORGED",
                                 "application/x-www-form-urlencoded", kOneClickBody));
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_NE(response.body().find("token does not match"), std::string::npos) << response.body();
  EXPECT_EQ(Calls(), std::vector<std::string>{"c=alice%40example.com&t=FORGED"});
  std::lock_guard lock(mu_);
  EXPECT_TRUE(unsubscribed_.empty());
}

TEST_F(HttpServerTest, PostWithoutTheOneClickFieldDoesNotCallTheCallback) {
  StartServer();
  const std::string target = "/unsubscribe?" + std::string(kGoodQuery);
  for (const std::string& request :
       {Post(target, "application/x-www-form-urlencoded", ""),
        Post(target, "application/x-www-form-urlencoded", "List-Unsubscribe=Two-Clicks"),
        Post(target, "text/plain", kOneClickBody),
        Post(target, "multipart/form-data; boundary=XyZ",
             "--XyZ\r\n\r\nOne-Click\r\n--XyZ--\r\n")}) {
    Response response = Fetch(request);
    EXPECT_EQ(response.result(), http::status::bad_request) << request;
  }
  EXPECT_TRUE(Calls().empty());
}

TEST_F(HttpServerTest, StoreFailuresAndThrowingHandlersAreServerErrors) {
  StartServer();
  Response busy =
      Fetch(Post("/unsubscribe?busy", "application/x-www-form-urlencoded", kOneClickBody));
  EXPECT_EQ(busy.result(), http::status::service_unavailable);
  Response boom =
      Fetch(Post("/unsubscribe?boom", "application/x-www-form-urlencoded", kOneClickBody));
  EXPECT_EQ(boom.result(), http::status::internal_server_error);
  EXPECT_TRUE(Logged("store exploded"));
  EXPECT_TRUE(Logged("database is locked"));
  EXPECT_EQ(Fetch(Get("/healthz")).result(), http::status::ok);
}

TEST_F(HttpServerTest, UnknownPathsAndWrongMethods) {
  StartServer();
  EXPECT_EQ(Fetch(Get("/")).result(), http::status::not_found);
  EXPECT_EQ(Fetch(Get("/healthz/extra")).result(), http::status::not_found);
  EXPECT_EQ(Fetch(Post("/nothing", "text/plain", "x")).result(), http::status::not_found);

  Response response = Fetch("DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "GET, HEAD");
  response = Fetch(Post("/metrics", "text/plain", "x"));
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "GET, HEAD");
  response = Fetch("PUT /unsubscribe?c=a&t=b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "GET, HEAD, POST");
  EXPECT_TRUE(Calls().empty());
}

TEST_F(HttpServerTest, OversizedRequestsAreRefusedAndTheServerKeepsServing) {
  StartServer();
  const std::string target = "/unsubscribe?" + std::string(kGoodQuery);
  ExpectRefused(Post(target, "application/x-www-form-urlencoded", std::string(100'000, 'a')),
                http::status::payload_too_large);
  // Chunked: the size is only known while the body arrives.
  ExpectRefused(ChunkedPost(target, 20), http::status::payload_too_large);
  ExpectRefused(Get("/healthz", "X-Padding: " + std::string(10'000, 'p') + "\r\n"),
                http::status::request_header_fields_too_large);
  EXPECT_TRUE(Calls().empty());
  EXPECT_EQ(Fetch(Get("/healthz")).result(), http::status::ok);
  EXPECT_TRUE(Logged("body limit exceeded"));
}

// A route with a body limit of its own (a webhook) takes bodies the server's default refuses, and
// is bounded by its own limit, declared or chunked; the other routes keep the default.
TEST_F(HttpServerTest, ARouteWithItsOwnBodyLimitTakesLargerBodiesUpToIt) {
  extra_routes_.push_back({"POST", "/large",
                           [](const HttpRequest& request, Respond respond) {
                             respond(TextResponse(200, std::to_string(request.body.size()) + "\n"));
                           },
                           200'000});
  StartServer();
  const std::string body(100'000, 'a');
  Response taken = Fetch(Post("/large", "application/json", body));
  EXPECT_EQ(taken.result(), http::status::ok);
  EXPECT_EQ(taken.body(), "100000\n");
  Response chunked = Fetch(ChunkedPost("/large", 100));
  EXPECT_EQ(chunked.result(), http::status::ok);
  EXPECT_EQ(chunked.body(), "100000\n");
  ExpectRefused(Post("/large", "application/json", std::string(300'000, 'b')),
                http::status::payload_too_large);
  ExpectRefused(ChunkedPost("/large", 250), http::status::payload_too_large);
  // The other routes keep the server's limit.
  ExpectRefused(
      Post("/unsubscribe?" + std::string(kGoodQuery), "application/x-www-form-urlencoded", body),
      http::status::payload_too_large);
  EXPECT_TRUE(Calls().empty());  // the unsubscribe callback never ran
}

TEST_F(HttpServerTest, GarbageGetsBadRequest) {
  StartServer();
  Client client(port_);
  client.Send("HELLO\x01 there\r\n\r\n");
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_TRUE(client.ClosedWithin(3s));
}

TEST_F(HttpServerTest, SlowlorisIsCutOffWhileOthersAreServed) {
  HttpServerOptions options;
  options.read_timeout = 300ms;
  StartServer(options);
  Client slow(port_);
  auto start = SteadyClock::now();
  ASSERT_FALSE(slow.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  // Others are served meanwhile, on new connections and on a kept-alive one.
  Client other(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(other.Send(Get("/healthz")));
    Response response;
    ASSERT_FALSE(other.Read(response));
    EXPECT_EQ(response.result(), http::status::ok);
    EXPECT_EQ(Fetch(Get("/metrics")).result(), http::status::ok);
    std::this_thread::sleep_for(50ms);
  }
  slow.Send("a");  // trickling bytes does not extend the deadline
  std::string received;
  EXPECT_TRUE(slow.ClosedWithin(3s, &received));
  auto elapsed = SteadyClock::now() - start;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_EQ(received, "");  // cut off without a response
  EXPECT_TRUE(EventuallyLogged("http read request from 127.0.0.1:"));
  EXPECT_TRUE(Logged("timed out"));
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionsAreClosedQuietly) {
  HttpServerOptions options;
  options.read_timeout = 200ms;
  StartServer(options);
  Client client(port_);
  ASSERT_FALSE(client.Send(Get("/healthz")));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_TRUE(response.keep_alive());
  EXPECT_TRUE(client.ClosedWithin(2s));
  for (int attempt = 0; attempt < 100 && Connections() != 0; ++attempt) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(Connections(), 0u);  // the server is done with it, and logged nothing
  EXPECT_FALSE(Logged("timed out"));
}

TEST_F(HttpServerTest, KeepAliveIsBoundedInRequestsAndTime) {
  HttpServerOptions options;
  options.max_requests_per_connection = 2;
  options.connection_timeout = 400ms;
  StartServer(options);
  {
    Client client(port_);
    Response response;
    ASSERT_FALSE(client.Send(Get("/healthz")));
    ASSERT_FALSE(client.Read(response));
    EXPECT_TRUE(response.keep_alive());
    ASSERT_FALSE(client.Send(Get("/healthz")));
    ASSERT_FALSE(client.Read(response));
    EXPECT_FALSE(response.keep_alive());
    EXPECT_TRUE(client.ClosedWithin(2s));
  }
  {
    auto start = SteadyClock::now();
    Client client(port_);
    Response response;
    ASSERT_FALSE(client.Send(Get("/healthz")));
    ASSERT_FALSE(client.Read(response));
    EXPECT_TRUE(response.keep_alive());
    EXPECT_TRUE(client.ClosedWithin(2s));  // the 10 s read timeout does not apply any more
    EXPECT_LT(SteadyClock::now() - start, 1s);
  }
}

TEST_F(HttpServerTest, ExpectContinueIsAnswered) {
  StartServer();
  Client client(port_);
  std::string body(kOneClickBody);
  ASSERT_FALSE(client.Send("POST /unsubscribe?" + std::string(kGoodQuery) +
                           " HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/x-www-form-urlencoded\r\n"
                           "Expect: 100-continue\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n"));
  Response interim;
  ASSERT_FALSE(client.Read(interim));
  EXPECT_EQ(interim.result(), http::status::continue_);
  ASSERT_FALSE(client.Send(body));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(Calls().size(), 1u);
}

// At the limit a new connection makes room: the one that has waited longest for its next request
// is closed, and the newcomer is served.
TEST_F(HttpServerTest, AtTheLimitTheConnectionIdleLongestMakesRoom) {
  HttpServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  Client first(port_);
  Client second(port_);
  for (Client* client : {&first, &second}) {  // served: so both are accepted, and now idle
    ASSERT_FALSE(client->Send(Get("/healthz")));
    Response response;
    ASSERT_FALSE(client->Read(response));
  }
  EXPECT_EQ(Connections(), 2u);
  Client third(port_);
  ASSERT_FALSE(third.Send(Get("/healthz")));
  Response response;
  ASSERT_FALSE(third.Read(response));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_TRUE(first.ClosedWithin(2s)) << "the connection idle longest gave way";
  ASSERT_FALSE(second.Send(Get("/healthz")));
  ASSERT_FALSE(second.Read(response));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_TRUE(Logged("2 connections open; closing the one idle longest"));
}

// Only when every connection is busy with a request is a new one turned away.
TEST_F(HttpServerTest, AtTheLimitWithEveryConnectionBusyTheNewcomerIsClosed) {
  std::mutex held_mu;
  std::vector<Respond> held;
  extra_routes_.push_back({"GET", "/hold", [&](const HttpRequest&, Respond respond) {
                             std::lock_guard lock(held_mu);
                             held.push_back(std::move(respond));
                           }});
  HttpServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  Client first(port_);
  Client second(port_);
  ASSERT_FALSE(first.Send(Get("/hold")));
  ASSERT_FALSE(second.Send(Get("/hold")));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(held_mu);
    return held.size() == 2;
  }));
  Client third(port_);
  third.Send(Get("/healthz"));
  std::string received;
  EXPECT_TRUE(third.ClosedWithin(2s, &received));
  EXPECT_EQ(received, "");
  EXPECT_TRUE(Logged("all busy with requests"));
  std::lock_guard lock(held_mu);
  for (auto& respond : held) respond(TextResponse(200, "late\n"));
  Response response;
  ASSERT_FALSE(first.Read(response));
  EXPECT_EQ(response.body(), "late\n");
}

// 100 clients that connect and send half a request header, and stay: /healthz and /unsubscribe
// still answer every time, with the default limits and with a limit below the crowd.
TEST_F(HttpServerTest, SlowHeaderClientsCannotStarveNewRequests) {
  for (size_t limit : {HttpServerOptions{}.max_connections, size_t{20}}) {
    SCOPED_TRACE("max_connections " + std::to_string(limit));
    HttpServerOptions options;
    options.max_connections = limit;
    StartServer(options);
    std::vector<std::unique_ptr<Client>> slow;
    for (int i = 0; i < 100; ++i) {
      slow.push_back(std::make_unique<Client>(port_));
      ASSERT_FALSE(slow.back()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    }
    int answered = 0;
    for (int i = 0; i < 25; ++i) {
      answered += Fetch(Get("/healthz")).result() == http::status::ok;
      answered += Fetch(Post("/unsubscribe?" + std::string(kGoodQuery),
                             "application/x-www-form-urlencoded", kOneClickBody))
                      .result() == http::status::ok;
    }
    EXPECT_EQ(answered, 50);
    StopServer();
    io_.restart();
    server_.reset();
  }
}

// A handler may answer later, from another thread; a second answer is ignored.
TEST_F(HttpServerTest, AHandlerAnswersLaterFromAnotherThread) {
  std::mutex held_mu;
  std::optional<Respond> held;
  extra_routes_.push_back({"GET", "/later", [&](const HttpRequest& request, Respond respond) {
                             EXPECT_EQ(request.query, "q=1");
                             EXPECT_EQ(request.Header("x-probe"), "yes");
                             std::lock_guard lock(held_mu);
                             held = std::move(respond);
                           }});
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.Send(Get("/later?q=1", "X-Probe: yes\r\n")));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(held_mu);
    return held.has_value();
  }));
  std::thread([&] {
    std::lock_guard lock(held_mu);
    (*held)(TextResponse(202, "done\n"));
    (*held)(TextResponse(500, "twice\n"));
  }).join();
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result(), http::status::accepted);
  EXPECT_EQ(response.body(), "done\n");
  ASSERT_FALSE(client.Send(Get("/healthz")));  // the connection goes on
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.body(), "ok\n");
}

// A handler that never answers gets 503 for it after handler_timeout; its late answer is dropped.
TEST_F(HttpServerTest, AHandlerThatNeverAnswersTimesOut) {
  std::mutex held_mu;
  std::optional<Respond> held;
  extra_routes_.push_back({"GET", "/never", [&](const HttpRequest&, Respond respond) {
                             std::lock_guard lock(held_mu);
                             held = std::move(respond);
                           }});
  HttpServerOptions options;
  options.handler_timeout = 200ms;
  StartServer(options);
  Client client(port_);
  ASSERT_FALSE(client.Send(Get("/never")));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_TRUE(Logged("no answer within the handler timeout"));
  {
    std::lock_guard lock(held_mu);
    (*held)(TextResponse(200, "too late\n"));
  }
  ASSERT_FALSE(client.Send(Get("/healthz")));
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.body(), "ok\n");
}

// The header has a shorter deadline than the whole request.
TEST_F(HttpServerTest, AHeaderThatDoesNotArriveInTimeIsCutOff) {
  HttpServerOptions options;
  options.header_timeout = 200ms;
  options.read_timeout = 30s;
  StartServer(options);
  Client slow(port_);
  auto start = SteadyClock::now();
  ASSERT_FALSE(slow.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  std::string received;
  EXPECT_TRUE(slow.ClosedWithin(5s, &received));
  EXPECT_LT(SteadyClock::now() - start, 5s);
  EXPECT_EQ(received, "");
  EXPECT_TRUE(EventuallyLogged("timed out"));
}

TEST_F(HttpServerTest, StopLetsRunReturnWithConnectionsOpen) {
  HttpServerOptions options;
  options.read_timeout = 30s;
  options.connection_timeout = 60s;
  StartServer(options);
  Client idle(port_);
  Client partial(port_);
  partial.Send("GET /healthz HTTP/1.1\r\nHost");
  Client kept(port_);
  kept.Send(Get("/healthz"));
  Response response;
  ASSERT_FALSE(kept.Read(response));
  EXPECT_EQ(Connections(), 3u);

  EXPECT_LT(StopServer(), 1s);
  EXPECT_TRUE(idle.ClosedWithin(1s));
  EXPECT_TRUE(partial.ClosedWithin(1s));
  EXPECT_TRUE(kept.ClosedWithin(1s));
  Client late(port_);
  EXPECT_TRUE(late.connect_error());
}

TEST(HttpServerStartTest, ErrorsNameTheAddress) {
  asio::io_context io;
  HttpServer first(io, "127.0.0.1", 0, {});
  Result<uint16_t> port = first.Start();
  ASSERT_TRUE(port) << port.error().message;

  HttpServer second(io, "127.0.0.1", *port, {});
  Result<uint16_t> again = second.Start();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kRuntime);
  EXPECT_EQ(again.error().message,
            "http listen 127.0.0.1:" + std::to_string(*port) + ": Address already in use");

  HttpServer named(io, "localhost", 0, {});
  Result<uint16_t> bad = named.Start();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(bad.error().message, "http listen localhost:0: not an IP address");

  EXPECT_FALSE(first.Start());  // once only
}

TEST(HttpServerStartTest, UnsetHandlersAreNotFound) {
  asio::io_context io;
  HttpServer server(io, "127.0.0.1", 0, {});
  Result<uint16_t> port = server.Start();
  ASSERT_TRUE(port);
  std::thread loop([&] { io.run(); });
  Client client(*port);
  client.Send(Get("/healthz"));
  Response response;
  EXPECT_FALSE(client.Read(response));
  EXPECT_EQ(response.result(), http::status::not_found);
  asio::post(io, [&] { server.Stop(); });
  loop.join();
}

TEST(PrometheusMetricTest, FormatsFamiliesAndEscapes) {
  EXPECT_EQ(PrometheusMetric("followup_queue_depth", "gauge", "Messages waiting.", {{{}, 12}}),
            "# HELP followup_queue_depth Messages waiting.\n"
            "# TYPE followup_queue_depth gauge\n"
            "followup_queue_depth 12\n");
  EXPECT_EQ(PrometheusMetric("followup_sends_total", "counter", "Sent, by rule\\kind\nsecond line",
                             {{{{"rule", "say \"hi\""}, {"kind", "back\\slash\nnewline"}}, 7},
                              {{{"rule", "plain"}, {"kind", "x"}}, 0}}),
            "# HELP followup_sends_total Sent, by rule\\\\kind\\nsecond line\n"
            "# TYPE followup_sends_total counter\n"
            "followup_sends_total{kind=\"back\\\\slash\\nnewline\",rule=\"say \\\"hi\\\"\"} 7\n"
            "followup_sends_total{kind=\"x\",rule=\"plain\"} 0\n");
}

// A histogram: cumulative buckets, +Inf equal to the count, the sum; labels beside le.
TEST(PrometheusMetricTest, FormatsHistograms) {
  Histogram h({0.5, 2});
  h.Observe(0.25);
  h.Observe(0.5);  // on the bound: counted in it
  h.Observe(1);
  h.Observe(10);
  EXPECT_EQ(PrometheusHistogram("followup_wait_seconds", "Waits.", {{{{"job", "a"}}, h}}),
            "# HELP followup_wait_seconds Waits.\n"
            "# TYPE followup_wait_seconds histogram\n"
            "followup_wait_seconds_bucket{job=\"a\",le=\"0.5\"} 2\n"
            "followup_wait_seconds_bucket{job=\"a\",le=\"2\"} 3\n"
            "followup_wait_seconds_bucket{job=\"a\",le=\"+Inf\"} 4\n"
            "followup_wait_seconds_sum{job=\"a\"} 11.75\n"
            "followup_wait_seconds_count{job=\"a\"} 4\n");
  // Nothing observed yet: every line present, at 0.
  EXPECT_EQ(PrometheusHistogram("w", "", {{{}, Histogram({1})}}),
            "# HELP w\n# TYPE w histogram\nw_bucket{le=\"1\"} 0\nw_bucket{le=\"+Inf\"} 0\n"
            "w_sum 0\nw_count 0\n");
}

TEST(PrometheusMetricTest, ValuesAndNames) {
  auto line = [](double value) {
    std::string text = PrometheusMetric("m", "gauge", "h", {{{}, value}});
    return text.substr(text.rfind("m ") + 2);
  };
  EXPECT_EQ(line(0), "0\n");
  EXPECT_EQ(line(-3), "-3\n");
  EXPECT_EQ(line(1e6), "1000000\n");
  EXPECT_EQ(line(0.25), "0.25\n");
  EXPECT_EQ(line(1e300), "1e+300\n");
  EXPECT_EQ(line(std::numeric_limits<double>::quiet_NaN()), "NaN\n");
  EXPECT_EQ(line(std::numeric_limits<double>::infinity()), "+Inf\n");
  EXPECT_EQ(line(-std::numeric_limits<double>::infinity()), "-Inf\n");
  EXPECT_EQ(PrometheusMetric("9bad-name:x", "untyped", "", {{{{"a-b", "v"}}, 1}}),
            "# HELP _bad_name:x\n# TYPE _bad_name:x untyped\n_bad_name:x{a_b=\"v\"} 1\n");
}

}  // namespace
}  // namespace followup::service

namespace followup::service {
namespace {

TEST(ParseHttpRequestTest, ReadsWhatTheServerReads) {
  auto request = ParseHttpRequest(
      "POST /unsubscribe?c=a&t=b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(request) << request.error().ToString();
  EXPECT_EQ(request->method, "POST");
  EXPECT_EQ(request->path, "/unsubscribe");
  EXPECT_EQ(request->query, "c=a&t=b");
  EXPECT_EQ(request->Header("host"), "x");
  EXPECT_EQ(request->body, "hello");
}

TEST(ParseHttpRequestTest, RefusesGarbageOversizeAndTruncatedInput) {
  auto bad = [](std::string_view bytes, HttpParseLimits limits = {}) {
    auto r = ParseHttpRequest(bytes, limits);
    return r ? std::string("parsed") : r.error().message;
  };
  EXPECT_EQ(bad("GET / HTTP/1.1\r\nHost: x\r\n"), "incomplete");
  EXPECT_EQ(bad("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"), "incomplete");
  EXPECT_EQ(bad("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", {64, 16}),
            "header too large");
  EXPECT_EQ(bad("POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n", {1024, 16}), "body too large");
  EXPECT_NE(bad("\x01\x02 nonsense\r\n\r\n").find("not an HTTP request"), std::string::npos);
  EXPECT_EQ(bad(""), "incomplete");
}

}  // namespace
}  // namespace followup::service
