// Watches the rule and template folders (docs/architecture.md, the rooms of the service): a
// fingerprint of every file under them (names, sizes, times); when it changes, the daemon reloads
// as on SIGHUP. One thread at a time (the loop).
#pragma once

#include <string>

#include "app/settings.h"

namespace followup::service {

class RuleFilesWatch {
 public:
  explicit RuleFilesWatch(const app::Settings& settings);

  // True when the files differ from the last look (or from construction).
  bool Changed();
  // Takes the files as they are now as seen (a reload for another reason is under way).
  void Seen() { fingerprint_ = Fingerprint(); }

 private:
  std::string Fingerprint() const;

  const app::Settings& settings_;
  std::string fingerprint_;
};

}  // namespace followup::service
