#include "config/yaml_document.h"

#include <yaml-cpp/eventhandler.h>

#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "base/printable.h"

namespace followup {
namespace {

// Walks every mapping once: an alias points back at a node already walked (anchors may even make
// a cycle), and a node is known by where it starts and its kind.
class DuplicateKeys {
 public:
  DuplicateKeys(const std::string& file, std::vector<Error>& problems)
      : file_(file), problems_(problems) {}

  void Walk(const YAML::Node& node) {
    if (!node.IsMap() && !node.IsSequence()) return;
    auto mark = node.Mark();
    if (!seen_.emplace(mark.pos, mark.line, mark.column, node.IsMap()).second) return;
    if (node.IsSequence()) {
      for (const auto& item : node) Walk(item);
      return;
    }
    std::map<std::string, YAML::Mark> keys;
    for (const auto& item : node) {
      if (item.first.IsScalar()) {
        auto [first, fresh] = keys.emplace(item.first.Scalar(), item.first.Mark());
        if (!fresh)
          problems_.push_back(Error{ErrorCode::kInvalidInput,
                                    "duplicate key '" + item.first.Scalar() + "' (first at line " +
                                        std::to_string(first->second.line + 1) + ", column " +
                                        std::to_string(first->second.column + 1) + ")",
                                    YamlLocation(file_, item.first.Mark())});
      }
      Walk(item.first);
      Walk(item.second);
    }
  }

 private:
  const std::string& file_;
  std::vector<Error>& problems_;
  std::set<std::tuple<int, int, int, bool>> seen_;
};

// Where each document starts; nothing else of the events is kept.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The start of every document in `text`. yaml-cpp's own LoadAll never ends on a stray ',' outside
// [ ] or { } (", " alone, or after a document): the parser hands out one empty document after
// another there without reading on. So documents are read only while each starts past the one
// before; one that does not is where the parser is stuck, and that is a syntax error.
Result<std::vector<YAML::Mark>> DocumentStartsOf(const std::string& text, const std::string& file) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts events;
  while (parser.HandleNextDocument(events)) {
    const auto& s = events.starts;
    if (s.size() >= 2 && s.back().pos <= s[s.size() - 2].pos) {
      const auto& stuck = s.back();
      std::string at = stuck.pos >= 0 && static_cast<size_t>(stuck.pos) < text.size()
                           ? Quote(text.substr(static_cast<size_t>(stuck.pos), 1))
                           : std::string("the end");
      return InvalidInput("unexpected " + at + " (a ',' belongs inside [ ] or { })",
                          YamlLocation(file, stuck));
    }
  }
  return std::move(events.starts);
}

}  // namespace

Location YamlLocation(const std::string& file, const YAML::Mark& mark) {
  return Location{file, mark.line + 1, mark.column + 1};
}

std::optional<YAML::Node> ReadYamlDocument(const std::string& text, const std::string& file,
                                           std::vector<Error>& problems) {
  // Two readings: the first finds where documents start (the public API builds nodes for one
  // document at a time only), the second builds the first document.
  YAML::Node document;
  Result<std::vector<YAML::Mark>> starts{std::vector<YAML::Mark>{}};
  try {
    starts = DocumentStartsOf(text, file);
    if (starts && !starts->empty()) document = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // The parser's message may carry the file's bytes (a NUL, an escape): one printable line.
    problems.push_back(
        Error{ErrorCode::kInvalidInput, Printable(e.msg, 1000), YamlLocation(file, e.mark)});
    return std::nullopt;
  }
  if (!starts) {
    problems.push_back(starts.error());
    return std::nullopt;
  }
  if (starts->empty()) return YAML::Node(YAML::NodeType::Null);
  for (size_t i = 1; i < starts->size(); ++i)
    problems.push_back(Error{ErrorCode::kInvalidInput,
                             "a second YAML document ('---'): the file holds one mapping",
                             YamlLocation(file, (*starts)[i])});
  DuplicateKeys(file, problems).Walk(document);
  return document;
}

}  // namespace followup
