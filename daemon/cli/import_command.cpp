#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "store/import.h"

namespace followup::cli {
namespace {

struct ImportArgs {
  std::string what;
  std::string file;
  bool dry_run = false;
};

// Progress on stderr when it is a terminal, at most five times a second.
class Progress {
 public:
  explicit Progress(std::string file) : file_(std::move(file)), tty_(isatty(STDERR_FILENO)) {}
  void Update(uint64_t done, uint64_t total, int64_t rows) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    int percent = total ? static_cast<int>(100.0 * static_cast<double>(done) / total) : 0;
    std::fprintf(stderr, "\rimport %s: %3d%%, %lld rows", file_.c_str(), percent,
                 static_cast<long long>(rows));
    shown_ = true;
  }
  void Clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  std::string file_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

int RunImport(Env& env, const ImportArgs& args) {
  auto store = env.store();
  if (!store) return Report(store.error());
  store::ImportOptions options;
  options.target = args.what == "customers" ? store::ImportTarget::kCustomers
                                            : store::ImportTarget::kTransactions;
  options.dry_run = args.dry_run;
  options.zone = env.zone();
  options.default_currency = env.config().business.currency;
  options.max_field_bytes = static_cast<size_t>(env.config().import.max_field_bytes);
  options.max_line_bytes = static_cast<size_t>(env.config().import.max_line_bytes);

  Progress progress(args.file);
  store::ImportCallbacks callbacks;
  callbacks.on_problem = [&](const Error& e) {
    progress.Clear();
    std::fprintf(stderr, "%s\n", e.ToString().c_str());
  };
  callbacks.on_updated = [&](int line, const std::string& what) {
    progress.Clear();
    std::printf("%s:%d: updated %s\n", args.file.c_str(), line, what.c_str());
  };
  callbacks.on_progress = [&](uint64_t done, uint64_t total, int64_t rows) {
    progress.Update(done, total, rows);
  };
  auto summary = store::Import(**store, args.file, options, callbacks);
  progress.Clear();
  if (!summary) return Report(summary.error());
  // "updated" last: scripts read the counts before it by their place.
  std::printf("%s%s: read %lld, imported %lld, unchanged %lld, rejected %lld, updated %lld\n",
              args.dry_run ? "dry run: " : "", args.file.c_str(),
              static_cast<long long>(summary->read), static_cast<long long>(summary->imported),
              static_cast<long long>(summary->unchanged), static_cast<long long>(summary->rejected),
              static_cast<long long>(summary->updated));
  return summary->rejected > 0 ? 1 : 0;
}

}  // namespace

Command AddImportCommand(CLI::App& root) {
  auto args = std::make_shared<ImportArgs>();
  auto* app = root.add_subcommand(
      "import",
      "Import customers or transactions from CSV (header row) or JSON Lines. Bad rows are reported "
      "as FILE:LINE: reason and skipped; the good rows are written together. Known customers take "
      "the changed fields a row gives (FILE:LINE: updated ...); an import never undoes an "
      "unsubscribe. Exit 1 if any row was rejected.");
  app->add_option("what", args->what, "customers or transactions")
      ->required()
      ->check(CLI::IsMember({"customers", "transactions"}));
  app->add_option("file", args->file, "CSV or JSON Lines file")->required();
  app->add_flag("--dry-run", args->dry_run, "validate and count, write nothing");
  return {app, [args](Env& env) { return RunImport(env, *args); }, store::OpenMode::kCreate};
}

}  // namespace followup::cli
