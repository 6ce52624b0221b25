#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/command.h"
#include "cli/options.h"
#include "demo/demo_data.h"

namespace followup::cli {
namespace {

struct DemoDataArgs {
  std::string out;
  bool sample = false;
  std::optional<int64_t> customers;
  std::optional<uint64_t> seed;
  std::optional<double> transactions_per_customer;
  std::optional<std::string> start, end;
};

// Writes FILE through a temporary beside it, renamed into place only when complete.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path)
      : path_(std::move(path)), tmp_(path_.string() + ".tmp") {
    stream_.open(tmp_, std::ios::binary | std::ios::trunc);
  }
  ~AtomicFile() {
    if (!committed_) std::filesystem::remove(tmp_, ignored_);
  }
  std::ofstream& stream() { return stream_; }
  bool ok() const { return stream_.good(); }
  Result<void> Commit() {
    stream_.close();
    if (!stream_) return RuntimeFailure("demo-data: cannot write " + tmp_.string());
    std::filesystem::rename(tmp_, path_, ignored_);
    if (ignored_) return RuntimeFailure("demo-data: cannot rename to " + path_.string());
    committed_ = true;
    return {};
  }

 private:
  std::filesystem::path path_, tmp_;
  std::ofstream stream_;
  std::error_code ignored_;
  bool committed_ = false;
};

int RunDemoData(const DemoDataArgs& args) {
  demo::DemoDataOptions options =
      args.sample ? demo::SampleDemoDataOptions() : demo::DemoDataOptions{};
  if (args.customers) options.customers = *args.customers;
  if (args.seed) options.seed = *args.seed;
  if (args.transactions_per_customer)
    options.mean_transactions_per_customer = *args.transactions_per_customer;
  if (args.start) options.start = *args.start;
  if (args.end) options.end = *args.end;

  std::error_code ec;
  std::filesystem::create_directories(args.out, ec);
  if (ec)
    return Report(RuntimeFailure("demo-data: cannot create " + args.out + ": " + ec.message()));
  AtomicFile customers(std::filesystem::path(args.out) / "customers.csv");
  AtomicFile transactions(std::filesystem::path(args.out) / "transactions.csv");
  if (!customers.ok() || !transactions.ok())
    return Report(RuntimeFailure("demo-data: cannot write into " + args.out));

  bool tty = isatty(STDERR_FILENO);
  auto last = std::chrono::steady_clock::now();
  auto counts = demo::GenerateDemoData(
      options, customers.stream(), transactions.stream(), [&](int64_t done, int64_t total) {
        auto now = std::chrono::steady_clock::now();
        if (!tty || now - last < std::chrono::milliseconds(200)) return;
        last = now;
        std::fprintf(stderr, "\rdemo-data: %lld of %lld customers", static_cast<long long>(done),
                     static_cast<long long>(total));
      });
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!counts) return Report(counts.error());
  if (auto r = customers.Commit(); !r) return Report(r.error());
  if (auto r = transactions.Commit(); !r) return Report(r.error());
  std::printf("demo-data: wrote %lld customers and %lld transactions to %s\n",
              static_cast<long long>(counts->customers),
              static_cast<long long>(counts->transactions), args.out.c_str());
  return 0;
}

}  // namespace

Command AddDemoDataCommand(CLI::App& root) {
  auto args = std::make_shared<DemoDataArgs>();
  auto* app = root.add_subcommand(
      "demo-data",
      "Write a made-up but realistic customer base (customers.csv, transactions.csv in the import "
      "format) into a folder. Same options and seed, same bytes.");
  app->add_option("--out", args->out, "folder to write into")->required();
  app->add_flag("--sample", args->sample,
                "the shipped sample's persona mix and defaults (config/sample)");
  app->add_option("--customers", args->customers, "how many customers")
      ->check(WholeNumber(1, 100'000'000));
  app->add_option("--seed", args->seed, "random seed")->check(UnsignedNumber());
  app->add_option("--transactions-per-customer", args->transactions_per_customer,
                  "average transaction rows per customer")
      ->check(Number(1, 1000));
  app->add_option("--start", args->start, "first acquisition day, YYYY-MM-DD");
  app->add_option("--end", args->end, "last day of history, YYYY-MM-DD");
  return {app, [args](Env&) { return RunDemoData(*args); }};
}

}  // namespace followup::cli
