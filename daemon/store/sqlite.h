// Thin RAII wrappers over the SQLite C API, for the SQLite backend only (SQL stays inside the
// backend). Every failure names the operation and SQLite's own message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/time.h"

namespace followup::store::sqlite {

// Times are stored as INTEGER seconds since 1970-01-01 UTC; NULL for none.
inline std::optional<int64_t> Seconds(const std::optional<Instant>& t) {
  if (!t) return std::nullopt;
  return t->time_since_epoch().count();
}
inline std::optional<Instant> FromSeconds(const std::optional<int64_t>& s) {
  if (!s) return std::nullopt;
  return Instant{std::chrono::seconds{*s}};
}

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept { *this = std::move(other); }
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  // Binding is 1-based like SQLite's own.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, const std::optional<std::string>& value);
  Statement& Bind(int index, const std::optional<int64_t>& value);
  Statement& BindNull(int index);

  // One step: true while a row is available, false when done; kRuntime on failure.
  Result<bool> Step();
  // Steps to completion, for statements without result rows.
  Result<void> Run();
  void Reset();

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string_view Text(int column) const;
  std::optional<std::string> OptText(int column) const;
  std::optional<int64_t> OptInt(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when it goes out of scope, so that an early return leaves it reusable.
class ScopedReset {
 public:
  explicit ScopedReset(Statement& s) : s_(s) {}
  ~ScopedReset() { s_.Reset(); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  Statement& s_;
};

class Database {
 public:
  // Opens the file, with WAL, foreign keys and a busy timeout. With `create`, a missing file is
  // created (0600, in folders made 0700; SQLite gives its WAL and shared-memory files the
  // database's mode); without, a missing file is an error.
  static Result<Database> Open(const std::string& path, bool create = true);
  Database(Database&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Database& operator=(Database&&) = delete;
  ~Database();

  Result<Statement> Prepare(std::string_view sql);
  // Runs one or more statements without parameters; `what` names the operation in errors.
  Result<void> Exec(const std::string& sql, std::string_view what);
  // Rolls back the open transaction that `cause` made the caller give up, and returns `cause` for
  // the caller to report. The ROLLBACK's own failure is added to the message only when a
  // transaction is still open: after some errors SQLite has already rolled back on its own, and
  // ROLLBACK then fails ("no transaction is active") with nothing left to undo.
  Error RollBack(Error cause, std::string_view what);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace followup::store::sqlite
