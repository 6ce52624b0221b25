// followupd: one binary for the daemon and its tools (README.md "Using followupd").
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "app/run_check.h"
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

// The first word that is not an option (nor the value of --config, --store or --at) when it names
// no command: CLI11 would say only "A subcommand is required".
std::optional<std::string> UnknownCommand(int argc, char** argv, const CLI::App& app) {
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word == "--") return std::nullopt;
    if (word == "-h" || word == "--help" || word == "--version") return std::nullopt;
    if (word == "--config" || word == "--store" || word == "--at") {
      ++i;
      continue;
    }
    if (word.rfind('-', 0) == 0) continue;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
      if (sub->check_name(std::string(word))) return std::nullopt;
    return std::string(word);
  }
  return std::nullopt;
}

std::string CommandNames(const CLI::App& app) {
  std::string names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (!sub->get_group().empty()) names += (names.empty() ? "" : ", ") + sub->get_name();
  return names;
}

}  // namespace

void Env::AddConfigProblems(std::vector<Error> problems) {
  for (auto& p : problems) config_problems_.push_back(std::move(p));
  std::stable_sort(
      config_problems_.begin(), config_problems_.end(), [](const Error& a, const Error& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
      });
}

Result<store::Store*> Env::store() {
  if (!store_) {
    auto opened = store::Store::Open(settings_.store_url, store_mode_);
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
  // The options above may also come after the command (`followupd simulate --at 2026-06-30`):
  // what a command does not know falls through to here. Set before the commands are added, which
  // take it over.
  app.fallthrough();
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
  for (auto& command : AddRecipientCommands(app)) commands.push_back(std::move(command));
  for (auto& command : AddQueueCommands(app)) commands.push_back(std::move(command));

  if (auto unknown = UnknownCommand(argc, argv, app)) {
    std::fprintf(stderr,
                 "followupd: unknown command '%s'\n"
                 "Usage: followupd [--config FILE] [--store URL] [--at TIME] COMMAND [OPTIONS]\n"
                 "Commands: %s\n"
                 "Run followupd --help for more, or followupd COMMAND --help.\n",
                 unknown->c_str(), CommandNames(app).c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e);
    return status == 0 ? 0 : 2;
  }
  const Command* chosen = nullptr;
  for (const auto& command : commands)
    if (command.app->parsed()) chosen = &command;
  if (!chosen) return 2;

  service::SetUpLogging();
  std::string found = FindConfig(config_path);
  ConfigReading config;
  if (!found.empty()) config = ReadConfig(found);
  // A config with problems goes on only to be reported: its time zone may be one of them.
  auto zone = LookupZone(config.config.business.timezone);
  if (!zone) zone = LookupZone("UTC");
  if (!zone) return Report(zone.error());
  std::unique_ptr<Clock> clock = SystemClock();
  if (!at_text.empty()) {
    auto at = ParseInstant(at_text, *zone);
    if (!at) return Report(Error{ErrorCode::kUsage, "--at: " + at.error().message, {}});
    clock = FixedClock(*at);
  }
  std::string store = store_url.empty() ? config.config.store : store_url;
  Env env(std::move(config.config), std::move(store), std::move(clock), !at_text.empty(), *zone,
          chosen->store_mode, std::move(config.problems));
  if (chosen->checks_run_config)
    env.AddConfigProblems(app::CheckRunnable(env.config(), env.settings()));
  // A config with problems stops every command but the one that reports them (check): exit 1,
  // never a start that fails later.
  if (!env.config_problems().empty() && !chosen->reports_config_problems)
    return ReportAll(env.config_problems());
  // Only the daemon keeps the stop signals blocked (it takes them itself once it can handle
  // them); every other command stops on them as usual.
  if (chosen->app->get_name() != "run") service::UnblockStopSignals();
  return chosen->run(env);
}

}  // namespace followup::cli

int main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits it: a SIGTERM while the daemon starts
  // is held until it can stop cleanly (docs/architecture.md, the daemon's threads).
  followup::service::BlockStopSignals();
  return followup::cli::Main(argc, argv);
}
