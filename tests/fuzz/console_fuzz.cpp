// Fuzzes what a browser sends the console: the first byte chooses the part.
//   'q' the send log's query string (ParseLogQuery), its filter and the page rendered from it
//   'a' a form's fields, NAME=VALUE lines, read as an action (ReadAction) and its confirmation
//   'c' a CSRF token (CsrfValid)
//   else an Authorization header (Authorized, against one SHA-512 crypt hash)
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "console/access.h"
#include "console/actions.h"
#include "console/console.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  if (size == 0 || size > 10000) return 0;
  static const Instant now{std::chrono::seconds{1767225600}};
  static const std::string key(32, 'k');
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const char part = static_cast<char>(data[0]);

  // No value from outside reaches a page unescaped.
  auto check_page = [](const console::Page& page, std::string_view marker) {
    fuzz::Check(page.body.find("<script") == std::string::npos, "a page holds a script", page.body);
    if (!marker.empty())
      fuzz::Check(page.body.find(marker) == std::string::npos, "markup from the input survives",
                  page.body);
  };
  if (part == 'q') {
    auto q = console::ParseLogQuery(input);
    if (!q) {
      fuzz::CheckMessage(q.error().message);
      return 0;
    }
    store::LogFilter f = console::LogFilterFor(*q, nullptr);
    fuzz::Check(f.limit == console::kLogPageSize + 1, "a page asks for another size", "");
    store::LogEntry e;
    e.customer = q->customer;
    e.rule = q->rule;
    e.last_reply = q->customer + q->rule;
    check_page(console::RenderLog(*q, std::vector<store::LogEntry>{e}, nullptr, "1.x"), "<x-fuzz");
  } else if (part == 'a') {
    std::map<std::string, std::string> form;
    size_t start = 0;
    while (start < input.size()) {
      size_t end = input.find('\n', start);
      if (end == std::string_view::npos) end = input.size();
      std::string_view line = input.substr(start, end - start);
      size_t eq = line.find('=');
      if (eq != std::string_view::npos)
        form[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
      start = end + 1;
    }
    auto action = console::ReadAction(form);
    if (!action) {
      fuzz::CheckMessage(action.error().message);
      return 0;
    }
    check_page(console::RenderConfirm(*action, 1, "1.x"), "<x-fuzz");
    check_page(console::RenderDone(*action, console::Describe(*action)), "<x-fuzz");
  } else if (part == 'c') {
    (void)console::CsrfValid(key, input, now);
    fuzz::Check(console::CsrfValid(key, console::CsrfToken(key, now), now),
                "a fresh token is refused", "");
  } else {
    static const console::Credentials users = *console::ParseCredentials(
        "ada:$6$followupconsole$PyvSq3cSAzMilwgCc6ktLoHwkTp1/"
        "w.SVzanAFxipLVJ2uqKZHxxUeTtqbRKE2eoADZnhhlHKIvabGou2gWpl1\n",
        "users");
    fuzz::Check(!console::Authorized(users, input) || input.find("Basic") == 0 ||
                    input.find("basic") == 0 || input.find("BASIC") == 0,
                "a login passes without Basic", std::string(input));
    auto parsed = console::ParseCredentials(input, "users");
    if (!parsed) fuzz::CheckMessage(parsed.error().message);
  }
  return 0;
}
