#include "store/pg/pq.h"

#include <charconv>

namespace followup::store::pg {
namespace {

// libpq prints notices (e.g. "relation already exists, skipping") to stderr by default.
void IgnoreNotice(void*, const char*) {}

std::string Trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Params& Params::Add(int64_t value) {
  text_.push_back(std::to_string(value));
  null_.push_back(false);
  return *this;
}
Params& Params::Add(std::string_view value) {
  text_.emplace_back(value);
  null_.push_back(false);
  return *this;
}
Params& Params::Add(const std::optional<std::string>& value) {
  return value ? Add(std::string_view(*value)) : Null();
}
Params& Params::Add(const std::optional<int64_t>& value) { return value ? Add(*value) : Null(); }
Params& Params::Null() {
  text_.emplace_back();
  null_.push_back(true);
  return *this;
}

const char* const* Params::values() const {
  pointers_.resize(text_.size());
  for (size_t i = 0; i < text_.size(); ++i) pointers_[i] = null_[i] ? nullptr : text_[i].c_str();
  return pointers_.data();
}

std::string_view Rows::Text(int row, int column) const {
  return std::string_view(PQgetvalue(result_.get(), row, column),
                          static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t Rows::Int(int row, int column) const {
  std::string_view text = Text(row, column);
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::optional<std::string> Rows::OptText(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return std::string(Text(row, column));
}

std::optional<int64_t> Rows::OptInt(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Int(row, column);
}

int64_t Rows::Affected() const {
  const char* n = PQcmdTuples(result_.get());
  int64_t value = 0;
  if (n) std::from_chars(n, n + std::char_traits<char>::length(n), value);
  return value;
}

Result<Connection> Connection::Open(std::vector<std::pair<std::string, std::string>> params) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (!conn) return RuntimeFailure("store connect: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return RuntimeFailure("store connect to PostgreSQL: " + message);
  }
  Connection connection(conn, std::move(params));
  if (auto r = connection.SetUpSession(); !r) return tl::unexpected(r.error());
  return connection;
}

Connection::Connection(Connection&& other) noexcept { *this = std::move(other); }

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (conn_) PQfinish(conn_);
    conn_ = other.conn_;
    other.conn_ = nullptr;
    params_ = std::move(other.params_);
    prepared_ = std::move(other.prepared_);
    copying_ = other.copying_;
    in_transaction_ = other.in_transaction_;
    sessions_ = other.sessions_;
  }
  return *this;
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

Result<void> Connection::SetUpSession() {
  PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
  prepared_.clear();
  copying_ = false;
  in_transaction_ = false;
  // Times are exchanged as epoch seconds; UTC keeps any text form of them readable and stable.
  return Run("SET TIME ZONE 'UTC'", "store connect");
}

Result<void> Connection::Reconnect() {
  ++sessions_;
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK)
    return RuntimeFailure("store reconnect to PostgreSQL: " + Trimmed(PQerrorMessage(conn_)));
  return SetUpSession();
}

Result<void> Connection::Ready(std::string_view what) {
  if (!Lost()) return {};
  if (in_transaction_ || copying_)
    return RuntimeFailure(std::string(what) +
                          ": the connection to PostgreSQL was lost inside a transaction");
  return Reconnect();
}

bool Connection::InTransaction() const {
  auto status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

tl::unexpected<Error> Connection::Failure(std::string_view what, const PGresult* result) const {
  std::string message;
  const char* state = nullptr;
  if (result) {
    message = Trimmed(PQresultErrorMessage(result));
    state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  }
  if (message.empty()) message = Trimmed(PQerrorMessage(conn_));
  if (message.rfind("ERROR:  ", 0) == 0) message.erase(0, 8);
  if (message.rfind("FATAL:  ", 0) == 0) message.erase(0, 8);
  std::string text = std::string(what) + ": " + message;
  if (state && *state) text += " (SQLSTATE " + std::string(state) + ")";
  if (Lost()) text += " (connection lost)";
  return RuntimeFailure(std::move(text));
}

Result<const std::string*> Connection::Prepared(std::string_view sql, std::string_view what) {
  std::string key(sql);
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size() + 1);
    Rows prepared(PQprepare(conn_, name.c_str(), key.c_str(), 0, nullptr));
    if (PQresultStatus(prepared.result_.get()) != PGRES_COMMAND_OK)
      return Failure(what, prepared.result_.get());
    it = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  return &it->second;
}

Result<Rows> Connection::Exec(std::string_view sql, const Params& params, std::string_view what) {
  if (auto r = Ready(what); !r) return tl::unexpected(r.error());
  auto name = Prepared(sql, what);
  if (!name) return tl::unexpected(name.error());
  Rows rows(
      PQexecPrepared(conn_, (*name)->c_str(), params.size(), params.values(), nullptr, nullptr, 0));
  auto status = PQresultStatus(rows.result_.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    return Failure(what, rows.result_.get());
  return rows;
}

Result<void> Connection::Stream(std::string_view sql, const Params& params, std::string_view what,
                                const std::function<void(const Rows& rows, int row)>& row) {
  if (auto r = Ready(what); !r) return r;
  auto name = Prepared(sql, what);
  if (!name) return tl::unexpected(name.error());
  if (!PQsendQueryPrepared(conn_, (*name)->c_str(), params.size(), params.values(), nullptr,
                           nullptr, 0))
    return Failure(what, nullptr);
  PQsetSingleRowMode(conn_);
  std::optional<Error> failed;
  while (PGresult* result = PQgetResult(conn_)) {
    Rows rows(result);
    auto status = PQresultStatus(result);
    if (status == PGRES_SINGLE_TUPLE) {
      if (!failed) row(rows, 0);
    } else if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK && !failed) {
      failed = Failure(what, result).value();
    }
  }
  if (failed) return tl::unexpected(*failed);
  if (Lost()) return Failure(what, nullptr);
  return {};
}

Result<void> Connection::Run(const std::string& sql, std::string_view what) {
  if (auto r = Ready(what); !r) return r;
  Rows rows(PQexec(conn_, sql.c_str()));
  auto status = PQresultStatus(rows.result_.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    return Failure(what, rows.result_.get());
  return {};
}

Result<void> Connection::BeginCopyIn(const std::string& sql, std::string_view what) {
  if (auto r = Ready(what); !r) return r;
  Rows rows(PQexec(conn_, sql.c_str()));
  if (PQresultStatus(rows.result_.get()) != PGRES_COPY_IN) return Failure(what, rows.result_.get());
  copying_ = true;
  return {};
}

Result<void> Connection::PutCopyData(std::string_view data) {
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1)
    return Failure("store copy in", nullptr);
  return {};
}

Result<int64_t> Connection::EndCopyIn() {
  copying_ = false;
  if (PQputCopyEnd(conn_, nullptr) != 1) return Failure("store copy in", nullptr);
  Rows rows(PQgetResult(conn_));
  // Drain: a COPY ends with one result, then none.
  while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
  if (PQresultStatus(rows.result_.get()) != PGRES_COMMAND_OK)
    return Failure("store copy in", rows.result_.get());
  return rows.Affected();
}

void Connection::AbortCopyIn(std::string_view why) {
  if (!copying_) return;
  copying_ = false;
  std::string reason(why);
  PQputCopyEnd(conn_, reason.c_str());
  while (PGresult* r = PQgetResult(conn_)) PQclear(r);
}

Result<void> Connection::CopyOut(const std::string& sql, std::string_view what,
                                 const std::function<Result<void>(std::string_view row)>& row) {
  if (auto r = Ready(what); !r) return r;
  {
    Rows start(PQexec(conn_, sql.c_str()));
    if (PQresultStatus(start.result_.get()) != PGRES_COPY_OUT)
      return Failure(what, start.result_.get());
  }
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(conn_, &buffer, /*async=*/0);
    if (n == -1) break;  // done: the COPY's result follows
    if (n < 0) return Failure(what, nullptr);
    auto r = row(std::string_view(buffer, static_cast<size_t>(n)));
    PQfreemem(buffer);
    if (!r) {
      // Stopping a COPY OUT midway has no protocol message: drop the connection instead.
      (void)Reconnect();
      return r;
    }
  }
  Rows end(PQgetResult(conn_));
  while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
  if (PQresultStatus(end.result_.get()) != PGRES_COMMAND_OK)
    return Failure(what, end.result_.get());
  return {};
}

Result<Transaction> Transaction::Begin(Connection& conn, std::string_view what) {
  if (auto r = conn.Run("BEGIN", what); !r) return tl::unexpected(r.error());
  conn.in_transaction_ = true;
  return Transaction(conn, what);
}

Result<void> Transaction::Commit() {
  if (!conn_) return RuntimeFailure(what_ + ": commit without a transaction");
  Connection* conn = conn_;
  conn_ = nullptr;
  // Still marked open: a lost connection fails the COMMIT rather than reconnecting under it.
  auto r = conn->Run("COMMIT", what_);
  conn->in_transaction_ = false;
  if (!r && !conn->Lost() && conn->InTransaction()) (void)conn->Run("ROLLBACK", what_);
  return r;
}

void Transaction::Rollback() {
  if (!conn_) return;
  Connection* conn = conn_;
  conn_ = nullptr;
  conn->in_transaction_ = false;
  if (!conn->Lost()) (void)conn->Run("ROLLBACK", what_);
}

std::string Seconds(std::string_view column) {
  return "floor(extract(epoch from " + std::string(column) + "))::bigint";
}

std::string Timestamp(std::string_view param) {
  return "to_timestamp(" + std::string(param) + "::bigint)";
}

}  // namespace followup::store::pg
