// The PostgreSQL Store's feedback events (table feedback_events, migration 4; docs/store.md):
// Store::RecordFeedback in one transaction, and Store::CountFeedback.
#include "store/feedback_apply.h"
#include "store/pg/store_impl.h"
#include "store/pg/values.h"

namespace followup::store::pg {
namespace {

constexpr std::string_view kWhat = "store record feedback";

class PostgresFeedbackSteps final : public FeedbackSteps {
 public:
  explicit PostgresFeedbackSteps(Connection& conn) : conn_(conn) {}

  Result<bool> Seen(std::string_view event_id) override {
    auto rows = conn_.Exec("SELECT 1 FROM feedback_events WHERE event_id = $1",
                           Params().Add(event_id), kWhat);
    if (!rows) return tl::unexpected(rows.error());
    return rows->size() > 0;
  }

  Result<std::optional<FeedbackSend>> SendById(int64_t outbox_id) override {
    return One(conn_.Exec(std::string(kSendSelect) + "o.id = $1", Params().Add(outbox_id), kWhat));
  }

  Result<std::optional<FeedbackSend>> SendByMessageId(std::string_view id, bool provider) override {
    return One(conn_.Exec(
        std::string(kSendSelect) +
            (provider ? "o.provider_message_id = $1" : "o.message_id IN ($1, '<' || $1 || '>')") +
            " ORDER BY o.id DESC LIMIT 1",
        Params().Add(id), kWhat));
  }

  Result<void> Insert(const FeedbackEvent& e, std::string_view recipient,
                      std::optional<int64_t> outbox_id, Instant received_at) override {
    auto rows = conn_.Exec(
        "INSERT INTO feedback_events(event_id, source, type, recipient, outbox_id, status, "
        "reason, occurred_at, received_at) VALUES($1, $2, $3, $4, $5, $6, $7, " +
            Timestamp("$8") + ", " + Timestamp("$9") + ")",
        Params()
            .Add(e.event_id)
            .Add(e.source)
            .Add(FeedbackActionName(e.action))
            .Add(recipient)
            .Add(outbox_id)
            .Add(e.status)
            .Add(e.reason)
            .Add(Secs(e.occurred_at))
            .Add(Secs(received_at)),
        kWhat);
    if (!rows) return tl::unexpected(rows.error());
    return {};
  }

  Result<int64_t> SoftBounces(std::string_view recipient, Instant from, Instant to) override {
    auto rows = conn_.Exec(
        "SELECT count(*) FROM feedback_events WHERE recipient = $1 AND type = 'soft_bounce' "
        "AND occurred_at > " +
            Timestamp("$2") + " AND occurred_at <= " + Timestamp("$3"),
        Params().Add(recipient).Add(Secs(from)).Add(Secs(to)), kWhat);
    if (!rows) return tl::unexpected(rows.error());
    return rows->Int(0, 0);
  }

  Result<bool> Suppress(std::string_view email, std::string_view reason, Instant at) override {
    auto rows = conn_.Exec(
        "INSERT INTO suppressions(email, reason, created_at) VALUES(lower($1), "
        "$2, " +
            Timestamp("$3") + ") ON CONFLICT(email) DO NOTHING",
        Params().Add(email).Add(reason).Add(Secs(at)), kWhat);
    if (!rows) return tl::unexpected(rows.error());
    return rows->Affected() > 0;
  }

  Result<void> Unsubscribe(int64_t customer_id, std::string_view email, Instant at) override {
    auto rows = conn_.Exec(
        "UPDATE customers SET unsubscribed_at = least(coalesce(unsubscribed_at, " +
            Timestamp("$3") + "), " + Timestamp("$3") +
            ") WHERE ($1::bigint <> 0 AND id = $1) OR ($1::bigint = 0 AND lower(email) = $2)",
        Params().Add(customer_id).Add(email).Add(Secs(at)), kWhat);
    if (!rows) return tl::unexpected(rows.error());
    return {};
  }

  Result<void> MarkSend(int64_t outbox_id, std::span<const DeliveryStatus> from, DeliveryStatus to,
                        std::string_view reply, Instant now) override {
    auto rows = conn_.Exec(
        "UPDATE outbox SET status = $2, last_reply = $3, updated_at = " + Timestamp("$4") +
            " WHERE id = $1 AND status IN (" + StatusList(from) + ")",
        Params().Add(outbox_id).Add(DeliveryStatusName(to)).Add(reply).Add(Secs(now)), kWhat);
    if (!rows) return tl::unexpected(rows.error());
    return {};
  }

 private:
  static constexpr std::string_view kSendSelect =
      "SELECT o.id, o.recipient_id, lower(coalesce(r.email, '')), o.rule FROM outbox o "
      "JOIN customers r ON r.id = o.recipient_id WHERE o.kind = 'send' AND ";

  static Result<std::optional<FeedbackSend>> One(Result<Rows> rows) {
    if (!rows) return tl::unexpected(rows.error());
    if (rows->size() == 0) return std::optional<FeedbackSend>();
    return std::optional<FeedbackSend>(FeedbackSend{rows->Int(0, 0), rows->Int(0, 1),
                                                    std::string(rows->Text(0, 2)),
                                                    std::string(rows->Text(0, 3))});
  }

  Connection& conn_;
};

}  // namespace

Result<std::vector<FeedbackResult>> PostgresStore::RecordFeedback(
    std::span<const FeedbackEvent> events, const FeedbackPolicy& policy, Instant now) {
  if (events.empty()) return std::vector<FeedbackResult>();
  return Retrying([&]() -> Result<std::vector<FeedbackResult>> {
    auto tx = Transaction::Begin(conn_, kWhat);
    if (!tx) return tl::unexpected(tx.error());
    PostgresFeedbackSteps steps(conn_);
    auto results = ApplyFeedback(steps, events, policy, now);
    if (!results) return results;
    if (auto r = tx->Commit(); !r) return tl::unexpected(r.error());
    return results;
  });
}

Result<FeedbackCounts> PostgresStore::CountFeedback(int64_t last_sends) {
  constexpr std::string_view kCount = "store count feedback";
  FeedbackCounts counts;
  for (const auto& query : {std::pair{kFeedbackEventCountsSql, &counts.events},
                            std::pair{kFeedbackRuleSendsSql, &counts.rule_sends}}) {
    // A plain variable: clang 14 lets a lambda capture it (a structured binding it does not).
    const auto sql = query.first;
    auto* into = query.second;
    auto rows = Retrying([&] { return conn_.Exec(sql, kCount); });
    if (!rows) return tl::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i)
      (*into)[{std::string(rows->Text(i, 0)), std::string(rows->Text(i, 1))}] = rows->Int(i, 2);
  }
  auto rows = Retrying([&] {
    return conn_.Exec(RecentComplaintsSql("status", "$1"), Params().Add(last_sends), kCount);
  });
  if (!rows) return tl::unexpected(rows.error());
  counts.recent_sends = rows->Int(0, 0);
  counts.recent_complained = rows->Int(0, 1);
  return counts;
}

}  // namespace followup::store::pg
