// Rendering a template with a context (kainjow/mustache), after checking that every tag it reaches
// finds its value.
#include <kainjow/mustache.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "delivery/template.h"
#include "delivery/template_scan.h"

namespace followup::delivery {
namespace {

namespace mustache = kainjow::mustache;
using nlohmann::json;

bool IsFalsy(const json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) ||
         (v.is_string() && v.get_ref<const std::string&>().empty()) || (v.is_array() && v.empty());
}

// What kainjow sees. Empty text and null are false, so sections skip them (and {{x}} renders
// nothing for them, as for "").
mustache::data ToData(const json& v) {
  switch (v.type()) {
    case json::value_t::boolean:
      return mustache::data(v.get<bool>());
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (s.empty()) return mustache::data(false);
      return mustache::data(s);
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return mustache::data(v.dump());
    case json::value_t::object: {
      mustache::data out(mustache::data::type::object);
      for (const auto& [key, value] : v.items()) out.set(key, ToData(value));
      return out;
    }
    case json::value_t::array: {
      mustache::data out(mustache::data::type::list);
      for (const auto& item : v) out.push_back(ToData(item));
      return out;
    }
    default:  // null, binary, discarded
      return mustache::data(false);
  }
}

std::vector<std::string> SplitDots(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    parts.push_back(name.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// Mustache lookup as kainjow does it: the innermost context first, a dotted name whole in each.
const json* Lookup(const std::string& name, const std::vector<const json*>& stack) {
  if (name == ".") return stack.back();
  const auto parts = SplitDots(name);
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    const json* v = *it;
    for (const auto& part : parts) {
      if (!v->is_object()) {
        v = nullptr;
        break;
      }
      auto found = v->find(part);
      if (found == v->end()) {
        v = nullptr;
        break;
      }
      v = &*found;
    }
    if (v) return v;
  }
  return nullptr;
}

// Every tag that rendering reaches must find its value: the first one that does not is the error.
std::optional<Error> CheckValues(const Template& t, const scan::File& file,
                                 const scan::LineIndex& lines, const std::vector<scan::Node>& nodes,
                                 std::vector<const json*>& stack) {
  for (const auto& node : nodes) {
    auto fail = [&](std::string message) {
      return scan::ErrorAt(t, file.name, lines, node.offset, std::move(message));
    };
    if (node.kind == scan::Kind::kRaw && file.html) return fail(scan::RawInHtmlMessage(node));
    const json* v = Lookup(node.name, stack);
    if (!v) return fail("no value for " + scan::Quote(node.name) + " in the context");
    if (node.kind == scan::Kind::kVariable || node.kind == scan::Kind::kRaw) {
      if (v->is_object() || v->is_array() || v->is_boolean())
        return fail(scan::Quote(node.name) + " is " + v->type_name() + ", not text");
      continue;
    }
    const bool falsy = IsFalsy(*v);
    if (node.kind == scan::Kind::kInverted && !falsy) continue;
    if (node.kind == scan::Kind::kSection && falsy) continue;
    if (node.kind == scan::Kind::kSection && v->is_array()) {
      for (const auto& item : *v) {
        stack.push_back(&item);
        auto error = CheckValues(t, file, lines, node.children, stack);
        stack.pop_back();
        if (error) return error;
      }
      continue;
    }
    stack.push_back(v);
    auto error = CheckValues(t, file, lines, node.children, stack);
    stack.pop_back();
    if (error) return error;
  }
  return std::nullopt;
}

// A template file parsed once: its tags (for the missing-value check) and kainjow's compiled form.
struct Compiled {
  explicit Compiled(const std::string& text)
      : lines(text), parsed(scan::Parse(text, lines)), engine(text) {}
  scan::LineIndex lines;
  scan::Parsed parsed;
  mustache::mustache engine;
};

// The compiled form of a file's text, kept per thread (a worker renders many messages from a few
// templates; parsing each file again for every message was most of the rendering time). Found by
// the text's address first, confirmed by comparing the text (no hashing or copying of it for every
// message), then by the text itself.
Compiled& CompiledFor(const scan::File& file) {
  struct Entry {
    const std::string* text;  // where the caller keeps it (may since hold other text)
    bool html;
    const std::string* key;  // the cache's own copy
    Compiled* compiled;
  };
  thread_local std::unordered_map<std::string, std::unique_ptr<Compiled>> cache;
  thread_local std::vector<Entry> recent;
  for (const Entry& e : recent) {
    if (e.text == file.text && e.html == file.html && e.key->size() == file.text->size() + 1 &&
        std::string_view(*e.key).substr(0, e.key->size() - 1) == *file.text) {
      return *e.compiled;
    }
  }
  std::string key = *file.text;
  key += file.html ? '\1' : '\0';
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() >= 64) {  // bounded: templates change only on reload
      recent.clear();
      cache.clear();
    }
    auto compiled = std::make_unique<Compiled>(*file.text);
    if (!file.html) compiled->engine.set_custom_escape([](const std::string& s) { return s; });
    it = cache.emplace(std::move(key), std::move(compiled)).first;
  }
  if (recent.size() >= 16) recent.erase(recent.begin());
  recent.push_back({file.text, file.html, &it->first, it->second.get()});
  return *it->second;
}

Result<std::string> RenderFile(const Template& t, const scan::File& file, const json& context,
                               const mustache::data& data) {
  try {
    Compiled& c = CompiledFor(file);
    if (!c.parsed.problems.empty()) {
      const auto& p = c.parsed.problems.front();
      return tl::unexpected(scan::ErrorAt(t, file.name, c.lines, p.offset, p.message));
    }
    std::vector<const json*> stack = {&context};
    if (auto error = CheckValues(t, file, c.lines, c.parsed.nodes, stack)) {
      return tl::unexpected(std::move(*error));
    }
    if (!c.engine.is_valid())
      return tl::unexpected(scan::ErrorIn(t, file.name, c.engine.error_message()));
    return c.engine.render(data);
  } catch (const std::exception& e) {
    return tl::unexpected(
        scan::ErrorIn(t, file.name, std::string("rendering failed: ") + e.what()));
  }
}

// Control characters (C0, DEL, C1, U+2028/U+2029) become spaces; then trimmed.
std::string OneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    unsigned char next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (c < 0x20 || c == 0x7f) {
      out += ' ';
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      out += ' ';
      ++i;
    } else if (c == 0xe2 && next == 0x80 && i + 2 < s.size() &&
               (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      out += ' ';
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  size_t first = out.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  size_t last = out.find_last_not_of(' ');
  return out.substr(first, last - first + 1);
}

}  // namespace

std::optional<std::set<std::string>> NameParts(const Template& tmpl) {
  std::set<std::string> parts;
  bool everything = false;
  auto walk = [&](auto& self, const std::vector<scan::Node>& nodes) -> void {
    for (const scan::Node& node : nodes) {
      if (node.name == ".") everything = true;
      for (auto& part : SplitDots(node.name)) parts.insert(std::move(part));
      self(self, node.children);
    }
  };
  for (const scan::File& file : scan::FilesOf(tmpl)) {
    const Compiled& c = CompiledFor(file);
    if (!c.parsed.problems.empty()) return std::nullopt;
    walk(walk, c.parsed.nodes);
  }
  if (everything) return std::nullopt;
  return parts;
}

Result<Rendered> Render(const Template& tmpl, const nlohmann::json& context) {
  if (!context.is_object()) {
    return InvalidInput("template " + scan::Quote(tmpl.name) + ": the context is not an object");
  }
  const mustache::data data = ToData(context);
  Rendered out;
  for (const scan::File& file : scan::FilesOf(tmpl)) {
    auto text = RenderFile(tmpl, file, context, data);
    if (!text) return tl::unexpected(text.error());
    if (file.name == kSubjectFile) out.subject = OneLine(*text);
    if (file.name == kTextFile) out.text = std::move(*text);
    if (file.name == kHtmlFile) out.html = std::move(*text);
  }
  if (out.subject.empty()) {
    return tl::unexpected(scan::ErrorIn(tmpl, kSubjectFile, "the subject renders empty"));
  }
  return out;
}

}  // namespace followup::delivery
