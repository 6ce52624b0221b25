#include "delivery/template.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "delivery/template_scan.h"

namespace followup::delivery {
namespace {

namespace fs = std::filesystem;
using scan::PathOf;
using scan::Quote;

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

}  // namespace followup::delivery
