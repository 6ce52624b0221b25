#include "rules/checker.h"

#include <utf8.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace followup::rules {
namespace {

namespace fs = std::filesystem;

// Where an expression's text starts: plain scalars at the mark, quoted ones one column later.
Location ExpressionStart(const Checker& check, const YAML::Node& n) {
  Location where = check.At(n);
  if (n.Tag() == "!") ++where.column;  // yaml-cpp tags quoted scalars "!"
  return where;
}

}  // namespace

bool Checker::KnownKeys(const YAML::Node& node, const std::string& section,
                        std::initializer_list<std::string_view> known) {
  if (!node.IsMap()) {
    Add("'" + section + "' must be a mapping", At(node));
    return false;
  }
  for (const auto& item : node) {
    auto key = item.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      Add("unknown key '" + key + "' in " + section + " (known: " + list + ")", At(item.first));
    }
  }
  return true;
}

std::optional<std::string> Checker::Text(const YAML::Node& n, const char* what) {
  if (!n.IsScalar()) {
    Add(std::string(what) + " must be text", At(n));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<std::chrono::seconds> Checker::Duration(const YAML::Node& n, const char* what) {
  auto text = Text(n, what);
  if (!text) return std::nullopt;
  auto d = ParseDuration(*text);
  if (!d) {
    Add(std::string(what) + ": " + d.error().message, At(n));
    return std::nullopt;
  }
  return *d;
}

std::optional<bool> Checker::Flag(const YAML::Node& n, const char* what) {
  auto text = Text(n, what);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  Add(std::string(what) + ": expected true or false", At(n));
  return std::nullopt;
}

std::optional<double> Checker::Percent(const YAML::Node& n, const char* what, double lo,
                                       double hi) {
  auto text = Text(n, what);
  if (!text) return std::nullopt;
  double v = 0;
  size_t used = 0;
  bool ok = !text->empty() && text->back() == '%';
  if (ok) {
    try {
      v = std::stod(text->substr(0, text->size() - 1), &used);
      ok = used == text->size() - 1;
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok) {
    Add(std::string(what) + ": bad percentage '" + *text + "' (expected e.g. 10%)", At(n));
    return std::nullopt;
  }
  if (v / 100 < lo || v / 100 > hi) {
    Add(std::string(what) + ": " + *text + " is out of range (" + std::to_string(int(lo * 100)) +
            "% to " + std::to_string(int(hi * 100)) + "%)",
        At(n));
    return std::nullopt;
  }
  return v / 100;
}

std::optional<std::string> Checker::Values(const YAML::Node& n) {
  if (!n.IsMap()) {
    Add("values must be a mapping of names to text", At(n));
    return std::nullopt;
  }
  nlohmann::json values = nlohmann::json::object();
  for (const auto& item : n) {
    if (!item.second.IsScalar()) {
      Add("value '" + item.first.Scalar() + "' must be text", At(item.second));
      return std::nullopt;
    }
    // JSON holds UTF-8 only (dumping anything else throws): a file saved as Latin-1 is refused.
    for (const auto& part : {item.first, item.second}) {
      const std::string& text = part.Scalar();
      if (utf8::find_invalid(text.begin(), text.end()) != text.end()) {
        Add("values must be UTF-8 text (is the file saved in another encoding?)", At(part));
        return std::nullopt;
      }
    }
    values[item.first.Scalar()] = item.second.Scalar();
  }
  return values.dump();
}

std::optional<Expression> Checker::Where(const YAML::Node& n) {
  auto text = Text(n, "where");
  if (!text) return std::nullopt;
  auto expr = Expression::Compile(*text, ExpressionStart(*this, n));
  if (!expr) {
    Add(expr.error());
    return std::nullopt;
  }
  return std::move(*expr);
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::islower(c) || std::isdigit(c) || c == '-' || c == '_';
  });
}

void CheckTemplate(Checker& check, const LoadOptions& o, const std::string& name,
                   const YAML::Node& node) {
  if (!ValidName(name)) {
    check.Add("template name '" + name + "' must be lower-case letters, digits, - or _",
              check.At(node));
    return;
  }
  std::error_code ec;
  if (!fs::is_directory(fs::path(o.templates_dir) / name, ec))
    check.Add("unknown template '" + name + "' (no folder " +
                  (fs::path(o.templates_dir) / name).string() + ")",
              check.At(node));
}

}  // namespace followup::rules
