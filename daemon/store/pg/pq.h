// A small RAII wrapper over libpq, for the PostgreSQL backend only (SQL stays inside the backend).
// Blocking calls, made on the thread that owns the Connection (the store's own thread, as with
// SQLite). Every failure is a kRuntime Error naming the operation, with the server's message and
// its SQLSTATE.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"

namespace followup::store::pg {

// The parameters of one statement ($1, $2, ...), sent as text; nullopt is NULL.
class Params {
 public:
  Params& Add(int64_t value);
  Params& Add(std::string_view value);
  Params& Add(const char* value) { return Add(std::string_view(value)); }
  Params& Add(const std::string& value) { return Add(std::string_view(value)); }
  Params& Add(const std::optional<std::string>& value);
  Params& Add(const std::optional<int64_t>& value);
  Params& Null();

  int size() const { return static_cast<int>(text_.size()); }
  // Pointers into this object for PQexec*: valid until the next Add.
  const char* const* values() const;

 private:
  std::vector<std::string> text_;
  std::vector<bool> null_;
  mutable std::vector<const char*> pointers_;
};

// A statement's result rows (owns the PGresult). Text format: Int parses the decimal text.
class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result, &PQclear) {}

  int size() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column); }
  std::string_view Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  bool Bool(int row, int column) const { return Text(row, column) == "t"; }
  std::optional<std::string> OptText(int row, int column) const;
  std::optional<int64_t> OptInt(int row, int column) const;
  // Rows an INSERT, UPDATE or DELETE touched.
  int64_t Affected() const;

 private:
  friend class Connection;
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

class Connection {
 public:
  // Connects with `keywords`/`values` as PQconnectdbParams takes them (dbname may be a URL or a
  // key=value string, expanded by libpq). The session then speaks UTF-8 and UTC.
  static Result<Connection> Open(std::vector<std::pair<std::string, std::string>> params);
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  ~Connection();

  // Runs one statement with parameters. Statements are prepared on first use and kept by their
  // text for the life of the connection: pass SQL whose text does not vary with the values.
  Result<Rows> Exec(std::string_view sql, const Params& params, std::string_view what);
  Result<Rows> Exec(std::string_view sql, std::string_view what) {
    return Exec(sql, Params(), what);
  }
  // Runs a statement like Exec, handing its rows to `row` one at a time as they arrive (libpq's
  // single-row mode), so that a large result is never held whole. `row` must not use this
  // connection.
  Result<void> Stream(std::string_view sql, const Params& params, std::string_view what,
                      const std::function<void(const Rows& rows, int row)>& row);

  // Runs one or more statements without parameters (DDL, BEGIN, COMMIT ...), not prepared.
  Result<void> Run(const std::string& sql, std::string_view what);

  // COPY ... FROM STDIN: Begin, Put any number of times, then End (which returns the rows copied)
  // or Abort. The data is in the format the COPY statement names.
  Result<void> BeginCopyIn(const std::string& sql, std::string_view what);
  Result<void> PutCopyData(std::string_view data);
  Result<int64_t> EndCopyIn();
  void AbortCopyIn(std::string_view why);

  // COPY ... TO STDOUT: hands every data row (one row per call, in the COPY's format) to `row`.
  // A row callback's error stops the copy (the connection is reset) and is returned.
  Result<void> CopyOut(const std::string& sql, std::string_view what,
                       const std::function<Result<void>(std::string_view row)>& row);

  // Inside BEGIN ... COMMIT (or a failed transaction waiting for ROLLBACK).
  bool InTransaction() const;
  // The server has gone (restarted, cut off): the next call must Reconnect first.
  bool Lost() const { return PQstatus(conn_) == CONNECTION_BAD; }
  // Connects again with the same parameters; prepared statements are forgotten, and so is what
  // the server kept for the session (advisory locks).
  Result<void> Reconnect();
  // Counts the reconnections: a session's locks are held while it is unchanged.
  int64_t session() const { return sessions_; }

 private:
  explicit Connection(PGconn* conn, std::vector<std::pair<std::string, std::string>> params)
      : conn_(conn), params_(std::move(params)) {}
  friend class Transaction;
  Result<void> SetUpSession();
  // The name of the prepared statement for `sql`, preparing it on first use.
  Result<const std::string*> Prepared(std::string_view sql, std::string_view what);
  // Before a statement: connects again if the server went away, unless a transaction was open
  // (its work is gone: the caller must start over).
  Result<void> Ready(std::string_view what);
  tl::unexpected<Error> Failure(std::string_view what, const PGresult* result) const;

  PGconn* conn_ = nullptr;
  std::vector<std::pair<std::string, std::string>> params_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  bool copying_ = false;
  bool in_transaction_ = false;  // a Transaction is open on this connection
  int64_t sessions_ = 0;
};

// BEGIN on construction; ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> Begin(Connection& conn, std::string_view what);
  Transaction(Transaction&& other) noexcept : conn_(other.conn_), what_(other.what_) {
    other.conn_ = nullptr;
  }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() { Rollback(); }
  Result<void> Commit();
  void Rollback();

 private:
  Transaction(Connection& conn, std::string_view what) : conn_(&conn), what_(what) {}
  Connection* conn_;
  std::string what_;
};

// A PostgreSQL timestamptz as UTC seconds (fractions dropped, towards the past), and back: the SQL
// expressions the backend wraps its time columns and parameters in.
std::string Seconds(std::string_view column);   // "floor(extract(epoch from COLUMN))::bigint"
std::string Timestamp(std::string_view param);  // "to_timestamp(PARAM::bigint)"

}  // namespace followup::store::pg
