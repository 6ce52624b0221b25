#include <cinttypes>
#include <cstdio>

#include "cli/command.h"
#include "store/copy_store.h"
#include "store/pg/url.h"

namespace followup::cli {
namespace {

struct CopyStoreArgs {
  std::string from;
  std::string to;
};

int RunCopyStore(const CopyStoreArgs& args) {
  auto from = store::Store::Open(args.from, store::OpenMode::kExisting);
  if (!from) return Report(from.error());
  auto to = store::Store::Open(args.to);
  if (!to) return Report(to.error());
  std::fprintf(stderr, "copy-store: %s -> %s\n", store::pg::Redacted(args.from).c_str(),
               store::pg::Redacted(args.to).c_str());
  auto copied = store::CopyStore(**from, **to, [](std::string_view table, int64_t rows) {
    std::fprintf(stderr, "copy-store: %.*s: %" PRId64 " rows\n", static_cast<int>(table.size()),
                 table.data(), rows);
  });
  if (!copied) return Report(copied.error());
  for (const auto& t : *copied)
    std::printf("%-13s %10" PRId64 " rows  checksum %016" PRIx64 "  verified\n", t.table.c_str(),
                t.rows, t.checksum);
  return 0;
}

}  // namespace

Command AddCopyStoreCommand(CLI::App& root) {
  auto args = std::make_shared<CopyStoreArgs>();
  auto* app = root.add_subcommand(
      "copy-store",
      "Copy a whole store into a new, empty one (e.g. from SQLite to PostgreSQL): customers, "
      "transactions, decisions and the send log, suppressions and the daemon's cursors, ids kept. "
      "Every table is read back and checked by row count and checksum before anything is "
      "committed.");
  app->add_option("--from", args->from, "the store to copy (a store URL, like --store)")
      ->required();
  app->add_option("--to", args->to, "the new store (created and migrated if needed; must be empty)")
      ->required();
  return {app, [args](Env&) { return RunCopyStore(*args); }};
}

}  // namespace followup::cli
