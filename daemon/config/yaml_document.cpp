#include "config/yaml_document.h"

#include <map>
#include <set>
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

}  // namespace

Location YamlLocation(const std::string& file, const YAML::Mark& mark) {
  return Location{file, mark.line + 1, mark.column + 1};
}

std::optional<YAML::Node> ReadYamlDocument(const std::string& text, const std::string& file,
                                           std::vector<Error>& problems) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    // The parser's message may carry the file's bytes (a NUL, an escape): one printable line.
    problems.push_back(
        Error{ErrorCode::kInvalidInput, Printable(e.msg, 1000), YamlLocation(file, e.mark)});
    return std::nullopt;
  }
  if (documents.empty()) return YAML::Node(YAML::NodeType::Null);
  for (size_t i = 1; i < documents.size(); ++i)
    problems.push_back(Error{ErrorCode::kInvalidInput,
                             "a second YAML document ('---'): the file holds one mapping",
                             YamlLocation(file, documents[i].Mark())});
  DuplicateKeys(file, problems).Walk(documents.front());
  return documents.front();
}

}  // namespace followup
