// The command line as people expect it, through the real binary on the shipped sample: options
// anywhere, unknown commands named, bad values explained, tables that fit, JSON without "" or
// spaced keys.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <vector>

#include "support/test_util.h"

namespace followup {
namespace {

using testing::Followupd;
using testing::TempDir;

class CommandLineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    config_ = testing::SetUpSampleFolder(*dir_);
    ASSERT_FALSE(config_.empty());
  }
  static void TearDownTestSuite() { delete dir_; }
  static testing::CommandResult Run(const std::string& args) {
    return Followupd("--config " + config_ + " " + args);
  }
  static TempDir* dir_;
  static std::string config_;
};
TempDir* CommandLineTest::dir_ = nullptr;
std::string CommandLineTest::config_;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(CommandLineTest, OptionsMayComeAfterTheCommand) {
  auto before = Run("--at 2026-06-30T12:00:00Z simulate --json");
  ASSERT_EQ(before.status, 0) << before.err;
  auto after = Followupd("simulate --json --at 2026-06-30T12:00:00Z --config " + config_);
  EXPECT_EQ(after.status, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  auto day = Run("simulate --at 2026-06-30");
  EXPECT_EQ(day.status, 0) << day.err;
  EXPECT_NE(day.out.find("simulation at 2026-06-30T00:00:00Z"), std::string::npos) << day.out;
}

TEST_F(CommandLineTest, AnUnknownCommandIsNamedWithTheUsage) {
  for (std::string args : {"nosuchcmd", "--at 2026-06-30 nosuchcmd --json"}) {
    auto r = Run(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find("followupd: unknown command 'nosuchcmd'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Usage: followupd"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("simulate"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(CommandLineTest, BadValuesSayWhatIsExpected) {
  struct Case {
    std::string args, says;
  } cases[] = {
      {"customers --top 0", "--top: expected a whole number of at least 1, got '0'"},
      {"customers --top many", "--top: expected a whole number of at least 1, got 'many'"},
      {"log --limit -3", "--limit: expected a whole number of at least 1, got '-3'"},
      {"reload --pid 0", "--pid: expected a whole number from 1 to 4194304, got '0'"},
      {"demo-data --customers 0 --out x", "--customers: expected a whole number from 1 to"},
  };
  for (const auto& c : cases) {
    auto r = Run(c.args);
    EXPECT_EQ(r.status, 2) << c.args;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << ": " << r.err;
    EXPECT_FALSE(std::regex_search(r.err, std::regex("[0-9]{20}"))) << r.err;
  }
}

TEST_F(CommandLineTest, TableColumnsFitTheirContents) {
  auto r = Run("--at 2026-06-30 customers --top 5");
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = Lines(r.out);
  auto header = std::find_if(lines.begin(), lines.end(),
                             [](const std::string& l) { return l.rfind("id ", 0) == 0; });
  ASSERT_NE(header, lines.end()) << r.out;
  EXPECT_NE(header->find(" days_since_last_purchase "), std::string::npos)
      << "not cut: " << *header;
  // Every value ends where its (right-aligned) header ends, however long the header.
  auto ends = [](const std::string& line) {
    std::vector<size_t> out;
    for (size_t i = 0; i < line.size(); ++i)
      if (line[i] != ' ' && (i + 1 == line.size() || line[i + 1] == ' ')) out.push_back(i);
    return out;
  };
  auto header_ends = ends(*header);
  ASSERT_EQ(std::distance(header, lines.end()), 6) << r.out;
  for (auto row = header + 1; row != lines.end(); ++row) {
    auto row_ends = ends(*row);
    ASSERT_EQ(row_ends.size(), header_ends.size()) << *row;
    for (size_t i = 1; i < row_ends.size(); ++i) EXPECT_EQ(row_ends[i], header_ends[i]) << *row;
  }
}

// Every key snake_case, and nothing written as "" for a value that is absent.
void ExpectCleanJson(const nlohmann::json& v, const std::string& where) {
  static const std::regex kKey("[a-z][a-z0-9_]*");
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      EXPECT_TRUE(std::regex_match(key, kKey)) << where << ": key '" << key << "'";
      ExpectCleanJson(value, where + "." + key);
    }
  } else if (v.is_array()) {
    for (const auto& value : v) ExpectCleanJson(value, where + "[]");
  } else if (v.is_string()) {
    EXPECT_NE(v.get<std::string>(), "") << where << " is \"\" where null is meant";
  }
}

TEST_F(CommandLineTest, JsonHasSnakeCaseKeysAndNullForAbsentValues) {
  TempDir fresh;
  std::string config = testing::SetUpSampleFolder(fresh);
  ASSERT_FALSE(config.empty());
  auto once = Followupd("--config " + config + " --at 2026-06-30T12:00:00Z run --once");
  ASSERT_EQ(once.status, 0) << once.err;
  auto log = Followupd("--config " + config + " log --json");
  ASSERT_EQ(log.status, 0) << log.err;
  bool held_out_seen = false;
  for (const auto& line : Lines(log.out)) {
    auto entry = nlohmann::json::parse(line);
    ExpectCleanJson(entry, "log");
    if (entry["kind"] == "holdout") {
      held_out_seen = true;
      EXPECT_TRUE(entry["sent_at"].is_null()) << line;
      EXPECT_TRUE(entry["reply"].is_null()) << line;
      EXPECT_TRUE(entry["message_id"].is_null()) << line;
    }
  }
  EXPECT_TRUE(held_out_seen) << log.out;

  for (std::string args : {"simulate --json", "explain c000295 --json", "report --json",
                           "model --json", "customers --json --top 20"}) {
    auto r = Followupd("--config " + config + " --at 2026-06-30T12:00:00Z " + args);
    ASSERT_EQ(r.status, 0) << args << ": " << r.err;
    for (const auto& line : Lines(r.out)) ExpectCleanJson(nlohmann::json::parse(line), args);
  }
  auto simulate = Followupd("--config " + config + " --at 2026-06-30T12:00:00Z simulate --json");
  auto doc = nlohmann::json::parse(simulate.out);
  for (const auto& rule : doc["rules"])
    if (rule["rule"] == "referral-thanks") {
      EXPECT_TRUE(rule["occurrence"].is_null()) << rule;
    }
}

}  // namespace
}  // namespace followup
