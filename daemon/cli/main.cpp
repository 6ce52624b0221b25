// followupd: one binary for the daemon and its tools (README.md "Using followupd").
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "cli/command.h"
#include "service/daemon.h"
#include "service/log.h"

namespace followup::cli {
namespace {

// --config, else $FOLLOWUP_CONFIG, else ./config/followup.yaml, else /etc/followup/followup.yaml,
// else the built-in defaults.
std::string FindConfig(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("FOLLOWUP_CONFIG"); env && *env) return env;
  for (const char* candidate : {"config/followup.yaml", "/etc/followup/followup.yaml"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  return "";
}

}  // namespace

Result<store::Store*> Env::store() {
  if (!store_) {
    auto opened = store::Store::Open(settings_.store_url);
    if (!opened) return tl::unexpected(opened.error());
    store_ = std::move(*opened);
  }
  return store_.get();
}

Result<store::CustomerRow> Env::Customer(const std::string& external_id) {
  auto st = store();
  if (!st) return tl::unexpected(st.error());
  auto row = (*st)->FindCustomer(external_id);
  if (!row) return tl::unexpected(row.error());
  if (!*row) return Fail(ErrorCode::kNotFound, "no customer with id '" + external_id + "'");
  return std::move(**row);
}

int Report(const Error& error) {
  std::fprintf(stderr, "followupd: %s\n", error.ToString().c_str());
  return ExitCodeFor(error);
}

int ReportAll(const std::vector<Error>& errors) {
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
  return 1;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "followupd: finds the customers worth following up and sends them the right email.\n"
      "Exit status: 0 ok, 1 invalid input (rules, config, rows), 2 usage, 3 runtime failure."};
  app.set_version_flag("--version", std::string("followupd ") + FOLLOWUP_VERSION);
  app.require_subcommand(1);
  std::string config_path, store_url, at_text;
  app.add_option("--config", config_path,
                 "config file (default: $FOLLOWUP_CONFIG, ./config/followup.yaml, "
                 "/etc/followup/followup.yaml)");
  app.add_option("--store", store_url,
                 "store URL: sqlite:PATH or a plain path, postgresql://USER@HOST/DB or a libpq "
                 "key=value string (default: config's)");
  app.add_option("--at", at_text,
                 "pretend it is this time (YYYY-MM-DD[THH:MM:SS][Z|+HH:MM], business time zone): "
                 "the end of the observation window");

  std::vector<Command> commands;
  commands.push_back(AddImportCommand(app));
  commands.push_back(AddDemoDataCommand(app));
  commands.push_back(AddCustomersCommand(app));
  commands.push_back(AddModelCommand(app));
  commands.push_back(AddExplainCommand(app));
  commands.push_back(AddCheckCommand(app));
  commands.push_back(AddSimulateCommand(app));
  commands.push_back(AddLogCommand(app));
  commands.push_back(AddReportCommand(app));
  commands.push_back(AddRunCommand(app));
  commands.push_back(AddPreviewCommand(app));
  commands.push_back(AddReloadCommand(app));
  commands.push_back(AddCopyStoreCommand(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e);
    return status == 0 ? 0 : 2;
  }

  service::SetUpLogging();
  std::string found = FindConfig(config_path);
  Config config;
  if (!found.empty()) {
    auto loaded = LoadConfig(found);
    if (!loaded) return Report(loaded.error());
    config = std::move(*loaded);
  }
  auto zone = LookupZone(config.business.timezone);
  if (!zone) return Report(zone.error());
  std::unique_ptr<Clock> clock = SystemClock();
  if (!at_text.empty()) {
    auto at = ParseInstant(at_text, *zone);
    if (!at) return Report(Error{ErrorCode::kUsage, "--at: " + at.error().message, {}});
    clock = FixedClock(*at);
  }
  Env env(config, store_url.empty() ? config.store : store_url, std::move(clock), !at_text.empty(),
          *zone);
  for (auto& command : commands) {
    if (!command.app->parsed()) continue;
    // Only the daemon keeps the stop signals blocked (it takes them itself once it can handle
    // them); every other command stops on them as usual.
    if (command.app->get_name() != "run") service::UnblockStopSignals();
    return command.run(env);
  }
  return 2;
}

}  // namespace followup::cli

int main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits it: a SIGTERM while the daemon starts
  // is held until it can stop cleanly (docs/architecture.md, the daemon's threads).
  followup::service::BlockStopSignals();
  return followup::cli::Main(argc, argv);
}
