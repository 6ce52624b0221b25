#include "delivery/template_scan.h"

#include <filesystem>
#include <optional>

namespace followup::delivery::scan {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDefaultOpen = "{{";
constexpr std::string_view kDefaultClose = "}}";

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

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

}  // namespace

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

}  // namespace followup::delivery::scan
