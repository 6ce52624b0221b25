// What the daemon's HTTP server (http_server.h) hands its handlers and takes back from them: a
// route table of (method, path) -> handler(request, respond). Made for every page the daemon serves
// or will serve: GET pages with query strings, POST forms, webhook POSTs with bodies and headers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace followup::service {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... ("HEAD" is served by the GET route, method "HEAD")
  std::string path;    // the target before '?', not decoded
  std::string query;   // the raw query string after '?' (not decoded); "" when none
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;  // at most HttpServerOptions::body_limit_bytes
  std::string peer;  // ADDRESS:PORT of the client, for logs
  // The first header named `name` (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the server's own
};

// A text/plain response.
HttpResponse TextResponse(int status, std::string body);

// Answers a request. Call it exactly once, at once or later, from any thread: the answer is posted
// to the loop (a second call is ignored; after the connection is gone, so is the answer).
using Respond = std::function<void(HttpResponse)>;

// Handles one request. Runs on the loop and must not block it: work that waits (the store) goes
// to another thread, which calls `respond`. `request` lives for the call only: copy what the
// later work needs. A handler that throws gets 500.
using HttpHandler = std::function<void(const HttpRequest& request, Respond respond)>;

struct Route {
  std::string method;  // "GET" (serves HEAD too), "POST", ...
  std::string path;    // exact
  HttpHandler handler;
  // The most body this route takes (a webhook's bodies are larger than a form's); 0: the server's
  // HttpServerOptions::body_limit_bytes.
  uint64_t body_limit_bytes = 0;
};

}  // namespace followup::service
