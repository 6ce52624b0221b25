// The HTTP server's request parser as a pure function: bytes in, a request or an error out. The
// server (http_session.cpp) reads from the network with the same parser, set up by the same
// function, so what this accepts or refuses is what the server does; fuzz targets and tests call
// it without a socket.
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "service/http.h"

namespace followup::service {

struct HttpParseLimits {
  uint32_t header_limit_bytes = 8 * 1024;  // start line + fields
  uint64_t body_limit_bytes = 16 * 1024;
};

using HttpRequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Sets the limits on a fresh parser (the server's and ParseHttpRequest's one setting).
void ConfigureRequestParser(HttpRequestParser& parser, const HttpParseLimits& limits);

// The parsed message as handlers see it (http.h); `peer` as given.
HttpRequest ToHttpRequest(const HttpRequestParser::value_type& message, std::string peer);

// Parses one HTTP/1.x request from `bytes` (its head, and its body when Content-Length or chunked
// encoding says there is one). kInvalidInput with the reason when the bytes are not a request,
// the header is over header_limit_bytes ("header too large") or the body over body_limit_bytes
// ("body too large"), or the bytes end before the request does ("incomplete"). Bytes after the
// request are ignored. Pure; never throws.
Result<HttpRequest> ParseHttpRequest(std::string_view bytes, const HttpParseLimits& limits = {});

}  // namespace followup::service
