#include "store/migrations.h"

#include <array>

namespace followup::store {
namespace {

// Times are INTEGER seconds since 1970-01-01 UTC; money INTEGER minor units of `currency`.
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
  kind        TEXT NOT NULL CHECK (kind IN ('purchase', 'return', 'refund')),
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

constexpr std::array<std::string_view, 1> kMigrations = {kV1};

}  // namespace

std::span<const std::string_view> SqliteMigrations() { return kMigrations; }

}  // namespace followup::store
