#include "service/http_forms.h"

#include <boost/beast/core/string.hpp>

#include "base/url.h"

namespace followup::service {
namespace {

namespace beast = boost::beast;

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

std::string_view MediaType(std::string_view content_type) {
  return TrimSpace(content_type.substr(0, content_type.find(';')));
}

void UrlencodedValues(std::string_view body, std::string_view name, std::vector<std::string>& out) {
  for (std::string_view pair : Split(TrimSpace(body), '&')) {
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::optional<std::string> key = FormDecode(pair.substr(0, eq));
    std::optional<std::string> value = FormDecode(pair.substr(eq + 1));
    if (key && value && *key == name) out.push_back(std::move(*value));
  }
}

// RFC 7578: parts separated by CRLF--BOUNDARY, each with header lines, an empty line, content.
void MultipartValues(std::string_view body, std::string_view content_type, std::string_view name,
                     std::vector<std::string>& out) {
  std::optional<std::string> boundary = HeaderParameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) return;
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
    if (body.substr(pos, 2) == "--") return;   // the close delimiter
    size_t line_end = body.find("\r\n", pos);  // transport padding, then CRLF
    if (line_end == std::string_view::npos) return;
    size_t headers_start = line_end + 2;
    size_t content_start;
    std::string_view headers;
    if (body.substr(headers_start, 2) == "\r\n") {
      content_start = headers_start + 2;
    } else {
      size_t headers_end = body.find("\r\n\r\n", headers_start);
      if (headers_end == std::string_view::npos) return;
      headers = body.substr(headers_start, headers_end - headers_start);
      content_start = headers_end + 4;
    }
    size_t content_end = body.find(next_delimiter, content_start);
    if (content_end == std::string_view::npos) return;
    std::string_view content = body.substr(content_start, content_end - content_start);
    for (std::string_view line : Split(headers, '\n')) {
      line = TrimSpace(line);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      if (!beast::iequals(TrimSpace(line.substr(0, colon)), "Content-Disposition")) continue;
      std::optional<std::string> field = HeaderParameter(line.substr(colon + 1), "name");
      if (field && *field == name) out.emplace_back(content);
    }
    pos = content_end + 2;
  }
}

}  // namespace

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::string> HeaderParameter(std::string_view header, std::string_view name) {
  std::vector<std::string_view> parts = Split(header, ';');
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = TrimSpace(parts[i]);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (!beast::iequals(TrimSpace(part.substr(0, eq)), name)) continue;
    std::string_view value = TrimSpace(part.substr(eq + 1));
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

std::vector<std::string> FormValues(std::string_view content_type, std::string_view body,
                                    std::string_view name) {
  std::vector<std::string> out;
  std::string_view media_type = MediaType(content_type);
  if (beast::iequals(media_type, "multipart/form-data")) {
    MultipartValues(body, content_type, name, out);
  } else if (media_type.empty() ||
             beast::iequals(media_type, "application/x-www-form-urlencoded")) {
    UrlencodedValues(body, name, out);
  }
  return out;
}

}  // namespace followup::service
