#include "service/http_parse.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace followup::service {

namespace http = boost::beast::http;

void ConfigureRequestParser(HttpRequestParser& parser, const HttpParseLimits& limits) {
  parser.header_limit(limits.header_limit_bytes);
  parser.body_limit(limits.body_limit_bytes);
}

HttpRequest ToHttpRequest(const HttpRequestParser::value_type& message, std::string peer) {
  HttpRequest out;
  out.method = std::string(message.method_string());
  std::string_view target = message.target();
  size_t question = target.find('?');
  out.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) out.query = std::string(target.substr(question + 1));
  for (const auto& field : message)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = message.body();
  out.peer = std::move(peer);
  return out;
}

Result<HttpRequest> ParseHttpRequest(std::string_view bytes, const HttpParseLimits& limits) {
  HttpRequestParser parser;
  ConfigureRequestParser(parser, limits);
  parser.eager(true);
  boost::beast::error_code ec;
  while (!bytes.empty() && !parser.is_done()) {
    size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == http::error::need_more) break;
    if (ec == http::error::header_limit) return InvalidInput("header too large");
    if (ec == http::error::body_limit) return InvalidInput("body too large");
    if (ec) return InvalidInput("not an HTTP request: " + ec.message());
    if (used == 0) break;
    bytes.remove_prefix(used);
  }
  if (!parser.is_done()) {
    if (!parser.got_some()) return InvalidInput("incomplete");
    // A body that runs to the end of the connection ends here.
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return InvalidInput("incomplete");
  }
  return ToHttpRequest(parser.get(), "");
}

}  // namespace followup::service
