// Email templates: a folder TEMPLATES_DIR/NAME/ with
//   subject.mustache  required: one line of text
//   text.mustache     required: the text/plain body
//   html.mustache     optional: the text/html body (without it the message is text only)
// in Mustache (kainjow/mustache). Tags: {{name}}, {{#section}}...{{/section}},
// {{^inverted}}...{{/inverted}}, {{! comment }}, {{=<% %>=}} delimiter changes, and raw output
// {{{name}}} / {{& name}}. Partials ({{> name}}) are not supported.
//
// Escaping: html.mustache HTML-escapes every {{name}} and refuses raw output, so that no value can
// inject markup. subject.mustache and text.mustache are plain text: values go in as they are
// ({{name}} and {{{name}}} are the same there), so a reader sees `Ann & "Bo"`, never `&amp;`.
//
// What a template may use (KnownNames() lists it; the caller builds the JSON context with exactly
// these keys, the same at check time and at send time):
//   customer.id customer.name customer.first_name customer.email   customer.FACT (every fact of
//   worth::AllFacts(), as formatted text; "" where the fact is undefined for the customer)
//   business.name business.from_email business.reply_to business.currency
//   values.KEY (every key of the rule's `values:`, and of the experiment arm's)
//   unsubscribe_url
//
// Sections: a JSON object or a non-empty array renders the section (an array once per element);
// false, null, "" and [] skip it (and render {{^inverted}} sections). So
// `{{#customer.p_alive}}...{{/customer.p_alive}}` shows only where the fact is defined.
//
// Everything here is pure (but LoadTemplate, which reads the files) and thread-safe.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace followup::delivery {

inline constexpr std::string_view kSubjectFile = "subject.mustache";
inline constexpr std::string_view kTextFile = "text.mustache";
inline constexpr std::string_view kHtmlFile = "html.mustache";

// Template files larger than this are refused (they are read whole, for every check).
inline constexpr size_t kMaxTemplateFileBytes = 1 << 20;

// One template's files, as read.
struct Template {
  std::string name;  // the folder name, as rules write it in `send:`
  std::string dir;   // TEMPLATES_DIR/NAME, the prefix of every error location
  std::string subject;
  std::string text;
  std::string html;  // empty: no html.mustache (or an empty one): a text-only message
};

// Reads TEMPLATES_DIR/NAME/. kInvalidInput naming the missing file (or folder) when
// subject.mustache or text.mustache is missing, when NAME is not a plain folder name (empty, "." or
// "..", or with a '/'), or when a file is larger than kMaxTemplateFileBytes; kRuntime when a file
// exists but cannot be read. A leading UTF-8 byte order mark is dropped. Does not check the
// contents: CheckTemplate does.
Result<Template> LoadTemplate(const std::string& templates_dir, const std::string& name);

// Whether a `values:` key can be named in a template: ASCII letters, digits, '_' and '-' (a dot
// would read as a path, spaces and braces would not parse). Rule checking should refuse others;
// KnownNames leaves them out, so a template naming one gets "unknown value".
bool IsUsableValueName(std::string_view name);

// Every name a template may use, given the rule's `values:` keys (and its arm's): customer.id,
// customer.name, customer.first_name, customer.email, customer.FACT for every worth fact,
// business.name, business.from_email, business.reply_to, business.currency, values.KEY for each
// usable key of `value_names`, unsubscribe_url. In that order (values in the order given, without
// duplicates).
std::vector<std::string> KnownNames(const std::vector<std::string>& value_names);

// Checks every tag of every file of the template against KnownNames(value_names) and returns
// every problem (empty: none), each kInvalidInput at DIR/FILE:LINE:COLUMN (1-based; the column
// counts bytes, like the rule files' columns), e.g.
//   templates/winback/text.mustache:7:53: unknown value "values.offer_cod" (values here: offer,
//   offer_code)
// Problems: unknown names (with a suggestion when one is close), a group used as a value
// ({{customer}}), syntax errors (an unclosed tag, section or delimiter change, a close tag that
// closes nothing or the wrong section, a bad delimiter change), partials, raw output
// ({{{x}}}, {{& x}}) in html.mustache, a subject that spans lines or is empty, an empty text body.
// Names inside a section resolve against the section first ({{#customer}}{{name}}{{/customer}}),
// as Mustache does.
std::vector<Error> CheckTemplate(const Template& tmpl, const std::vector<std::string>& value_names);

// Every dot-separated part of every tag name in the template's files ("customer.ltv" gives
// "customer" and "ltv"): a context value whose key is none of these cannot be reached by the
// template, so it need not be in the context. nullopt when that cannot be told (a file does not
// parse, or a tag names the current context with "."): then every value may be reached.
std::optional<std::set<std::string>> NameParts(const Template& tmpl);

struct Rendered {
  std::string subject;  // one line: CR, LF and other control characters made spaces, trimmed
  std::string text;
  std::string html;  // empty when the template has no html.mustache
};

// Renders the template with `context` (an object: {"customer": {...}, "business": {...},
// "values": {...}, "unsubscribe_url": "..."}; strings, numbers, booleans, null, objects, arrays).
// kInvalidInput, located at the tag, when a tag that is rendered names something the context lacks
// (never an empty greeting), or names an object or array where text belongs; when a file has a
// syntax error, a partial, or raw output in html.mustache.
Result<Rendered> Render(const Template& tmpl, const nlohmann::json& context);

}  // namespace followup::delivery
