#include "store/pg/import_batch.h"

#include <optional>
#include <unordered_map>

#include "store/pg/binary_copy.h"
#include "store/pg/values.h"
#include "store/record_compare.h"

namespace followup::store::pg {
namespace {

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
            Timestamp("$4") + ", $5, $6, $7, " + Timestamp("$8") +
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
    // Already there: unchanged, updated, or a conflict saying why.
    auto existing = conn_.Exec(
        "SELECT c.email, c.name, " + Seconds("c.created_at") +
            ", r.external_id, c.timezone, c.attributes::text, " + Seconds("c.unsubscribed_at") +
            " FROM customers c LEFT JOIN customers r ON r.id = c.referred_by "
            "WHERE c.external_id = $1",
        Params().Add(c.external_id), "store import customer");
    if (!existing) return tl::unexpected(existing.error());
    if (existing->size() == 0)
      return RuntimeFailure("store import: customer " + c.external_id + " vanished");
    const Rows& e = *existing;
    CustomerRecord stored;
    stored.external_id = c.external_id;
    stored.email = e.OptText(0, 0);
    stored.name = std::string(e.Text(0, 1));
    stored.created_at = OptAt(e.OptInt(0, 2));
    stored.referred_by = e.OptText(0, 3);
    stored.timezone = e.OptText(0, 4);
    stored.attributes_json = std::string(e.Text(0, 5));
    stored.unsubscribed_at = OptAt(e.OptInt(0, 6));
    auto merge = MergeCustomer(stored, c);
    if (merge.result.outcome != PutOutcome::kUpdated) return merge.result;
    const CustomerRecord& m = merge.merged;
    auto updated = conn_.Exec(
        "UPDATE customers SET email = $2, name = $3, created_at = " + Timestamp("$4") +
            ", referred_by = (SELECT id FROM customers WHERE external_id = $5), timezone = $6, "
            "attributes = $7, unsubscribed_at = " +
            Timestamp("$8") + " WHERE external_id = $1",
        Params()
            .Add(m.external_id)
            .Add(m.email)
            .Add(m.name)
            .Add(Secs(m.created_at))
            .Add(m.referred_by)
            .Add(m.timezone)
            .Add(m.attributes_json)
            .Add(Secs(m.unsubscribed_at)),
        "store import customer");
    if (!updated) return tl::unexpected(updated.error());
    return merge.result;
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
        "SELECT t.external_id, c.external_id, " + Seconds("t.occurred_at") +
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
        results[i] = CompareTransaction(*before, t);
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

}  // namespace

Result<std::unique_ptr<ImportBatch>> BeginImportBatch(Connection& conn) {
  auto batch = std::make_unique<PostgresImportBatch>(conn);
  if (auto r = batch->Begin(); !r) return tl::unexpected(r.error());
  return std::unique_ptr<ImportBatch>(std::move(batch));
}

}  // namespace followup::store::pg
