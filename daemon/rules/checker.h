// What the rule loader's parts share while reading one rule file (rule.cpp, steps.cpp): the
// checker that collects every problem with its FILE:LINE:COL, and the checks of names, templates
// and expressions. Internal to the rules part.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "rules/expression.h"
#include "rules/rule.h"

namespace followup::rules {

// Collects the problems of one file; knows the file's name for every location.
class Checker {
 public:
  Checker(std::string file, std::vector<Error>& errors) : file_(std::move(file)), errors_(errors) {}

  Location At(const YAML::Node& n) const {
    auto mark = n.Mark();
    return {file_, mark.line + 1, mark.column + 1};
  }
  Location At(const YAML::Mark& mark) const { return {file_, mark.line + 1, mark.column + 1}; }
  void Add(const std::string& message, const Location& where) {
    errors_.push_back(Error{ErrorCode::kInvalidInput, message, where});
  }
  void Add(const Error& e) { errors_.push_back(e); }
  const std::string& file() const { return file_; }

  // Reports keys of `node` that are not in `known`; false when `node` is not a mapping.
  bool KnownKeys(const YAML::Node& node, const std::string& section,
                 std::initializer_list<std::string_view> known);
  std::optional<std::string> Text(const YAML::Node& n, const char* what);
  std::optional<std::chrono::seconds> Duration(const YAML::Node& n, const char* what);
  // "true" or "false".
  std::optional<bool> Flag(const YAML::Node& n, const char* what);
  // "10%" -> 0.10, within [lo, hi] (as shares).
  std::optional<double> Percent(const YAML::Node& n, const char* what, double lo, double hi);
  // A mapping of scalars as a JSON object of strings, for template values.
  std::optional<std::string> Values(const YAML::Node& n);
  // An expression over facts, located where its text starts.
  std::optional<Expression> Where(const YAML::Node& n);

 private:
  std::string file_;
  std::vector<Error>& errors_;
};

// 1-64 lower-case letters, digits, - and _.
bool ValidName(std::string_view name);

// Reports a template name that is malformed or has no folder under the templates folder.
void CheckTemplate(Checker& check, const LoadOptions& o, const std::string& name,
                   const YAML::Node& node);

// `steps:` and `exit:` of a sequence rule (docs/rules.md, "Sequences"); steps.cpp.
void ParseSteps(Checker& check, const YAML::Node& n, Rule& rule, const LoadOptions& o);
void ParseExit(Checker& check, const YAML::Node& n, Rule& rule);

}  // namespace followup::rules
