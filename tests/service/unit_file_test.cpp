// systemd/followupd.service, rated and checked by systemd's own tool: `systemd-analyze security`
// (offline: no running systemd needed) must rate its exposure 2.0 or better, and
// `systemd-analyze verify` must find nothing wrong with it. systemd-analyze comes with Debian's
// `systemd` package; without it these tests fail (they do not skip), since then nothing checks
// the hardening at all.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

const fs::path kUnit = fs::path(FOLLOWUP_SOURCE_DIR) / "systemd" / "followupd.service";
constexpr double kMaxExposure = 2.0;

struct Output {
  int status = -1;  // exit status, or -1 if it did not exit normally
  std::string out;  // standard output
  std::string err;  // standard error
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command; stdout through a pipe, stderr through a temp file.
Output Shell(const std::string& command, const fs::path& err_file) {
  Output run;
  FILE* pipe = ::popen((command + " 2>" + Quote(err_file.string())).c_str(), "r");
  if (!pipe) return run;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = ReadFile(err_file);
  return run;
}

// The path of systemd-analyze, or nullopt when it is not installed.
std::optional<std::string> FindSystemdAnalyze() {
  std::string path_env = std::getenv("PATH") ? std::getenv("PATH") : "";
  path_env += ":/usr/bin:/bin:/usr/sbin:/sbin";
  std::stringstream dirs(path_env);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / "systemd-analyze";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return std::nullopt;
}

class UnitFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kUnit)) << kUnit << " is missing";
    auto found = FindSystemdAnalyze();
    ASSERT_TRUE(found) << "systemd-analyze is not installed, so the unit's hardening cannot be "
                          "checked: install Debian's `systemd` package (`apt-get install systemd`; "
                          "scripts/install-deps should have)";
    analyze_ = *found;
    char tmpl[] = "/tmp/followup-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  std::string analyze_;
  fs::path dir_;
};

TEST_F(UnitFileTest, SecurityExposureIsTwoOrBetter) {
  Output run =
      Shell(Quote(analyze_) + " security --offline=true --no-pager " + Quote(kUnit.string()),
            dir_ / "stderr");
  ASSERT_EQ(run.status, 0) << run.out << run.err;
  // "→ Overall exposure level for followupd.service: 1.1 OK 🙂"
  std::smatch m;
  std::regex overall(R"(Overall exposure level for [^:]+: ([0-9]+(\.[0-9]+)?))");
  ASSERT_TRUE(std::regex_search(run.out, m, overall))
      << "no overall exposure level in the output:\n"
      << run.out << run.err;
  double exposure = std::stod(m[1].str());
  EXPECT_LE(exposure, kMaxExposure) << run.out;
  // A misspelt setting ("Unknown key 'ProtectSytem'") is only a warning to systemd, and a
  // hardening option silently not applied: no warnings at all.
  EXPECT_EQ(run.err, "") << "systemd-analyze warned about the unit";
  std::printf("systemd-analyze security: overall exposure %.1f (limit %.1f)\n", exposure,
              kMaxExposure);
}

TEST_F(UnitFileTest, VerifyFindsNothing) {
  // verify insists that ExecStart='s binary exists. Check a copy that runs the freshly built
  // followupd (or /bin/true outside the project's build) instead of /usr/bin/followupd.
#ifdef FOLLOWUPD_BINARY
  const std::string binary = FOLLOWUPD_BINARY;
#else
  const std::string binary = "/bin/true";
#endif
  std::string text = ReadFile(kUnit);
  const std::string installed = "/usr/bin/followupd";
  ASSERT_NE(text.find(installed), std::string::npos);
  for (size_t at = 0; (at = text.find(installed, at)) != std::string::npos; at += binary.size())
    text.replace(at, installed.size(), binary);
  fs::path copy = dir_ / "followupd.service";
  std::ofstream(copy, std::ios::binary) << text;

  Output run = Shell(Quote(analyze_) + " verify --man=no " + Quote(copy.string()), dir_ / "stderr");
  EXPECT_EQ(run.status, 0) << run.out << run.err;
  // verify exits 0 on warnings such as an unknown key or a bad value: none is allowed.
  EXPECT_EQ(run.out + run.err, "");
}

// The settings the rest of the product relies on (docs/operations.md describes them).
TEST(UnitFileContent, HasTheAgreedSettings) {
  std::string text = ReadFile(kUnit);
  for (const char* line : {
           "Type=notify",
           "ExecStartPre=/usr/bin/followupd --config /etc/followup/followup.yaml check",
           "ExecStart=/usr/bin/followupd --config /etc/followup/followup.yaml run",
           "ExecReload=/usr/bin/followupd --config /etc/followup/followup.yaml reload --pid "
           "$MAINPID",
           "Restart=on-failure",
           "RestartPreventExitStatus=1 2",
           "DynamicUser=yes",
           "StateDirectory=followup",
           "ConfigurationDirectory=followup",
           "LoadCredential=followup-delivery",
           "UMask=0077",
       }) {
    EXPECT_NE(text.find(std::string("\n") + line + "\n"), std::string::npos) << line;
  }
  std::smatch m;
  EXPECT_TRUE(std::regex_search(text, m, std::regex(R"(\nWatchdogSec=[1-9][0-9]*s\n)")));
  EXPECT_TRUE(std::regex_search(text, m, std::regex(R"(\nTimeoutStopSec=[1-9][0-9]*s\n)")));
}

}  // namespace
