// The followupd subcommands: each file adds one CLI11 subcommand and the function that runs it.
// Commands are thin: they parse arguments, call the app layer (app/), and print.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/settings.h"
#include "base/time.h"
#include "config/config.h"
#include "store/store.h"

namespace followup::cli {

// What every command gets: the loaded config and the settings made from it (app/settings.h), the
// clock (`--at` or the wall clock), and the store, opened on first use the way the command uses it
// (store::OpenMode).
class Env {
 public:
  Env(Config config, std::string store_url, std::unique_ptr<Clock> clock, bool at_given,
      const date::time_zone* zone, store::OpenMode store_mode = store::OpenMode::kExisting,
      std::vector<Error> config_problems = {})
      : config_(std::move(config)),
        settings_(app::MakeSettings(config_, std::move(store_url), zone)),
        clock_(std::move(clock)),
        at_given_(at_given),
        store_mode_(store_mode),
        config_problems_(std::move(config_problems)) {}

  const Config& config() const { return config_; }
  const app::Settings& settings() const { return settings_; }
  const Clock& clock() const { return *clock_; }
  bool at_given() const { return at_given_; }
  const date::time_zone* zone() const { return settings_.zone; }
  const std::string& store_url() const { return settings_.store_url; }
  // Every problem of the config file; only a command that reports them (check) runs with any.
  const std::vector<Error>& config_problems() const { return config_problems_; }
  // Adds `problems` to those of the config file, in the file's order.
  void AddConfigProblems(std::vector<Error> problems);
  // Opens the store on first call: a command that only reads never creates or migrates one.
  Result<store::Store*> store();
  // The customer with that id (the business's), or kNotFound "no customer with id '...'".
  Result<store::CustomerRow> Customer(const std::string& external_id);

 private:
  Config config_;
  app::Settings settings_;
  std::unique_ptr<Clock> clock_;
  bool at_given_;
  store::OpenMode store_mode_;
  std::vector<Error> config_problems_;
  std::unique_ptr<store::Store> store_;
};

// A registered subcommand: its CLI11 node and what to run when it was chosen. `run` returns the
// process exit status (0 ok, 1 invalid input, 2 usage, 3 runtime failure).
struct Command {
  CLI::App* app = nullptr;
  std::function<int(Env&)> run;
  // How it opens the store: kExisting (the default) for a command that only reads, kCreate for one
  // that writes (its store's folder and file are created on first use).
  store::OpenMode store_mode = store::OpenMode::kExisting;
  // Runs with a config that has problems, to report them with its own (check).
  bool reports_config_problems = false;
  // Needs what `run` needs of the config (app/run_check.h): run itself, and check.
  bool checks_run_config = false;
};

Command AddImportCommand(CLI::App& root);
Command AddDemoDataCommand(CLI::App& root);
Command AddCustomersCommand(CLI::App& root);
Command AddModelCommand(CLI::App& root);
Command AddExplainCommand(CLI::App& root);
Command AddCheckCommand(CLI::App& root);
Command AddSimulateCommand(CLI::App& root);
Command AddLogCommand(CLI::App& root);
Command AddReportCommand(CLI::App& root);
Command AddRunCommand(CLI::App& root);
Command AddPreviewCommand(CLI::App& root);
Command AddReloadCommand(CLI::App& root);
Command AddCopyStoreCommand(CLI::App& root);
// unsubscribe, resubscribe, and suppress add|remove|list.
std::vector<Command> AddRecipientCommands(CLI::App& root);
// queue [list], requeue, cancel, hold, release, pause, resume.
std::vector<Command> AddQueueCommands(CLI::App& root);

// Prints an error to stderr as "followupd: ..." and returns its exit status.
int Report(const Error& error);
inline int Report(const tl::unexpected<Error>& error) { return Report(error.value()); }
// Prints every error to stderr, one a line as FILE:LINE:COL: reason; returns 1 (invalid input).
int ReportAll(const std::vector<Error>& errors);

}  // namespace followup::cli
