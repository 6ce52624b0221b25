#include "store/migrations.h"

#include <array>
#include <charconv>

#include "base/printable.h"

namespace followup::store {
namespace {

// Times are INTEGER seconds since 1970-01-01 UTC; money INTEGER minor units of `currency`.
// CHECKs list values with OR, not IN (...): SQLite 3.40 rebuilds an IN list's table for every
// inserted row, which cost an import a fifth of its time.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE customers (
  id              INTEGER PRIMARY KEY,
  external_id     TEXT NOT NULL UNIQUE,
  email           TEXT,
  name            TEXT NOT NULL DEFAULT '',
  created_at      INTEGER,
  referred_by     INTEGER REFERENCES customers(id),
  timezone        TEXT,
  attributes      TEXT NOT NULL DEFAULT '{}',
  unsubscribed_at INTEGER
);
CREATE INDEX customers_referred_by ON customers(referred_by) WHERE referred_by IS NOT NULL;
CREATE TABLE transactions (
  id          INTEGER PRIMARY KEY,
  external_id TEXT NOT NULL UNIQUE,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  occurred_at INTEGER NOT NULL,
  kind        TEXT NOT NULL CHECK (kind = 'purchase' OR kind = 'return' OR kind = 'refund'),
  amount      INTEGER NOT NULL CHECK (amount >= 0),
  cost        INTEGER CHECK (cost >= 0),
  currency    TEXT NOT NULL,
  offer_code  TEXT
);
CREATE INDEX transactions_by_customer ON transactions(customer_id, occurred_at);
CREATE TABLE suppressions (
  email      TEXT PRIMARY KEY,
  reason     TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql";

// The outbox: every decision (sends, holdouts, experiment controls), and for sends the delivery
// state. It is also the send log.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE outbox (
  id                  INTEGER PRIMARY KEY,
  dedupe_key          TEXT NOT NULL UNIQUE,
  rule                TEXT NOT NULL,
  customer_id         INTEGER NOT NULL REFERENCES customers(id),
  recipient_id        INTEGER NOT NULL REFERENCES customers(id),
  kind                TEXT NOT NULL CHECK (kind = 'send' OR kind = 'holdout' OR kind = 'control'),
  arm                 TEXT,
  template            TEXT NOT NULL,
  template_values     TEXT NOT NULL DEFAULT '{}',
  decided_at          INTEGER NOT NULL,
  send_after          INTEGER NOT NULL,
  status              TEXT NOT NULL CHECK (status = 'queued' OR status = 'sending' OR
                                       status = 'sent' OR status = 'deferred' OR
                                       status = 'failed' OR status = 'suppressed' OR
                                       status = 'held_out'),
  attempts            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at     INTEGER,
  last_reply          TEXT,
  provider_message_id TEXT,
  message_id          TEXT,
  sent_at             INTEGER,
  updated_at          INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, send_after);
CREATE INDEX outbox_by_customer ON outbox(customer_id, decided_at);
CREATE INDEX outbox_by_decided ON outbox(decided_at);
)sql";

// Sequences: each customer's place in each rule with steps, one row per entry (docs/rules.md,
// "Sequences"). steps_done is a JSON list of {"step", "at", "outcome"}.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE sequence_places (
  rule        TEXT NOT NULL,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  occurrence  TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind = 'send' OR kind = 'holdout' OR kind = 'control'),
  arm         TEXT,
  entered_at  INTEGER NOT NULL,
  steps_done  TEXT NOT NULL DEFAULT '[]',
  last_at     INTEGER NOT NULL,
  held_since  INTEGER,
  next_step   TEXT NOT NULL DEFAULT '',
  next_due    INTEGER,
  ended_at    INTEGER,
  end_reason  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (rule, customer_id, occurrence)
) WITHOUT ROWID;
CREATE INDEX sequence_places_by_customer ON sequence_places(customer_id);
CREATE INDEX sequence_places_ended ON sequence_places(ended_at);
)sql";

// The operator's queue controls: sends held and cancelled (followupd queue). SQLite cannot change
// a CHECK constraint in place, so the outbox is copied into a new table with the wider one.
constexpr std::string_view kV4 = R"sql(
CREATE TABLE outbox_v4 (
  id                  INTEGER PRIMARY KEY,
  dedupe_key          TEXT NOT NULL UNIQUE,
  rule                TEXT NOT NULL,
  customer_id         INTEGER NOT NULL REFERENCES customers(id),
  recipient_id        INTEGER NOT NULL REFERENCES customers(id),
  kind                TEXT NOT NULL CHECK (kind = 'send' OR kind = 'holdout' OR kind = 'control'),
  arm                 TEXT,
  template            TEXT NOT NULL,
  template_values     TEXT NOT NULL DEFAULT '{}',
  decided_at          INTEGER NOT NULL,
  send_after          INTEGER NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'deferred',
                                                      'failed', 'suppressed', 'held_out', 'held',
                                                      'cancelled')),
  attempts            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at     INTEGER,
  last_reply          TEXT,
  provider_message_id TEXT,
  message_id          TEXT,
  sent_at             INTEGER,
  updated_at          INTEGER NOT NULL
);
INSERT INTO outbox_v4 SELECT id, dedupe_key, rule, customer_id, recipient_id, kind, arm, template,
  template_values, decided_at, send_after, status, attempts, next_attempt_at, last_reply,
  provider_message_id, message_id, sent_at, updated_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v4 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(status, send_after);
CREATE INDEX outbox_by_customer ON outbox(customer_id, decided_at);
CREATE INDEX outbox_by_decided ON outbox(decided_at);
)sql";

// Bounces and complaints after the send (docs/feedback.md): sends `bounced` and `complained` (the
// outbox copied again for the wider CHECK), the sends found by their Message-IDs, and every
// feedback event handled, once each by event_id.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE outbox_v5 (
  id                  INTEGER PRIMARY KEY,
  dedupe_key          TEXT NOT NULL UNIQUE,
  rule                TEXT NOT NULL,
  customer_id         INTEGER NOT NULL REFERENCES customers(id),
  recipient_id        INTEGER NOT NULL REFERENCES customers(id),
  kind                TEXT NOT NULL CHECK (kind = 'send' OR kind = 'holdout' OR kind = 'control'),
  arm                 TEXT,
  template            TEXT NOT NULL,
  template_values     TEXT NOT NULL DEFAULT '{}',
  decided_at          INTEGER NOT NULL,
  send_after          INTEGER NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'deferred',
                                                      'failed', 'suppressed', 'held_out', 'held',
                                                      'cancelled', 'bounced', 'complained')),
  attempts            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at     INTEGER,
  last_reply          TEXT,
  provider_message_id TEXT,
  message_id          TEXT,
  sent_at             INTEGER,
  updated_at          INTEGER NOT NULL
);
INSERT INTO outbox_v5 SELECT id, dedupe_key, rule, customer_id, recipient_id, kind, arm, template,
  template_values, decided_at, send_after, status, attempts, next_attempt_at, last_reply,
  provider_message_id, message_id, sent_at, updated_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v5 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(status, send_after);
CREATE INDEX outbox_by_customer ON outbox(customer_id, decided_at);
CREATE INDEX outbox_by_decided ON outbox(decided_at);
CREATE INDEX outbox_by_message_id ON outbox(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX outbox_by_provider_message_id ON outbox(provider_message_id)
  WHERE provider_message_id IS NOT NULL;
CREATE TABLE feedback_events (
  event_id    TEXT PRIMARY KEY,
  source      TEXT NOT NULL,
  type        TEXT NOT NULL,
  recipient   TEXT NOT NULL,
  outbox_id   INTEGER REFERENCES outbox(id),
  status      TEXT NOT NULL DEFAULT '',
  reason      TEXT NOT NULL DEFAULT '',
  occurred_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX feedback_events_by_recipient ON feedback_events(recipient, type, occurred_at);
CREATE INDEX feedback_events_by_outbox ON feedback_events(outbox_id) WHERE outbox_id IS NOT NULL;
)sql";

// The console's send log (docs/console.md): a page filtered by status, rule or recipient, newest
// first, read from an index in that order rather than by scanning the log for matches; and the
// complaint rate of /metrics, which reads the latest sends by sent time (Store::CountFeedback):
// without its index every scrape sorts every sent row.
constexpr std::string_view kV6 = R"sql(
CREATE INDEX outbox_by_status_decided ON outbox(status, decided_at);
CREATE INDEX outbox_by_rule_decided ON outbox(rule, decided_at);
CREATE INDEX outbox_by_recipient ON outbox(recipient_id, decided_at);
CREATE INDEX outbox_by_sent ON outbox(sent_at);
)sql";

constexpr std::array<std::string_view, 6> kMigrations = {kV1, kV2, kV3, kV4, kV5, kV6};

}  // namespace

std::span<const std::string_view> SqliteMigrations() { return kMigrations; }

Result<int> ParseSchemaVersion(std::string_view text) {
  int version = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, version);
  if (text.empty() || text[0] == '-' || ec != std::errc() || stop != end)
    return RuntimeFailure("store open: meta.schema_version is " + Quote(text) +
                          ", not a schema version (a whole number): the store is damaged or "
                          "not followup's");
  return version;
}

}  // namespace followup::store
