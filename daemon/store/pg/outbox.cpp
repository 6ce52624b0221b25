// The PostgreSQL Store's outbox: decisions, delivery claims and outcomes, the send log and the
// report's outcomes (docs/store.md).
#include <unistd.h>

#include <cstdlib>
#include <unordered_map>

#include "store/pg/store_impl.h"
#include "store/pg/store_rows.h"

namespace followup::store::pg {

Result<std::map<DeliveryStatus, int64_t>> PostgresStore::OutboxStatusCounts() {
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
Result<int64_t> InsertDecisions(Connection& conn, std::span<const Decision> decisions) {
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
  auto rows = conn.Exec(
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
  if (!rows) return tl::unexpected(rows.error());
  return rows->Affected();
}

Result<int64_t> PostgresStore::RecordDecisions(std::span<const Decision> decisions) {
  return Retrying([&] { return InsertDecisions(conn_, decisions); });
}

Result<void> PostgresStore::ForEachDecisionSince(Instant since,
                                                 const std::function<void(const Decision&)>& fn) {
  return StreamRetrying(
      "SELECT dedupe_key, rule, customer_id, recipient_id, kind, coalesce(arm, ''), template, "
      "template_values::text, " +
          Seconds("decided_at") + ", " + Seconds("send_after") +
          " FROM outbox WHERE decided_at > " + Timestamp("$1") + " ORDER BY decided_at, id",
      Params().Add(Secs(since)), "store read decisions", [&](const Rows& r, int i) -> Result<void> {
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

namespace {
// The advisory lock of delivery, one per database: "followup" in ASCII.
constexpr int64_t kDeliveryLock = 0x666f6c6c6f777570;
constexpr std::string_view kDeliveryOwnerKey = "delivery_owner";
}  // namespace

// A session advisory lock: the server lets go when the session ends (the process died, the
// connection dropped). A reconnection is a new session, so the lock is taken again then.
Result<DeliveryOwner> PostgresStore::OwnDelivery(bool one_pass) {
  const auto pid = static_cast<int64_t>(::getpid());
  if (delivery_session_ == conn_.session() && !conn_.Lost())
    return DeliveryOwner{true, pid, delivery_one_pass_};
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT pg_try_advisory_lock($1)", Params().Add(kDeliveryLock),
                      "store take delivery");
  });
  if (!rows) return tl::unexpected(rows.error());
  if (!rows->Bool(0, 0)) {
    auto who = GetMeta(kDeliveryOwnerKey);
    if (!who) return tl::unexpected(who.error());
    DeliveryOwner other;
    other.pid = std::atoll(who->c_str());
    other.one_pass = who->find(" once") != std::string::npos;
    return other;
  }
  delivery_session_ = conn_.session();
  delivery_one_pass_ = one_pass;
  if (auto r = SetMeta(kDeliveryOwnerKey, std::to_string(pid) + (one_pass ? " once" : " run")); !r)
    return tl::unexpected(r.error());
  return DeliveryOwner{true, pid, one_pass};
}

Result<int64_t> PostgresStore::RequeueInFlight() {
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
Result<std::vector<OutboxItem>> PostgresStore::ClaimDue(Instant now, int limit) {
  // A reconnection since delivery was taken lost the lock: take it again, or claim nothing.
  if (delivery_session_ >= 0 && delivery_session_ != conn_.session()) {
    auto owner = OwnDelivery(delivery_one_pass_);
    if (!owner) return tl::unexpected(owner.error());
    if (!owner->ours)
      return RuntimeFailure(
          "store claim due sends: the connection to PostgreSQL was lost, and "
          "another followupd (pid " +
          std::to_string(owner->pid) + ") delivers for this store now");
  }
  auto rows = conn_.Exec(
      "UPDATE outbox SET status = 'sending', updated_at = to_timestamp($1::bigint), "
      "claim_epoch = claim_epoch + 1 WHERE id IN (SELECT id FROM outbox WHERE " +
          std::string(kDueCondition) +
          " ORDER BY decided_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING " +
          std::string(kOutboxItemColumns),
      Params().Add(Secs(now)).Add(static_cast<int64_t>(limit)), "store claim due sends");
  return DueItems(rows);
}

Result<std::vector<OutboxItem>> PostgresStore::PeekDue(Instant now, int limit) {
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT " + std::string(kOutboxItemColumns) + " FROM outbox WHERE " +
                          std::string(kDueCondition) + " ORDER BY decided_at, id LIMIT $2",
                      Params().Add(Secs(now)).Add(static_cast<int64_t>(limit)),
                      "store peek at due sends");
  });
  return DueItems(rows);
}

Result<std::vector<int64_t>> PostgresStore::ClaimIds(std::span<const int64_t> ids, Instant now) {
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

Result<void> PostgresStore::SetMessageIds(std::span<const std::pair<int64_t, std::string>> ids) {
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

Result<void> PostgresStore::RecordDeliveries(std::span<const DeliveryUpdate> updates, Instant now) {
  if (updates.empty()) return {};
  return Retrying([&]() -> Result<void> {
    auto tx = Transaction::Begin(conn_, "store record deliveries");
    if (!tx) return tl::unexpected(tx.error());
    for (const auto& u : updates) {
      auto r = conn_.Exec(
          "UPDATE outbox SET status = $2, attempts = $3, next_attempt_at = " + Timestamp("$4") +
              ", last_reply = $5, provider_message_id = coalesce($6, provider_message_id), "
              "message_id = coalesce($7, message_id), sent_at = coalesce(" +
              Timestamp("$8") + ", sent_at), updated_at = " + Timestamp("$9") +
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
                Timestamp("$3") + ") ON CONFLICT(email) DO NOTHING",
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

namespace {

// The FROM and WHERE of a send-log selection (outbox o, its customer c and recipient r), one
// statement text for every filter: an absent filter is a NULL parameter ($1 to $6,
// LogSelectionParams).
constexpr std::string_view kLogSelection =
    " FROM outbox o JOIN customers c ON c.id = o.customer_id "
    "JOIN customers r ON r.id = o.recipient_id "
    "WHERE ($1::bigint IS NULL OR o.decided_at > to_timestamp($1::bigint)) "
    "AND ($2::text IS NULL OR o.rule = $2) "
    "AND ($3::text IS NULL OR o.customer_id = (SELECT id FROM customers WHERE external_id = $3) "
    "OR o.recipient_id = (SELECT id FROM customers WHERE external_id = $3)) "
    "AND ($4::text IS NULL OR o.status = $4) "
    "AND (NOT $5::boolean OR o.status IN ('queued', 'sending', 'deferred', 'held')) "
    "AND ($6::bigint[] IS NULL OR o.id = ANY($6::bigint[])) "
    "AND ($7::bigint IS NULL OR o.decided_at <= to_timestamp($7::bigint)) "
    "AND ($8::bigint IS NULL OR (o.decided_at, o.id) < (to_timestamp($8::bigint), $9::bigint))";

Params LogSelectionParams(const LogFilter& f) {
  std::vector<std::string> ids;
  for (int64_t id : f.ids) ids.push_back(std::to_string(id));
  Params params;
  params.Add(f.since ? std::optional<int64_t>(Secs(*f.since)) : std::nullopt)
      .Add(NonEmpty(f.rule))
      .Add(NonEmpty(f.customer))
      .Add(f.status ? std::optional<std::string>(DeliveryStatusName(*f.status)) : std::nullopt)
      .Add(std::string(f.in_queue ? "true" : "false"))
      .Add(ids.empty() ? std::optional<std::string>() : std::optional<std::string>(TextArray(ids)))
      .Add(f.until ? std::optional<int64_t>(Secs(*f.until)) : std::nullopt)
      .Add(f.after ? std::optional<int64_t>(Secs(f.after->first)) : std::nullopt)
      .Add(f.after ? std::optional<int64_t>(f.after->second) : std::nullopt);
  return params;
}

}  // namespace

Result<int64_t> PostgresStore::ChangeQueue(QueueAction action, const LogFilter& which,
                                           std::string_view reason, Instant now) {
  std::vector<std::string> from;
  for (auto status : QueueActionFrom(action)) from.emplace_back(DeliveryStatusName(status));
  LogFilter f = which;
  f.since.reset();
  Params params = LogSelectionParams(f);
  params.Add(std::string(DeliveryStatusName(QueueActionTo(action))))
      .Add(Secs(now))
      .Add(TextArray(from))
      .Add(action == QueueAction::kCancel ? std::optional<std::string>(reason) : std::nullopt);
  const bool requeue = action == QueueAction::kRequeue;
  auto rows = Retrying([&] {
    return conn_.Exec(
        "UPDATE outbox SET status = $10, updated_at = " + Timestamp("$11") +
            (requeue ? ", attempts = 0, next_attempt_at = NULL" : "") +
            (action == QueueAction::kRelease ? ", next_attempt_at = NULL" : "") +
            ", last_reply = coalesce($13::text, last_reply) WHERE status = ANY($12::text[]) AND "
            "id IN (SELECT o.id" +
            std::string(kLogSelection) + ")",
        params, "store change the queue");
  });
  if (!rows) return tl::unexpected(rows.error());
  return rows->Affected();
}

Result<std::map<std::string, int64_t>> PostgresStore::CancelSendsOfRules(
    std::span<const std::string> rules, std::string_view reason, Instant now) {
  auto rows = Retrying([&] {
    return conn_.Exec(
        "UPDATE outbox SET status = 'cancelled', last_reply = $2, updated_at = " + Timestamp("$3") +
            " WHERE status IN ('queued', 'deferred', 'held') AND kind = 'send' AND "
            "rule = ANY($1::text[]) RETURNING rule",
        Params().Add(TextArray(rules)).Add(reason).Add(Secs(now)), "store cancel sends");
  });
  if (!rows) return tl::unexpected(rows.error());
  std::map<std::string, int64_t> out;
  for (int i = 0; i < rows->size(); ++i) ++out[std::string(rows->Text(i, 0))];
  return out;
}

Result<void> PostgresStore::ForEachLogEntry(const LogFilter& f,
                                            const std::function<void(const LogEntry&)>& fn) {
  Params params = LogSelectionParams(f);
  params.Add(f.limit > 0 ? std::optional<int64_t>(f.limit) : std::nullopt);
  return StreamRetrying(
      "SELECT o.id, o.rule, c.external_id, r.external_id, coalesce(r.email, ''), o.kind, "
      "coalesce(o.arm, ''), o.template, o.status, o.attempts, " +
          Seconds("o.decided_at") + ", " + Seconds("o.send_after") + ", " +
          Seconds("o.next_attempt_at") + ", " + Seconds("o.sent_at") +
          ", coalesce(o.last_reply, ''), coalesce(o.provider_message_id, ''), "
          "coalesce(o.message_id, ''), o.dedupe_key, " +
          Seconds("o.updated_at") + std::string(kLogSelection) +
          " ORDER BY o.decided_at DESC, o.id DESC LIMIT $10::bigint",
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

Result<void> PostgresStore::ForEachDecisionOutcome(
    const std::string& rule, std::chrono::seconds window, const std::string& offer_code,
    const std::function<void(const DecisionOutcome&)>& fn) {
  return StreamRetrying(
      "SELECT o.kind, o.status, coalesce(o.arm, ''), count(t.id), coalesce(sum(t.amount), 0), " +
          Seconds("o.decided_at") +
          " FROM outbox o LEFT JOIN transactions t ON t.customer_id = o.recipient_id "
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
        o.decided_at = At(r.Int(i, 5));
        fn(o);
        return {};
      });
}

Result<std::vector<std::string>> PostgresStore::Suppressions() {
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT lower(email) FROM suppressions", "store read suppressions");
  });
  if (!rows) return tl::unexpected(rows.error());
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) out.emplace_back(rows->Text(i, 0));
  return out;
}

Result<bool> PostgresStore::Resubscribe(std::string_view external_id) {
  auto rows = Retrying([&] {
    return conn_.Exec("UPDATE customers SET unsubscribed_at = NULL WHERE external_id = $1",
                      Params().Add(external_id), "store resubscribe");
  });
  if (!rows) return tl::unexpected(rows.error());
  return rows->Affected() > 0;
}

Result<bool> PostgresStore::AddSuppression(std::string_view email, std::string_view reason,
                                           Instant at) {
  auto rows = Retrying([&] {
    return conn_.Exec("INSERT INTO suppressions(email, reason, created_at) VALUES(lower($1), $2, " +
                          Timestamp("$3") + ") ON CONFLICT(email) DO NOTHING",
                      Params().Add(email).Add(reason).Add(Secs(at)), "store add suppression");
  });
  if (!rows) return tl::unexpected(rows.error());
  return rows->Affected() > 0;
}

Result<bool> PostgresStore::RemoveSuppression(std::string_view email) {
  auto rows = Retrying([&] {
    return conn_.Exec("DELETE FROM suppressions WHERE lower(email) = lower($1)",
                      Params().Add(email), "store remove suppression");
  });
  if (!rows) return tl::unexpected(rows.error());
  return rows->Affected() > 0;
}

Result<std::vector<Suppression>> PostgresStore::ListSuppressions() {
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT lower(email), reason, " + Seconds("created_at") +
                          " FROM suppressions ORDER BY lower(email)",
                      "store list suppressions");
  });
  if (!rows) return tl::unexpected(rows.error());
  std::vector<Suppression> out;
  out.reserve(static_cast<size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i)
    out.push_back(
        {std::string(rows->Text(i, 0)), std::string(rows->Text(i, 1)), At(rows->Int(i, 2))});
  return out;
}

}  // namespace followup::store::pg
