// The followupd subcommands: each file adds one CLI11 subcommand and the function that runs it.
// Commands are thin: they parse arguments, call into the parts, and print.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "base/time.h"
#include "config/config.h"
#include "store/store.h"

namespace followup::cli {

// What every command gets: the loaded config, the clock (`--at` or the wall clock), and the store,
// opened on first use.
class Env {
 public:
  Env(Config config, std::string store_url, std::unique_ptr<Clock> clock, bool at_given,
      const date::time_zone* zone)
      : config_(std::move(config)),
        store_url_(std::move(store_url)),
        clock_(std::move(clock)),
        at_given_(at_given),
        zone_(zone) {}

  const Config& config() const { return config_; }
  const Clock& clock() const { return *clock_; }
  bool at_given() const { return at_given_; }
  const date::time_zone* zone() const { return zone_; }
  const std::string& store_url() const { return store_url_; }
  // Opens and migrates the store on first call.
  Result<store::Store*> store();
  // The customer with that id (the business's), or kNotFound "no customer with id '...'".
  Result<store::CustomerRow> Customer(const std::string& external_id);

 private:
  Config config_;
  std::string store_url_;
  std::unique_ptr<Clock> clock_;
  bool at_given_;
  const date::time_zone* zone_;
  std::unique_ptr<store::Store> store_;
};

// A registered subcommand: its CLI11 node and what to run when it was chosen. `run` returns the
// process exit status (0 ok, 1 invalid input, 2 usage, 3 runtime failure).
struct Command {
  CLI::App* app = nullptr;
  std::function<int(Env&)> run;
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

// Prints an error to stderr as "followupd: ..." and returns its exit status.
int Report(const Error& error);
inline int Report(const tl::unexpected<Error>& error) { return Report(error.value()); }

}  // namespace followup::cli
