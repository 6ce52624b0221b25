// Headless Chromium (Debian's chromium) for the console's tests: a page's DOM after it loaded,
// the messages it wrote to its console (script errors, Content-Security-Policy violations), and
// screenshots into the test output folder.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace followup::testing {

inline constexpr const char* kChromium = "/usr/bin/chromium";

// Whether Chromium is installed. Without it the browser tests skip, unless
// FOLLOWUP_REQUIRE_CHROMIUM is set (CI sets it: there a missing browser is a failure).
inline bool HaveChromium() { return std::filesystem::exists(kChromium); }
inline bool ChromiumRequired() { return std::getenv("FOLLOWUP_REQUIRE_CHROMIUM") != nullptr; }

// Where the browser tests leave their screenshots (the build tree's test-output/console/).
inline std::filesystem::path BrowserOutputDir() {
  std::filesystem::path dir = std::filesystem::path(FOLLOWUP_TEST_OUTPUT_DIR) / "console";
  std::filesystem::create_directories(dir);
  return dir;
}

struct BrowserPage {
  bool loaded = false;                // Chromium ran and printed a DOM
  std::string dom;                    // the DOM after load, serialized
  std::vector<std::string> messages;  // what the page wrote to its console
  std::string log;                    // Chromium's stderr, for failure messages
};

// Runs headless Chromium once over `url` with `what` ("--dump-dom", "--screenshot=PATH").
inline BrowserPage RunChromium(const std::string& url, const std::string& what, int width = 1280,
                               int height = 900) {
  TempDir profile;
  CommandResult r = Run(std::string("timeout 90 ") + kChromium +
                        " --headless --no-sandbox --disable-gpu --no-first-run "
                        "--disable-extensions --enable-logging=stderr --v=0 --hide-scrollbars "
                        "--user-data-dir='" +
                        profile.path().string() + "' --window-size=" + std::to_string(width) + "," +
                        std::to_string(height) + " " + what + " '" + url + "'");
  BrowserPage page;
  page.dom = r.out;
  page.log = r.err;
  page.loaded = r.status == 0;
  size_t at = 0;
  while ((at = r.err.find(":CONSOLE", at)) != std::string::npos) {
    size_t end = r.err.find('\n', at);
    page.messages.push_back(r.err.substr(at, end == std::string::npos ? end : end - at));
    at = end == std::string::npos ? r.err.size() : end;
  }
  return page;
}

inline BrowserPage LoadPage(const std::string& url) {
  BrowserPage page = RunChromium(url, "--dump-dom");
  page.loaded = page.loaded && page.dom.find("<html") != std::string::npos;
  return page;
}

// A screenshot of `url` at `width` px into BrowserOutputDir()/NAME-WIDTH.png; the page's
// console messages come back as LoadPage's.
inline BrowserPage Screenshot(const std::string& url, const std::string& name, int width) {
  std::filesystem::path file = BrowserOutputDir() / (name + "-" + std::to_string(width) + ".png");
  std::filesystem::remove(file);
  BrowserPage page = RunChromium(url, "--screenshot='" + file.string() + "'", width);
  page.loaded =
      page.loaded && std::filesystem::exists(file) && std::filesystem::file_size(file) > 0;
  return page;
}

inline std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

}  // namespace followup::testing
