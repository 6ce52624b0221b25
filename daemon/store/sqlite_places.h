// The SQLite backend's sequence places (table sequence_places, migration 3): written and read
// inside the SqliteStore's own transactions. Internal to the store part.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string_view>

#include "store/sqlite.h"
#include "store/store.h"

namespace followup::store {

// Inserts or replaces each place by (rule, customer_id, occurrence). The caller holds the
// transaction.
Result<void> UpsertPlaces(sqlite::Database& db, std::span<const SequencePlace> places);

// The places in flight and those that ended after `ended_since`, by rule, customer, occurrence.
Result<void> EachPlace(sqlite::Database& db, Instant ended_since,
                       const std::function<void(const SequencePlace&)>& fn);

// The purchases of the customers in a rule's sequence (Store::ForEachSequencePurchase).
Result<void> EachSequencePurchase(sqlite::Database& db, const std::string& rule,
                                  std::chrono::seconds window, const std::string& offer_code,
                                  const std::function<void(const SequencePurchase&)>& fn);

// The places in flight counted by (rule, next step) (Store::SequenceStepCounts).
Result<std::map<std::pair<std::string, std::string>, int64_t>> StepCounts(sqlite::Database& db);

// One customer's places, by rule and entry.
Result<std::vector<SequencePlace>> PlacesOf(sqlite::Database& db, int64_t customer_id);

}  // namespace followup::store
