#include "delivery/template.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <kainjow/mustache.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "worth/facts.h"

namespace followup::delivery {
namespace {

namespace fs = std::filesystem;
namespace mustache = kainjow::mustache;
using nlohmann::json;

constexpr std::string_view kDefaultOpen = "{{";
constexpr std::string_view kDefaultClose = "}}";

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scanner: the template's tags and sections with their byte offsets. It follows kainjow's parser
// (the same tag boundaries, the same delimiter changes) so that what is checked is what renders,
// but reports every problem with its place instead of the first one as a byte offset.

enum class Kind { kVariable, kRaw, kSection, kInverted };

struct Node {
  Kind kind = Kind::kVariable;
  std::string name;
  std::string written;         // the tag as written, for messages: "{{{x}}}"
  size_t offset = 0;           // of the opening delimiter
  std::vector<Node> children;  // sections
};

struct Problem {
  size_t offset = 0;
  std::string message;
};

// 1-based line and byte column of an offset.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') starts_.push_back(i + 1);
  }
  std::pair<int, int> At(size_t offset) const {
    auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    size_t line = static_cast<size_t>(it - starts_.begin());  // >= 1
    return {static_cast<int>(line), static_cast<int>(offset - starts_[line - 1] + 1)};
  }
  std::string Describe(size_t offset) const {
    auto [line, column] = At(offset);
    return std::to_string(line) + ":" + std::to_string(column);
  }

 private:
  std::vector<size_t> starts_;
};

// Parses "=<% %>=" (already trimmed) the way kainjow does; nullopt when it is not a valid change.
std::optional<std::pair<std::string, std::string>> ParseDelimiters(std::string_view contents) {
  if (contents.size() < 5 || contents.back() != '=') return std::nullopt;
  std::string_view inner = Trim(contents.substr(1, contents.size() - 2));
  size_t space = inner.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  size_t next = inner.find_first_not_of(' ', space + 1);
  if (next == std::string_view::npos) return std::nullopt;
  std::string_view open = inner.substr(0, space);
  std::string_view close = inner.substr(next);
  auto valid = [](std::string_view d) {
    return !d.empty() &&
           std::none_of(d.begin(), d.end(), [](char c) { return c == '=' || IsSpace(c); });
  };
  if (!valid(open) || !valid(close)) return std::nullopt;
  return std::pair{std::string(open), std::string(close)};
}

struct Parsed {
  std::vector<Node> nodes;
  std::vector<Problem> problems;
};

Parsed Parse(std::string_view text, const LineIndex& lines) {
  Parsed out;
  std::string open(kDefaultOpen);
  std::string close(kDefaultClose);
  std::vector<Node> sections;  // open sections, innermost last
  auto add = [&](Node node) {
    (sections.empty() ? out.nodes : sections.back().children).push_back(std::move(node));
  };
  auto close_innermost = [&] {
    Node done = std::move(sections.back());
    sections.pop_back();
    add(std::move(done));
  };
  auto problem = [&](size_t offset, std::string message) {
    out.problems.push_back({offset, std::move(message)});
  };

  size_t pos = 0;
  while (true) {
    size_t start = text.find(open, pos);
    if (start == std::string_view::npos) break;
    size_t contents = start + open.size();
    const bool braces = open == kDefaultOpen && close == kDefaultClose;
    const bool triple = braces && contents < text.size() && text[contents] == '{';
    const std::string end = triple ? std::string("}}}") : close;
    if (triple) ++contents;
    size_t stop = text.find(end, contents);
    if (stop == std::string_view::npos) {
      problem(start, "unclosed tag: no " + end + " after " +
                         std::string(text.substr(start, contents - start)));
      break;  // the rest of the file cannot be read as tags
    }
    const std::string_view inner = Trim(text.substr(contents, stop - contents));
    const std::string written(text.substr(start, stop + end.size() - start));
    pos = stop + end.size();

    if (!inner.empty() && inner.front() == '=') {
      auto delimiters = ParseDelimiters(inner);
      if (!delimiters) {
        problem(start, "bad delimiter change " + written + " (write e.g. {{=<% %>=}})");
        break;  // kainjow stops here too
      }
      open = delimiters->first;
      close = delimiters->second;
      continue;
    }

    Node node;
    node.offset = start;
    node.written = written;
    char sigil = triple || inner.empty() ? '\0' : inner.front();
    switch (sigil) {
      case '#':
        node.kind = Kind::kSection;
        break;
      case '^':
        node.kind = Kind::kInverted;
        break;
      case '&':
        node.kind = Kind::kRaw;
        break;
      case '/':
      case '!':
      case '>':
        break;
      default:
        node.kind = triple ? Kind::kRaw : Kind::kVariable;
        sigil = '\0';
        break;
    }
    node.name = std::string(sigil == '\0' ? inner : Trim(inner.substr(1)));
    if (sigil == '!') continue;  // a comment
    if (sigil == '>') {
      problem(start, "partials (" + written + ") are not supported");
      continue;
    }
    if (node.name.empty()) {
      problem(start, "empty tag " + written);
      continue;
    }
    if (sigil == '/') {
      if (sections.empty()) {
        problem(start, written + " closes no section");
      } else {
        if (sections.back().name != node.name) {
          problem(start, written + " does not close the open section " +
                             Quote(sections.back().name) + " (opened at " +
                             lines.Describe(sections.back().offset) + ")");
        }
        close_innermost();
      }
      continue;
    }
    if (node.kind == Kind::kSection || node.kind == Kind::kInverted) {
      sections.push_back(std::move(node));
    } else {
      add(std::move(node));
    }
  }
  while (!sections.empty()) {
    problem(sections.back().offset, "unclosed section " + Quote(sections.back().name) + ": no {{/" +
                                        sections.back().name + "}}");
    close_innermost();
  }
  std::stable_sort(out.problems.begin(), out.problems.end(),
                   [](const Problem& a, const Problem& b) { return a.offset < b.offset; });
  return out;
}

// One file of a template, with where its errors point.
struct File {
  std::string_view name;  // "text.mustache"
  const std::string* text;
  bool html;
};

std::vector<File> FilesOf(const Template& t) {
  std::vector<File> files = {{kSubjectFile, &t.subject, false}, {kTextFile, &t.text, false}};
  if (!t.html.empty()) files.push_back({kHtmlFile, &t.html, true});
  return files;
}

std::string PathOf(const Template& t, std::string_view file) {
  return (fs::path(t.dir) / std::string(file)).string();
}

Error ErrorAt(const Template& t, std::string_view file, const LineIndex& lines, size_t offset,
              std::string message) {
  auto [line, column] = lines.At(offset);
  return Error{ErrorCode::kInvalidInput, std::move(message), {PathOf(t, file), line, column}};
}

Error ErrorIn(const Template& t, std::string_view file, std::string message) {
  return Error{ErrorCode::kInvalidInput, std::move(message), {PathOf(t, file), 0, 0}};
}

// The raw output refusal, shared by check and render.
std::string RawInHtmlMessage(const Node& node) {
  return "raw output " + node.written +
         " is not allowed in html.mustache: values are HTML-escaped there (write {{" + node.name +
         "}})";
}

// ---------------------------------------------------------------------------------------------
// Check: names against KnownNames().

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

class NameChecker {
 public:
  NameChecker(const Template& t, const std::vector<std::string>& value_names)
      : template_(t), known_(KnownNames(value_names)) {
    for (const auto& name : known_) {
      leaves_.insert(name);
      for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1))
        groups_.insert(name.substr(0, dot));
    }
    for (const auto& v : value_names)
      if (IsUsableValueName(v)) values_.insert(v);
  }

  void Check(const File& file, std::vector<Error>& errors) {
    LineIndex lines(*file.text);
    Parsed parsed = Parse(*file.text, lines);
    for (const auto& p : parsed.problems)
      errors.push_back(ErrorAt(template_, file.name, lines, p.offset, p.message));
    std::vector<Scope> scopes = {{"", What::kGroup}};
    Walk(parsed.nodes, file, lines, scopes, errors);
  }

 private:
  enum class What { kUnknown, kLeaf, kGroup };
  struct Scope {
    std::string prefix;  // the full name of the section's value; "" for the root
    What what;
  };

  std::pair<What, std::string> Resolve(const std::string& name,
                                       const std::vector<Scope>& scopes) const {
    if (name == ".") {
      // Inside a section over an unknown name, that name was reported already.
      if (scopes.size() > 1 && scopes.back().what == What::kUnknown) return {What::kLeaf, name};
      if (scopes.size() > 1) return {scopes.back().what, scopes.back().prefix};
      return {What::kUnknown, name};
    }
    for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
      if (it->what == What::kUnknown) continue;
      std::string full = it->prefix.empty() ? name : it->prefix + "." + name;
      if (leaves_.count(full)) return {What::kLeaf, full};
      if (groups_.count(full)) return {What::kGroup, full};
    }
    return {What::kUnknown, name};
  }

  std::string Unknown(const std::string& name) const {
    std::vector<std::string> hints;
    // The closest known name, or one that ends with what was written ("first_name").
    std::string best;
    size_t best_distance = std::string::npos;
    for (const auto& k : known_) {
      size_t d = EditDistance(name, k);
      if (d < best_distance) best_distance = d, best = k;
    }
    if (best_distance > 3 || best_distance * 3 > name.size()) {
      best.clear();
      for (const auto& k : known_)
        if (k.size() > name.size() && k.ends_with("." + name)) {
          best = k;
          break;
        }
    }
    if (!best.empty()) hints.push_back("did you mean " + Quote(best) + "?");
    if (name.starts_with("values.") || name == "values") {
      std::vector<std::string> values(values_.begin(), values_.end());
      hints.push_back(values.empty() ? "this rule has no values:"
                                     : "values here: " + Join(values, ", "));
    } else if (name.starts_with("customer.")) {
      hints.push_back("customer.* are id, name, first_name, email and the facts in docs/worth.md");
    } else if (name.starts_with("business.")) {
      hints.push_back("business.* are name, from_email, reply_to, currency");
    } else if (best.empty()) {
      hints.push_back("names are customer.*, business.*, values.* and unsubscribe_url");
    }
    return "unknown value " + Quote(name) + " (" + Join(hints, "; ") + ")";
  }

  std::string Group(const std::string& full) const {
    std::vector<std::string> some;
    for (const auto& k : known_)
      if (k.starts_with(full + ".") && some.size() < 3) some.push_back(k);
    return Quote(full) + " is a group of values, not a value (use one of them, e.g. " +
           Join(some, ", ") + ")";
  }

  void Walk(const std::vector<Node>& nodes, const File& file, const LineIndex& lines,
            std::vector<Scope>& scopes, std::vector<Error>& errors) const {
    for (const auto& node : nodes) {
      auto fail = [&](std::string message) {
        errors.push_back(ErrorAt(template_, file.name, lines, node.offset, std::move(message)));
      };
      auto [what, full] = Resolve(node.name, scopes);
      if (node.kind == Kind::kVariable || node.kind == Kind::kRaw) {
        if (node.kind == Kind::kRaw && file.html) fail(RawInHtmlMessage(node));
        if (what == What::kUnknown) fail(Unknown(node.name));
        if (what == What::kGroup) fail(Group(full));
        continue;
      }
      if (what == What::kUnknown) fail(Unknown(node.name));
      scopes.push_back({full, what});
      Walk(node.children, file, lines, scopes, errors);
      scopes.pop_back();
    }
  }

  const Template& template_;
  std::vector<std::string> known_;
  std::set<std::string> leaves_;
  std::set<std::string> groups_;
  std::set<std::string> values_;
};

// The offset just after the subject's first line break, if anything but white space follows it.
std::optional<size_t> SecondSubjectLine(std::string_view subject) {
  size_t brk = subject.find_first_of("\r\n");
  if (brk == std::string_view::npos) return std::nullopt;
  if (Trim(subject.substr(brk)).empty()) return std::nullopt;
  size_t next = brk + 1;
  if (subject[brk] == '\r' && next < subject.size() && subject[next] == '\n') ++next;
  return next;
}

// ---------------------------------------------------------------------------------------------
// Render.

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
std::optional<Error> CheckValues(const Template& t, const File& file, const LineIndex& lines,
                                 const std::vector<Node>& nodes, std::vector<const json*>& stack) {
  for (const auto& node : nodes) {
    auto fail = [&](std::string message) {
      return ErrorAt(t, file.name, lines, node.offset, std::move(message));
    };
    if (node.kind == Kind::kRaw && file.html) return fail(RawInHtmlMessage(node));
    const json* v = Lookup(node.name, stack);
    if (!v) return fail("no value for " + Quote(node.name) + " in the context");
    if (node.kind == Kind::kVariable || node.kind == Kind::kRaw) {
      if (v->is_object() || v->is_array() || v->is_boolean())
        return fail(Quote(node.name) + " is " + v->type_name() + ", not text");
      continue;
    }
    const bool falsy = IsFalsy(*v);
    if (node.kind == Kind::kInverted && !falsy) continue;
    if (node.kind == Kind::kSection && falsy) continue;
    if (node.kind == Kind::kSection && v->is_array()) {
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
      : lines(text), parsed(Parse(text, lines)), engine(text) {}
  LineIndex lines;
  Parsed parsed;
  mustache::mustache engine;
};

// The compiled form of a file's text, kept per thread (a worker renders many messages from a few
// templates; parsing each file again for every message was most of the rendering time). Found by
// the text's address first, confirmed by comparing the text (no hashing or copying of it for every
// message), then by the text itself.
Compiled& CompiledFor(const File& file) {
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

Result<std::string> RenderFile(const Template& t, const File& file, const json& context,
                               const mustache::data& data) {
  try {
    Compiled& c = CompiledFor(file);
    if (!c.parsed.problems.empty()) {
      const auto& p = c.parsed.problems.front();
      return tl::unexpected(ErrorAt(t, file.name, c.lines, p.offset, p.message));
    }
    std::vector<const json*> stack = {&context};
    if (auto error = CheckValues(t, file, c.lines, c.parsed.nodes, stack)) {
      return tl::unexpected(std::move(*error));
    }
    if (!c.engine.is_valid())
      return tl::unexpected(ErrorIn(t, file.name, c.engine.error_message()));
    return c.engine.render(data);
  } catch (const std::exception& e) {
    return tl::unexpected(ErrorIn(t, file.name, std::string("rendering failed: ") + e.what()));
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

// Reads a whole file: nullopt when it does not exist; an error when it cannot be read.
Result<std::optional<std::string>> ReadIfExists(const fs::path& path) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    if (ec && ec != std::errc::no_such_file_or_directory)
      return RuntimeFailure("read template " + path.string() + ": " + ec.message());
    return std::optional<std::string>();
  }
  if (!fs::is_regular_file(status)) {
    return InvalidInput("template file is not a regular file", {path.string(), 0, 0});
  }
  auto size = fs::file_size(path, ec);
  if (!ec && size > kMaxTemplateFileBytes) {
    return InvalidInput(
        "template file is larger than " + std::to_string(kMaxTemplateFileBytes) + " bytes",
        {path.string(), 0, 0});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return RuntimeFailure("read template " + path.string() + ": cannot open it");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return RuntimeFailure("read template " + path.string() + ": read failed");
  std::string s = text.str();
  if (s.size() > kMaxTemplateFileBytes) {
    return InvalidInput(
        "template file is larger than " + std::to_string(kMaxTemplateFileBytes) + " bytes",
        {path.string(), 0, 0});
  }
  if (s.starts_with("\xEF\xBB\xBF")) s.erase(0, 3);
  return std::optional<std::string>(std::move(s));
}

}  // namespace

Result<Template> LoadTemplate(const std::string& templates_dir, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return InvalidInput("bad template name " + Quote(name) +
                        ": a template is a folder name under the templates folder");
  }
  Template t;
  t.name = name;
  t.dir = (fs::path(templates_dir) / name).string();
  std::error_code ec;
  if (!fs::is_directory(t.dir, ec)) {
    return InvalidInput("no template " + Quote(name) + " (no folder " + t.dir + ")", {t.dir, 0, 0});
  }
  struct Want {
    std::string_view file;
    std::string* text;
    bool required;
  };
  for (const Want& want : {Want{kSubjectFile, &t.subject, true}, Want{kTextFile, &t.text, true},
                           Want{kHtmlFile, &t.html, false}}) {
    std::string path = PathOf(t, want.file);
    auto read = ReadIfExists(path);
    if (!read) return tl::unexpected(read.error());
    if (!*read) {
      if (want.required) {
        return InvalidInput("template " + Quote(name) + " has no " + std::string(want.file),
                            {path, 0, 0});
      }
      continue;
    }
    *want.text = std::move(**read);
  }
  return t;
}

bool IsUsableValueName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::vector<std::string> KnownNames(const std::vector<std::string>& value_names) {
  std::vector<std::string> names = {"customer.id", "customer.name", "customer.first_name",
                                    "customer.email"};
  for (const auto& fact : worth::AllFacts()) names.push_back("customer." + std::string(fact.name));
  for (const char* b : {"name", "from_email", "reply_to", "currency"})
    names.push_back(std::string("business.") + b);
  std::set<std::string> seen;
  for (const auto& v : value_names)
    if (IsUsableValueName(v) && seen.insert(v).second) names.push_back("values." + v);
  names.push_back("unsubscribe_url");
  return names;
}

std::vector<Error> CheckTemplate(const Template& tmpl,
                                 const std::vector<std::string>& value_names) {
  std::vector<Error> errors;
  NameChecker checker(tmpl, value_names);
  for (const File& file : FilesOf(tmpl)) {
    checker.Check(file, errors);
    if (file.name == kSubjectFile) {
      if (Trim(tmpl.subject).empty()) {
        errors.push_back(ErrorIn(tmpl, file.name, "the subject is empty"));
      } else if (auto second = SecondSubjectLine(tmpl.subject)) {
        errors.push_back(ErrorAt(tmpl, file.name, LineIndex(tmpl.subject), *second,
                                 "the subject must be one line"));
      }
    }
    if (file.name == kTextFile && Trim(tmpl.text).empty()) {
      errors.push_back(ErrorIn(tmpl, file.name, "the text body is empty"));
    }
  }
  return errors;
}

std::optional<std::set<std::string>> NameParts(const Template& tmpl) {
  std::set<std::string> parts;
  bool everything = false;
  auto walk = [&](auto& self, const std::vector<Node>& nodes) -> void {
    for (const Node& node : nodes) {
      if (node.name == ".") everything = true;
      for (auto& part : SplitDots(node.name)) parts.insert(std::move(part));
      self(self, node.children);
    }
  };
  for (const File& file : FilesOf(tmpl)) {
    const Compiled& c = CompiledFor(file);
    if (!c.parsed.problems.empty()) return std::nullopt;
    walk(walk, c.parsed.nodes);
  }
  if (everything) return std::nullopt;
  return parts;
}

Result<Rendered> Render(const Template& tmpl, const nlohmann::json& context) {
  if (!context.is_object()) {
    return InvalidInput("template " + Quote(tmpl.name) + ": the context is not an object");
  }
  const mustache::data data = ToData(context);
  Rendered out;
  for (const File& file : FilesOf(tmpl)) {
    auto text = RenderFile(tmpl, file, context, data);
    if (!text) return tl::unexpected(text.error());
    if (file.name == kSubjectFile) out.subject = OneLine(*text);
    if (file.name == kTextFile) out.text = std::move(*text);
    if (file.name == kHtmlFile) out.html = std::move(*text);
  }
  if (out.subject.empty()) {
    return tl::unexpected(ErrorIn(tmpl, kSubjectFile, "the subject renders empty"));
  }
  return out;
}

}  // namespace followup::delivery
