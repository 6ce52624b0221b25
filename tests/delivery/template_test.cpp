#include "delivery/template.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "delivery/unsubscribe.h"
#include "support/test_util.h"
#include "worth/facts.h"

namespace followup::delivery {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kTemplates = FOLLOWUP_SOURCE_DIR "/templates";
const std::string kRules = FOLLOWUP_SOURCE_DIR "/rules";
const std::string kKey(32, 'k');

// What a rule sends: its action, or each of a sequence's steps (send: and values:).
std::vector<YAML::Node> Sends(const YAML::Node& rule) {
  if (rule["action"]) return {rule["action"]};
  return {rule["steps"].begin(), rule["steps"].end()};
}

// What each shipped rule hands its templates: template name -> the values keys (the rule's, and
// an arm's own where it has them).

std::map<std::string, std::vector<std::string>> ShippedValues() {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& entry : fs::directory_iterator(kRules)) {
    if (entry.path().extension() != ".yaml") continue;
    YAML::Node rule = YAML::LoadFile(entry.path().string());
    std::vector<std::string> values;
    std::string send;
    for (const auto& action : Sends(rule)) {
      values.clear();
      for (const auto& kv : action["values"]) values.push_back(kv.first.as<std::string>());
      send = action["send"].as<std::string>();
      EXPECT_TRUE(!out.count(send) || out[send] == values)
          << send << ": every step that sends it gives it the same values";
      out[send] = values;
    }
    if (rule["experiment"]) {
      for (const auto& arm : rule["experiment"]["arms"]) {
        if (arm["control"] && arm["control"].as<bool>()) continue;
        std::vector<std::string> arm_values = values;
        if (arm["values"])
          for (const auto& kv : arm["values"]) arm_values.push_back(kv.first.as<std::string>());
        out[arm["send"] ? arm["send"].as<std::string>() : send] = arm_values;
      }
    }
  }
  return out;
}

// The `values:` of the first action or step that sends the template `send`, as a JSON object.
json ShippedValueObject(const std::string& send) {
  for (const auto& entry : fs::directory_iterator(kRules)) {
    if (entry.path().extension() != ".yaml") continue;
    YAML::Node rule = YAML::LoadFile(entry.path().string());
    for (const auto& action : Sends(rule)) {
      if (action["send"].as<std::string>() != send) continue;
      json values = json::object();
      for (const auto& kv : action["values"])
        values[kv.first.as<std::string>()] = kv.second.as<std::string>();
      return values;
    }
  }
  ADD_FAILURE() << "no rule sends " << send;
  return json::object();
}

// A context as the daemon builds one: every known name present.
json FullContext(const std::string& name, const std::string& first_name, json values) {
  json customer = {
      {"id", "c-17"}, {"name", name}, {"first_name", first_name}, {"email", "ann@example.com"}};
  for (const auto& fact : worth::AllFacts()) customer[std::string(fact.name)] = "";
  customer["purchases"] = "6";
  customer["net_revenue"] = "293.30";
  return {
      {"customer", customer},
      {"business",
       {{"name", "Example Shop"},
        {"from_email", "hello@example.com"},
        {"reply_to", ""},
        {"currency", "EUR"}}},
      {"values", std::move(values)},
      {"unsubscribe_url", UnsubscribeUrl("https://shop.example.com/unsubscribe", kKey, "c-17")}};
}

::testing::AssertionResult Has(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" is not in:\n" << text;
}

::testing::AssertionResult Lacks(const std::string& text, const std::string& part) {
  if (text.find(part) == std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" is in:\n" << text;
}

std::vector<std::string> Strings(const std::vector<Error>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.ToString());
  return out;
}

Template Load(const std::string& dir, const std::string& name) {
  auto t = LoadTemplate(dir, name);
  EXPECT_TRUE(t) << (t ? "" : t.error().ToString());
  return t ? *t : Template{};
}

// ---------------------------------------------------------------------------------------------
// The shipped templates.

TEST(ShippedTemplatesTest, EveryRuleTemplateChecksCleanWithItsValues) {
  auto shipped = ShippedValues();
  ASSERT_EQ(shipped.size(), 5u);
  for (const auto& [name, values] : shipped) {
    SCOPED_TRACE(name);
    Template t = Load(kTemplates, name);
    EXPECT_FALSE(t.html.empty());
    EXPECT_EQ(Strings(CheckTemplate(t, values)), std::vector<std::string>{});
  }
}

TEST(ShippedTemplatesTest, EveryTemplateFolderIsUsedByARule) {
  auto shipped = ShippedValues();
  for (const auto& entry : fs::directory_iterator(kTemplates))
    EXPECT_TRUE(shipped.count(entry.path().filename().string())) << entry.path();
}

TEST(ShippedTemplatesTest, WinbackReadsRight) {
  Template t = Load(kTemplates, "winback");
  json context = FullContext("Ann Example", "Ann", ShippedValueObject("winback"));
  auto r = Render(t, context);
  ASSERT_TRUE(r) << r.error().ToString();
  const std::string url = context["unsubscribe_url"];
  EXPECT_EQ(r->subject, "We miss you, Ann");
  EXPECT_TRUE(
      r->text.starts_with("Hello Ann,\n\nit has been a while since your last order at "
                          "Example Shop, and we wanted to say we miss you.\n"))
      << r->text;
  EXPECT_TRUE(Has(r->text, "10% off your next order with the code COMEBACK10."));
  EXPECT_TRUE(Has(r->text, "Unsubscribe with one click: " + url + "\n"));
  EXPECT_TRUE(Has(r->html, "<p>Hello Ann,</p>"));
  EXPECT_TRUE(Has(r->html, "<strong>COMEBACK10</strong>"));
  // In an attribute the link's & is written &amp; and reads back as the same URL.
  std::string escaped_url = url;
  escaped_url.replace(escaped_url.find('&'), 1, "&amp;");
  EXPECT_TRUE(Has(r->html, "<a href=\"" + escaped_url + "\">Unsubscribe"));
  EXPECT_EQ(*VerifyUnsubscribe(kKey, url), "c-17");
}

TEST(ShippedTemplatesTest, AllRenderWithTheirRulesValues) {
  for (const auto& [name, values] : ShippedValues()) {
    SCOPED_TRACE(name);
    Template t = Load(kTemplates, name);
    json value_object = ShippedValueObject(name);
    auto r = Render(t, FullContext("Bo Berg", "Bo", value_object));
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_TRUE(Has(r->subject, "Bo"));
    EXPECT_TRUE(Lacks(r->subject, "\n"));
    for (const std::string& part : {r->subject, r->text, r->html}) {
      EXPECT_TRUE(Lacks(part, "{{"));
      EXPECT_TRUE(Lacks(part, "}}"));
    }
    EXPECT_TRUE(Has(r->text, "Hello Bo,"));
    EXPECT_TRUE(Has(r->html, "Hello Bo,"));
    EXPECT_TRUE(Has(r->text, "https://shop.example.com/unsubscribe?c=c-17&t="));
    for (const auto& [key, value] : value_object.items()) {
      EXPECT_TRUE(Has(r->text, value.get<std::string>())) << key;
      EXPECT_TRUE(Has(r->html, value.get<std::string>())) << key;
    }
  }
}

TEST(ShippedTemplatesTest, HtmlEscapesNamesTextKeepsThem) {
  Template t = Load(kTemplates, "winback");
  const std::string nasty = "<b>Ann & \"Bo\"</b>";
  auto r = Render(t, FullContext(nasty, nasty, ShippedValueObject("winback")));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_TRUE(Has(r->html, "<p>Hello &lt;b&gt;Ann &amp; &quot;Bo&quot;&lt;/b&gt;,</p>"));
  EXPECT_TRUE(Lacks(r->html, "<b>Ann"));
  EXPECT_TRUE(Has(r->text, "Hello <b>Ann & \"Bo\"</b>,\n"));
  EXPECT_EQ(r->subject, "We miss you, <b>Ann & \"Bo\"</b>");
}

TEST(ShippedTemplatesTest, MissingValueFailsNamingIt) {
  Template t = Load(kTemplates, "winback");
  json context = FullContext("Ann Example", "Ann", ShippedValueObject("winback"));
  context["values"].erase("offer_code");
  auto r = Render(t, context);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(Has(r.error().message, "\"values.offer_code\""));
  EXPECT_EQ(r.error().where.file, kTemplates + "/winback/text.mustache");
  EXPECT_EQ(r.error().where.line, 7);
  EXPECT_EQ(r.error().where.column, 66);

  context = FullContext("Ann Example", "Ann", ShippedValueObject("winback"));
  context["customer"].erase("first_name");
  r = Render(t, context);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(), kTemplates +
                                      "/winback/subject.mustache:1:14: no value for "
                                      "\"customer.first_name\" in the context");
}

TEST(ShippedTemplatesTest, SubjectLosesLineBreaksAndControls) {
  Template t = Load(kTemplates, "winback");
  auto r = Render(
      t, FullContext("x", "Ann\r\nBcc: eve@example.com\t\x01\x7f", ShippedValueObject("winback")));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->subject, "We miss you, Ann  Bcc: eve@example.com");
}

// A broken copy of a shipped template reports the exact place.
TEST(ShippedTemplatesTest, BrokenCopyReportsFileLineColumn) {
  testing::TempDir dir;
  fs::copy(kTemplates + "/vip-offer", dir / "vip-offer");
  std::string text = testing::ReadFile(dir / "vip-offer/text.mustache");
  // Line 4: "the next two weeks you get {{values.offer}} with the code {{values.offer_code}}."
  auto at = text.find("{{values.offer_code}}");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 21, "{{values.offer_cod}}");
  dir.Write("vip-offer/text.mustache", text);
  std::string html = testing::ReadFile(dir / "vip-offer/html.mustache");
  at = html.find("<strong>{{values.offer}}</strong>");
  ASSERT_NE(at, std::string::npos);
  html.replace(at, 33, "<strong>{{{values.offer}}}</strong>");
  dir.Write("vip-offer/html.mustache", html);

  Template t = Load(dir.path().string(), "vip-offer");
  EXPECT_EQ(Strings(CheckTemplate(t, {"offer_code", "offer"})),
            (std::vector<std::string>{
                dir / "vip-offer/text.mustache:4:59: unknown value \"values.offer_cod\" (did you "
                      "mean \"values.offer_code\"?; values here: offer, offer_code)",
                dir / "vip-offer/html.mustache:6:40: raw output {{{values.offer}}} is not "
                      "allowed in html.mustache: values are HTML-escaped there (write "
                      "{{values.offer}})",
            }));
}

// ---------------------------------------------------------------------------------------------
// Checking, on small templates written here.

class TemplateCheckTest : public ::testing::Test {
 protected:
  // Writes a template "t" (files not given are left out, html included only when not null) and
  // checks it with values offer and offer_code; returns "FILE:LINE:COL: message" with FILE
  // relative to the template folder.
  std::vector<std::string> Check(const std::string& subject, const std::string& text,
                                 const char* html = nullptr) {
    fs::remove_all(dir_ / "t");
    dir_.Write("t/subject.mustache", subject);
    dir_.Write("t/text.mustache", text);
    if (html) dir_.Write("t/html.mustache", html);
    Template t = Load(dir_.path().string(), "t");
    std::vector<std::string> out;
    for (const auto& e : CheckTemplate(t, {"offer_code", "offer"})) {
      std::string s = e.ToString();
      EXPECT_EQ(s.rfind(dir_ / "t/", 0), 0u) << s;
      out.push_back(s.substr((dir_ / "t/").size()));
    }
    return out;
  }

  Template Write(const std::string& subject, const std::string& text, const char* html) {
    fs::remove_all(dir_ / "t");
    dir_.Write("t/subject.mustache", subject);
    dir_.Write("t/text.mustache", text);
    if (html) dir_.Write("t/html.mustache", html);
    return Load(dir_.path().string(), "t");
  }

  testing::TempDir dir_;
};

using Lines = std::vector<std::string>;

TEST_F(TemplateCheckTest, NamePartsAreEveryPartOfEveryTagName) {
  auto parts = NameParts(Write("Hi {{customer.first_name}}",
                               "{{#customer}}{{revenue}}{{/customer}}{{^values.x}}-{{/values.x}}"
                               "{{! customer.profit }}{{{unsubscribe_url}}}",
                               "<p>{{business.name}}</p>"));
  ASSERT_TRUE(parts);
  EXPECT_EQ(*parts, (std::set<std::string>{"customer", "first_name", "revenue", "values", "x",
                                           "unsubscribe_url", "business", "name"}));
  // When it cannot be told what a template reaches: nullopt (every value may be).
  EXPECT_FALSE(NameParts(Write("Hi", "{{#customer}}{{.}}{{/customer}}", nullptr)));
  EXPECT_FALSE(NameParts(Write("Hi", "{{#customer}}{{revenue}}", nullptr)));
}

TEST_F(TemplateCheckTest, CleanTemplate) {
  EXPECT_EQ(Check("Hi {{customer.first_name}}\n",
                  "{{! a comment }}Hi {{ customer.first_name }},\n{{#values.offer}}"
                  "{{values.offer}}{{/values.offer}}{{^customer.p_alive}}...{{/customer.p_alive}}"
                  "\n{{customer.clv_12m}} {{business.currency}} {{{unsubscribe_url}}} "
                  "{{& business.reply_to}}\n",
                  "<p>{{customer.name}} {{business.from_email}}</p>"),
            Lines{});
}

TEST_F(TemplateCheckTest, UnknownValues) {
  EXPECT_EQ(
      Check("Hi {{customer.frist_name}}", "Hi\nuse {{values.offer_cod}} now {{first_name}}\n",
            "{{unsubscribe_link}}{{business.owner}}{{values}}"),
      (Lines{
          "subject.mustache:1:4: unknown value \"customer.frist_name\" (did you mean "
          "\"customer.first_name\"?; customer.* are id, name, first_name, email and the facts in "
          "docs/worth.md)",
          "text.mustache:2:5: unknown value \"values.offer_cod\" (did you mean "
          "\"values.offer_code\"?; values here: offer, offer_code)",
          "text.mustache:2:30: unknown value \"first_name\" (did you mean "
          "\"customer.first_name\"?)",
          "html.mustache:1:1: unknown value \"unsubscribe_link\" (names are customer.*, "
          "business.*, values.* and unsubscribe_url)",
          "html.mustache:1:21: unknown value \"business.owner\" (business.* are name, from_email, "
          "reply_to, currency)",
          "html.mustache:1:39: \"values\" is a group of values, not a value (use one of them, "
          "e.g. values.offer_code, values.offer)",
      }));
}

TEST_F(TemplateCheckTest, NoValuesInTheRule) {
  fs::remove_all(dir_ / "t");
  dir_.Write("t/subject.mustache", "Hi");
  dir_.Write("t/text.mustache", "{{values.x}} {{nonsense_that_is_long}}");
  Template t = Load(dir_.path().string(), "t");
  EXPECT_EQ(Strings(CheckTemplate(t, {})),
            (Lines{dir_ / "t/text.mustache:1:1: unknown value \"values.x\" (this rule has no "
                          "values:)",
                   dir_ / "t/text.mustache:1:14: unknown value \"nonsense_that_is_long\" (names "
                          "are customer.*, business.*, values.* and unsubscribe_url)"}));
}

TEST_F(TemplateCheckTest, SyntaxErrors) {
  EXPECT_EQ(Check("Hi", "a\n  {{#values.offer}}\nb\n", "<p>\n{{/values.offer}}</p>"),
            (Lines{"text.mustache:2:3: unclosed section \"values.offer\": no {{/values.offer}}",
                   "html.mustache:2:1: {{/values.offer}} closes no section"}));
  EXPECT_EQ(Check("Hi", "{{#values.offer}}\n{{#values.offer_code}}x{{/values.offer}}\n"),
            (Lines{"text.mustache:1:1: unclosed section \"values.offer\": no {{/values.offer}}",
                   "text.mustache:2:24: {{/values.offer}} does not close the open section "
                   "\"values.offer_code\" (opened at 2:1)"}));
  EXPECT_EQ(Check("Hi", "ok {{customer.name}}\nthen {{customer.name\nand more\n"),
            Lines{"text.mustache:2:6: unclosed tag: no }} after {{"});
  EXPECT_EQ(Check("Hi", "x {{{customer.name}}\n"),
            Lines{"text.mustache:1:3: unclosed tag: no }}} after {{{"});
  EXPECT_EQ(Check("Hi", "{{> footer}} {{}} {{#}}{{/}}\n"),
            (Lines{"text.mustache:1:1: partials ({{> footer}}) are not supported",
                   "text.mustache:1:14: empty tag {{}}", "text.mustache:1:19: empty tag {{#}}",
                   "text.mustache:1:24: empty tag {{/}}"}));
  EXPECT_EQ(Check("Hi", "a {{=<% %>=}} <%customer.name%> <%=x=%>\n"),
            Lines{"text.mustache:1:33: bad delimiter change <%=x=%> (write e.g. {{=<% %>=}})"});
}

TEST_F(TemplateCheckTest, RawOutputOnlyOutsideHtml) {
  EXPECT_EQ(Check("{{{customer.first_name}}}", "{{{customer.name}}} {{&customer.name}}",
                  "<p>\n  {{{customer.name}}} {{& customer.name }}</p>"),
            (Lines{"html.mustache:2:3: raw output {{{customer.name}}} is not allowed in "
                   "html.mustache: values are HTML-escaped there (write {{customer.name}})",
                   "html.mustache:2:23: raw output {{& customer.name }} is not allowed in "
                   "html.mustache: values are HTML-escaped there (write {{customer.name}})"}));
}

TEST_F(TemplateCheckTest, SubjectIsOneLine) {
  EXPECT_EQ(Check("Hello\n{{customer.first_name}}\n", "x"),
            Lines{"subject.mustache:2:1: the subject must be one line"});
  EXPECT_EQ(Check("Hello {{#values.offer}}\r\n{{values.offer}}{{/values.offer}}", "x"),
            Lines{"subject.mustache:2:1: the subject must be one line"});
  EXPECT_EQ(Check("Hello\r\n\n  \n", "x"), Lines{});  // trailing blank lines are fine
  EXPECT_EQ(Check(" \n", "x"), Lines{"subject.mustache: the subject is empty"});
  EXPECT_EQ(Check("Hi", "\n\n"), Lines{"text.mustache: the text body is empty"});
}

TEST_F(TemplateCheckTest, SectionsResolveNamesInside) {
  EXPECT_EQ(Check("Hi",
                  "{{#customer}}{{first_name}} {{business.name}}{{/customer}}"
                  "{{#values.offer}}{{.}}{{/values.offer}}\n{{#bogus}}{{.}}{{/bogus}}{{.}}\n"),
            (Lines{"text.mustache:2:1: unknown value \"bogus\" (names are customer.*, "
                   "business.*, values.* and unsubscribe_url)",
                   "text.mustache:2:26: unknown value \".\" (names are customer.*, business.*, "
                   "values.* and unsubscribe_url)"}));
}

TEST_F(TemplateCheckTest, DelimiterChangesAreFollowed) {
  EXPECT_EQ(Check("Hi",
                  "{{=<% %>=}}\n<% customer.name %> {{not_a_tag}} <%values.bogus%>\n"
                  "<%={{ }}=%>{{customer.nam}}"),
            (Lines{"text.mustache:2:35: unknown value \"values.bogus\" (values here: offer, "
                   "offer_code)",
                   "text.mustache:3:12: unknown value \"customer.nam\" (did you mean "
                   "\"customer.name\"?; customer.* are id, name, first_name, email and the facts "
                   "in docs/worth.md)"}));
}

// ---------------------------------------------------------------------------------------------
// Rendering, on small templates.

TEST_F(TemplateCheckTest, RenderSectionsAndDelimiters) {
  Template t = Write("  {{values.offer}} \n",
                     "{{#customer.p_alive}}alive {{customer.p_alive}}{{/customer.p_alive}}"
                     "{{^customer.p_alive}}no model{{/customer.p_alive}}\n"
                     "{{#customer}}{{first_name}}{{/customer}}\n"
                     "{{=<% %>=}}<% values.offer %> {{x}}\n",
                     nullptr);
  json context = {{"customer", {{"first_name", "Ann"}, {"p_alive", ""}}},
                  {"values", {{"offer", "10% & more"}}}};
  auto r = Render(t, context);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->subject, "10% & more");
  EXPECT_EQ(r->text, "no model\nAnn\n10% & more {{x}}\n");
  EXPECT_EQ(r->html, "");

  context["customer"]["p_alive"] = "0.83";
  r = Render(t, context);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->text, "alive 0.83\nAnn\n10% & more {{x}}\n");
}

TEST_F(TemplateCheckTest, RenderListsAndNumbers) {
  Template t = Write("n={{n}}", "{{#items}}[{{name}} {{n}}]{{/items}}{{^none}}-{{/none}}", nullptr);
  auto r = Render(t, json{{"n", 3},
                          {"none", json::array()},
                          {"items", json::array({{{"name", "a"}}, {{"name", "b"}, {"n", 2.5}}})}});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->subject, "n=3");
  EXPECT_EQ(r->text, "[a 3][b 2.5]-");
}

TEST_F(TemplateCheckTest, RenderRefusesWhatCheckRefuses) {
  // A missing name inside a list element.
  Template t = Write("x", "{{#items}}{{name}}{{/items}}", nullptr);
  auto r = Render(t, json{{"items", json::array({{{"name", "a"}}, json::object()})}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(),
            dir_ / "t/text.mustache:1:11: no value for \"name\" in the context");
  // A missing section name, even one that would be skipped.
  t = Write("x", "a\n {{^customer.vip}}b{{/customer.vip}}", nullptr);
  r = Render(t, json{{"customer", json::object()}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(),
            dir_ / "t/text.mustache:2:2: no value for \"customer.vip\" in the context");
  // An object where text belongs.
  t = Write("x", "{{customer}}", nullptr);
  r = Render(t, json{{"customer", json::object()}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "\"customer\" is object, not text");
  // Raw output in html, a syntax error.
  t = Write("x", "x", "{{{customer}}}");
  r = Render(t, json{{"customer", "Ann"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where.file, dir_ / "t/html.mustache");
  t = Write("x", "{{#a}}", nullptr);
  r = Render(t, json{{"a", true}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(Has(r.error().message, "unclosed section"));
  // A subject that renders empty.
  t = Write("{{customer.name}}", "x", nullptr);
  r = Render(t, json{{"customer", {{"name", " \r\n"}}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "the subject renders empty");
  // Not an object.
  EXPECT_FALSE(Render(t, json::array()));
}

// ---------------------------------------------------------------------------------------------
// Loading, and the names.

TEST(LoadTemplateTest, NamesTheMissingFile) {
  testing::TempDir dir;
  dir.Write("a/subject.mustache", "\xEF\xBB\xBFHi");
  auto t = LoadTemplate(dir.path().string(), "a");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(t.error().ToString(),
            dir / "a/text.mustache" + ": template \"a\" has no text.mustache");

  dir.Write("a/text.mustache", "Body");
  t = LoadTemplate(dir.path().string(), "a");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->subject, "Hi");  // no byte order mark
  EXPECT_EQ(t->text, "Body");
  EXPECT_EQ(t->html, "");
  EXPECT_EQ(t->dir, dir / "a");

  fs::remove(dir / "a/subject.mustache");
  t = LoadTemplate(dir.path().string(), "a");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().where.file, dir / "a/subject.mustache");

  t = LoadTemplate(dir.path().string(), "nope");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(Has(t.error().message, "no template \"nope\""));

  for (const char* bad : {"", ".", "..", "../a", "a/b"}) {
    t = LoadTemplate(dir.path().string(), bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidInput);
  }
}

TEST(LoadTemplateTest, RefusesHugeFiles) {
  testing::TempDir dir;
  dir.Write("a/subject.mustache", "Hi");
  dir.Write("a/text.mustache", std::string(kMaxTemplateFileBytes + 1, 'x'));
  auto t = LoadTemplate(dir.path().string(), "a");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().where.file, dir / "a/text.mustache");
}

TEST(KnownNamesTest, ListsEverything) {
  auto names = KnownNames({"offer", "offer_code", "offer"});
  std::set<std::string> set(names.begin(), names.end());
  EXPECT_EQ(set.size(), names.size());
  for (const char* n :
       {"customer.id", "customer.name", "customer.first_name", "customer.email", "customer.p_alive",
        "customer.net_revenue", "business.name", "business.from_email", "values.offer",
        "values.offer_code", "unsubscribe_url"})
    EXPECT_TRUE(set.count(n)) << n;
  EXPECT_EQ(names.size(), 4 + worth::AllFacts().size() + 4 + 2 + 1);
  // Keys that cannot be named in a template are left out.
  EXPECT_EQ(KnownNames({"a.b", "with space", "", "{x}", "ok-1_B"}).size(),
            4 + worth::AllFacts().size() + 4 + 1 + 1);
  EXPECT_TRUE(IsUsableValueName("offer_code"));
  EXPECT_FALSE(IsUsableValueName("offer.code"));
}

}  // namespace
}  // namespace followup::delivery
