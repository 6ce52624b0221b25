// The SQLite backend's feedback events (table feedback_events, migration 5): Store::RecordFeedback
// in one transaction of its own, and Store::CountFeedback. Internal to the store part.
#pragma once

#include <span>
#include <vector>

#include "store/sqlite.h"
#include "store/store.h"

namespace followup::store {

Result<std::vector<FeedbackResult>> RecordFeedbackIn(sqlite::Database& db,
                                                     std::span<const FeedbackEvent> events,
                                                     const FeedbackPolicy& policy, Instant now);

// Store::CountFeedback.
Result<FeedbackCounts> CountFeedbackIn(sqlite::Database& db, int64_t last_sends);

}  // namespace followup::store
