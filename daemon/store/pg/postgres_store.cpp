#include "store/pg/postgres_store.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/pg/binary_copy.h"
#include "store/pg/migrations.h"
#include "store/pg/pq.h"
#include "store/pg/url.h"

namespace followup::store {
namespace {

using pg::BinaryCopyRow;
using pg::BinaryCopyWriter;
using pg::Connection;
using pg::Params;
using pg::Rows;
using pg::Transaction;

using ConnectParams = std::vector<std::pair<std::string, std::string>>;

// Seconds for a timestamptz parameter. Instants beyond what PostgreSQL holds (Instant::max() as
// "no end") are clamped to its range, years 4713 BC to 294276 AD, so they compare as SQLite's
// integers do.
int64_t Secs(Instant t) {
  constexpr int64_t kMin = -210866803200, kMax = 9224318015999;
  return std::clamp<int64_t>(t.time_since_epoch().count(), kMin, kMax);
}
std::optional<int64_t> Secs(const std::optional<Instant>& t) {
  if (!t) return std::nullopt;
  return Secs(*t);
}
Instant At(int64_t s) { return Instant{std::chrono::seconds{s}}; }
std::optional<Instant> OptAt(const std::optional<int64_t>& s) {
  if (!s) return std::nullopt;
  return At(*s);
}
// A kind or status the outbox holds that this program has no name for (a newer program wrote it).
tl::unexpected<Error> UnknownName(std::string_view what, std::string_view name) {
  return RuntimeFailure("store read outbox: unknown " + std::string(what) + " '" +
                        std::string(name) + "' (written by a newer followupd?)");
}

std::optional<std::string> NonEmpty(const std::string& v) {
  return v.empty() ? std::optional<std::string>() : std::optional<std::string>(v);
}

// Lists the fields in which two records differ ("email, name"), for conflict messages.
template <typename T>
void Differs(std::string& out, const char* name, const T& a, const T& b) {
  if (a == b) return;
  if (!out.empty()) out += ", ";
  out += name;
}

// A PostgreSQL array literal of text values: {"a","b\"c"}.
template <typename Range>
std::string TextArray(const Range& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : std::string_view(v)) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string IntArray(std::span<const int64_t> values) {
  std::string out = "{";
  for (int64_t v : values) {
    if (out.size() > 1) out += ',';
    out += std::to_string(v);
  }
  out += '}';
  return out;
}

// ---------------------------------------------------------------------------------------------
// Migrations: every pending one in one transaction, under an advisory lock, so that two processes
// starting at once migrate once.

Result<int> ReadSchemaVersion(Connection& conn) {
  auto has_meta = conn.Exec("SELECT to_regclass('meta') IS NOT NULL", "store migrate");
  if (!has_meta) return tl::unexpected(has_meta.error());
  if (!has_meta->Bool(0, 0)) return 0;
  auto version = conn.Exec("SELECT value FROM meta WHERE key = 'schema_version'", "store migrate");
  if (!version) return tl::unexpected(version.error());
  if (version->size() == 0) return 0;
  return static_cast<int>(version->Int(0, 0));
}

Result<int> Migrate(Connection& conn) {
  const auto migrations = pg::PostgresMigrations();
  const int latest = static_cast<int>(migrations.size());
  // Up to date: no lock taken.
  if (auto current = ReadSchemaVersion(conn); current && *current == latest) return latest;
  // A session lock, taken before the transaction begins: a process that waited for another's
  // migration then starts its transaction after that one committed and sees its tables. (On
  // failure the connection is closed, which releases the lock.)
  if (auto r = conn.Exec("SELECT pg_advisory_lock($1)", Params().Add(pg::kMigrationLock),
                         "store migrate");
      !r)
    return tl::unexpected(r.error());
  auto tx = Transaction::Begin(conn, "store migrate");
  if (!tx) return tl::unexpected(tx.error());
  auto version = ReadSchemaVersion(conn);
  if (!version) return tl::unexpected(version.error());
  if (*version > latest) {
    return RuntimeFailure("store migrate: the database has schema version " +
                          std::to_string(*version) + ", newer than this followupd knows (" +
                          std::to_string(latest) + "); upgrade followupd");
  }
  for (int next = *version + 1; next <= latest; ++next) {
    const std::string what = "store migrate to version " + std::to_string(next);
    if (auto r = conn.Run(std::string(migrations[next - 1]), what); !r)
      return tl::unexpected(r.error());
    if (auto r = conn.Exec("INSERT INTO meta(key, value) VALUES('schema_version', $1) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           Params().Add(std::to_string(next)), what);
        !r)
      return tl::unexpected(r.error());
  }
  if (auto r = tx->Commit(); !r) return tl::unexpected(r.error());
  if (auto r = conn.Exec("SELECT pg_advisory_unlock($1)", Params().Add(pg::kMigrationLock),
                         "store migrate");
      !r)
    return tl::unexpected(r.error());
  return latest;
}

// ---------------------------------------------------------------------------------------------
// Import.

constexpr std::string_view kTransactionCopy =
    "COPY transactions(external_id, customer_id, occurred_at, kind, amount, cost, currency, "
    "offer_code) FROM STDIN (FORMAT binary)";

class PostgresImportBatch final : public ImportBatch {
 public:
  explicit PostgresImportBatch(Connection& conn) : conn_(conn) {}
  ~PostgresImportBatch() override { Rollback(); }

  Result<void> Begin() {
    auto tx = Transaction::Begin(conn_, "store import");
    if (!tx) return tl::unexpected(tx.error());
    tx_.emplace(std::move(*tx));
    return {};
  }

  Result<PutResult> PutCustomer(const CustomerRecord& c) override {
    std::optional<int64_t> referrer;
    if (c.referred_by) {
      if (auto r = LookUpCustomers(std::vector<std::string>{*c.referred_by}); !r)
        return tl::unexpected(r.error());
      auto it = customer_ids_.find(*c.referred_by);
      if (it == customer_ids_.end()) return PutResult{PutOutcome::kUnknownReferrer, *c.referred_by};
      referrer = it->second;
    }
    auto inserted = conn_.Exec(
        "INSERT INTO customers(external_id, email, name, created_at, referred_by, timezone, "
        "attributes, unsubscribed_at) VALUES($1, $2, $3, " +
            pg::Timestamp("$4") + ", $5, $6, $7, " + pg::Timestamp("$8") +
            ") ON CONFLICT(external_id) DO NOTHING RETURNING id",
        Params()
            .Add(c.external_id)
            .Add(c.email)
            .Add(c.name)
            .Add(Secs(c.created_at))
            .Add(referrer)
            .Add(c.timezone)
            .Add(c.attributes_json)
            .Add(Secs(c.unsubscribed_at)),
        "store import customer");
    if (!inserted) return tl::unexpected(inserted.error());
    if (inserted->size() == 1) {
      customer_ids_.emplace(c.external_id, inserted->Int(0, 0));
      return PutResult{PutOutcome::kInserted, {}};
    }
    // Already there: unchanged, or a conflict naming the fields that differ.
    auto existing = conn_.Exec(
        "SELECT c.email, c.name, " + pg::Seconds("c.created_at") +
            ", r.external_id, c.timezone, c.attributes::text, " + pg::Seconds("c.unsubscribed_at") +
            " FROM customers c LEFT JOIN customers r ON r.id = c.referred_by "
            "WHERE c.external_id = $1",
        Params().Add(c.external_id), "store import customer");
    if (!existing) return tl::unexpected(existing.error());
    if (existing->size() == 0)
      return RuntimeFailure("store import: customer " + c.external_id + " vanished");
    const Rows& e = *existing;
    std::string diff;
    Differs(diff, "email", e.OptText(0, 0), c.email);
    Differs(diff, "name", std::string(e.Text(0, 1)), c.name);
    Differs(diff, "created_at", OptAt(e.OptInt(0, 2)), c.created_at);
    Differs(diff, "referred_by", e.OptText(0, 3), c.referred_by);
    Differs(diff, "timezone", e.OptText(0, 4), c.timezone);
    Differs(diff, "attributes", std::string(e.Text(0, 5)), c.attributes_json);
    Differs(diff, "unsubscribed_at", OptAt(e.OptInt(0, 6)), c.unsubscribed_at);
    if (diff.empty()) return PutResult{PutOutcome::kUnchanged, {}};
    return PutResult{PutOutcome::kConflict, diff};
  }

  // One round trip to resolve the chunk's customers, one to find which of its ids are stored
  // already, and one COPY for the new rows.
  Result<std::vector<PutResult>> PutTransactions(
      std::span<const TransactionRecord> records) override {
    std::vector<PutResult> results(records.size());
    std::vector<std::string> unknown;
    for (const auto& t : records)
      if (!customer_ids_.count(t.customer_external_id)) unknown.push_back(t.customer_external_id);
    if (auto r = LookUpCustomers(unknown); !r) return tl::unexpected(r.error());

    std::vector<std::string_view> ids;
    ids.reserve(records.size());
    for (const auto& t : records) ids.push_back(t.external_id);
    auto stored = conn_.Exec(
        "SELECT t.external_id, c.external_id, " + pg::Seconds("t.occurred_at") +
            ", t.kind, t.amount, t.cost, t.currency, t.offer_code FROM transactions t "
            "JOIN customers c ON c.id = t.customer_id WHERE t.external_id = ANY($1::text[])",
        Params().Add(TextArray(ids)), "store import transactions");
    if (!stored) return tl::unexpected(stored.error());
    std::unordered_map<std::string, TransactionRecord> existing;
    for (int i = 0; i < stored->size(); ++i) {
      TransactionRecord t;
      t.external_id = std::string(stored->Text(i, 0));
      t.customer_external_id = std::string(stored->Text(i, 1));
      t.occurred_at = At(stored->Int(i, 2));
      t.kind = ParseKind(stored->Text(i, 3)).value_or(Kind::kPurchase);
      t.amount = stored->Int(i, 4);
      t.cost = stored->OptInt(i, 5);
      t.currency = std::string(stored->Text(i, 6));
      t.offer_code = stored->OptText(i, 7);
      std::string key = t.external_id;
      existing.emplace(std::move(key), std::move(t));
    }

    copy_.clear();
    copy_.Header();
    std::unordered_map<std::string_view, size_t> added;  // external id -> index into records
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& t = records[i];
      auto customer = customer_ids_.find(t.customer_external_id);
      if (customer == customer_ids_.end()) {
        results[i] = {PutOutcome::kUnknownCustomer, t.customer_external_id};
        continue;
      }
      const TransactionRecord* before = nullptr;
      if (auto it = existing.find(t.external_id); it != existing.end()) before = &it->second;
      if (auto it = added.find(t.external_id); it != added.end()) before = &records[it->second];
      if (before) {
        std::string diff;
        Differs(diff, "customer_id", before->customer_external_id, t.customer_external_id);
        Differs(diff, "occurred_at", before->occurred_at, t.occurred_at);
        Differs(diff, "kind", before->kind, t.kind);
        Differs(diff, "amount", before->amount, t.amount);
        Differs(diff, "cost", before->cost, t.cost);
        Differs(diff, "currency", before->currency, t.currency);
        Differs(diff, "offer_code", before->offer_code, t.offer_code);
        results[i] = diff.empty() ? PutResult{PutOutcome::kUnchanged, {}}
                                  : PutResult{PutOutcome::kConflict, diff};
        continue;
      }
      added.emplace(t.external_id, i);
      results[i] = {PutOutcome::kInserted, {}};
      copy_.Row(8);
      copy_.Text(std::string_view(t.external_id));
      copy_.Int8(customer->second);
      copy_.Time(Secs(t.occurred_at));
      copy_.Text(KindName(t.kind));
      copy_.Int8(t.amount);
      copy_.Int8(t.cost);
      copy_.Text(std::string_view(t.currency));
      copy_.Text(t.offer_code);
    }
    if (added.empty()) return results;
    copy_.Trailer();
    if (auto r = conn_.BeginCopyIn(std::string(kTransactionCopy), "store import transactions"); !r)
      return tl::unexpected(r.error());
    if (auto r = conn_.PutCopyData(copy_.data()); !r) {
      conn_.AbortCopyIn("import failed");
      return tl::unexpected(r.error());
    }
    auto copied = conn_.EndCopyIn();
    if (!copied) return tl::unexpected(copied.error());
    return results;
  }

  Result<void> Commit() override {
    if (!tx_) return RuntimeFailure("store import: commit without an open batch");
    auto tx = std::move(*tx_);
    tx_.reset();
    return tx.Commit();
  }

  void Rollback() override { tx_.reset(); }

 private:
  // Puts the store ids of those `external_ids` that exist into customer_ids_, in one query.
  Result<void> LookUpCustomers(const std::vector<std::string>& external_ids) {
    if (external_ids.empty()) return {};
    auto found =
        conn_.Exec("SELECT external_id, id FROM customers WHERE external_id = ANY($1::text[])",
                   Params().Add(TextArray(external_ids)), "store import: look up customers");
    if (!found) return tl::unexpected(found.error());
    for (int i = 0; i < found->size(); ++i)
      customer_ids_.emplace(std::string(found->Text(i, 0)), found->Int(i, 1));
    return {};
  }

  Connection& conn_;
  std::optional<Transaction> tx_;
  std::unordered_map<std::string, int64_t> customer_ids_;
  BinaryCopyWriter copy_;
};

// ---------------------------------------------------------------------------------------------
// Reading rows.

const std::string kCustomerRowColumns = "id, external_id, email, name, referred_by, timezone, " +
                                        pg::Seconds("unsubscribed_at") + ", " +
                                        pg::Seconds("created_at");

CustomerRow ReadCustomerRow(const Rows& r, int i) {
  CustomerRow c;
  c.id = r.Int(i, 0);
  c.external_id = std::string(r.Text(i, 1));
  c.email = r.OptText(i, 2);
  c.name = std::string(r.Text(i, 3));
  c.referred_by = r.OptInt(i, 4);
  c.timezone = r.OptText(i, 5);
  c.unsubscribed_at = OptAt(r.OptInt(i, 6));
  c.created_at = OptAt(r.OptInt(i, 7));
  return c;
}

const std::string kTransactionRowColumns =
    "id, customer_id, " + pg::Seconds("occurred_at") + ", kind, amount, cost";

void ReadTransactionRow(const Rows& r, int i, TransactionRow& t) {
  t.id = r.Int(i, 0);
  t.customer_id = r.Int(i, 1);
  t.occurred_at = At(r.Int(i, 2));
  t.kind = ParseKind(r.Text(i, 3)).value_or(Kind::kPurchase);
  t.amount = r.Int(i, 4);
  t.cost = r.OptInt(i, 5);
}

// Transactions that may trigger event rules, with whether each is its customer's first purchase.
const std::string kRecentTransactionSelect =
    "SELECT t.id, t.external_id, t.customer_id, " + pg::Seconds("t.occurred_at") +
    ", t.kind, t.kind = 'purchase' AND NOT EXISTS (SELECT 1 FROM transactions p "
    "  WHERE p.customer_id = t.customer_id AND p.kind = 'purchase' AND "
    "  (p.occurred_at < t.occurred_at OR (p.occurred_at = t.occurred_at AND p.id < t.id))) "
    "FROM transactions t ";

RecentTransaction ReadRecentTransaction(const Rows& r, int i) {
  RecentTransaction t;
  t.id = r.Int(i, 0);
  t.external_id = std::string(r.Text(i, 1));
  t.customer_id = r.Int(i, 2);
  t.occurred_at = At(r.Int(i, 3));
  t.kind = ParseKind(r.Text(i, 4)).value_or(Kind::kPurchase);
  t.first_purchase = r.Bool(i, 5);
  return t;
}

constexpr std::string_view kOutboxItemColumns =
    "id, dedupe_key, rule, customer_id, recipient_id, coalesce(arm, ''), template, "
    "template_values::text, floor(extract(epoch from decided_at))::bigint, attempts, "
    "coalesce(message_id, '')";

OutboxItem ReadOutboxItem(const Rows& r, int i) {
  OutboxItem item;
  item.id = r.Int(i, 0);
  item.dedupe_key = std::string(r.Text(i, 1));
  item.rule = std::string(r.Text(i, 2));
  item.customer_id = r.Int(i, 3);
  item.recipient_id = r.Int(i, 4);
  item.arm = std::string(r.Text(i, 5));
  item.template_name = std::string(r.Text(i, 6));
  item.values_json = std::string(r.Text(i, 7));
  item.decided_at = At(r.Int(i, 8));
  item.attempts = static_cast<int>(r.Int(i, 9));
  item.message_id = std::string(r.Text(i, 10));
  return item;
}

// Due: queued past its send_after, or deferred past its next attempt.
constexpr std::string_view kDueCondition =
    "status IN ('queued', 'deferred') AND "
    "CASE WHEN status = 'queued' THEN send_after "
    "     ELSE coalesce(next_attempt_at, 'epoch'::timestamptz) END <= to_timestamp($1::bigint)";

class PostgresStore final : public Store {
 public:
  PostgresStore(Connection conn, ConnectParams params, int version)
      : conn_(std::move(conn)), params_(std::move(params)), version_(version) {}

  int SchemaVersion() const override { return version_; }

  Result<std::unique_ptr<ImportBatch>> BeginImport() override {
    auto batch = std::make_unique<PostgresImportBatch>(conn_);
    if (auto r = Retrying([&] { return batch->Begin(); }); !r) return tl::unexpected(r.error());
    return batch;
  }

  Result<StoreCounts> Counts() override {
    auto rows = Retrying([&] {
      return conn_.Exec(
          "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM transactions)",
          "store count");
    });
    if (!rows) return tl::unexpected(rows.error());
    return StoreCounts{rows->Int(0, 0), rows->Int(0, 1)};
  }

  // Every customer through one binary COPY: a million rows are never held at once.
  Result<void> ForEachCustomer(const std::function<void(const CustomerRow&)>& fn) override {
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
  Result<void> ForEachTransactionOfCustomers(
      Instant until, int64_t first_customer, int64_t end_customer,
      const std::function<void(const TransactionRow&)>& fn) override {
    return Retrying([&]() -> Result<void> {
      auto tx = Transaction::Begin(conn_, "store read transactions");
      if (!tx) return tl::unexpected(tx.error());
      // The index order is what makes this a stream; keep the planner from sorting instead.
      if (auto r = conn_.Run("SET LOCAL enable_sort = off", "store read transactions"); !r)
        return r;
      BinaryCopyRow row;
      TransactionRow t;
      auto copied = conn_.CopyOut(
          "COPY (SELECT id, customer_id, occurred_at, kind, amount, cost FROM transactions "
          "WHERE customer_id >= " +
              std::to_string(first_customer) + " AND customer_id < " +
              std::to_string(end_customer) + " AND occurred_at <= to_timestamp(" +
              std::to_string(Secs(until)) +
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

  Result<std::unique_ptr<Store>> OpenAnother() override {
    auto conn = Connection::Open(params_);
    if (!conn) return tl::unexpected(conn.error());
    return std::unique_ptr<Store>(
        std::make_unique<PostgresStore>(std::move(*conn), params_, version_));
  }

  Result<void> ForEachTransactionOf(int64_t customer_id, Instant until,
                                    const std::function<void(const TransactionRow&)>& fn) override {
    auto rows = Retrying([&] {
      return conn_.Exec("SELECT " + kTransactionRowColumns +
                            " FROM transactions WHERE customer_id = $1 AND occurred_at <= " +
                            pg::Timestamp("$2") + " ORDER BY occurred_at, id",
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

  Result<void> ForEachRecentTransaction(
      Instant from, Instant to, const std::function<void(const RecentTransaction&)>& fn) override {
    return StreamRetrying(kRecentTransactionSelect + "WHERE t.occurred_at > " +
                              pg::Timestamp("$1") + " AND t.occurred_at <= " + pg::Timestamp("$2") +
                              " ORDER BY t.occurred_at, t.id",
                          Params().Add(Secs(from)).Add(Secs(to)), "store read transactions",
                          [&](const Rows& r, int i) -> Result<void> {
                            fn(ReadRecentTransaction(r, i));
                            return {};
                          });
  }

  Result<void> ForEachTransactionAfter(
      int64_t after_id, const std::function<void(const RecentTransaction&)>& fn) override {
    return StreamRetrying(kRecentTransactionSelect + "WHERE t.id > $1 ORDER BY t.id",
                          Params().Add(after_id), "store read new transactions",
                          [&](const Rows& r, int i) -> Result<void> {
                            fn(ReadRecentTransaction(r, i));
                            return {};
                          });
  }

  Result<int64_t> MaxTransactionId() override {
    auto rows = Retrying([&] {
      return conn_.Exec("SELECT coalesce(max(id), 0) FROM transactions",
                        "store read the high-water mark");
    });
    if (!rows) return tl::unexpected(rows.error());
    return rows->Int(0, 0);
  }

  Result<bool> Unsubscribe(std::string_view external_id, Instant at) override {
    auto rows = Retrying([&] {
      return conn_.Exec("UPDATE customers SET unsubscribed_at = least(coalesce(unsubscribed_at, " +
                            pg::Timestamp("$2") + "), " + pg::Timestamp("$2") +
                            ") WHERE external_id = $1",
                        Params().Add(external_id).Add(Secs(at)), "store unsubscribe");
    });
    if (!rows) return tl::unexpected(rows.error());
    return rows->Affected() > 0;
  }

  Result<std::string> GetMeta(std::string_view key) override {
    auto rows = Retrying([&] {
      return conn_.Exec("SELECT value FROM meta WHERE key = $1", Params().Add(key),
                        "store read meta");
    });
    if (!rows) return tl::unexpected(rows.error());
    return rows->size() ? std::string(rows->Text(0, 0)) : std::string();
  }

  Result<void> SetMeta(std::string_view key, std::string_view value) override {
    auto rows = Retrying([&] {
      return conn_.Exec(
          "INSERT INTO meta(key, value) VALUES($1, $2) "
          "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          Params().Add(key).Add(value), "store write meta");
    });
    if (!rows) return tl::unexpected(rows.error());
    return {};
  }

  Result<std::map<DeliveryStatus, int64_t>> OutboxStatusCounts() override {
    auto rows = Retrying([&] {
      return conn_.Exec("SELECT status, count(*) FROM outbox GROUP BY status",
                        "store count the outbox");
    });
    if (!rows) return tl::unexpected(rows.error());
    std::map<DeliveryStatus, int64_t> counts;
    for (int i = 0; i < rows->size(); ++i) {
      auto status = ParseDeliveryStatus(rows->Text(i, 0));
      if (!status) return UnknownName("status", rows->Text(i, 0));
      counts[*status] = rows->Int(i, 1);
    }
    return counts;
  }

  // One statement for the whole batch (arrays unnested), so one round trip.
  Result<int64_t> RecordDecisions(std::span<const Decision> decisions) override {
    if (decisions.empty()) return 0;
    std::vector<std::string> keys, rules, kinds, arms, templates, values;
    std::vector<int64_t> customers, recipients, decided, send_after;
    for (const auto& d : decisions) {
      keys.push_back(d.dedupe_key);
      rules.push_back(d.rule);
      customers.push_back(d.customer_id);
      recipients.push_back(d.recipient_id);
      kinds.emplace_back(DecisionKindName(d.kind));
      arms.push_back(d.arm);
      templates.push_back(d.template_name);
      values.push_back(d.values_json);
      decided.push_back(Secs(d.decided_at));
      send_after.push_back(Secs(d.send_after));
    }
    Params params;
    params.Add(TextArray(keys))
        .Add(TextArray(rules))
        .Add(IntArray(customers))
        .Add(IntArray(recipients))
        .Add(TextArray(kinds))
        .Add(TextArray(arms))
        .Add(TextArray(templates))
        .Add(TextArray(values))
        .Add(IntArray(decided))
        .Add(IntArray(send_after));
    auto rows = Retrying([&] {
      return conn_.Exec(
          "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, arm, template, "
          "template_values, decided_at, send_after, status, updated_at) "
          "SELECT d.key, d.rule, d.customer, d.recipient, d.kind, nullif(d.arm, ''), d.template, "
          "d.vals::json, to_timestamp(d.decided), to_timestamp(d.send_after), "
          "CASE WHEN d.kind = 'send' THEN 'queued' ELSE 'held_out' END, to_timestamp(d.decided) "
          "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], "
          "$6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[]) "
          "  WITH ORDINALITY AS d(key, rule, customer, recipient, kind, arm, template, vals, "
          "                       decided, send_after, n) "
          "ORDER BY d.n ON CONFLICT(dedupe_key) DO NOTHING",
          params, "store record decisions");
    });
    if (!rows) return tl::unexpected(rows.error());
    return rows->Affected();
  }

  Result<void> ForEachDecisionSince(Instant since,
                                    const std::function<void(const Decision&)>& fn) override {
    return StreamRetrying(
        "SELECT dedupe_key, rule, customer_id, recipient_id, kind, coalesce(arm, ''), template, "
        "template_values::text, " +
            pg::Seconds("decided_at") + ", " + pg::Seconds("send_after") +
            " FROM outbox WHERE decided_at > " + pg::Timestamp("$1") + " ORDER BY decided_at, id",
        Params().Add(Secs(since)), "store read decisions",
        [&](const Rows& r, int i) -> Result<void> {
          Decision d;
          d.dedupe_key = std::string(r.Text(i, 0));
          d.rule = std::string(r.Text(i, 1));
          d.customer_id = r.Int(i, 2);
          d.recipient_id = r.Int(i, 3);
          auto kind = ParseDecisionKind(r.Text(i, 4));
          if (!kind) return UnknownName("kind", r.Text(i, 4));
          d.kind = *kind;
          d.arm = std::string(r.Text(i, 5));
          d.template_name = std::string(r.Text(i, 6));
          d.values_json = std::string(r.Text(i, 7));
          d.decided_at = At(r.Int(i, 8));
          d.send_after = At(r.Int(i, 9));
          fn(d);
          return {};
        });
  }

  Result<int64_t> RequeueInFlight() override {
    auto rows = Retrying([&] {
      return conn_.Exec(
          "UPDATE outbox SET status = 'queued', claimed_by = NULL, lease_until = NULL "
          "WHERE status = 'sending'",
          "store requeue in-flight sends");
    });
    if (!rows) return tl::unexpected(rows.error());
    return rows->Affected();
  }

  // SKIP LOCKED: a claim never waits for, nor takes, a row another connection is claiming.
  Result<std::vector<OutboxItem>> ClaimDue(Instant now, int limit) override {
    auto rows = conn_.Exec(
        "UPDATE outbox SET status = 'sending', updated_at = to_timestamp($1::bigint), "
        "claim_epoch = claim_epoch + 1 WHERE id IN (SELECT id FROM outbox WHERE " +
            std::string(kDueCondition) +
            " ORDER BY decided_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING " +
            std::string(kOutboxItemColumns),
        Params().Add(Secs(now)).Add(static_cast<int64_t>(limit)), "store claim due sends");
    return DueItems(rows);
  }

  Result<std::vector<OutboxItem>> PeekDue(Instant now, int limit) override {
    auto rows = Retrying([&] {
      return conn_.Exec("SELECT " + std::string(kOutboxItemColumns) + " FROM outbox WHERE " +
                            std::string(kDueCondition) + " ORDER BY decided_at, id LIMIT $2",
                        Params().Add(Secs(now)).Add(static_cast<int64_t>(limit)),
                        "store peek at due sends");
    });
    return DueItems(rows);
  }

  Result<std::vector<int64_t>> ClaimIds(std::span<const int64_t> ids, Instant now) override {
    std::vector<int64_t> claimed;
    if (ids.empty()) return claimed;
    auto rows = conn_.Exec(
        "UPDATE outbox SET status = 'sending', updated_at = to_timestamp($1::bigint), "
        "claim_epoch = claim_epoch + 1 WHERE id IN (SELECT id FROM outbox WHERE id = "
        "ANY($2::bigint[]) AND " +
            std::string(kDueCondition) + " FOR UPDATE SKIP LOCKED) RETURNING id",
        Params().Add(Secs(now)).Add(IntArray(ids)), "store claim sends");
    if (!rows) return tl::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i) claimed.push_back(rows->Int(i, 0));
    return claimed;
  }

  Result<void> SetMessageIds(std::span<const std::pair<int64_t, std::string>> ids) override {
    if (ids.empty()) return {};
    std::vector<int64_t> rows;
    std::vector<std::string> message_ids;
    for (const auto& [id, message_id] : ids) {
      rows.push_back(id);
      message_ids.push_back(message_id);
    }
    auto done = Retrying([&] {
      return conn_.Exec(
          "UPDATE outbox o SET message_id = u.message_id "
          "FROM unnest($1::bigint[], $2::text[]) AS u(id, message_id) "
          "WHERE o.id = u.id AND o.message_id IS NULL",
          Params().Add(IntArray(rows)).Add(TextArray(message_ids)), "store set message ids");
    });
    if (!done) return tl::unexpected(done.error());
    return {};
  }

  Result<void> RecordDeliveries(std::span<const DeliveryUpdate> updates, Instant now) override {
    if (updates.empty()) return {};
    return Retrying([&]() -> Result<void> {
      auto tx = Transaction::Begin(conn_, "store record deliveries");
      if (!tx) return tl::unexpected(tx.error());
      for (const auto& u : updates) {
        auto r = conn_.Exec(
            "UPDATE outbox SET status = $2, attempts = $3, next_attempt_at = " +
                pg::Timestamp("$4") +
                ", last_reply = $5, provider_message_id = coalesce($6, provider_message_id), "
                "message_id = coalesce($7, message_id), sent_at = coalesce(" +
                pg::Timestamp("$8") + ", sent_at), updated_at = " + pg::Timestamp("$9") +
                ", claimed_by = NULL, lease_until = NULL WHERE id = $1",
            Params()
                .Add(u.id)
                .Add(DeliveryStatusName(u.status))
                .Add(static_cast<int64_t>(u.attempts))
                .Add(Secs(u.next_attempt_at))
                .Add(NonEmpty(u.last_reply))
                .Add(NonEmpty(u.provider_message_id))
                .Add(NonEmpty(u.message_id))
                .Add(Secs(u.sent_at))
                .Add(Secs(now)),
            "store record deliveries");
        if (!r) return tl::unexpected(r.error());
        if (!u.suppress_email.empty()) {
          auto s = conn_.Exec(
              "INSERT INTO suppressions(email, reason, created_at) VALUES(lower($1), $2, " +
                  pg::Timestamp("$3") + ") ON CONFLICT(email) DO NOTHING",
              Params()
                  .Add(u.suppress_email)
                  .Add(u.last_reply.empty() ? std::string("hard bounce") : u.last_reply)
                  .Add(Secs(now)),
              "store record deliveries");
          if (!s) return tl::unexpected(s.error());
        }
      }
      return tx->Commit();
    });
  }

  Result<void> ForEachLogEntry(const LogFilter& f,
                               const std::function<void(const LogEntry&)>& fn) override {
    // One statement text for every filter: an absent filter is a NULL parameter.
    Params params;
    params.Add(f.since ? std::optional<int64_t>(Secs(*f.since)) : std::nullopt)
        .Add(NonEmpty(f.rule))
        .Add(NonEmpty(f.customer))
        .Add(f.status ? std::optional<std::string>(DeliveryStatusName(*f.status)) : std::nullopt)
        .Add(f.limit > 0 ? std::optional<int64_t>(f.limit) : std::nullopt);
    return StreamRetrying(
        "SELECT o.id, o.rule, c.external_id, r.external_id, coalesce(r.email, ''), o.kind, "
        "coalesce(o.arm, ''), o.template, o.status, o.attempts, " +
            pg::Seconds("o.decided_at") + ", " + pg::Seconds("o.send_after") + ", " +
            pg::Seconds("o.next_attempt_at") + ", " + pg::Seconds("o.sent_at") +
            ", coalesce(o.last_reply, ''), coalesce(o.provider_message_id, ''), "
            "coalesce(o.message_id, ''), o.dedupe_key, " +
            pg::Seconds("o.updated_at") +
            " FROM outbox o JOIN customers c ON c.id = o.customer_id "
            "JOIN customers r ON r.id = o.recipient_id "
            "WHERE ($1::bigint IS NULL OR o.decided_at > to_timestamp($1::bigint)) "
            "AND ($2::text IS NULL OR o.rule = $2) "
            "AND ($3::text IS NULL OR c.external_id = $3 OR r.external_id = $3) "
            "AND ($4::text IS NULL OR o.status = $4) "
            "ORDER BY o.decided_at DESC, o.id DESC LIMIT $5::bigint",
        params, "store read the send log", [&](const Rows& r, int i) -> Result<void> {
          LogEntry e;
          e.id = r.Int(i, 0);
          e.rule = std::string(r.Text(i, 1));
          e.customer = std::string(r.Text(i, 2));
          e.recipient = std::string(r.Text(i, 3));
          e.recipient_email = std::string(r.Text(i, 4));
          auto kind = ParseDecisionKind(r.Text(i, 5));
          if (!kind) return UnknownName("kind", r.Text(i, 5));
          e.kind = *kind;
          e.arm = std::string(r.Text(i, 6));
          e.template_name = std::string(r.Text(i, 7));
          auto status = ParseDeliveryStatus(r.Text(i, 8));
          if (!status) return UnknownName("status", r.Text(i, 8));
          e.status = *status;
          e.attempts = static_cast<int>(r.Int(i, 9));
          e.decided_at = At(r.Int(i, 10));
          e.send_after = At(r.Int(i, 11));
          e.next_attempt_at = OptAt(r.OptInt(i, 12));
          e.sent_at = OptAt(r.OptInt(i, 13));
          e.last_reply = std::string(r.Text(i, 14));
          e.provider_message_id = std::string(r.Text(i, 15));
          e.message_id = std::string(r.Text(i, 16));
          e.dedupe_key = std::string(r.Text(i, 17));
          e.updated_at = At(r.Int(i, 18));
          fn(e);
          return {};
        });
  }

  Result<void> ForEachDecisionOutcome(
      const std::string& rule, std::chrono::seconds window, const std::string& offer_code,
      const std::function<void(const DecisionOutcome&)>& fn) override {
    return StreamRetrying(
        "SELECT o.kind, o.status, coalesce(o.arm, ''), count(t.id), coalesce(sum(t.amount), 0) "
        "FROM outbox o LEFT JOIN transactions t ON t.customer_id = o.recipient_id "
        "  AND t.kind = 'purchase' AND t.occurred_at > o.decided_at "
        "  AND t.occurred_at <= o.decided_at + make_interval(secs => $2::bigint) "
        "  AND ($3 = '' OR t.offer_code = $3) "
        "WHERE o.rule = $1 GROUP BY o.id ORDER BY o.id",
        Params().Add(rule).Add(static_cast<int64_t>(window.count())).Add(offer_code),
        "store read decision outcomes", [&](const Rows& r, int i) -> Result<void> {
          DecisionOutcome o;
          auto kind = ParseDecisionKind(r.Text(i, 0));
          if (!kind) return UnknownName("kind", r.Text(i, 0));
          auto status = ParseDeliveryStatus(r.Text(i, 1));
          if (!status) return UnknownName("status", r.Text(i, 1));
          o.kind = *kind;
          o.status = *status;
          o.arm = std::string(r.Text(i, 2));
          o.purchases = r.Int(i, 3);
          o.revenue = r.Int(i, 4);
          fn(o);
          return {};
        });
  }

  Result<std::vector<std::string>> Suppressions() override {
    auto rows = Retrying([&] {
      return conn_.Exec("SELECT lower(email) FROM suppressions", "store read suppressions");
    });
    if (!rows) return tl::unexpected(rows.error());
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) out.emplace_back(rows->Text(i, 0));
    return out;
  }

  Result<std::optional<CustomerRow>> FindCustomerById(int64_t id) override {
    auto rows = Retrying([&] {
      return conn_.Exec("SELECT " + kCustomerRowColumns + " FROM customers WHERE id = $1",
                        Params().Add(id), "store find customer");
    });
    if (!rows) return tl::unexpected(rows.error());
    if (rows->size() == 0) return std::optional<CustomerRow>();
    return std::optional<CustomerRow>(ReadCustomerRow(*rows, 0));
  }

  Result<std::vector<std::optional<CustomerRow>>> FindCustomersById(
      std::span<const int64_t> ids) override {
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

  Result<std::optional<CustomerRow>> FindCustomer(std::string_view external_id) override {
    auto rows = Retrying([&] {
      return conn_.Exec("SELECT " + kCustomerRowColumns + " FROM customers WHERE external_id = $1",
                        Params().Add(external_id), "store find customer");
    });
    if (!rows) return tl::unexpected(rows.error());
    if (rows->size() == 0) return std::optional<CustomerRow>();
    return std::optional<CustomerRow>(ReadCustomerRow(*rows, 0));
  }

 private:
  // Runs `op`; when it failed because the connection was lost, connects again and runs it once
  // more. Only for operations that are safe to repeat (see postgres_store.h).
  template <typename Op>
  auto Retrying(Op&& op) -> decltype(op()) {
    auto result = op();
    if (result || !conn_.Lost()) return result;
    if (auto r = conn_.Reconnect(); !r) return result;
    return op();
  }

  // Streams the rows of `sql` to `row`; the first row `row` fails ends the reading (the rest are
  // passed over) and is the result. Repeated on a fresh connection when the connection was lost
  // before any row was handed on (never twice the same row).
  Result<void> StreamRetrying(const std::string& sql, const Params& params, std::string_view what,
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

  static Result<std::vector<OutboxItem>> DueItems(const Result<Rows>& rows) {
    if (!rows) return tl::unexpected(rows.error());
    std::vector<OutboxItem> items;
    items.reserve(static_cast<size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) items.push_back(ReadOutboxItem(*rows, i));
    // RETURNING promises no order: oldest decisions first.
    std::sort(items.begin(), items.end(), [](const OutboxItem& a, const OutboxItem& b) {
      return std::tie(a.decided_at, a.id) < std::tie(b.decided_at, b.id);
    });
    return items;
  }

  Connection conn_;
  ConnectParams params_;
  int version_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url) {
  auto params = pg::ConnectParams(url);
  if (!params) return tl::unexpected(params.error());
  auto conn = Connection::Open(*params);
  if (!conn) return tl::unexpected(conn.error());
  auto version = Migrate(*conn);
  if (!version) return tl::unexpected(version.error());
  return std::unique_ptr<Store>(
      std::make_unique<PostgresStore>(std::move(*conn), std::move(*params), *version));
}

}  // namespace followup::store
