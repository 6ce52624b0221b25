// Fuzzes the templates: the input is a template's subject, text and html files separated by NUL
// bytes. Every template is checked; one that passes the check must render with a context that has
// every name the check allows, and its HTML must never carry a value's markup unescaped.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/template.h"
#include "fuzz_util.h"
#include "worth/facts.h"

namespace followup::fuzz {
namespace {

constexpr std::string_view kMarkup = "<x-injected";

const std::vector<std::string>& ValueNames() {
  static const std::vector<std::string> names = {"offer", "offer_code"};
  return names;
}

// A context with every name KnownNames allows, as delivery builds it: facts as formatted text (""
// for an undefined one), values with markup in them.
const nlohmann::json& Context() {
  static const nlohmann::json context = [] {
    nlohmann::json customer = {{"id", "c-1001"},
                               {"name", "Ada <Lovelace>"},
                               {"first_name", "Ada"},
                               {"email", "ada@example.com"}};
    bool defined = false;
    for (const auto& fact : worth::AllFacts()) {
      defined = !defined;
      customer[std::string(fact.name)] = defined ? worth::FormatFact(fact, 12.5, 2) : "";
    }
    return nlohmann::json{
        {"customer", customer},
        {"business",
         {{"name", "Shop & Co"},
          {"from_email", "shop@example.com"},
          {"reply_to", ""},
          {"currency", "EUR"}}},
        {"values",
         {{"offer", std::string(kMarkup) + " onclick=x>10% off"}, {"offer_code", "SAVE10"}}},
        {"unsubscribe_url", "https://shop.example/unsubscribe?c=c-1001&t=x"}};
  }();
  return context;
}

}  // namespace
}  // namespace followup::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  delivery::Template t;
  t.name = "fuzz";
  t.dir = "templates/fuzz";
  std::string* files[] = {&t.subject, &t.text, &t.html};
  for (std::string* file : files) {
    size_t end = input.find('\0');
    *file = std::string(input.substr(0, end));
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
  }
  auto problems = delivery::CheckTemplate(t, fuzz::ValueNames());
  (void)delivery::NameParts(t);
  auto rendered = delivery::Render(t, fuzz::Context());
  if (!problems.empty()) return 0;
  fuzz::Check(rendered.has_value(), "a template that passes the check fails to render",
              rendered ? "" : rendered.error().ToString());
  fuzz::Check(rendered->subject.find('\n') == std::string::npos, "a subject spans lines",
              rendered->subject);
  if (t.html.find("x-injected") == std::string::npos)
    fuzz::Check(rendered->html.find(fuzz::kMarkup) == std::string::npos,
                "a value's markup reached the HTML unescaped", rendered->html);
  return 0;
}
