// Text into HTML. Pure.
#pragma once

#include <string>
#include <string_view>

namespace followup {

// `s` with &, <, >, " and ' written as HTML character references: safe in element content and in
// a quoted attribute value.
std::string HtmlEscape(std::string_view s);

}  // namespace followup
