// What Store::RecordFeedback does, once for both backends: the rules of docs/feedback.md ("What
// the daemon does") over a few steps each backend implements inside its own transaction. Internal
// to the store part.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace followup::store {

// A send a feedback event may be about.
struct FeedbackSend {
  int64_t outbox_id = 0;
  int64_t recipient_id = 0;
  std::string email;  // the recipient's address, lower-cased ("" when they have none)
  std::string rule;
};

// The steps, each inside the transaction the backend holds around ApplyFeedback.
class FeedbackSteps {
 public:
  virtual ~FeedbackSteps() = default;
  // The event id is recorded already.
  virtual Result<bool> Seen(std::string_view event_id) = 0;
  // The send (kind send) with that outbox id.
  virtual Result<std::optional<FeedbackSend>> SendById(int64_t outbox_id) = 0;
  // A send whose message_id is `id` (with or without <>), or with `provider` its
  // provider_message_id; the latest one when several.
  virtual Result<std::optional<FeedbackSend>> SendByMessageId(std::string_view id,
                                                              bool provider) = 0;
  // Records the event (table feedback_events) for `recipient` and the matched send.
  virtual Result<void> Insert(const FeedbackEvent& event, std::string_view recipient,
                              std::optional<int64_t> outbox_id, Instant received_at) = 0;
  // Soft bounces recorded for `recipient` that occurred in (from, to].
  virtual Result<int64_t> SoftBounces(std::string_view recipient, Instant from, Instant to) = 0;
  // Adds a suppression unless there is one: true when added.
  virtual Result<bool> Suppress(std::string_view email, std::string_view reason, Instant at) = 0;
  // Unsubscribes the customer with that id, or (id 0) every customer with that address, at `at`
  // (an earlier unsubscribe is kept).
  virtual Result<void> Unsubscribe(int64_t customer_id, std::string_view email, Instant at) = 0;
  // Sets the send's status to `to` and its last_reply to `reply`, if its status is one of `from`.
  virtual Result<void> MarkSend(int64_t outbox_id, std::span<const DeliveryStatus> from,
                                DeliveryStatus to, std::string_view reply, Instant now) = 0;
};

Result<std::vector<FeedbackResult>> ApplyFeedback(FeedbackSteps& steps,
                                                  std::span<const FeedbackEvent> events,
                                                  const FeedbackPolicy& policy, Instant now);

// Store::CountFeedback's three queries, the same SQL on both backends: the events by (source,
// type); the sends with a hard bounce or complaint by (rule, status name); and over the latest
// `limit` sent, bounced or complained sends (`limit` the SQL text of the parameter, "?1" or
// "$1"), how many there are and how many complained. `status` is how the outbox's status column
// is named in that query: SQLite needs "+status", so that it reads the sends by the sent-time
// index (outbox_by_sent) rather than sorting every sent send found by outbox_due.
inline constexpr std::string_view kFeedbackEventCountsSql =
    "SELECT source, type, count(*) FROM feedback_events GROUP BY source, type";
inline constexpr std::string_view kFeedbackRuleSendsSql =
    "SELECT o.rule, CASE e.type WHEN 'hard_bounce' THEN 'bounced' ELSE 'complained' END, "
    "count(DISTINCT e.outbox_id) FROM feedback_events e JOIN outbox o ON o.id = e.outbox_id "
    "WHERE e.type IN ('hard_bounce', 'complaint') GROUP BY 1, 2";
std::string RecentComplaintsSql(std::string_view status, std::string_view limit);

// The SQL text of `statuses` as a list of quoted names: 'sent', 'bounced'.
std::string StatusList(std::span<const DeliveryStatus> statuses);

}  // namespace followup::store
