#include "store/sqlite_rows.h"

#include <string>

namespace followup::store {
namespace {

std::string ColumnList(const StoreTable& table) {
  std::string out;
  for (const auto& c : table.columns) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

// Values are bound as text: the columns' INTEGER affinity stores integers as integers.
class SqliteRowWriter final : public RowWriter {
 public:
  explicit SqliteRowWriter(sqlite::Database& db) : db_(db) {}
  ~SqliteRowWriter() override {
    if (open_) (void)db_.Exec("ROLLBACK", "store copy");
  }

  Result<void> Begin() {
    if (auto r = db_.Exec("BEGIN IMMEDIATE", "store copy"); !r) return r;
    open_ = true;
    // A customer may name a referrer with a higher id: keys are checked at the commit.
    return db_.Exec("PRAGMA defer_foreign_keys = ON", "store copy");
  }

  Result<void> BeginTable(const StoreTable& table) override {
    std::string sql =
        "INSERT INTO " + std::string(table.name) + "(" + ColumnList(table) + ") VALUES(";
    for (size_t i = 0; i < table.columns.size(); ++i)
      sql += (i ? ", ?" : "?") + std::to_string(i + 1);
    sql += ")";
    auto s = db_.Prepare(sql);
    if (!s) return tl::unexpected(s.error());
    insert_ = std::move(*s);
    return {};
  }

  Result<void> Put(const RowValues& row) override {
    for (size_t i = 0; i < row.size(); ++i) insert_.Bind(static_cast<int>(i + 1), row[i]);
    return insert_.Run();
  }

  Result<void> EndTable() override {
    insert_ = sqlite::Statement();
    return {};
  }

  Result<void> Commit() override {
    auto r = db_.Exec("COMMIT", "store copy");
    if (r) open_ = false;
    return r;
  }

 private:
  sqlite::Database& db_;
  sqlite::Statement insert_;
  bool open_ = false;
};

}  // namespace

Result<void> SqliteForEachRowOf(sqlite::Database& db, const StoreTable& table,
                                const std::function<Result<void>(const RowValues&)>& fn) {
  std::string sql = "SELECT " + ColumnList(table) + " FROM " + std::string(table.name);
  if (!table.where.empty()) sql += " WHERE " + std::string(table.where);
  sql += " ORDER BY " + std::string(table.order_by);
  auto s = db.Prepare(sql);
  if (!s) return tl::unexpected(s.error());
  RowValues row(table.columns.size());
  for (;;) {
    auto step = s->Step();
    if (!step) return tl::unexpected(step.error());
    if (!*step) return {};
    for (size_t i = 0; i < row.size(); ++i) row[i] = s->OptText(static_cast<int>(i));
    if (auto r = fn(row); !r) return r;
  }
}

Result<std::unique_ptr<RowWriter>> SqliteBeginRowWriter(sqlite::Database& db) {
  auto writer = std::make_unique<SqliteRowWriter>(db);
  if (auto r = writer->Begin(); !r) return tl::unexpected(r.error());
  return std::unique_ptr<RowWriter>(std::move(writer));
}

}  // namespace followup::store
