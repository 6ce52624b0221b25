#include "store/copy_store.h"

namespace followup::store {
namespace {

class Checksum {
 public:
  void Add(const RowValues& row) {
    for (const auto& value : row) {
      Byte(value ? 1 : 0);
      if (!value) continue;
      uint64_t size = value->size();
      for (int i = 0; i < 8; ++i) Byte(static_cast<unsigned char>(size >> (8 * i)));
      for (char c : *value) Byte(static_cast<unsigned char>(c));
    }
  }
  uint64_t value() const { return hash_; }

 private:
  void Byte(unsigned char b) {
    hash_ ^= b;
    hash_ *= 0x100000001b3ULL;
  }
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

Result<TableCopy> Summarize(Store& store, const StoreTable& table) {
  TableCopy summary{std::string(table.name), 0, 0};
  Checksum sum;
  auto r = store.ForEachRowOf(table, [&](const RowValues& row) -> Result<void> {
    sum.Add(row);
    ++summary.rows;
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  summary.checksum = sum.value();
  return summary;
}

Result<void> RequireEmpty(Store& store) {
  auto counts = store.Counts();
  if (!counts) return tl::unexpected(counts.error());
  auto outbox = store.OutboxStatusCounts();
  if (!outbox) return tl::unexpected(outbox.error());
  auto suppressions = store.Suppressions();
  if (!suppressions) return tl::unexpected(suppressions.error());
  int64_t decisions = 0;
  for (const auto& [_, n] : *outbox) decisions += n;
  if (counts->customers || counts->transactions || decisions || !suppressions->empty())
    return InvalidInput(
        "copy-store: the target store is not empty (" + std::to_string(counts->customers) +
        " customers, " + std::to_string(counts->transactions) + " transactions, " +
        std::to_string(decisions) + " decisions, " + std::to_string(suppressions->size()) +
        " suppressions): copy into a new, empty store");
  return {};
}

}  // namespace

Result<std::vector<TableCopy>> CopyStore(
    Store& from, Store& to,
    const std::function<void(std::string_view table, int64_t rows)>& progress) {
  if (auto r = RequireEmpty(to); !r) return tl::unexpected(r.error());
  auto writer = to.BeginRowWriter();
  if (!writer) return tl::unexpected(writer.error());
  std::vector<TableCopy> copied;
  for (const auto& table : StoreTables()) {
    TableCopy summary{std::string(table.name), 0, 0};
    Checksum sum;
    if (auto r = (*writer)->BeginTable(table); !r) return tl::unexpected(r.error());
    auto read = from.ForEachRowOf(table, [&](const RowValues& row) -> Result<void> {
      sum.Add(row);
      if (++summary.rows % 10000 == 0 && progress) progress(table.name, summary.rows);
      return (*writer)->Put(row);
    });
    if (!read) return tl::unexpected(read.error());
    if (auto r = (*writer)->EndTable(); !r) return tl::unexpected(r.error());
    if (progress) progress(table.name, summary.rows);
    summary.checksum = sum.value();
    copied.push_back(std::move(summary));
  }
  // Read back through the target's own backend before anything is committed.
  for (const auto& expected : copied) {
    const StoreTable* table = nullptr;
    for (const auto& t : StoreTables())
      if (t.name == expected.table) table = &t;
    auto got = Summarize(to, *table);
    if (!got) return tl::unexpected(got.error());
    if (got->rows != expected.rows || got->checksum != expected.checksum)
      return RuntimeFailure("copy-store: table " + expected.table + " differs after the copy (" +
                            std::to_string(expected.rows) + " rows read, " +
                            std::to_string(got->rows) +
                            " found, or their checksums differ): nothing was committed");
  }
  if (auto r = (*writer)->Commit(); !r) return tl::unexpected(r.error());
  return copied;
}

}  // namespace followup::store
