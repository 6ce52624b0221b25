// Checking a template: its syntax, and every name it uses against KnownNames().
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "delivery/template.h"
#include "delivery/template_scan.h"
#include "worth/facts.h"

namespace followup::delivery {
namespace {

using scan::ErrorAt;
using scan::ErrorIn;
using scan::File;
using scan::FilesOf;
using scan::Kind;
using scan::LineIndex;
using scan::Node;
using scan::Parse;
using scan::Parsed;
using scan::Quote;
using scan::RawInHtmlMessage;
using scan::Trim;

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

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

}  // namespace

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

}  // namespace followup::delivery
