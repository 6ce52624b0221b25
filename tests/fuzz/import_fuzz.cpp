// Fuzzes the import path without a store: a CSV or JSON Lines file (FUZZ_IMPORT_PATH says which)
// read by RowReader, and every row it yields validated as a transaction and as a customer.
#include <cstdint>
#include <cstdio>
#include <string>

#include "base/time.h"
#include "fuzz_util.h"
#include "store/import.h"

namespace followup::fuzz {
namespace {

void ReadAll(const uint8_t* data, size_t size, store::ImportTarget target) {
  static const date::time_zone* zone = *LookupZone("Europe/Berlin");
  store::ImportOptions options;
  options.target = target;
  options.zone = zone;
  options.max_field_bytes = 256;  // small limits, so that inputs can reach them
  options.max_line_bytes = 1024;
  std::FILE* file = fmemopen(const_cast<uint8_t*>(data), size, "rb");
  if (!file) return;
  auto reader = store::RowReader::Open(file, FUZZ_IMPORT_PATH, options);
  if (!reader) {
    CheckMessage(reader.error().message);
  } else {
    store::RawRow row;
    int line = 0;
    int last_line = 0;
    std::string error;
    for (;;) {
      auto more = (*reader)->Next(row, line, error);
      if (!more || !*more) break;
      Check(line > last_line, "row lines do not grow");
      last_line = line;
      if (!error.empty()) {
        CheckMessage(error);
        continue;
      }
      Check(row.values.size() == row.names->size(), "a row's values and names differ in number");
      if (target == store::ImportTarget::kTransactions) {
        auto t = store::ParseTransactionRow(row, options);
        if (!t) CheckMessage(t.error().message);
        if (t) Check(t->amount >= 0 && (!t->cost || *t->cost >= 0), "a negative amount passed");
      } else {
        auto c = store::ParseCustomerRow(row, options);
        if (!c) CheckMessage(c.error().message);
      }
    }
  }
  std::fclose(file);
}

}  // namespace
}  // namespace followup::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;  // fmemopen refuses an empty buffer
  followup::fuzz::ReadAll(data, size, followup::store::ImportTarget::kTransactions);
  followup::fuzz::ReadAll(data, size, followup::store::ImportTarget::kCustomers);
  return 0;
}
