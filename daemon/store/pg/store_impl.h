// The PostgreSQL Store (postgres_store.h) as a class, for the files that implement it:
// postgres_store.cpp (customers, transactions, meta, opening), pg/outbox.cpp (decisions,
// claims, deliveries, the send log) and pg/sequence_places.cpp.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/pg/pq.h"
#include "store/store.h"

namespace followup::store::pg {

using ConnectionParams = std::vector<std::pair<std::string, std::string>>;

// Inserts decisions into the outbox in one statement (a dedupe key already there is left alone);
// how many were new. Inside the caller's transaction, if any (pg/outbox.cpp).
Result<int64_t> InsertDecisions(Connection& conn, std::span<const Decision> decisions);

class PostgresStore final : public Store {
 public:
  PostgresStore(Connection conn, ConnectionParams params, int version)
      : conn_(std::move(conn)), params_(std::move(params)), version_(version) {}

  int SchemaVersion() const override { return version_; }

  Result<std::unique_ptr<ImportBatch>> BeginImport() override;

  Result<StoreCounts> Counts() override;

  Result<void> ForEachCustomer(const std::function<void(const CustomerRow&)>& fn) override;

  Result<void> ForEachTransactionOfCustomers(
      Instant until, int64_t first_customer, int64_t end_customer,
      const std::function<void(const TransactionRow&)>& fn) override;

  Result<std::unique_ptr<Store>> OpenAnother() override;

  Result<void> ForEachTransactionOf(int64_t customer_id, Instant until,
                                    const std::function<void(const TransactionRow&)>& fn) override;

  Result<void> ForEachRecentTransaction(
      Instant from, Instant to, const std::function<void(const RecentTransaction&)>& fn) override;

  Result<void> ForEachTransactionAfter(
      int64_t after_id, const std::function<void(const RecentTransaction&)>& fn) override;

  Result<int64_t> MaxTransactionId() override;

  Result<bool> Unsubscribe(std::string_view external_id, Instant at) override;

  Result<std::string> GetMeta(std::string_view key) override;

  Result<void> SetMeta(std::string_view key, std::string_view value) override;

  Result<std::map<DeliveryStatus, int64_t>> OutboxStatusCounts() override;

  Result<int64_t> RecordDecisions(std::span<const Decision> decisions) override;

  // pg/sequence_places.cpp
  Result<int64_t> RecordSequenceSteps(std::span<const Decision> decisions,
                                      std::span<const SequencePlace> places) override;
  Result<void> ForEachSequencePlace(Instant ended_since,
                                    const std::function<void(const SequencePlace&)>& fn) override;
  Result<std::vector<SequencePlace>> SequencePlacesOf(int64_t customer_id) override;
  Result<std::map<std::pair<std::string, std::string>, int64_t>> SequenceStepCounts() override;
  Result<void> ForEachSequencePurchase(
      const std::string& rule, std::chrono::seconds window, const std::string& offer_code,
      const std::function<void(const SequencePurchase&)>& fn) override;

  Result<void> ForEachDecisionSince(Instant since,
                                    const std::function<void(const Decision&)>& fn) override;

  Result<DeliveryOwner> OwnDelivery(bool one_pass) override;

  Result<int64_t> RequeueInFlight() override;

  Result<std::vector<OutboxItem>> ClaimDue(Instant now, int limit) override;

  Result<std::vector<OutboxItem>> PeekDue(Instant now, int limit) override;

  Result<std::vector<int64_t>> ClaimIds(std::span<const int64_t> ids, Instant now) override;

  Result<void> SetMessageIds(std::span<const std::pair<int64_t, std::string>> ids) override;

  Result<void> RecordDeliveries(std::span<const DeliveryUpdate> updates, Instant now) override;

  Result<void> ForEachLogEntry(const LogFilter& f,
                               const std::function<void(const LogEntry&)>& fn) override;

  Result<void> ForEachDecisionOutcome(
      const std::string& rule, std::chrono::seconds window, const std::string& offer_code,
      const std::function<void(const DecisionOutcome&)>& fn) override;

  Result<std::vector<std::string>> Suppressions() override;
  Result<bool> Resubscribe(std::string_view external_id) override;
  Result<bool> AddSuppression(std::string_view email, std::string_view reason, Instant at) override;
  Result<bool> RemoveSuppression(std::string_view email) override;
  Result<std::vector<Suppression>> ListSuppressions() override;
  // pg/feedback.cpp
  Result<std::vector<FeedbackResult>> RecordFeedback(std::span<const FeedbackEvent> events,
                                                     const FeedbackPolicy& policy,
                                                     Instant now) override;
  Result<FeedbackCounts> CountFeedback(int64_t last_sends) override;
  Result<int64_t> ChangeQueue(QueueAction action, const LogFilter& which, std::string_view reason,
                              Instant now) override;
  Result<std::map<std::string, int64_t>> CancelSendsOfRules(std::span<const std::string> rules,
                                                            std::string_view reason,
                                                            Instant now) override;

  Result<std::optional<CustomerRow>> FindCustomerById(int64_t id) override;

  Result<std::vector<std::optional<CustomerRow>>> FindCustomersById(
      std::span<const int64_t> ids) override;

  Result<std::optional<CustomerRow>> FindCustomer(std::string_view external_id) override;

  // pg/table_copy.cpp
  Result<void> ForEachRowOf(const StoreTable& table,
                            const std::function<Result<void>(const RowValues&)>& fn) override;
  Result<std::unique_ptr<RowWriter>> BeginRowWriter() override;

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
                              const std::function<Result<void>(const Rows&, int)>& row);

  Connection conn_;
  ConnectionParams params_;
  int version_;
  // Delivery's advisory lock, taken in the session conn_.session() names (-1: not taken).
  int64_t delivery_session_ = -1;
  bool delivery_one_pass_ = false;
};

}  // namespace followup::store::pg
