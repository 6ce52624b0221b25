// `check` passes only what `run` accepts: each config that `run` would reject (or, before, rejected
// only after it had started) is caught by check at its FILE:LINE:COL, every problem in one run, and
// `run` refuses it the same way before it starts (exit 1, which systemd does not restart).
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_util.h"

namespace followup {
namespace {

using testing::Followupd;
using testing::TempDir;

class CheckCommandTest : public ::testing::Test {
 protected:
  void SetUpFolder() {
    std::filesystem::copy(FOLLOWUP_SOURCE_DIR "/rules", dir_ / "rules");
    std::filesystem::copy(FOLLOWUP_SOURCE_DIR "/templates", dir_ / "templates",
                          std::filesystem::copy_options::recursive);
  }
  // followup.yaml: the folder's rules and templates, `store`, then `rest` (from line 6 on).
  std::string Config(const std::string& rest, const std::string& store = "sqlite:f.db") {
    return dir_.Write("followup.yaml",
                      "rules_dir: rules\ntemplates_dir: templates\nbusiness:\n  name: Test Shop\n"
                      "store: " +
                          store + "\n" + rest);
  }
  TempDir dir_;
};

struct Case {
  std::string yaml;   // from line 6 of the config
  std::string where;  // LINE:COL
  std::string says;
  std::string store = "sqlite:f.db";
};

// The list of what check passed and run then rejected, and the config problems around it.
const Case kCases[] = {
    {"delivery:\n  from: \"hello at example\"\n", "7:9", "from: "},
    {"delivery:\n  reply_to: \"nobody\"\n", "7:13", "reply_to: "},
    {"service:\n  listen: 127.0.0.1:99999\n", "7:11", "the port must be a number from 0 to 65535"},
    {"service:\n  listen: 127.0.0.1:abc\n", "7:11", "the port must be a number from 0 to 65535"},
    {"service:\n  listen: mail.example:8025\n", "7:11", "the host must be an IP address"},
    {"", "5:8", "unknown store URL scheme 'mysql'", "mysql://x"},
    {"delivery:\n  credentials_file: missing.secret\n", "7:21", "cannot read"},
    {"delivery:\n  transport: maildir://\n", "7:14", "maildir:// needs a folder"},
    {"delivery:\n  from: a@example.com\ndelivery:\n  from: b@example.com\n", "8:1",
     "duplicate key"},
    {"---\nstore: other.db\n", "6:1", "a second YAML document"},  // at its '---'
};

TEST_F(CheckCommandTest, CatchesWhatRunRejectsAtItsPlace) {
  SetUpFolder();
  for (const auto& c : kCases) {
    std::string config = Config(c.yaml, c.store);
    std::string problem = config + ":" + c.where + ": ";
    auto check = Followupd("--config " + config + " check", dir_.path());
    EXPECT_EQ(check.status, 1) << c.yaml << check.out;
    EXPECT_NE(check.err.find(problem), std::string::npos) << c.yaml << check.err;
    EXPECT_NE(check.err.find(c.says), std::string::npos) << c.yaml << check.err;
    // run refuses it before it starts: exit 1, the same words, nothing created.
    for (std::string run : {"run --once", "run"}) {
      auto r =
          testing::Run("cd '" + dir_.path().string() +
                       "' && timeout 60 '" FOLLOWUPD_BINARY "' --config " + config + " " + run);
      EXPECT_EQ(r.status, 1) << run << ": " << c.yaml << r.err;
      EXPECT_NE(r.err.find(problem), std::string::npos) << run << ": " << c.yaml << r.err;
    }
    EXPECT_FALSE(std::filesystem::exists(dir_ / "f.db")) << c.yaml;
  }
}

TEST_F(CheckCommandTest, SaysEveryProblemOfConfigRulesAndTemplatesInOneRun) {
  SetUpFolder();
  dir_.Write("rules/twice.yaml",
             "name: twice\npriority: 5\npriority: 50\ntrigger:\n  event: purchase\naction:\n"
             "  send: winback\n");
  dir_.Write("rules/two-documents.yaml",
             "name: two\ntrigger:\n  event: purchase\naction:\n  send: winback\n---\nname: x\n");
  dir_.Write("rules/no-template.yaml",
             "name: no-template\ntrigger:\n  event: purchase\naction:\n  send: nope\n");
  std::string config = Config(
      "delivery:\n  from: \"hello at example\"\n  credentials_file: missing.secret\n"
      "service:\n  listen: localhost:99999\n");
  auto r = Followupd("--config " + config + " check", dir_.path());
  EXPECT_EQ(r.status, 1);
  for (std::string problem : {config + ":7:9: from: ", config + ":8:21: ", config + ":10:11: ",
                              dir_ / "rules/twice.yaml" + ":3:1: duplicate key",
                              dir_ / "rules/two-documents.yaml" + ":6:1: a second YAML document",
                              dir_ / "rules/no-template.yaml" + ":5:9: unknown template 'nope'"})
    EXPECT_NE(r.err.find(problem), std::string::npos) << problem << "\n" << r.err;
  // The config's problems first, in the file's order.
  EXPECT_LT(r.err.find(config + ":7:9"), r.err.find(config + ":8:21")) << r.err;
  EXPECT_LT(r.err.find(config + ":10:11"), r.err.find("rules/")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CheckCommandTest, PassesWhatRunAccepts) {
  SetUpFolder();
  dir_.Write("secret", "user:password\n");
  std::string config = Config(
      "delivery:\n  transport: smtp://127.0.0.1:2525\n  credentials_file: secret\n"
      "  from: \"Shop <hello@example.com>\"\n"
      "service:\n  listen: localhost:8025\n");
  auto r = Followupd("--config " + config + " check", dir_.path());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("3 ok"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace followup
