// Reading HTML form bodies (application/x-www-form-urlencoded, and multipart/form-data as RFC
// 7578 has it) and header parameters, for POST handlers. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/html.h"  // HtmlEscape, for the pages that answer forms

namespace followup::service {

// `s` without leading and trailing spaces, tabs, CR and LF.
std::string_view TrimSpace(std::string_view s);

// The value of parameter `name` (case-insensitive) in a header value like "type; a=1; b=\"2\"",
// unquoted; nullopt when absent.
std::optional<std::string> HeaderParameter(std::string_view header, std::string_view name);

// Every value of the form field `name` in a POST body, in order: urlencoded (also when there is no
// Content-Type) or multipart/form-data (with its boundary parameter). Other media types have no
// fields. A part or pair that does not decode is skipped.
std::vector<std::string> FormValues(std::string_view content_type, std::string_view body,
                                    std::string_view name);

}  // namespace followup::service
