#include "store/sqlite_feedback.h"

#include "store/feedback_apply.h"

namespace followup::store {
namespace {

using sqlite::Database;
using sqlite::Statement;

int64_t Secs(Instant t) { return t.time_since_epoch().count(); }

class SqliteFeedbackSteps final : public FeedbackSteps {
 public:
  explicit SqliteFeedbackSteps(Database& db) : db_(db) {}

  Result<bool> Seen(std::string_view event_id) override {
    auto s = db_.Prepare("SELECT 1 FROM feedback_events WHERE event_id = ?1");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, event_id);
    return s->Step();
  }

  Result<std::optional<FeedbackSend>> SendById(int64_t outbox_id) override {
    auto s = db_.Prepare(std::string(kSendSelect) + "o.id = ?1");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, outbox_id);
    return One(*s);
  }

  Result<std::optional<FeedbackSend>> SendByMessageId(std::string_view id, bool provider) override {
    auto s = db_.Prepare(std::string(kSendSelect) +
                         (provider ? "o.provider_message_id = ?1"
                                   : "(o.message_id = ?1 OR o.message_id = '<' || ?1 || '>')") +
                         " ORDER BY o.id DESC LIMIT 1");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, id);
    return One(*s);
  }

  Result<void> Insert(const FeedbackEvent& e, std::string_view recipient,
                      std::optional<int64_t> outbox_id, Instant received_at) override {
    auto s = db_.Prepare(
        "INSERT INTO feedback_events(event_id, source, type, recipient, outbox_id, status, "
        "reason, occurred_at, received_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!s) return tl::unexpected(s.error());
    return s->Bind(1, std::string_view(e.event_id))
        .Bind(2, std::string_view(e.source))
        .Bind(3, FeedbackActionName(e.action))
        .Bind(4, recipient)
        .Bind(5, outbox_id)
        .Bind(6, std::string_view(e.status))
        .Bind(7, std::string_view(e.reason))
        .Bind(8, Secs(e.occurred_at))
        .Bind(9, Secs(received_at))
        .Run();
  }

  Result<int64_t> SoftBounces(std::string_view recipient, Instant from, Instant to) override {
    auto s = db_.Prepare(
        "SELECT count(*) FROM feedback_events WHERE recipient = ?1 AND type = 'soft_bounce' "
        "AND occurred_at > ?2 AND occurred_at <= ?3");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, recipient).Bind(2, Secs(from)).Bind(3, Secs(to));
    if (auto row = s->Step(); !row) return tl::unexpected(row.error());
    return s->Int(0);
  }

  Result<bool> Suppress(std::string_view email, std::string_view reason, Instant at) override {
    auto s = db_.Prepare(
        "INSERT INTO suppressions(email, reason, created_at) VALUES(lower(?1), ?2, ?3) "
        "ON CONFLICT(email) DO NOTHING");
    if (!s) return tl::unexpected(s.error());
    if (auto r = s->Bind(1, email).Bind(2, reason).Bind(3, Secs(at)).Run(); !r)
      return tl::unexpected(r.error());
    return db_.Changes() > 0;
  }

  Result<void> Unsubscribe(int64_t customer_id, std::string_view email, Instant at) override {
    auto s = db_.Prepare(
        "UPDATE customers SET unsubscribed_at = min(coalesce(unsubscribed_at, ?3), ?3) "
        "WHERE (?1 <> 0 AND id = ?1) OR (?1 = 0 AND lower(email) = ?2)");
    if (!s) return tl::unexpected(s.error());
    return s->Bind(1, customer_id).Bind(2, email).Bind(3, Secs(at)).Run();
  }

  Result<void> MarkSend(int64_t outbox_id, std::span<const DeliveryStatus> from, DeliveryStatus to,
                        std::string_view reply, Instant now) override {
    auto s = db_.Prepare(
        "UPDATE outbox SET status = ?2, last_reply = ?3, updated_at = ?4 "
        "WHERE id = ?1 AND status IN (" +
        StatusList(from) + ")");
    if (!s) return tl::unexpected(s.error());
    return s->Bind(1, outbox_id)
        .Bind(2, DeliveryStatusName(to))
        .Bind(3, reply)
        .Bind(4, Secs(now))
        .Run();
  }

 private:
  static constexpr std::string_view kSendSelect =
      "SELECT o.id, o.recipient_id, lower(coalesce(r.email, '')), o.rule FROM outbox o "
      "JOIN customers r ON r.id = o.recipient_id WHERE o.kind = 'send' AND ";

  static Result<std::optional<FeedbackSend>> One(Statement& s) {
    auto row = s.Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<FeedbackSend>();
    return std::optional<FeedbackSend>(
        FeedbackSend{s.Int(0), s.Int(1), std::string(s.Text(2)), std::string(s.Text(3))});
  }

  Database& db_;
};

}  // namespace

Result<std::vector<FeedbackResult>> RecordFeedbackIn(Database& db,
                                                     std::span<const FeedbackEvent> events,
                                                     const FeedbackPolicy& policy, Instant now) {
  if (auto r = db.Exec("BEGIN IMMEDIATE", "store record feedback"); !r)
    return tl::unexpected(r.error());
  SqliteFeedbackSteps steps(db);
  auto results = ApplyFeedback(steps, events, policy, now);
  if (!results)
    return tl::unexpected(db.RollBack(results.error(), "store record feedback rollback"));
  if (auto r = db.Exec("COMMIT", "store record feedback"); !r)
    return tl::unexpected(db.RollBack(r.error(), "store record feedback rollback"));
  return results;
}

Result<FeedbackCounts> CountFeedbackIn(Database& db, int64_t last_sends) {
  FeedbackCounts counts;
  for (auto [sql, into] : {std::pair{kFeedbackEventCountsSql, &counts.events},
                           std::pair{kFeedbackRuleSendsSql, &counts.rule_sends}}) {
    auto s = db.Prepare(std::string(sql));
    if (!s) return tl::unexpected(s.error());
    for (;;) {
      auto row = s->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      (*into)[{std::string(s->Text(0)), std::string(s->Text(1))}] = s->Int(2);
    }
  }
  auto s = db.Prepare(RecentComplaintsSql("+status", "?1"));
  if (!s) return tl::unexpected(s.error());
  s->Bind(1, last_sends);
  auto row = s->Step();
  if (!row) return tl::unexpected(row.error());
  counts.recent_sends = s->Int(0);
  counts.recent_complained = s->Int(1);
  return counts;
}

}  // namespace followup::store
