// The rows the PostgreSQL backend reads: the columns it selects for each record and how it reads
// them back (times as UTC seconds).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "store/pg/pq.h"
#include "store/pg/values.h"
#include "store/store.h"

namespace followup::store::pg {

inline const std::string kCustomerRowColumns =
    "id, external_id, email, name, referred_by, timezone, " + Seconds("unsubscribed_at") + ", " +
    Seconds("created_at");

inline CustomerRow ReadCustomerRow(const Rows& r, int i) {
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

inline const std::string kTransactionRowColumns =
    "id, customer_id, " + Seconds("occurred_at") + ", kind, amount, cost";

inline void ReadTransactionRow(const Rows& r, int i, TransactionRow& t) {
  t.id = r.Int(i, 0);
  t.customer_id = r.Int(i, 1);
  t.occurred_at = At(r.Int(i, 2));
  t.kind = ParseKind(r.Text(i, 3)).value_or(Kind::kPurchase);
  t.amount = r.Int(i, 4);
  t.cost = r.OptInt(i, 5);
}

// Transactions that may trigger event rules, with whether each is its customer's first purchase.
inline const std::string kRecentTransactionSelect =
    "SELECT t.id, t.external_id, t.customer_id, " + Seconds("t.occurred_at") +
    ", t.kind, t.kind = 'purchase' AND NOT EXISTS (SELECT 1 FROM transactions p "
    "  WHERE p.customer_id = t.customer_id AND p.kind = 'purchase' AND "
    "  (p.occurred_at < t.occurred_at OR (p.occurred_at = t.occurred_at AND p.id < t.id))) "
    "FROM transactions t ";

inline RecentTransaction ReadRecentTransaction(const Rows& r, int i) {
  RecentTransaction t;
  t.id = r.Int(i, 0);
  t.external_id = std::string(r.Text(i, 1));
  t.customer_id = r.Int(i, 2);
  t.occurred_at = At(r.Int(i, 3));
  t.kind = ParseKind(r.Text(i, 4)).value_or(Kind::kPurchase);
  t.first_purchase = r.Bool(i, 5);
  return t;
}

inline constexpr std::string_view kOutboxItemColumns =
    "id, dedupe_key, rule, customer_id, recipient_id, coalesce(arm, ''), template, "
    "template_values::text, floor(extract(epoch from decided_at))::bigint, attempts, "
    "coalesce(message_id, '')";

inline OutboxItem ReadOutboxItem(const Rows& r, int i) {
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
inline constexpr std::string_view kDueCondition =
    "status IN ('queued', 'deferred') AND "
    "CASE WHEN status = 'queued' THEN send_after "
    "     ELSE coalesce(next_attempt_at, 'epoch'::timestamptz) END <= to_timestamp($1::bigint)";

// Claimed or peeked sends, oldest decisions first (RETURNING promises no order).
inline Result<std::vector<OutboxItem>> DueItems(const Result<Rows>& rows) {
  if (!rows) return tl::unexpected(rows.error());
  std::vector<OutboxItem> items;
  items.reserve(static_cast<size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) items.push_back(ReadOutboxItem(*rows, i));
  std::sort(items.begin(), items.end(), [](const OutboxItem& a, const OutboxItem& b) {
    return std::tie(a.decided_at, a.id) < std::tie(b.decided_at, b.id);
  });
  return items;
}

}  // namespace followup::store::pg
