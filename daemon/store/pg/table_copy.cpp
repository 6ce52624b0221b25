// Whole tables in and out of the PostgreSQL store, for copy-store: read with one statement in key
// order, written with one COPY (text format) per table.
#include <time.h>

#include <string>

#include "store/pg/store_impl.h"

namespace followup::store::pg {
namespace {

std::string ColumnList(const StoreTable& table, bool converted) {
  std::string out;
  for (const auto& c : table.columns) {
    if (!out.empty()) out += ", ";
    std::string name(c.name);
    if (converted && c.type == ColumnType::kTime) name = Seconds(name);
    if (converted && c.type == ColumnType::kJson) name += "::text";
    out += name;
  }
  return out;
}

// A time for COPY's text format, from UTC seconds.
std::string UtcText(const std::string& seconds) {
  time_t t = static_cast<time_t>(std::stoll(seconds));
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+00", &tm);
  return buf;
}

void AppendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
}

class PostgresRowWriter final : public RowWriter {
 public:
  PostgresRowWriter(Connection& conn, Transaction tx) : conn_(conn), tx_(std::move(tx)) {}
  ~PostgresRowWriter() override {
    if (copying_) conn_.AbortCopyIn("copy abandoned");
  }

  Result<void> BeginTable(const StoreTable& table) override {
    table_ = &table;
    auto r = conn_.BeginCopyIn("COPY " + std::string(table.name) + "(" +
                                   ColumnList(table, /*converted=*/false) + ") FROM STDIN",
                               "store copy " + std::string(table.name));
    copying_ = bool(r);
    return r;
  }

  Result<void> Put(const RowValues& row) override {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) buffer_ += '\t';
      if (!row[i])
        buffer_ += "\\N";
      else if (table_->columns[i].type == ColumnType::kTime)
        buffer_ += UtcText(*row[i]);
      else
        AppendEscaped(buffer_, *row[i]);
    }
    buffer_ += '\n';
    if (buffer_.size() < (1 << 20)) return {};
    return Flush();
  }

  Result<void> EndTable() override {
    if (auto r = Flush(); !r) return r;
    copying_ = false;
    auto copied = conn_.EndCopyIn();
    if (!copied) return tl::unexpected(copied.error());
    if (table_->columns.front().name != "id") return {};
    // Rows kept their ids: the next id given out follows the highest.
    const std::string name(table_->name);
    auto r = conn_.Run("SELECT setval(pg_get_serial_sequence('" + name +
                           "', 'id'), coalesce(max(id), 0) + 1, false) FROM " + name,
                       "store copy " + name);
    return r;
  }

  Result<void> Commit() override { return tx_.Commit(); }

 private:
  Result<void> Flush() {
    auto r = conn_.PutCopyData(buffer_);
    buffer_.clear();
    return r;
  }

  Connection& conn_;
  Transaction tx_;
  const StoreTable* table_ = nullptr;
  std::string buffer_;
  bool copying_ = false;
};

}  // namespace

Result<void> PostgresStore::ForEachRowOf(const StoreTable& table,
                                         const std::function<Result<void>(const RowValues&)>& fn) {
  std::string sql =
      "SELECT " + ColumnList(table, /*converted=*/true) + " FROM " + std::string(table.name);
  if (!table.where.empty()) sql += " WHERE " + std::string(table.where);
  sql += " ORDER BY " + std::string(table.order_by);
  RowValues row(table.columns.size());
  return StreamRetrying(sql, Params(), "store read " + std::string(table.name),
                        [&](const Rows& r, int i) -> Result<void> {
                          for (size_t c = 0; c < row.size(); ++c)
                            row[c] = r.OptText(i, static_cast<int>(c));
                          return fn(row);
                        });
}

Result<std::unique_ptr<RowWriter>> PostgresStore::BeginRowWriter() {
  auto tx = Transaction::Begin(conn_, "store copy");
  if (!tx) return tl::unexpected(tx.error());
  return std::unique_ptr<RowWriter>(std::make_unique<PostgresRowWriter>(conn_, std::move(*tx)));
}

}  // namespace followup::store::pg
