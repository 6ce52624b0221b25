// The scanner of template files (delivery/template.h) and what the template checker
// (template_check.cpp) and renderer (template_render.cpp) share: the tags of a file with their
// places, and errors located in a template's files. Internal to delivery/.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "delivery/template.h"

namespace followup::delivery::scan {

// `s` without the ASCII blanks at either end.
std::string_view Trim(std::string_view s);
// `s` in double quotes, for messages.
std::string Quote(std::string_view s);

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

struct Parsed {
  std::vector<Node> nodes;
  std::vector<Problem> problems;
};

// Every tag and section of `text`, and every problem found, in order of offset.
Parsed Parse(std::string_view text, const LineIndex& lines);

// One file of a template, with where its errors point.
struct File {
  std::string_view name;  // "text.mustache"
  const std::string* text;
  bool html;
};

// The files the template has: subject and text, and html when it has one.
std::vector<File> FilesOf(const Template& t);
// DIR/FILE: where an error in `file` points.
std::string PathOf(const Template& t, std::string_view file);
// kInvalidInput at DIR/FILE:LINE:COLUMN of `offset`.
Error ErrorAt(const Template& t, std::string_view file, const LineIndex& lines, size_t offset,
              std::string message);
// kInvalidInput about the whole of DIR/FILE.
Error ErrorIn(const Template& t, std::string_view file, std::string message);

// The raw output refusal, shared by check and render.
std::string RawInHtmlMessage(const Node& node);

}  // namespace followup::delivery::scan
