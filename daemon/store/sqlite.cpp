#include "store/sqlite.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/files.h"

namespace followup::store::sqlite {

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::Bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::Bind(int index, const std::optional<std::string>& value) {
  return value ? Bind(index, std::string_view(*value)) : BindNull(index);
}
Statement& Statement::Bind(int index, const std::optional<int64_t>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return RuntimeFailure(std::string("store query failed: ") + sqlite3_errmsg(db_) +
                        " (in: " + sqlite3_sql(stmt_) + ")");
}

Result<void> Statement::Run() {
  for (;;) {
    auto more = Step();
    if (!more) {
      Reset();
      return tl::unexpected(more.error());
    }
    if (!*more) break;
  }
  Reset();
  return {};
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view Statement::Text(int column) const {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!p) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::optional<std::string> Statement::OptText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return std::string(Text(column));
}

std::optional<int64_t> Statement::OptInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

Result<Database> Database::Open(const std::string& path, bool create) {
  // Once, before SQLite initialises: no global memory statistics, whose mutex every allocation
  // takes (it serialised two connections scanning on two threads).
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  if (create && path != ":memory:") {
    auto folder = std::filesystem::path(path).parent_path();
    if (!folder.empty()) {
      if (auto made = MakePrivateDirectories(folder); !made)
        return RuntimeFailure("store open " + path + ": " + made.error().message);
    }
    // SQLite would create it with 0644; made here first, it is the owner's alone. Only when it is
    // missing (O_EXCL): closing a descriptor of a file that this process's other connections have
    // open would drop their POSIX locks, and another program closing the store would then take
    // itself for its last user and delete the WAL under them.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
      return RuntimeFailure("store open " + path + ": " + std::strerror(errno));
    if (fd >= 0) ::close(fd);
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return RuntimeFailure("store open " + path + ": " + why);
  }
  Database db(raw);
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_extended_result_codes(raw, 1);
  auto r = db.Exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
      "PRAGMA cache_size=-8192;",
      "store open " + path);
  if (!r) return tl::unexpected(r.error());
  return db;
}

Database::~Database() {
  if (db_) sqlite3_close_v2(db_);
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK)
    return RuntimeFailure(std::string("store prepare failed: ") + sqlite3_errmsg(db_) +
                          " (in: " + std::string(sql) + ")");
  return Statement(db_, stmt);
}

Result<void> Database::Exec(const std::string& sql, std::string_view what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string why = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return RuntimeFailure(std::string(what) + ": " + why);
  }
  return {};
}

Error Database::RollBack(Error cause, std::string_view what) {
  if (auto r = Exec("ROLLBACK", what); !r && sqlite3_get_autocommit(db_) == 0)
    cause.message += "; and the transaction is still open: " + r.error().message;
  return cause;
}

}  // namespace followup::store::sqlite
