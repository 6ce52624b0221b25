// The manual page and bash completion list every command and option `followupd --help` lists, the
// completion completes them in a real bash, and `cmake --install` puts both where man and
// bash-completion look.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "support/test_util.h"

namespace followup {
namespace {

using testing::Followupd;
using testing::ReadFile;

// The names in one section of CLI11's help ("Subcommands:" -> command names, "Options:" -> the
// long options, --help aside).
std::set<std::string> Section(const std::string& help, const std::string& title) {
  std::set<std::string> names;
  std::istringstream in(help);
  bool inside = false;
  static const std::regex kCommand("^  ([a-z][a-z-]*)\\s.*");
  static const std::regex kOption("--([a-z][a-z-]*)");
  for (std::string line; std::getline(in, line);) {
    if (line == title) {
      inside = true;
    } else if (inside && !line.empty() && line[0] != ' ') {
      inside = false;
    } else if (inside) {
      std::smatch m;
      if (title == "Subcommands:" && std::regex_match(line, m, kCommand)) names.insert(m[1]);
      if (title == "Options:" && line.rfind("  -", 0) == 0 && std::regex_search(line, m, kOption) &&
          m[1] != "help")
        names.insert("--" + m[1].str());
    }
  }
  return names;
}

// Every command, and the options of each ("" for the global ones), as `--help` gives them.
std::map<std::string, std::set<std::string>> CommandsAndOptions() {
  std::map<std::string, std::set<std::string>> out;
  auto help = Followupd("--help");
  EXPECT_EQ(help.status, 0);
  out[""] = Section(help.out, "Options:");
  for (const auto& command : Section(help.out, "Subcommands:")) {
    auto r = Followupd(command + " --help");
    EXPECT_EQ(r.status, 0) << command;
    out[command] = Section(r.out, "Options:");
  }
  return out;
}

TEST(ManualTest, EveryCommandAndOptionIsInTheManualPageAndTheCompletion) {
  auto all = CommandsAndOptions();
  ASSERT_GE(all.size(), 13u) << "the commands of followupd --help were not found";
  EXPECT_TRUE(all[""].count("--config") && all[""].count("--at")) << "global options not found";
  EXPECT_TRUE(all["log"].count("--status")) << "a command's options not found";
  std::string man = ReadFile(FOLLOWUP_SOURCE_DIR "/man/followupd.1");
  std::string completion = ReadFile(FOLLOWUP_SOURCE_DIR "/completions/followupd.bash");
  // troff writes a '-' that must stay a hyphen as "\-".
  auto troff = [](std::string word) {
    for (size_t at = 0; (at = word.find('-', at)) != std::string::npos; at += 2)
      word.replace(at, 1, "\\-");
    return word;
  };
  auto has_word = [](const std::string& text, const std::string& word) {
    return std::regex_search(text, std::regex("(^|[^a-z-])" + word + "($|[^a-z-])"));
  };
  for (const auto& [command, options] : all) {
    if (!command.empty()) {
      EXPECT_NE(man.find(".SS \"" + troff(command)), std::string::npos) << command;
      EXPECT_TRUE(has_word(completion, command)) << command;
    }
    for (const auto& option : options) {
      EXPECT_NE(man.find(troff(option)), std::string::npos) << command << " " << option;
      EXPECT_TRUE(has_word(completion, option)) << command << " " << option;
    }
  }
}

// What the completion offers for the words typed so far, in a real bash.
std::string Complete(const std::string& words) {
  auto r = testing::Run(
      "bash -c 'source " FOLLOWUP_SOURCE_DIR "/completions/followupd.bash; COMP_WORDS=(" + words +
      "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _followupd; "
      "echo \"${COMPREPLY[*]}\"'");
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

TEST(ManualTest, BashCompletesCommandsOptionsAndValues) {
  EXPECT_EQ(Complete("followupd si"), "simulate");
  EXPECT_EQ(Complete("followupd --at 2026-06-30 r"), "report run reload resubscribe");
  EXPECT_EQ(Complete("followupd log --st"), "--status --store");
  EXPECT_EQ(Complete("followupd log --status he"), "held_out held");
  EXPECT_EQ(Complete("followupd queue re"), "requeue release resume");
  EXPECT_EQ(Complete("followupd import t"), "transactions");
  EXPECT_EQ(Complete("followupd run --"), "--once --config --store --at --help --version");
}

TEST(ManualTest, InstallPutsThemWhereManAndBashCompletionLook) {
  testing::TempDir prefix;
  auto build = std::filesystem::path(FOLLOWUPD_BINARY).parent_path().parent_path().parent_path();
  auto r = testing::Run("cmake --install '" + build.string() + "' --prefix '" +
                        prefix.path().string() + "'");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(ReadFile(prefix / "share/man/man1/followupd.1"),
            ReadFile(FOLLOWUP_SOURCE_DIR "/man/followupd.1"));
  EXPECT_EQ(ReadFile(prefix / "share/bash-completion/completions/followupd"),
            ReadFile(FOLLOWUP_SOURCE_DIR "/completions/followupd.bash"));
  // man (man-db, scripts/install-deps) formats it without a troff warning.
  auto man =
      testing::Run("MANWIDTH=80 man --warnings -l '" + prefix / "share/man/man1/followupd.1" + "'");
  EXPECT_EQ(man.status, 0) << man.err;
  EXPECT_EQ(man.err, "");
  EXPECT_NE(man.out.find("reload --pid PID"), std::string::npos) << man.out;
}

}  // namespace
}  // namespace followup
