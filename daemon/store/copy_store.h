// Moving a whole store into another, of either backend (`followupd copy-store`; docs/scale-out.md):
// every table row for row, ids kept, verified before anything is committed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace followup::store {

struct TableCopy {
  std::string table;
  int64_t rows = 0;
  uint64_t checksum = 0;  // FNV-1a over every value of every row, in key order
};

// Copies every table of `from` (StoreTables()) into `to`, which must hold no customers,
// transactions, decisions or suppressions (kInvalidInput otherwise), in one transaction of `to`.
// Before committing, every table is read back from `to` and its row count and checksum compared
// with `from`'s; on any difference nothing is committed (kRuntime). `progress` is told the rows
// copied so far of the table being copied, now and then.
Result<std::vector<TableCopy>> CopyStore(
    Store& from, Store& to,
    const std::function<void(std::string_view table, int64_t rows)>& progress);

}  // namespace followup::store
