#include "service/rule_files.h"

#include <algorithm>
#include <filesystem>
#include <vector>

namespace followup::service {

RuleFilesWatch::RuleFilesWatch(const app::Settings& settings)
    : settings_(settings), fingerprint_(Fingerprint()) {}

bool RuleFilesWatch::Changed() {
  std::string now = Fingerprint();
  if (now == fingerprint_) return false;
  fingerprint_ = std::move(now);
  return true;
}

std::string RuleFilesWatch::Fingerprint() const {
  namespace fs = std::filesystem;
  std::string out;
  for (const auto& dir : {settings_.rules_dir, settings_.templates_dir}) {
    std::error_code ec;
    std::vector<std::string> lines;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto size = it->file_size(ec);
      auto time = it->last_write_time(ec).time_since_epoch().count();
      lines.push_back(it->path().string() + " " + std::to_string(size) + " " +
                      std::to_string(time));
    }
    std::sort(lines.begin(), lines.end());
    for (const auto& l : lines) out += l + "\n";
  }
  return out;
}

}  // namespace followup::service
