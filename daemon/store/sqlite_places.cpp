#include "store/sqlite_places.h"

#include "store/steps_done.h"

namespace followup::store {
namespace {

using sqlite::Statement;

using sqlite::FromSeconds;
using sqlite::Seconds;
int64_t Seconds(Instant t) { return t.time_since_epoch().count(); }

constexpr std::string_view kColumns =
    "rule, customer_id, occurrence, kind, coalesce(arm, ''), entered_at, steps_done, last_at, "
    "held_since, next_step, next_due, ended_at, end_reason";

Result<void> Each(Statement& s, const std::function<void(const SequencePlace&)>& fn) {
  for (;;) {
    auto row = s.Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
    SequencePlace p;
    p.rule = std::string(s.Text(0));
    p.customer_id = s.Int(1);
    p.occurrence = std::string(s.Text(2));
    auto kind = ParseDecisionKind(s.Text(3));
    if (!kind)
      return RuntimeFailure("store read sequence_places: unknown kind '" + std::string(s.Text(3)) +
                            "' (written by a newer followupd?)");
    p.kind = *kind;
    p.arm = std::string(s.Text(4));
    p.entered_at = Instant{std::chrono::seconds{s.Int(5)}};
    auto done = ParseStepsDone(s.Text(6));
    if (!done) return tl::unexpected(done.error());
    p.done = std::move(*done);
    p.last_at = Instant{std::chrono::seconds{s.Int(7)}};
    p.held_since = FromSeconds(s.OptInt(8));
    p.next_step = std::string(s.Text(9));
    p.next_due = FromSeconds(s.OptInt(10));
    p.ended_at = FromSeconds(s.OptInt(11));
    p.end_reason = std::string(s.Text(12));
    fn(p);
  }
}

}  // namespace

Result<void> UpsertPlaces(sqlite::Database& db, std::span<const SequencePlace> places) {
  if (places.empty()) return {};
  auto s = db.Prepare(
      "INSERT INTO sequence_places(rule, customer_id, occurrence, kind, arm, entered_at, "
      "steps_done, last_at, held_since, next_step, next_due, ended_at, end_reason) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
      "ON CONFLICT(rule, customer_id, occurrence) DO UPDATE SET kind = excluded.kind, "
      "arm = excluded.arm, entered_at = excluded.entered_at, steps_done = excluded.steps_done, "
      "last_at = excluded.last_at, held_since = excluded.held_since, "
      "next_step = excluded.next_step, next_due = excluded.next_due, "
      "ended_at = excluded.ended_at, end_reason = excluded.end_reason");
  if (!s) return tl::unexpected(s.error());
  for (const auto& p : places) {
    s->Bind(1, std::string_view(p.rule))
        .Bind(2, p.customer_id)
        .Bind(3, std::string_view(p.occurrence))
        .Bind(4, DecisionKindName(p.kind))
        .Bind(5, p.arm.empty() ? std::optional<std::string>() : p.arm)
        .Bind(6, Seconds(p.entered_at))
        .Bind(7, std::string_view(StepsDoneJson(p.done)))
        .Bind(8, Seconds(p.last_at))
        .Bind(9, Seconds(p.held_since))
        .Bind(10, std::string_view(p.next_step))
        .Bind(11, Seconds(p.next_due))
        .Bind(12, Seconds(p.ended_at))
        .Bind(13, std::string_view(p.end_reason));
    if (auto r = s->Run(); !r) return tl::unexpected(r.error());
  }
  return {};
}

Result<void> EachPlace(sqlite::Database& db, Instant ended_since,
                       const std::function<void(const SequencePlace&)>& fn) {
  auto s = db.Prepare("SELECT " + std::string(kColumns) +
                      " FROM sequence_places WHERE ended_at IS NULL OR ended_at > ?1 "
                      "ORDER BY rule, customer_id, occurrence");
  if (!s) return tl::unexpected(s.error());
  s->Bind(1, Seconds(ended_since));
  return Each(*s, fn);
}

Result<void> EachSequencePurchase(sqlite::Database& db, const std::string& rule,
                                  std::chrono::seconds window, const std::string& offer_code,
                                  const std::function<void(const SequencePurchase&)>& fn) {
  auto s = db.Prepare(
      "SELECT p.customer_id, p.occurrence, t.occurred_at, t.amount "
      "FROM sequence_places p JOIN transactions t ON t.customer_id = p.customer_id "
      "  AND t.kind = 'purchase' AND t.occurred_at > p.entered_at "
      "  AND t.occurred_at <= p.last_at + ?2 AND (?3 = '' OR t.offer_code = ?3) "
      "WHERE p.rule = ?1 ORDER BY p.customer_id, p.occurrence, t.occurred_at, t.id");
  if (!s) return tl::unexpected(s.error());
  s->Bind(1, std::string_view(rule))
      .Bind(2, static_cast<int64_t>(window.count()))
      .Bind(3, std::string_view(offer_code));
  for (;;) {
    auto row = s->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
    fn({s->Int(0), std::string(s->Text(1)), Instant{std::chrono::seconds{s->Int(2)}}, s->Int(3)});
  }
}

Result<std::map<std::pair<std::string, std::string>, int64_t>> StepCounts(sqlite::Database& db) {
  auto s = db.Prepare(
      "SELECT rule, next_step, count(*) FROM sequence_places WHERE ended_at IS NULL "
      "GROUP BY rule, next_step");
  if (!s) return tl::unexpected(s.error());
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  for (;;) {
    auto row = s->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return counts;
    counts[{std::string(s->Text(0)), std::string(s->Text(1))}] = s->Int(2);
  }
}

Result<std::vector<SequencePlace>> PlacesOf(sqlite::Database& db, int64_t customer_id) {
  auto s = db.Prepare("SELECT " + std::string(kColumns) +
                      " FROM sequence_places WHERE customer_id = ?1 ORDER BY rule, entered_at");
  if (!s) return tl::unexpected(s.error());
  s->Bind(1, customer_id);
  std::vector<SequencePlace> places;
  auto r = Each(*s, [&](const SequencePlace& p) { places.push_back(p); });
  if (!r) return tl::unexpected(r.error());
  return places;
}

}  // namespace followup::store
