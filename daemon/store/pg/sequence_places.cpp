// The PostgreSQL Store's sequence places (table sequence_places, migration 2; docs/store.md):
// written in one transaction with the step decisions they lead to.
#include <optional>

#include "store/pg/store_impl.h"
#include "store/pg/values.h"
#include "store/steps_done.h"

namespace followup::store::pg {
namespace {

// Inserts or replaces each place by (rule, customer_id, occurrence), in one statement. The caller
// holds the transaction.
Result<void> UpsertPlaces(Connection& conn, std::span<const SequencePlace> places) {
  if (places.empty()) return {};
  std::vector<std::string> rules, occurrences, kinds, arms, done, next_steps, reasons;
  std::vector<int64_t> customers, entered, last;
  std::vector<std::optional<int64_t>> held, due, ended;
  for (const auto& p : places) {
    rules.push_back(p.rule);
    customers.push_back(p.customer_id);
    occurrences.push_back(p.occurrence);
    kinds.emplace_back(DecisionKindName(p.kind));
    arms.push_back(p.arm);
    entered.push_back(Secs(p.entered_at));
    done.push_back(StepsDoneJson(p.done));
    last.push_back(Secs(p.last_at));
    held.push_back(Secs(p.held_since));
    next_steps.push_back(p.next_step);
    due.push_back(Secs(p.next_due));
    ended.push_back(Secs(p.ended_at));
    reasons.push_back(p.end_reason);
  }
  Params params;
  params.Add(TextArray(rules))
      .Add(IntArray(customers))
      .Add(TextArray(occurrences))
      .Add(TextArray(kinds))
      .Add(TextArray(arms))
      .Add(IntArray(entered))
      .Add(TextArray(done))
      .Add(IntArray(last))
      .Add(OptIntArray(held))
      .Add(TextArray(next_steps))
      .Add(OptIntArray(due))
      .Add(OptIntArray(ended))
      .Add(TextArray(reasons));
  auto rows = conn.Exec(
      "INSERT INTO sequence_places(rule, customer_id, occurrence, kind, arm, entered_at, "
      "steps_done, last_at, held_since, next_step, next_due, ended_at, end_reason) "
      "SELECT p.rule, p.customer, p.occurrence, p.kind, nullif(p.arm, ''), "
      "to_timestamp(p.entered), p.done::json, to_timestamp(p.last), to_timestamp(p.held), "
      "p.next_step, to_timestamp(p.due), to_timestamp(p.ended), p.reason "
      "FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], "
      "$7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::bigint[], $12::bigint[], "
      "$13::text[]) AS p(rule, customer, occurrence, kind, arm, entered, done, last, held, "
      "                  next_step, due, ended, reason) "
      "ON CONFLICT(rule, customer_id, occurrence) DO UPDATE SET kind = excluded.kind, "
      "arm = excluded.arm, entered_at = excluded.entered_at, steps_done = excluded.steps_done, "
      "last_at = excluded.last_at, held_since = excluded.held_since, "
      "next_step = excluded.next_step, next_due = excluded.next_due, "
      "ended_at = excluded.ended_at, end_reason = excluded.end_reason",
      params, "store record sequence places");
  if (!rows) return tl::unexpected(rows.error());
  return {};
}

const std::string kPlaceColumns =
    "rule, customer_id, occurrence, kind, coalesce(arm, ''), " + Seconds("entered_at") +
    ", steps_done::text, " + Seconds("last_at") + ", " + Seconds("held_since") + ", next_step, " +
    Seconds("next_due") + ", " + Seconds("ended_at") + ", end_reason";

Result<SequencePlace> ReadPlace(const Rows& r, int i) {
  SequencePlace p;
  p.rule = std::string(r.Text(i, 0));
  p.customer_id = r.Int(i, 1);
  p.occurrence = std::string(r.Text(i, 2));
  auto kind = ParseDecisionKind(r.Text(i, 3));
  if (!kind)
    return RuntimeFailure("store read sequence_places: unknown kind '" + std::string(r.Text(i, 3)) +
                          "' (written by a newer followupd?)");
  p.kind = *kind;
  p.arm = std::string(r.Text(i, 4));
  p.entered_at = At(r.Int(i, 5));
  auto done = ParseStepsDone(r.Text(i, 6));
  if (!done) return tl::unexpected(done.error());
  p.done = std::move(*done);
  p.last_at = At(r.Int(i, 7));
  p.held_since = OptAt(r.OptInt(i, 8));
  p.next_step = std::string(r.Text(i, 9));
  p.next_due = OptAt(r.OptInt(i, 10));
  p.ended_at = OptAt(r.OptInt(i, 11));
  p.end_reason = std::string(r.Text(i, 12));
  return p;
}

}  // namespace

// A lost connection rolls the transaction back: done again whole on a fresh one. (Both writes are
// idempotent, so even a commit whose answer was lost leaves the same rows.)
Result<int64_t> PostgresStore::RecordSequenceSteps(std::span<const Decision> decisions,
                                                   std::span<const SequencePlace> places) {
  if (places.empty()) return RecordDecisions(decisions);
  return Retrying([&]() -> Result<int64_t> {
    auto tx = Transaction::Begin(conn_, "store record sequence steps");
    if (!tx) return tl::unexpected(tx.error());
    auto inserted = InsertDecisions(conn_, decisions);
    if (!inserted) return tl::unexpected(inserted.error());
    if (auto r = UpsertPlaces(conn_, places); !r) return tl::unexpected(r.error());
    if (auto r = tx->Commit(); !r) return tl::unexpected(r.error());
    return *inserted;
  });
}

Result<void> PostgresStore::ForEachSequencePlace(
    Instant ended_since, const std::function<void(const SequencePlace&)>& fn) {
  return StreamRetrying("SELECT " + kPlaceColumns +
                            " FROM sequence_places WHERE ended_at IS NULL OR ended_at > " +
                            Timestamp("$1") + " ORDER BY rule, customer_id, occurrence",
                        Params().Add(Secs(ended_since)), "store read sequence places",
                        [&](const Rows& r, int i) -> Result<void> {
                          auto place = ReadPlace(r, i);
                          if (!place) return tl::unexpected(place.error());
                          fn(*place);
                          return {};
                        });
}

Result<std::map<std::pair<std::string, std::string>, int64_t>> PostgresStore::SequenceStepCounts() {
  auto rows = Retrying([&] {
    return conn_.Exec(
        "SELECT rule, next_step, count(*) FROM sequence_places WHERE ended_at IS NULL "
        "GROUP BY rule, next_step",
        "store count sequence places");
  });
  if (!rows) return tl::unexpected(rows.error());
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  for (int i = 0; i < rows->size(); ++i)
    counts[{std::string(rows->Text(i, 0)), std::string(rows->Text(i, 1))}] = rows->Int(i, 2);
  return counts;
}

Result<std::vector<SequencePlace>> PostgresStore::SequencePlacesOf(int64_t customer_id) {
  auto rows = Retrying([&] {
    return conn_.Exec("SELECT " + kPlaceColumns +
                          " FROM sequence_places WHERE customer_id = $1 ORDER BY rule, entered_at",
                      Params().Add(customer_id), "store read sequence places");
  });
  if (!rows) return tl::unexpected(rows.error());
  std::vector<SequencePlace> places;
  for (int i = 0; i < rows->size(); ++i) {
    auto place = ReadPlace(*rows, i);
    if (!place) return tl::unexpected(place.error());
    places.push_back(std::move(*place));
  }
  return places;
}

Result<void> PostgresStore::ForEachSequencePurchase(
    const std::string& rule, std::chrono::seconds window, const std::string& offer_code,
    const std::function<void(const SequencePurchase&)>& fn) {
  return StreamRetrying(
      "SELECT p.customer_id, p.occurrence, " + Seconds("t.occurred_at") +
          ", t.amount FROM sequence_places p JOIN transactions t "
          "ON t.customer_id = p.customer_id AND t.kind = 'purchase' "
          "  AND t.occurred_at > p.entered_at "
          "  AND t.occurred_at <= p.last_at + make_interval(secs => $2::bigint) "
          "  AND ($3 = '' OR t.offer_code = $3) "
          "WHERE p.rule = $1 ORDER BY p.customer_id, p.occurrence, t.occurred_at, t.id",
      Params().Add(rule).Add(static_cast<int64_t>(window.count())).Add(offer_code),
      "store read sequence purchases", [&](const Rows& r, int i) -> Result<void> {
        fn({r.Int(i, 0), std::string(r.Text(i, 1)), At(r.Int(i, 2)), r.Int(i, 3)});
        return {};
      });
}

}  // namespace followup::store::pg
