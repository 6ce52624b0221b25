#include "store/feedback_apply.h"

#include <algorithm>

#include "base/ascii.h"

namespace followup::store {

std::string_view FeedbackActionName(FeedbackAction action) {
  switch (action) {
    case FeedbackAction::kHardBounce:
      return "hard_bounce";
    case FeedbackAction::kSoftBounce:
      return "soft_bounce";
    case FeedbackAction::kComplaint:
      return "complaint";
    case FeedbackAction::kUnsubscribe:
      return "unsubscribe";
  }
  return "hard_bounce";
}

std::string StatusList(std::span<const DeliveryStatus> statuses) {
  std::string out;
  for (auto status : statuses)
    out +=
        std::string(out.empty() ? "" : ", ") + "'" + std::string(DeliveryStatusName(status)) + "'";
  return out;
}

std::string RecentComplaintsSql(std::string_view status, std::string_view limit) {
  return "SELECT count(*), coalesce(sum(CASE WHEN status = 'complained' THEN 1 ELSE 0 END), 0) "
         "FROM (SELECT status FROM outbox WHERE " +
         std::string(status) +
         " IN ('sent', 'bounced', 'complained') ORDER BY sent_at DESC NULLS LAST, id DESC LIMIT " +
         std::string(limit) + ") AS latest";
}

namespace {

// "hard bounce (postmark): 5.1.1 550 user unknown": what the suppression list and the send log say.
std::string Why(std::string_view what, const FeedbackEvent& e) {
  std::string out = std::string(what) + " (" + e.source + ")";
  std::string words = e.status;
  if (!e.reason.empty() && e.reason.find(e.status) == std::string::npos)
    words += (words.empty() ? "" : " ") + e.reason;
  else if (!e.reason.empty())
    words = e.reason;
  if (!words.empty()) out += ": " + words;
  return out;
}

Result<std::optional<FeedbackSend>> Match(FeedbackSteps& steps, const FeedbackEvent& e) {
  Result<std::optional<FeedbackSend>> found = std::optional<FeedbackSend>();
  if (e.verp_outbox_id) found = steps.SendById(*e.verp_outbox_id);
  if (found && !*found && !e.message_id.empty()) found = steps.SendByMessageId(e.message_id, false);
  if (found && !*found && !e.provider_message_id.empty())
    found = steps.SendByMessageId(e.provider_message_id, true);
  // A send to someone else is not what the event is about.
  if (found && *found && !e.recipient.empty() && (*found)->email != e.recipient)
    *found = std::nullopt;
  return found;
}

}  // namespace

Result<std::vector<FeedbackResult>> ApplyFeedback(FeedbackSteps& steps,
                                                  std::span<const FeedbackEvent> events,
                                                  const FeedbackPolicy& policy, Instant now) {
  using enum DeliveryStatus;
  static constexpr DeliveryStatus kFromSent[] = {kSent};
  static constexpr DeliveryStatus kFromSentOrBounced[] = {kSent, kBounced};
  std::vector<FeedbackResult> results;
  results.reserve(events.size());
  for (const FeedbackEvent& e : events) {
    FeedbackResult& r = results.emplace_back();
    auto seen = steps.Seen(e.event_id);
    if (!seen) return tl::unexpected(seen.error());
    if (*seen) {
      r.outcome = FeedbackOutcome::kDuplicate;
      continue;
    }
    auto send = Match(steps, e);
    if (!send) return tl::unexpected(send.error());
    const std::string recipient =
        AsciiLower(e.recipient.empty() && *send ? (*send)->email : e.recipient);
    if ((!e.trusted && !*send) || recipient.empty()) {
      r.outcome = FeedbackOutcome::kUnmatched;
      continue;
    }
    std::optional<int64_t> outbox_id;
    int64_t customer_id = 0;
    if (*send) {
      outbox_id = (*send)->outbox_id;
      customer_id = (*send)->recipient_id;
      r.outbox_id = outbox_id;
      r.rule = (*send)->rule;
    }
    if (auto done = steps.Insert(e, recipient, outbox_id, now); !done)
      return tl::unexpected(done.error());
    const Instant at = std::min(e.occurred_at, now);
    auto suppress = [&](const std::string& reason) -> Result<void> {
      auto added = steps.Suppress(recipient, reason, now);
      if (!added) return tl::unexpected(added.error());
      r.suppressed = *added;
      return {};
    };
    Result<void> done;
    switch (e.action) {
      case FeedbackAction::kHardBounce: {
        const std::string why = Why("hard bounce", e);
        done = suppress(why);
        if (done && outbox_id) done = steps.MarkSend(*outbox_id, kFromSent, kBounced, why, now);
        break;
      }
      case FeedbackAction::kSoftBounce: {
        auto count =
            steps.SoftBounces(recipient, e.occurred_at - policy.soft_bounce_window, e.occurred_at);
        if (!count) return tl::unexpected(count.error());
        if (*count >= policy.soft_bounce_limit)
          done = suppress(std::to_string(*count) + " soft bounces in " +
                          std::to_string(policy.soft_bounce_window.count() / 86400) + " days, " +
                          Why("the last", e));
        break;
      }
      case FeedbackAction::kComplaint: {
        const std::string why = Why("complaint", e);
        done = suppress(why);
        if (done) done = steps.Unsubscribe(customer_id, recipient, at);
        if (done && outbox_id)
          done = steps.MarkSend(*outbox_id, kFromSentOrBounced, kComplained, why, now);
        break;
      }
      case FeedbackAction::kUnsubscribe:
        done = steps.Unsubscribe(customer_id, recipient, at);
        break;
    }
    if (!done) return tl::unexpected(done.error());
  }
  return results;
}

}  // namespace followup::store
