#include "store/sqlite_store.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/delivery_lock.h"
#include "store/migrations.h"
#include "store/record_compare.h"
#include "store/sqlite.h"
#include "store/sqlite_feedback.h"
#include "store/sqlite_places.h"
#include "store/sqlite_rows.h"

namespace followup::store {
namespace {

using sqlite::Database;
using sqlite::Statement;

using sqlite::FromSeconds;
using sqlite::Seconds;

// A kind or status the outbox holds that this program has no name for (a newer program wrote it).
tl::unexpected<Error> UnknownName(std::string_view what, std::string_view name) {
  return RuntimeFailure("store read outbox: unknown " + std::string(what) + " '" +
                        std::string(name) + "' (written by a newer followupd?)");
}

// The schema version recorded in the database (0 for a new one).
Result<int> ReadSchemaVersion(Database& db) {
  auto has_meta = db.Prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'");
  if (!has_meta) return tl::unexpected(has_meta.error());
  auto row = has_meta->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return 0;
  auto get = db.Prepare("SELECT value FROM meta WHERE key='schema_version'");
  if (!get) return tl::unexpected(get.error());
  auto found = get->Step();
  if (!found) return tl::unexpected(found.error());
  if (!*found) return 0;
  return ParseSchemaVersion(get->Text(0));
}

// A store that is opened without migrating must be at this program's version.
Result<int> CheckSchemaVersion(Database& db, const std::string& path) {
  auto version = ReadSchemaVersion(db);
  if (!version) return tl::unexpected(version.error());
  return RequireSchemaVersion(*version, static_cast<int>(SqliteMigrations().size()), path);
}

Result<int> Migrate(Database& db) {
  auto migrations = SqliteMigrations();
  // Up to date: no write lock taken (another writer may be holding it).
  if (auto current = ReadSchemaVersion(db);
      current && *current == static_cast<int>(migrations.size()))
    return *current;
  if (auto r = db.Exec("BEGIN IMMEDIATE", "store migrate"); !r) return tl::unexpected(r.error());
  auto fail = [&](const Error& e) {
    return tl::unexpected(db.RollBack(e, "store migrate rollback"));
  };
  auto read = ReadSchemaVersion(db);
  if (!read) return fail(read.error());
  int version = *read;
  if (version > static_cast<int>(migrations.size())) {
    return fail(Error{ErrorCode::kRuntime,
                      "store migrate: the database has schema version " + std::to_string(version) +
                          ", newer than this followupd knows (" +
                          std::to_string(migrations.size()) + "); upgrade followupd",
                      {}});
  }
  for (int v = version; v < static_cast<int>(migrations.size()); ++v) {
    if (auto r = db.Exec(std::string(migrations[v]),
                         "store migrate to version " + std::to_string(v + 1));
        !r)
      return fail(r.error());
  }
  if (version < static_cast<int>(migrations.size())) {
    auto set = db.Prepare(
        "INSERT INTO meta(key, value) VALUES('schema_version', ?1) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!set) return fail(set.error());
    if (auto r = set->Bind(1, std::string_view(std::to_string(migrations.size()))).Run(); !r)
      return fail(r.error());
  }
  if (auto r = db.Exec("COMMIT", "store migrate"); !r) return fail(r.error());
  return static_cast<int>(migrations.size());
}

class SqliteImportBatch final : public ImportBatch {
 public:
  explicit SqliteImportBatch(Database& db) : db_(db) {}
  ~SqliteImportBatch() override { Rollback(); }

  Result<void> Begin() {
    if (auto r = db_.Exec("BEGIN IMMEDIATE", "store import"); !r) return r;
    open_ = true;
    return {};
  }

  Result<PutResult> PutCustomer(const CustomerRecord& c) override {
    std::optional<int64_t> referrer;
    if (c.referred_by) {
      auto id = CustomerId(*c.referred_by);
      if (!id) return tl::unexpected(id.error());
      if (!*id) return PutResult{PutOutcome::kUnknownReferrer, *c.referred_by};
      referrer = **id;
    }
    auto cached_insert_customer =
        Cached(insert_customer_,
               "INSERT INTO customers(external_id, email, name, created_at, referred_by, timezone, "
               "attributes, unsubscribed_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
               "ON CONFLICT(external_id) DO NOTHING");
    if (!cached_insert_customer) return tl::unexpected(cached_insert_customer.error());
    auto& s = **cached_insert_customer;
    s.Bind(1, std::string_view(c.external_id))
        .Bind(2, c.email)
        .Bind(3, std::string_view(c.name))
        .Bind(4, Seconds(c.created_at))
        .Bind(5, referrer)
        .Bind(6, c.timezone)
        .Bind(7, std::string_view(c.attributes_json))
        .Bind(8, Seconds(c.unsubscribed_at));
    if (auto r = s.Run(); !r) return tl::unexpected(r.error());
    if (db_.Changes() == 1) {
      customer_ids_.emplace(c.external_id, sqlite3_last_insert_rowid(db_.raw()));
      return PutResult{PutOutcome::kInserted, {}};
    }
    // Already there: unchanged, updated, or a conflict saying why.
    auto existing = ReadCustomer(c.external_id);
    if (!existing) return tl::unexpected(existing.error());
    auto merge = MergeCustomer(*existing, c);
    if (merge.result.outcome != PutOutcome::kUpdated) return merge.result;
    const CustomerRecord& m = merge.merged;
    auto update =
        Cached(update_customer_,
               "UPDATE customers SET email = ?2, name = ?3, created_at = ?4, "
               "referred_by = (SELECT id FROM customers WHERE external_id = ?5), timezone = ?6, "
               "attributes = ?7, unsubscribed_at = ?8 WHERE external_id = ?1");
    if (!update) return tl::unexpected(update.error());
    auto& u = **update;
    u.Bind(1, std::string_view(m.external_id))
        .Bind(2, m.email)
        .Bind(3, std::string_view(m.name))
        .Bind(4, Seconds(m.created_at))
        .Bind(5, m.referred_by)
        .Bind(6, m.timezone)
        .Bind(7, std::string_view(m.attributes_json))
        .Bind(8, Seconds(m.unsubscribed_at));
    if (auto r = u.Run(); !r) return tl::unexpected(r.error());
    return merge.result;
  }

  Result<std::vector<PutResult>> PutTransactions(
      std::span<const TransactionRecord> records) override {
    std::vector<PutResult> results(records.size());
    // Rows to insert: those whose customer is known, as (index into records, customer id).
    std::vector<std::pair<size_t, int64_t>> rows;
    rows.reserve(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      auto customer = CustomerId(records[i].customer_external_id);
      if (!customer) return tl::unexpected(customer.error());
      if (!*customer) {
        results[i] = {PutOutcome::kUnknownCustomer, records[i].customer_external_id};
        continue;
      }
      rows.emplace_back(i, **customer);
    }
    for (size_t start = 0; start < rows.size(); start += kRowsPerInsert) {
      size_t n = std::min(kRowsPerInsert, rows.size() - start);
      auto inserted = InsertTransactions(records, std::span(rows).subspan(start, n));
      if (!inserted) return tl::unexpected(inserted.error());
      // RETURNING names each inserted id once; a repeat of it later in the chunk was not inserted.
      for (size_t k = start; k < start + n; ++k) {
        const auto& t = records[rows[k].first];
        auto& result = results[rows[k].first];
        if (inserted->erase(t.external_id)) {
          result = {PutOutcome::kInserted, {}};
          continue;
        }
        auto existing = ReadTransaction(t.external_id);
        if (!existing) return tl::unexpected(existing.error());
        result = CompareTransaction(*existing, t);
      }
    }
    return results;
  }

  Result<void> Commit() override {
    if (!open_) return RuntimeFailure("store import: commit without an open batch");
    open_ = false;
    Finalize();
    auto r = db_.Exec("COMMIT", "store import commit");
    if (!r) return tl::unexpected(db_.RollBack(r.error(), "store import rollback"));
    return r;
  }

  void Rollback() override {
    if (!open_) return;
    open_ = false;
    Finalize();
    // No one to tell: this ends a dry run, or a batch its caller gave up for an error it reports.
    // A failed ROLLBACK has either nothing left to undo (SQLite rolled back on its own), or leaves
    // the transaction open, and then the next BEGIN on this connection fails and says so.
    (void)db_.Exec("ROLLBACK", "store import rollback");
  }

 private:
  // A prepared statement made on first use and kept for the batch.
  class Lazy {
   public:
    Statement& get() { return stmt_; }
    bool raw() const { return ready_; }
    Lazy& operator=(Statement&& s) {
      stmt_ = std::move(s);
      ready_ = true;
      return *this;
    }

   private:
    Statement stmt_;
    bool ready_ = false;
  };

  // The statement in `slot`, prepared from `sql` on first use.
  Result<Statement*> Cached(Lazy& slot, std::string_view sql) {
    if (!slot.raw()) {
      auto prepared = db_.Prepare(sql);
      if (!prepared) return tl::unexpected(prepared.error());
      slot = std::move(*prepared);
    }
    return &slot.get();
  }

  // One multi-row INSERT per chunk: far fewer statement executions than a row at a time.
  static constexpr size_t kRowsPerInsert = 128;

  // Inserts the given rows (index into records, customer id) unless their id exists; returns the
  // ids that were inserted.
  Result<std::unordered_multiset<std::string>> InsertTransactions(
      std::span<const TransactionRecord> records,
      std::span<const std::pair<size_t, int64_t>> rows) {
    auto& slot = insert_txns_[rows.size()];
    if (!slot.raw()) {
      std::string sql =
          "INSERT INTO transactions(external_id, customer_id, occurred_at, kind, amount, cost, "
          "currency, offer_code) VALUES ";
      for (size_t i = 0; i < rows.size(); ++i)
        sql += i ? ",(?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?)";
      sql += " ON CONFLICT(external_id) DO NOTHING RETURNING external_id";
      auto s = db_.Prepare(sql);
      if (!s) return tl::unexpected(s.error());
      slot = std::move(*s);
    }
    auto& s = slot.get();
    int p = 0;  // parameters before this row's
    for (const auto& [index, customer_id] : rows) {
      const auto& t = records[index];
      s.Bind(p + 1, std::string_view(t.external_id))
          .Bind(p + 2, customer_id)
          .Bind(p + 3, static_cast<int64_t>(t.occurred_at.time_since_epoch().count()))
          .Bind(p + 4, KindName(t.kind))
          .Bind(p + 5, t.amount)
          .Bind(p + 6, t.cost)
          .Bind(p + 7, std::string_view(t.currency))
          .Bind(p + 8, t.offer_code);
      p += 8;
    }
    std::unordered_multiset<std::string> inserted;
    for (;;) {
      auto row = s.Step();
      if (!row) {
        s.Reset();
        return tl::unexpected(row.error());
      }
      if (!*row) break;
      inserted.emplace(s.Text(0));
    }
    s.Reset();
    return inserted;
  }

  void Finalize() {
    insert_customer_ = Lazy();
    update_customer_ = Lazy();
    insert_txns_.clear();
    find_customer_ = Lazy();
    read_customer_ = Lazy();
    read_txn_ = Lazy();
  }

  // The store id of a customer, from this batch's cache or the database.
  Result<std::optional<int64_t>> CustomerId(const std::string& external_id) {
    if (auto it = customer_ids_.find(external_id); it != customer_ids_.end()) return it->second;
    auto cached_find_customer =
        Cached(find_customer_, "SELECT id FROM customers WHERE external_id = ?1");
    if (!cached_find_customer) return tl::unexpected(cached_find_customer.error());
    auto& s = **cached_find_customer;
    s.Bind(1, std::string_view(external_id));
    auto row = s.Step();
    if (!row) {
      s.Reset();
      return tl::unexpected(row.error());
    }
    std::optional<int64_t> id;
    if (*row) id = s.Int(0);
    s.Reset();
    if (id) customer_ids_.emplace(external_id, *id);
    return id;
  }

  Result<CustomerRecord> ReadCustomer(const std::string& external_id) {
    auto cached_read_customer =
        Cached(read_customer_,
               "SELECT c.email, c.name, c.created_at, r.external_id, c.timezone, c.attributes, "
               "c.unsubscribed_at FROM customers c LEFT JOIN customers r ON r.id = c.referred_by "
               "WHERE c.external_id = ?1");
    if (!cached_read_customer) return tl::unexpected(cached_read_customer.error());
    auto* s = *cached_read_customer;
    sqlite::ScopedReset reset(*s);
    s->Bind(1, std::string_view(external_id));
    auto row = s->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return RuntimeFailure("store import: customer " + external_id + " vanished");
    CustomerRecord c;
    c.external_id = external_id;
    c.email = s->OptText(0);
    c.name = std::string(s->Text(1));
    c.created_at = FromSeconds(s->OptInt(2));
    c.referred_by = s->OptText(3);
    c.timezone = s->OptText(4);
    c.attributes_json = std::string(s->Text(5));
    c.unsubscribed_at = FromSeconds(s->OptInt(6));
    return c;
  }

  Result<TransactionRecord> ReadTransaction(const std::string& external_id) {
    auto cached_read_txn = Cached(
        read_txn_,
        "SELECT c.external_id, t.occurred_at, t.kind, t.amount, t.cost, t.currency, t.offer_code "
        "FROM transactions t JOIN customers c ON c.id = t.customer_id WHERE t.external_id = ?1");
    if (!cached_read_txn) return tl::unexpected(cached_read_txn.error());
    auto* s = *cached_read_txn;
    sqlite::ScopedReset reset(*s);
    s->Bind(1, std::string_view(external_id));
    auto row = s->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return RuntimeFailure("store import: transaction " + external_id + " vanished");
    TransactionRecord t;
    t.external_id = external_id;
    t.customer_external_id = std::string(s->Text(0));
    t.occurred_at = Instant{std::chrono::seconds{s->Int(1)}};
    t.kind = ParseKind(s->Text(2)).value_or(Kind::kPurchase);
    t.amount = s->Int(3);
    t.cost = s->OptInt(4);
    t.currency = std::string(s->Text(5));
    t.offer_code = s->OptText(6);
    return t;
  }

  Database& db_;
  bool open_ = false;
  Lazy insert_customer_, update_customer_, find_customer_, read_customer_, read_txn_;
  std::unordered_map<size_t, Lazy> insert_txns_;  // by number of rows
  std::unordered_map<std::string, int64_t> customer_ids_;
};

constexpr std::string_view kCustomerRowColumns =
    "id, external_id, email, name, referred_by, timezone, unsubscribed_at, created_at";

// Reads the kCustomerRowColumns of the current row.
CustomerRow ReadCustomerRow(const Statement& s) {
  CustomerRow c;
  c.id = s.Int(0);
  c.external_id = std::string(s.Text(1));
  c.email = s.OptText(2);
  c.name = std::string(s.Text(3));
  c.referred_by = s.OptInt(4);
  c.timezone = s.OptText(5);
  c.unsubscribed_at = FromSeconds(s.OptInt(6));
  c.created_at = FromSeconds(s.OptInt(7));
  return c;
}

constexpr std::string_view kTransactionRowColumns =
    "id, customer_id, occurred_at, kind, amount, cost";

// Reads the kTransactionRowColumns of the current row.
void ReadTransactionRow(const Statement& s, TransactionRow& t) {
  t.id = s.Int(0);
  t.customer_id = s.Int(1);
  t.occurred_at = Instant{std::chrono::seconds{s.Int(2)}};
  t.kind = ParseKind(s.Text(3)).value_or(Kind::kPurchase);
  t.amount = s.Int(4);
  t.cost = s.OptInt(5);
}

// Steps through every row of `s`, handing each to `fn` as a TransactionRow.
Result<void> EachTransactionRow(Statement& s,
                                const std::function<void(const TransactionRow&)>& fn) {
  TransactionRow t;
  for (;;) {
    auto row = s.Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
    ReadTransactionRow(s, t);
    fn(t);
  }
}

// Transactions that may trigger event rules, with whether each is its customer's first purchase.
constexpr std::string_view kRecentTransactionSelect =
    "SELECT t.id, t.external_id, t.customer_id, t.occurred_at, t.kind, "
    "  t.kind = 'purchase' AND NOT EXISTS (SELECT 1 FROM transactions p "
    "    WHERE p.customer_id = t.customer_id AND p.kind = 'purchase' AND "
    "    (p.occurred_at < t.occurred_at OR (p.occurred_at = t.occurred_at AND p.id < t.id))) "
    "FROM transactions t ";

Result<void> EachRecentTransaction(Statement& s,
                                   const std::function<void(const RecentTransaction&)>& fn) {
  RecentTransaction t;
  for (;;) {
    auto row = s.Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
    t.id = s.Int(0);
    t.external_id = std::string(s.Text(1));
    t.customer_id = s.Int(2);
    t.occurred_at = Instant{std::chrono::seconds{s.Int(3)}};
    t.kind = ParseKind(s.Text(4)).value_or(Kind::kPurchase);
    t.first_purchase = s.Int(5) != 0;
    fn(t);
  }
}

class SqliteStore final : public Store {
 public:
  SqliteStore(Database db, int version, std::string path)
      : db_(std::move(db)), version_(version), path_(std::move(path)) {}

  int SchemaVersion() const override { return version_; }

  Result<std::unique_ptr<ImportBatch>> BeginImport() override {
    auto batch = std::make_unique<SqliteImportBatch>(db_);
    if (auto r = batch->Begin(); !r) return tl::unexpected(r.error());
    return batch;
  }

  Result<StoreCounts> Counts() override {
    auto s =
        db_.Prepare("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM transactions)");
    if (!s) return tl::unexpected(s.error());
    auto row = s->Step();
    if (!row) return tl::unexpected(row.error());
    return StoreCounts{s->Int(0), s->Int(1)};
  }

  Result<void> ForEachCustomer(const std::function<void(const CustomerRow&)>& fn) override {
    auto s =
        db_.Prepare("SELECT " + std::string(kCustomerRowColumns) + " FROM customers ORDER BY id");
    if (!s) return tl::unexpected(s.error());
    for (;;) {
      auto row = s->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return {};
      fn(ReadCustomerRow(*s));
    }
  }

  Result<void> ForEachTransactionOfCustomers(
      Instant until, int64_t first_customer, int64_t end_customer,
      const std::function<void(const TransactionRow&)>& fn) override {
    auto s = db_.Prepare("SELECT " + std::string(kTransactionRowColumns) +
                         " FROM transactions WHERE customer_id >= ?2 AND customer_id < ?3 "
                         "AND occurred_at <= ?1 ORDER BY customer_id, occurred_at, id");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, static_cast<int64_t>(until.time_since_epoch().count()))
        .Bind(2, first_customer)
        .Bind(3, end_customer);
    return EachTransactionRow(*s, fn);
  }

  Result<std::unique_ptr<Store>> OpenAnother() override { return OpenSqliteStore(path_); }
  std::vector<std::string> CommitSignalFiles() const override { return {path_, path_ + "-wal"}; }

  Result<void> ForEachTransactionOf(int64_t customer_id, Instant until,
                                    const std::function<void(const TransactionRow&)>& fn) override {
    auto s = db_.Prepare("SELECT " + std::string(kTransactionRowColumns) +
                         " FROM transactions WHERE customer_id = ?1 AND occurred_at <= ?2 "
                         "ORDER BY occurred_at, id");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, customer_id).Bind(2, static_cast<int64_t>(until.time_since_epoch().count()));
    return EachTransactionRow(*s, fn);
  }

  Result<void> ForEachRecentTransaction(
      Instant from, Instant to, const std::function<void(const RecentTransaction&)>& fn) override {
    auto s = db_.Prepare(std::string(kRecentTransactionSelect) +
                         "WHERE t.occurred_at > ?1 AND t.occurred_at <= ?2 "
                         "ORDER BY t.occurred_at, t.id");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, static_cast<int64_t>(from.time_since_epoch().count()))
        .Bind(2, static_cast<int64_t>(to.time_since_epoch().count()));
    return EachRecentTransaction(*s, fn);
  }

  Result<void> ForEachTransactionAfter(
      int64_t after_id, const std::function<void(const RecentTransaction&)>& fn) override {
    auto s = db_.Prepare(std::string(kRecentTransactionSelect) + "WHERE t.id > ?1 ORDER BY t.id");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, after_id);
    return EachRecentTransaction(*s, fn);
  }

  Result<int64_t> MaxTransactionId() override {
    auto s = db_.Prepare("SELECT coalesce(max(id), 0) FROM transactions");
    if (!s) return tl::unexpected(s.error());
    auto row = s->Step();
    if (!row) return tl::unexpected(row.error());
    return s->Int(0);
  }

  Result<bool> Unsubscribe(std::string_view external_id, Instant at) override {
    auto s = db_.Prepare(
        "UPDATE customers SET unsubscribed_at = min(coalesce(unsubscribed_at, ?2), ?2) "
        "WHERE external_id = ?1");
    if (!s) return tl::unexpected(s.error());
    if (auto r = s->Bind(1, external_id)
                     .Bind(2, static_cast<int64_t>(at.time_since_epoch().count()))
                     .Run();
        !r)
      return tl::unexpected(r.error());
    return db_.Changes() > 0;
  }

  Result<std::string> GetMeta(std::string_view key) override {
    auto s = db_.Prepare("SELECT value FROM meta WHERE key = ?1");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, key);
    auto row = s->Step();
    if (!row) return tl::unexpected(row.error());
    return *row ? std::string(s->Text(0)) : std::string();
  }

  Result<void> SetMeta(std::string_view key, std::string_view value) override {
    auto s = db_.Prepare(
        "INSERT INTO meta(key, value) VALUES(?1, ?2) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!s) return tl::unexpected(s.error());
    return s->Bind(1, key).Bind(2, value).Run();
  }

  Result<std::map<DeliveryStatus, int64_t>> OutboxStatusCounts() override {
    auto s = db_.Prepare("SELECT status, count(*) FROM outbox GROUP BY status");
    if (!s) return tl::unexpected(s.error());
    std::map<DeliveryStatus, int64_t> counts;
    for (;;) {
      auto row = s->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return counts;
      auto status = ParseDeliveryStatus(s->Text(0));
      if (!status) return UnknownName("status", s->Text(0));
      counts[*status] = s->Int(1);
    }
  }

  Result<int64_t> RecordDecisions(std::span<const Decision> decisions) override {
    return RecordSequenceSteps(decisions, {});
  }

  Result<int64_t> RecordSequenceSteps(std::span<const Decision> decisions,
                                      std::span<const SequencePlace> places) override {
    if (auto r = db_.Exec("BEGIN IMMEDIATE", "store record decisions"); !r)
      return tl::unexpected(r.error());
    auto fail = [&](const Error& e) {
      return tl::unexpected(db_.RollBack(e, "store record decisions rollback"));
    };
    auto inserted = InsertDecisions(decisions);
    if (!inserted) return fail(inserted.error());
    if (auto r = UpsertPlaces(db_, places); !r) return fail(r.error());
    if (auto r = db_.Exec("COMMIT", "store record decisions"); !r) return fail(r.error());
    return *inserted;
  }

  Result<void> ForEachSequencePlace(Instant ended_since,
                                    const std::function<void(const SequencePlace&)>& fn) override {
    return EachPlace(db_, ended_since, fn);
  }

  Result<std::vector<SequencePlace>> SequencePlacesOf(int64_t customer_id) override {
    return PlacesOf(db_, customer_id);
  }

  Result<std::map<std::pair<std::string, std::string>, int64_t>> SequenceStepCounts() override {
    return StepCounts(db_);
  }

  Result<void> ForEachSequencePurchase(
      const std::string& rule, std::chrono::seconds window, const std::string& offer_code,
      const std::function<void(const SequencePurchase&)>& fn) override {
    return EachSequencePurchase(db_, rule, window, offer_code, fn);
  }

  // Inserts decisions (a dedupe key already there is left alone) inside the caller's transaction;
  // how many were new.
  Result<int64_t> InsertDecisions(std::span<const Decision> decisions) {
    auto s = db_.Prepare(
        "INSERT INTO outbox(dedupe_key, rule, customer_id, recipient_id, kind, arm, template, "
        "template_values, decided_at, send_after, status, updated_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?9) "
        "ON CONFLICT(dedupe_key) DO NOTHING");
    if (!s) return tl::unexpected(s.error());
    int64_t inserted = 0;
    for (const auto& d : decisions) {
      s->Bind(1, std::string_view(d.dedupe_key))
          .Bind(2, std::string_view(d.rule))
          .Bind(3, d.customer_id)
          .Bind(4, d.recipient_id)
          .Bind(5, DecisionKindName(d.kind))
          .Bind(6, d.arm.empty() ? std::optional<std::string>() : d.arm)
          .Bind(7, std::string_view(d.template_name))
          .Bind(8, std::string_view(d.values_json))
          .Bind(9, static_cast<int64_t>(d.decided_at.time_since_epoch().count()))
          .Bind(10, static_cast<int64_t>(d.send_after.time_since_epoch().count()))
          .Bind(11, DeliveryStatusName(d.kind == DecisionKind::kSend ? DeliveryStatus::kQueued
                                                                     : DeliveryStatus::kHeldOut));
      if (auto r = s->Run(); !r) return tl::unexpected(r.error());
      inserted += db_.Changes();
    }
    return inserted;
  }

  Result<void> ForEachDecisionSince(Instant since,
                                    const std::function<void(const Decision&)>& fn) override {
    auto s = db_.Prepare(
        "SELECT dedupe_key, rule, customer_id, recipient_id, kind, arm, template, "
        "template_values, decided_at, send_after FROM outbox WHERE decided_at > ?1 "
        "ORDER BY decided_at, id");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, static_cast<int64_t>(since.time_since_epoch().count()));
    Decision d;
    for (;;) {
      auto row = s->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return {};
      d.dedupe_key = std::string(s->Text(0));
      d.rule = std::string(s->Text(1));
      d.customer_id = s->Int(2);
      d.recipient_id = s->Int(3);
      auto kind = ParseDecisionKind(s->Text(4));
      if (!kind) return UnknownName("kind", s->Text(4));
      d.kind = *kind;
      d.arm = std::string(s->Text(5));
      d.template_name = std::string(s->Text(6));
      d.values_json = std::string(s->Text(7));
      d.decided_at = Instant{std::chrono::seconds{s->Int(8)}};
      d.send_after = Instant{std::chrono::seconds{s->Int(9)}};
      fn(d);
    }
  }

  Result<DeliveryOwner> OwnDelivery(bool one_pass) override {
    return delivery_lock_.Take(one_pass);
  }

  Result<int64_t> RequeueInFlight() override {
    auto r = db_.Exec("UPDATE outbox SET status = 'queued' WHERE status = 'sending'",
                      "store requeue in-flight sends");
    if (!r) return tl::unexpected(r.error());
    return db_.Changes();
  }

  Result<std::vector<OutboxItem>> ClaimDue(Instant now, int limit) override {
    return Due(now, limit, /*claim=*/true);
  }

  Result<std::vector<OutboxItem>> PeekDue(Instant now, int limit) override {
    return Due(now, limit, /*claim=*/false);
  }

  Result<std::vector<int64_t>> ClaimIds(std::span<const int64_t> ids, Instant now) override {
    std::vector<int64_t> claimed;
    if (ids.empty()) return claimed;
    if (!claim_ids_) {
      auto s = db_.Prepare(
          "UPDATE outbox SET status = 'sending', updated_at = ?2 "
          "WHERE id IN (SELECT value FROM json_each(?1)) AND "
          "      ((status = 'queued' AND send_after <= ?2) OR "
          "       (status = 'deferred' AND coalesce(next_attempt_at, 0) <= ?2)) "
          "RETURNING id");
      if (!s) return tl::unexpected(s.error());
      claim_ids_ = std::make_unique<Statement>(std::move(*s));
    }
    auto& s = *claim_ids_;
    sqlite::ScopedReset reset(s);
    s.Bind(1, std::string_view(JsonList(ids))).Bind(2, now.time_since_epoch().count());
    // One statement: its own transaction.
    for (;;) {
      auto row = s.Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      claimed.push_back(s.Int(0));
    }
    return claimed;
  }

  Result<void> SetMessageIds(std::span<const std::pair<int64_t, std::string>> ids) override {
    if (ids.empty()) return {};
    if (auto r = db_.Exec("BEGIN IMMEDIATE", "store set message ids"); !r) return r;
    auto fail = [&](const Error& e) {
      return tl::unexpected(db_.RollBack(e, "store set message ids rollback"));
    };
    auto s = db_.Prepare("UPDATE outbox SET message_id = ?2 WHERE id = ?1 AND message_id IS NULL");
    if (!s) return fail(s.error());
    for (const auto& [id, message_id] : ids) {
      if (auto r = s->Bind(1, id).Bind(2, std::string_view(message_id)).Run(); !r)
        return fail(r.error());
    }
    if (auto r = db_.Exec("COMMIT", "store set message ids"); !r) return fail(r.error());
    return {};
  }

  Result<void> RecordDeliveries(std::span<const DeliveryUpdate> updates, Instant now) override {
    const int64_t t = now.time_since_epoch().count();
    if (auto r = db_.Exec("BEGIN IMMEDIATE", "store record deliveries"); !r) return r;
    auto fail = [&](const Error& e) {
      return tl::unexpected(db_.RollBack(e, "store record deliveries rollback"));
    };
    auto s = db_.Prepare(
        "UPDATE outbox SET status = ?2, attempts = ?3, next_attempt_at = ?4, last_reply = ?5, "
        "provider_message_id = coalesce(?6, provider_message_id), "
        "message_id = coalesce(?7, message_id), sent_at = coalesce(?8, sent_at), updated_at = ?9 "
        "WHERE id = ?1");
    if (!s) return fail(s.error());
    auto suppress = db_.Prepare(
        "INSERT INTO suppressions(email, reason, created_at) VALUES(lower(?1), ?2, ?3) "
        "ON CONFLICT(email) DO NOTHING");
    if (!suppress) return fail(suppress.error());
    auto opt = [](const std::string& v) {
      return v.empty() ? std::optional<std::string>() : std::optional<std::string>(v);
    };
    auto secs = [](const std::optional<Instant>& v) -> std::optional<int64_t> {
      if (!v) return std::nullopt;
      return v->time_since_epoch().count();
    };
    for (const auto& u : updates) {
      s->Bind(1, u.id)
          .Bind(2, DeliveryStatusName(u.status))
          .Bind(3, static_cast<int64_t>(u.attempts))
          .Bind(4, secs(u.next_attempt_at))
          .Bind(5, opt(u.last_reply))
          .Bind(6, opt(u.provider_message_id))
          .Bind(7, opt(u.message_id))
          .Bind(8, secs(u.sent_at))
          .Bind(9, t);
      if (auto r = s->Run(); !r) return fail(r.error());
      if (!u.suppress_email.empty()) {
        suppress->Bind(1, std::string_view(u.suppress_email))
            .Bind(2, std::string_view(u.last_reply.empty() ? "hard bounce" : u.last_reply))
            .Bind(3, t);
        if (auto r = suppress->Run(); !r) return fail(r.error());
      }
    }
    if (auto r = db_.Exec("COMMIT", "store record deliveries"); !r) return fail(r.error());
    return {};
  }

  // The FROM and WHERE of a send-log selection: outbox o with its customer c and recipient r.
  // Parameters ?1 to ?4 and ?6 (BindLogSelection).
  static std::string LogSelection(const LogFilter& f) {
    std::string sql =
        "FROM outbox o JOIN customers c ON c.id = o.customer_id "
        "JOIN customers r ON r.id = o.recipient_id WHERE 1";
    if (f.since) sql += " AND o.decided_at > ?1";
    if (!f.rule.empty()) sql += " AND o.rule = ?2";
    // By id, so that each side is read from its index (outbox_by_customer, outbox_by_recipient).
    if (!f.customer.empty())
      sql +=
          " AND (o.customer_id = (SELECT id FROM customers WHERE external_id = ?3) OR "
          "o.recipient_id = (SELECT id FROM customers WHERE external_id = ?3))";
    if (f.status) sql += " AND o.status = ?4";
    if (f.in_queue) sql += " AND o.status IN ('queued', 'sending', 'deferred', 'held')";
    if (!f.ids.empty()) sql += " AND o.id IN (SELECT value FROM json_each(?6))";
    if (f.until) sql += " AND o.decided_at <= ?10";
    if (f.after) sql += " AND (o.decided_at, o.id) < (?11, ?12)";
    return sql;
  }
  static void BindLogSelection(Statement& s, const LogFilter& f) {
    if (f.since) s.Bind(1, static_cast<int64_t>(f.since->time_since_epoch().count()));
    if (!f.rule.empty()) s.Bind(2, std::string_view(f.rule));
    if (!f.customer.empty()) s.Bind(3, std::string_view(f.customer));
    if (f.status) s.Bind(4, DeliveryStatusName(*f.status));
    if (!f.ids.empty()) s.Bind(6, std::string_view(JsonList(f.ids)));
    if (f.until) s.Bind(10, static_cast<int64_t>(f.until->time_since_epoch().count()));
    if (f.after) {
      s.Bind(11, static_cast<int64_t>(f.after->first.time_since_epoch().count()));
      s.Bind(12, f.after->second);
    }
  }

  Result<void> ForEachLogEntry(const LogFilter& f,
                               const std::function<void(const LogEntry&)>& fn) override {
    std::string sql =
        "SELECT o.id, o.rule, c.external_id, r.external_id, coalesce(r.email, ''), o.kind, "
        "coalesce(o.arm, ''), o.template, o.status, o.attempts, o.decided_at, o.send_after, "
        "o.next_attempt_at, o.sent_at, coalesce(o.last_reply, ''), "
        "coalesce(o.provider_message_id, ''), coalesce(o.message_id, ''), o.dedupe_key, "
        "o.updated_at " +
        LogSelection(f) + " ORDER BY o.decided_at DESC, o.id DESC";
    if (f.limit > 0) sql += " LIMIT ?5";
    auto s = db_.Prepare(sql);
    if (!s) return tl::unexpected(s.error());
    BindLogSelection(*s, f);
    if (f.limit > 0) s->Bind(5, f.limit);
    LogEntry e;
    for (;;) {
      auto row = s->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return {};
      e.id = s->Int(0);
      e.rule = std::string(s->Text(1));
      e.customer = std::string(s->Text(2));
      e.recipient = std::string(s->Text(3));
      e.recipient_email = std::string(s->Text(4));
      auto kind = ParseDecisionKind(s->Text(5));
      if (!kind) return UnknownName("kind", s->Text(5));
      e.kind = *kind;
      e.arm = std::string(s->Text(6));
      e.template_name = std::string(s->Text(7));
      auto status = ParseDeliveryStatus(s->Text(8));
      if (!status) return UnknownName("status", s->Text(8));
      e.status = *status;
      e.attempts = static_cast<int>(s->Int(9));
      e.decided_at = Instant{std::chrono::seconds{s->Int(10)}};
      e.send_after = Instant{std::chrono::seconds{s->Int(11)}};
      e.next_attempt_at = FromSeconds(s->OptInt(12));
      e.sent_at = FromSeconds(s->OptInt(13));
      e.last_reply = std::string(s->Text(14));
      e.provider_message_id = std::string(s->Text(15));
      e.message_id = std::string(s->Text(16));
      e.dedupe_key = std::string(s->Text(17));
      e.updated_at = Instant{std::chrono::seconds{s->Int(18)}};
      fn(e);
    }
  }

  Result<int64_t> ChangeQueue(QueueAction action, const LogFilter& which, std::string_view reason,
                              Instant now) override {
    std::string from;
    for (auto status : QueueActionFrom(action))
      from += std::string(from.empty() ? "" : ", ") + "'" +
              std::string(DeliveryStatusName(status)) + "'";
    LogFilter f = which;
    f.since.reset();
    const bool requeue = action == QueueAction::kRequeue;
    auto s = db_.Prepare(std::string("UPDATE outbox SET status = ?7, updated_at = ?8") +
                         (requeue ? ", attempts = 0, next_attempt_at = NULL" : "") +
                         (action == QueueAction::kRelease ? ", next_attempt_at = NULL" : "") +
                         (action == QueueAction::kCancel ? ", last_reply = ?9" : "") +
                         " WHERE status IN (" + from + ") AND id IN (SELECT o.id " +
                         LogSelection(f) + ")");
    if (!s) return tl::unexpected(s.error());
    BindLogSelection(*s, f);
    s->Bind(7, DeliveryStatusName(QueueActionTo(action)))
        .Bind(8, static_cast<int64_t>(now.time_since_epoch().count()));
    if (action == QueueAction::kCancel) s->Bind(9, reason);
    if (auto r = s->Run(); !r) return tl::unexpected(r.error());
    return db_.Changes();
  }

  Result<std::map<std::string, int64_t>> CancelSendsOfRules(std::span<const std::string> rules,
                                                            std::string_view reason,
                                                            Instant now) override {
    auto s = db_.Prepare(
        "UPDATE outbox SET status = 'cancelled', last_reply = ?2, updated_at = ?3 "
        "WHERE status IN ('queued', 'deferred', 'held') AND kind = 'send' AND "
        "rule IN (SELECT value FROM json_each(?1)) RETURNING rule");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, std::string_view(JsonList(rules)))
        .Bind(2, reason)
        .Bind(3, static_cast<int64_t>(now.time_since_epoch().count()));
    std::map<std::string, int64_t> out;
    for (;;) {
      auto row = s->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return out;
      ++out[std::string(s->Text(0))];
    }
  }

  Result<void> ForEachDecisionOutcome(
      const std::string& rule, std::chrono::seconds window, const std::string& offer_code,
      const std::function<void(const DecisionOutcome&)>& fn) override {
    auto s = db_.Prepare(
        "SELECT o.kind, o.status, coalesce(o.arm, ''), count(t.id), coalesce(sum(t.amount), 0), "
        "o.decided_at FROM outbox o LEFT JOIN transactions t ON t.customer_id = o.recipient_id "
        "  AND t.kind = 'purchase' AND t.occurred_at > o.decided_at "
        "  AND t.occurred_at <= o.decided_at + ?2 AND (?3 = '' OR t.offer_code = ?3) "
        "WHERE o.rule = ?1 GROUP BY o.id ORDER BY o.id");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, std::string_view(rule))
        .Bind(2, static_cast<int64_t>(window.count()))
        .Bind(3, std::string_view(offer_code));
    DecisionOutcome o;
    for (;;) {
      auto row = s->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return {};
      auto kind = ParseDecisionKind(s->Text(0));
      if (!kind) return UnknownName("kind", s->Text(0));
      auto status = ParseDeliveryStatus(s->Text(1));
      if (!status) return UnknownName("status", s->Text(1));
      o.kind = *kind;
      o.status = *status;
      o.arm = std::string(s->Text(2));
      o.purchases = s->Int(3);
      o.revenue = s->Int(4);
      o.decided_at = Instant{std::chrono::seconds{s->Int(5)}};
      fn(o);
    }
  }

  Result<std::vector<std::string>> Suppressions() override {
    auto s = db_.Prepare("SELECT lower(email) FROM suppressions");
    if (!s) return tl::unexpected(s.error());
    std::vector<std::string> out;
    for (;;) {
      auto row = s->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return out;
      out.emplace_back(s->Text(0));
    }
  }

  Result<bool> Resubscribe(std::string_view external_id) override {
    auto s = db_.Prepare("UPDATE customers SET unsubscribed_at = NULL WHERE external_id = ?1");
    if (!s) return tl::unexpected(s.error());
    if (auto r = s->Bind(1, external_id).Run(); !r) return tl::unexpected(r.error());
    return db_.Changes() > 0;
  }

  Result<bool> AddSuppression(std::string_view email, std::string_view reason,
                              Instant at) override {
    auto s = db_.Prepare(
        "INSERT INTO suppressions(email, reason, created_at) VALUES(lower(?1), ?2, ?3) "
        "ON CONFLICT(email) DO NOTHING");
    if (!s) return tl::unexpected(s.error());
    if (auto r = s->Bind(1, email)
                     .Bind(2, reason)
                     .Bind(3, static_cast<int64_t>(at.time_since_epoch().count()))
                     .Run();
        !r)
      return tl::unexpected(r.error());
    return db_.Changes() > 0;
  }

  Result<bool> RemoveSuppression(std::string_view email) override {
    auto s = db_.Prepare("DELETE FROM suppressions WHERE lower(email) = lower(?1)");
    if (!s) return tl::unexpected(s.error());
    if (auto r = s->Bind(1, email).Run(); !r) return tl::unexpected(r.error());
    return db_.Changes() > 0;
  }

  Result<std::vector<Suppression>> ListSuppressions() override {
    auto s = db_.Prepare(
        "SELECT lower(email), reason, created_at FROM suppressions ORDER BY lower(email)");
    if (!s) return tl::unexpected(s.error());
    std::vector<Suppression> out;
    for (;;) {
      auto row = s->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return out;
      out.push_back({std::string(s->Text(0)), std::string(s->Text(1)),
                     Instant{std::chrono::seconds{s->Int(2)}}});
    }
  }

  Result<std::vector<FeedbackResult>> RecordFeedback(std::span<const FeedbackEvent> events,
                                                     const FeedbackPolicy& policy,
                                                     Instant now) override {
    return RecordFeedbackIn(db_, events, policy, now);
  }

  Result<FeedbackCounts> CountFeedback(int64_t last_sends) override {
    return CountFeedbackIn(db_, last_sends);
  }

  Result<std::optional<CustomerRow>> FindCustomerById(int64_t id) override {
    // Asked once per message and per changed customer: the statement is prepared once.
    if (!find_by_id_) {
      auto s = db_.Prepare("SELECT " + std::string(kCustomerRowColumns) +
                           " FROM customers WHERE id = ?1");
      if (!s) return tl::unexpected(s.error());
      find_by_id_ = std::make_unique<Statement>(std::move(*s));
    }
    auto& s = *find_by_id_;
    sqlite::ScopedReset reset(s);
    s.Bind(1, id);
    auto row = s.Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<CustomerRow>();
    return std::optional<CustomerRow>(ReadCustomerRow(s));
  }

  Result<std::vector<std::optional<CustomerRow>>> FindCustomersById(
      std::span<const int64_t> ids) override {
    std::vector<std::optional<CustomerRow>> out(ids.size());
    if (ids.empty()) return out;
    // Asked once per outbox round: one statement, prepared once, over a JSON array of the ids.
    if (!find_by_ids_) {
      auto s = db_.Prepare("SELECT " + std::string(kCustomerRowColumns) +
                           " FROM customers WHERE id IN (SELECT value FROM json_each(?1))");
      if (!s) return tl::unexpected(s.error());
      find_by_ids_ = std::make_unique<Statement>(std::move(*s));
    }
    std::string list = JsonList(ids);
    std::unordered_map<int64_t, std::vector<size_t>> wanted;  // id -> where it goes in `out`
    for (size_t i = 0; i < ids.size(); ++i) wanted[ids[i]].push_back(i);
    auto& s = *find_by_ids_;
    sqlite::ScopedReset reset(s);
    s.Bind(1, std::string_view(list));
    for (;;) {
      auto row = s.Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      CustomerRow customer = ReadCustomerRow(s);
      auto it = wanted.find(customer.id);
      if (it == wanted.end()) continue;
      for (size_t i = 1; i < it->second.size(); ++i) out[it->second[i]] = customer;
      out[it->second.front()] = std::move(customer);
    }
    return out;
  }

  Result<void> ForEachRowOf(const StoreTable& table,
                            const std::function<Result<void>(const RowValues&)>& fn) override {
    return SqliteForEachRowOf(db_, table, fn);
  }
  Result<std::unique_ptr<RowWriter>> BeginRowWriter() override { return SqliteBeginRowWriter(db_); }

  Result<std::optional<CustomerRow>> FindCustomer(std::string_view external_id) override {
    auto s = db_.Prepare("SELECT " + std::string(kCustomerRowColumns) +
                         " FROM customers WHERE external_id = ?1");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, external_id);
    auto row = s->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<CustomerRow>();
    return std::optional<CustomerRow>(ReadCustomerRow(*s));
  }

 private:
  static std::string JsonList(std::span<const int64_t> ids) {
    std::string list = "[";
    for (int64_t id : ids) {
      if (list.size() > 1) list += ',';
      list += std::to_string(id);
    }
    list += ']';
    return list;
  }
  static std::string JsonList(std::span<const std::string> texts) {
    return nlohmann::json(std::vector<std::string>(texts.begin(), texts.end()))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  // The oldest due sends, up to `limit`, oldest decisions first; marked "sending" when `claim`.
  Result<std::vector<OutboxItem>> Due(Instant now, int limit, bool claim) {
    const int64_t t = now.time_since_epoch().count();
    constexpr std::string_view kDueIds =
        "SELECT id FROM outbox "
        "WHERE ((status = 'queued' AND send_after <= ?1) OR "
        "       (status = 'deferred' AND coalesce(next_attempt_at, 0) <= ?1)) "
        "ORDER BY decided_at, id LIMIT ?2";
    constexpr std::string_view kColumns =
        "id, dedupe_key, rule, customer_id, recipient_id, coalesce(arm, ''), template, "
        "template_values, decided_at, attempts, coalesce(message_id, '')";
    // One statement each, prepared once: the sort holds only the ordering columns, not whole
    // rows. Claiming marks the rows "sending" and returns them in the same statement.
    std::unique_ptr<Statement>& statement = claim ? claim_ : peek_;
    if (!statement) {
      std::string sql =
          claim ? "UPDATE outbox SET status = 'sending', updated_at = ?1 WHERE id IN (" +
                      std::string(kDueIds) + ") RETURNING " + std::string(kColumns)
                : "SELECT " + std::string(kColumns) + " FROM outbox WHERE id IN (" +
                      std::string(kDueIds) + ")";
      auto s = db_.Prepare(sql);
      if (!s) return tl::unexpected(s.error());
      statement = std::make_unique<Statement>(std::move(*s));
    }
    std::vector<OutboxItem> items;
    auto& s = *statement;
    sqlite::ScopedReset reset(s);
    s.Bind(1, t).Bind(2, static_cast<int64_t>(limit));
    for (;;) {
      auto row = s.Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      OutboxItem item;
      item.id = s.Int(0);
      item.dedupe_key = std::string(s.Text(1));
      item.rule = std::string(s.Text(2));
      item.customer_id = s.Int(3);
      item.recipient_id = s.Int(4);
      item.arm = std::string(s.Text(5));
      item.template_name = std::string(s.Text(6));
      item.values_json = std::string(s.Text(7));
      item.decided_at = Instant{std::chrono::seconds{s.Int(8)}};
      item.attempts = static_cast<int>(s.Int(9));
      item.message_id = std::string(s.Text(10));
      items.push_back(std::move(item));
    }
    // Neither statement promises an order: oldest decisions first.
    std::sort(items.begin(), items.end(), [](const OutboxItem& a, const OutboxItem& b) {
      return std::tie(a.decided_at, a.id) < std::tie(b.decided_at, b.id);
    });
    return items;
  }

  Database db_;
  int version_;
  std::string path_;
  DeliveryLockFile delivery_lock_{path_};
  std::unique_ptr<Statement> find_by_id_;  // destroyed before db_ (declared after it)
  std::unique_ptr<Statement> find_by_ids_;
  std::unique_ptr<Statement> claim_;
  std::unique_ptr<Statement> peek_;
  std::unique_ptr<Statement> claim_ids_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, OpenMode mode) {
  if (mode == OpenMode::kExisting) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec) || std::filesystem::file_size(path, ec) == 0)
      return Fail(ErrorCode::kNotFound,
                  "no store at " + path + " (a command that writes, such as import, creates it)");
  }
  auto db = Database::Open(path, mode == OpenMode::kCreate);
  if (!db) return tl::unexpected(db.error());
  auto version = mode == OpenMode::kCreate ? Migrate(*db) : CheckSchemaVersion(*db, path);
  if (!version) return tl::unexpected(version.error());
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(*db), *version, path));
}

}  // namespace followup::store
