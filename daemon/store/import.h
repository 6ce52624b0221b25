// `followupd import customers|transactions FILE`: CSV (header row, RFC 4180) or JSON Lines into the
// store, row by row validated, all good rows in one store transaction.
//
// Validation (ParseCustomerRow, ParseTransactionRow) is pure; Import() is the shell that reads the
// file and talks to the store.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "store/store.h"

namespace date {
class time_zone;
}

namespace followup::store {

enum class ImportTarget { kCustomers, kTransactions };

struct ImportOptions {
  ImportTarget target = ImportTarget::kTransactions;
  bool dry_run = false;                   // validate and count, then roll back
  const date::time_zone* zone = nullptr;  // business zone: dates without time are midnight here
  std::string default_currency = "EUR";   // for rows without a currency
  size_t max_field_bytes = 4096;
  size_t max_line_bytes = 65536;
};

struct ImportSummary {
  int64_t read = 0;       // data rows read (header excluded)
  int64_t imported = 0;   // new rows written
  int64_t unchanged = 0;  // rows already in the store with the same content
  int64_t updated = 0;    // known customers whose changed fields were taken (MergeCustomer)
  int64_t rejected = 0;   // rows reported as problems and not written
};

struct ImportCallbacks {
  // Each rejected row, as FILE:LINE: reason. Called in line order for transactions; customers whose
  // referrer could only be checked at the end are reported then.
  std::function<void(const Error&)> on_problem;
  // Each known customer whose changed fields were taken: the line and "id 'ann': email, name".
  std::function<void(int line, const std::string& what)> on_updated;
  // Now and then: bytes of the file read so far, its size, rows read so far.
  std::function<void(uint64_t done, uint64_t total, int64_t rows)> on_progress;
};

// Imports `path` (CSV, or JSON Lines when it ends in .jsonl/.ndjson or starts with '{').
// Returns the counts; rows with problems are reported and skipped, the rest committed together.
// Messages cite file content escaped and cut short (base/printable.h), so that a field cannot
// forge a line of the report or act on the terminal.
// kInvalidInput (nothing written) when the file cannot be read as a whole: unreadable, no header,
// an unknown or repeated column, a required column missing. kRuntime (nothing written) when the
// store fails.
Result<ImportSummary> Import(Store& store, const std::string& path, const ImportOptions& options,
                             const ImportCallbacks& callbacks);

// One row as named fields, as read from CSV or JSON Lines: absent and empty fields are nullopt.
struct RawRow {
  const std::vector<std::string>* names = nullptr;  // column names (borrowed)
  std::vector<std::optional<std::string>> values;   // one per name
};

// Reads the rows of one import file, CSV or JSON Lines, and nothing else: what Import() reads
// with, on its own so that the reading can be checked (and fuzzed) without a store.
//
// Field text is kept as it was written: CSV fields unquoted, JSON strings decoded, JSON numbers as
// their exact text ("29.330", "18446744073709551617"), so that ids never collide and amounts never
// pass through a double. Not thread-safe; one reader per file.
class RowReader {
 public:
  // Reads `file` (borrowed, like `options`: both must outlive the reader), named `path` in errors:
  // JSON Lines when `path` ends in .jsonl or .ndjson, or the text (after blanks) starts with '{';
  // else CSV, whose header row is read and checked here. kInvalidInput, located, as Import() says
  // for a header it refuses; kRuntime on a read error.
  static Result<std::unique_ptr<RowReader>> Open(std::FILE* file, const std::string& path,
                                                 const ImportOptions& options);
  virtual ~RowReader() = default;

  // The next row into `row` (valid until the next call) and the line it starts on into `line`.
  // A row that cannot be read as fields (bad CSV quoting, invalid JSON, bad UTF-8, a line or field
  // over its limit, a number out of range ...) is consumed and sets `error` to the reason, citing
  // any of its text escaped and cut short (base/printable.h); `error` is empty otherwise. Returns
  // false at the end of the file, kRuntime on a read error.
  virtual Result<bool> Next(RawRow& row, int& line, std::string& error) = 0;
  // Bytes read so far, for progress.
  virtual uint64_t bytes_read() const = 0;
};

// Validates one row into a record. On failure the message says which column and why; it cites
// field text escaped and cut short (base/printable.h), never raw.
Result<CustomerRecord> ParseCustomerRow(const RawRow& row, const ImportOptions& options);
Result<TransactionRecord> ParseTransactionRow(const RawRow& row, const ImportOptions& options);

// The columns each target knows. Customers keep any other column as an attribute; transactions
// refuse unknown columns.
const std::vector<std::string>& CustomerColumns();
const std::vector<std::string>& TransactionColumns();

}  // namespace followup::store
