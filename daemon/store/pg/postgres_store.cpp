#include "store/pg/postgres_store.h"

#include <unordered_map>

#include "store/pg/binary_copy.h"
#include "store/pg/import_batch.h"
#include "store/pg/migrations.h"
#include "store/pg/store_impl.h"
#include "store/pg/store_rows.h"
#include "store/pg/url.h"

namespace followup::store {
namespace pg {

Result<std::unique_ptr<ImportBatch>> PostgresStore::BeginImport() {
  return Retrying([&] { return BeginImportBatch(conn_); });
}

Result<StoreCounts> PostgresStore::Counts() {
  auto rows = Retrying([&] {
    return conn_.Exec(
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM transactions)",
        "store count");
  });
  if (!rows) return tl::unexpected(rows.error());
  return StoreCounts{rows->Int(0, 0), rows->Int(0, 1)};
}

// Every customer through one binary COPY: a million rows are never held at once.
Result<void> PostgresStore::ForEachCustomer(const std::function<void(const CustomerRow&)>& fn) {
  return Retrying([&]() -> Result<void> {
    BinaryCopyRow row;
    CustomerRow c;
    return conn_.CopyOut(
        "COPY (SELECT id, external_id, email, name, referred_by, timezone, unsubscribed_at, "
        "created_at FROM customers ORDER BY id) TO STDOUT (FORMAT binary)",
        "store read customers", [&](std::string_view message) -> Result<void> {
          if (!row.Start(message)) return {};
          c.id = row.Int8();
          c.external_id = std::string(row.Text());
          auto email = row.OptText();
          c.email = email ? std::optional<std::string>(*email) : std::nullopt;
          c.name = std::string(row.Text());
          c.referred_by = row.OptInt8();
          auto zone = row.OptText();
          c.timezone = zone ? std::optional<std::string>(*zone) : std::nullopt;
          c.unsubscribed_at = OptAt(row.OptTime());
          c.created_at = OptAt(row.OptTime());
          fn(c);
          return {};
        });
  });
}

// The fact scan: one binary COPY in (customer_id, occurred_at, id) order, straight off the
// index that has that order (no sort, however many rows).
Result<void> PostgresStore::ForEachTransactionOfCustomers(
    Instant until, int64_t first_customer, int64_t end_customer,
    const std::function<void(const TransactionRow&)>& fn) {
  return Retrying([&]() -> Result<void> {
    auto tx = Transaction::Begin(conn_, "store read transactions");
    if (!tx) return tl::unexpected(tx.error());
    // The index order is what makes this a stream; keep the planner from sorting instead.
    if (auto r = conn_.Run("SET LOCAL enable_sort = off", "store read transactions"); !r) return r;
    BinaryCopyRow row;
    TransactionRow t;
    auto copied = conn_.CopyOut(
        "COPY (SELECT id, customer_id, occurred_at, kind, amount, cost FROM transactions "
        "WHERE customer_id >= " +
            std::to_string(first_customer) + " AND customer_id < " + std::to_string(end_customer) +
            " AND occurred_at <= to_timestamp(" + std::to_string(Secs(until)) +
            ") ORDER BY customer_id, occurred_at, id) TO STDOUT (FORMAT binary)",
        "store read transactions", [&](std::string_view message) -> Result<void> {
          if (!row.Start(message)) return {};
          t.id = row.Int8();
          t.customer_id = row.Int8();
          t.occurred_at = At(row.Time());
          t.kind = ParseKind(row.Text()).value_or(Kind::kPurchase);
          t.amount = row.Int8();
          t.cost = row.OptInt8();
          fn(t);
          return {};
        });
    if (!copied) return copied;
    return tx->Commit();
  });
}

Result<std::unique_ptr<Store>> PostgresStore::OpenAnother() {
  auto conn = Connection::Open(params_);
  if (!conn) return tl::unexpected(conn.error());
  return std::unique_ptr<Store>(
      std::make_unique<PostgresStore>(std::move(*conn), params_, version_));
}

Result<void> PostgresStore::ForEachTransactionOf(
    int64_t customer_id, Instant until, const std::function<void(const TransactionRow&)>& fn) {
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT " + kTransactionRowColumns +
                          " FROM transactions WHERE customer_id = $1 AND occurred_at <= " +
                          Timestamp("$2") + " ORDER BY occurred_at, id",
                      Params().Add(customer_id).Add(Secs(until)), "store read transactions");
  });
  if (!rows) return tl::unexpected(rows.error());
  TransactionRow t;
  for (int i = 0; i < rows->size(); ++i) {
    ReadTransactionRow(*rows, i, t);
    fn(t);
  }
  return {};
}

Result<void> PostgresStore::ForEachRecentTransaction(
    Instant from, Instant to, const std::function<void(const RecentTransaction&)>& fn) {
  return StreamRetrying(kRecentTransactionSelect + "WHERE t.occurred_at > " + Timestamp("$1") +
                            " AND t.occurred_at <= " + Timestamp("$2") +
                            " ORDER BY t.occurred_at, t.id",
                        Params().Add(Secs(from)).Add(Secs(to)), "store read transactions",
                        [&](const Rows& r, int i) -> Result<void> {
                          fn(ReadRecentTransaction(r, i));
                          return {};
                        });
}

Result<void> PostgresStore::ForEachTransactionAfter(
    int64_t after_id, const std::function<void(const RecentTransaction&)>& fn) {
  return StreamRetrying(kRecentTransactionSelect + "WHERE t.id > $1 ORDER BY t.id",
                        Params().Add(after_id), "store read new transactions",
                        [&](const Rows& r, int i) -> Result<void> {
                          fn(ReadRecentTransaction(r, i));
                          return {};
                        });
}

Result<int64_t> PostgresStore::MaxTransactionId() {
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT coalesce(max(id), 0) FROM transactions",
                      "store read the high-water mark");
  });
  if (!rows) return tl::unexpected(rows.error());
  return rows->Int(0, 0);
}

Result<bool> PostgresStore::Unsubscribe(std::string_view external_id, Instant at) {
  auto rows = Retrying([&] {
    return conn_.Exec("UPDATE customers SET unsubscribed_at = least(coalesce(unsubscribed_at, " +
                          Timestamp("$2") + "), " + Timestamp("$2") + ") WHERE external_id = $1",
                      Params().Add(external_id).Add(Secs(at)), "store unsubscribe");
  });
  if (!rows) return tl::unexpected(rows.error());
  return rows->Affected() > 0;
}

Result<std::string> PostgresStore::GetMeta(std::string_view key) {
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT value FROM meta WHERE key = $1", Params().Add(key),
                      "store read meta");
  });
  if (!rows) return tl::unexpected(rows.error());
  return rows->size() ? std::string(rows->Text(0, 0)) : std::string();
}

Result<void> PostgresStore::SetMeta(std::string_view key, std::string_view value) {
  auto rows = Retrying([&] {
    return conn_.Exec(
        "INSERT INTO meta(key, value) VALUES($1, $2) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        Params().Add(key).Add(value), "store write meta");
  });
  if (!rows) return tl::unexpected(rows.error());
  return {};
}

Result<std::optional<CustomerRow>> PostgresStore::FindCustomerById(int64_t id) {
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT " + kCustomerRowColumns + " FROM customers WHERE id = $1",
                      Params().Add(id), "store find customer");
  });
  if (!rows) return tl::unexpected(rows.error());
  if (rows->size() == 0) return std::optional<CustomerRow>();
  return std::optional<CustomerRow>(ReadCustomerRow(*rows, 0));
}

Result<std::vector<std::optional<CustomerRow>>> PostgresStore::FindCustomersById(
    std::span<const int64_t> ids) {
  std::vector<std::optional<CustomerRow>> out(ids.size());
  if (ids.empty()) return out;
  auto rows = Retrying([&] {
    return conn_.Exec(
        "SELECT " + kCustomerRowColumns + " FROM customers WHERE id = ANY($1::bigint[])",
        Params().Add(IntArray(ids)), "store find customers");
  });
  if (!rows) return tl::unexpected(rows.error());
  std::unordered_map<int64_t, std::vector<size_t>> wanted;  // id -> where it goes in `out`
  for (size_t i = 0; i < ids.size(); ++i) wanted[ids[i]].push_back(i);
  for (int i = 0; i < rows->size(); ++i) {
    CustomerRow customer = ReadCustomerRow(*rows, i);
    auto it = wanted.find(customer.id);
    if (it == wanted.end()) continue;
    for (size_t k : it->second) out[k] = customer;
  }
  return out;
}

Result<std::optional<CustomerRow>> PostgresStore::FindCustomer(std::string_view external_id) {
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT " + kCustomerRowColumns + " FROM customers WHERE external_id = $1",
                      Params().Add(external_id), "store find customer");
  });
  if (!rows) return tl::unexpected(rows.error());
  if (rows->size() == 0) return std::optional<CustomerRow>();
  return std::optional<CustomerRow>(ReadCustomerRow(*rows, 0));
}

// Streams the rows of `sql` to `row`; the first row `row` fails ends the reading (the rest are
// passed over) and is the result. Repeated on a fresh connection when the connection was lost
// before any row was handed on (never twice the same row).
Result<void> PostgresStore::StreamRetrying(
    const std::string& sql, const Params& params, std::string_view what,
    const std::function<Result<void>(const Rows&, int)>& row) {
  bool handed = false;
  Result<void> failed;
  auto run = [&] {
    return conn_.Stream(sql, params, what, [&](const Rows& r, int i) {
      handed = true;
      if (failed) failed = row(r, i);
    });
  };
  auto result = run();
  if (!result && !handed && conn_.Lost() && conn_.Reconnect()) result = run();
  if (!result) return result;
  return failed;
}

}  // namespace pg

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url, OpenMode mode) {
  auto params = pg::ConnectParams(url);
  if (!params) return tl::unexpected(params.error());
  auto conn = pg::Connection::Open(*params);
  if (!conn) return tl::unexpected(conn.error());
  auto version = mode == OpenMode::kCreate ? pg::Migrate(*conn)
                                           : pg::CheckSchemaVersion(*conn, pg::Redacted(url));
  if (!version) return tl::unexpected(version.error());
  return std::unique_ptr<Store>(
      std::make_unique<pg::PostgresStore>(std::move(*conn), std::move(*params), *version));
}

}  // namespace followup::store
