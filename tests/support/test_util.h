// Shared test helpers: temporary folders on disk and running the real followupd binary.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace followup::testing {

// A fresh folder under $TMPDIR, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "followup-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

  // Writes `text` to a file in the folder and returns its path.
  std::string Write(const std::string& name, const std::string& text) const {
    auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CommandResult {
  int status = -1;  // exit status, or -1 if it did not exit normally
  std::string out;
  std::string err;
};

// Runs a shell command line, capturing stdout and stderr (stderr through a file).
inline CommandResult Run(const std::string& command_line) {
  TempDir scratch;
  std::string err_path = scratch / "stderr";
  CommandResult result;
  FILE* pipe = popen((command_line + " 2>" + err_path).c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.err = ReadFile(err_path);
  return result;
}

// followupd with the given arguments, run from `cwd` and without any config file but `--config`.
inline CommandResult Followupd(const std::string& args, const std::string& cwd = ".") {
  return Run("cd '" + cwd + "' && env -u FOLLOWUP_CONFIG '" FOLLOWUPD_BINARY "' " + args);
}

// Sets `dir` up as the shipped sample: the shipped rules and templates, the shipped config with
// what it keeps in the checkout's var/ (the store, the mail, the unsubscribe key) in `dir`/var, and
// the sample's customers and transactions imported. Returns the path of the config file; an empty
// string when an import failed.
inline std::string SetUpSampleFolder(const TempDir& dir) {
  std::filesystem::copy(FOLLOWUP_SOURCE_DIR "/rules", dir / "rules");
  std::filesystem::copy(FOLLOWUP_SOURCE_DIR "/templates", dir / "templates",
                        std::filesystem::copy_options::recursive);
  std::string config = ReadFile(FOLLOWUP_SOURCE_DIR "/config/followup.yaml");
  for (size_t at; (at = config.find("../")) != std::string::npos;) config.erase(at, 3);
  std::string path = dir.Write("followup.yaml", config);
  for (const char* what : {"customers", "transactions"}) {
    auto r = Followupd("--config " + path + " import " + what +
                       " " FOLLOWUP_SOURCE_DIR "/config/sample/" + what + ".csv");
    if (r.status != 0) return "";
  }
  return path;
}

// Sets `dir` up for a daemon under test: the shipped templates, one rule (a first purchase gets
// the winback template as a welcome), and followup.yaml (store f.db, no quiet hours or contact
// cap, mail to maildir://mail, no HTTP listener, a 20 ms poll). Imports `customers_csv` (with its
// "id,email,name" header); the result is that import's.
inline CommandResult SetUpDaemonFolder(const TempDir& dir, const std::string& customers_csv) {
  std::filesystem::copy(FOLLOWUP_SOURCE_DIR "/templates", dir / "templates",
                        std::filesystem::copy_options::recursive);
  std::filesystem::create_directories(dir / "rules");
  dir.Write("rules/welcome.yaml",
            "name: welcome\ntrigger:\n  event: first_purchase\naction:\n  send: winback\n"
            "  values:\n    offer: a welcome gift\n    offer_code: HELLO\n");
  dir.Write("followup.yaml",
            "store: sqlite:f.db\nrules_dir: rules\ntemplates_dir: templates\n"
            "contact_policy:\n  quiet_hours: \"\"\n  max_contacts: 0\n"
            "delivery:\n  transport: maildir://mail\n  unsubscribe_key_file: key\n"
            "service:\n  listen: \"\"\n  poll_interval_ms: 20\n");
  return Followupd("--config " + dir / "followup.yaml" + " import customers " +
                       dir.Write("c.csv", customers_csv),
                   dir.path());
}

}  // namespace followup::testing
