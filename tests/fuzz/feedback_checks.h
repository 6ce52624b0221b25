// What the feedback fuzz targets check of every event a parser hands out (feedback/event.h).
#pragma once

#include <string>

#include "feedback/event.h"
#include "fuzz_util.h"

namespace followup::fuzz {

inline void CheckEvent(const feedback::Event& e) {
  const std::string source = std::string(feedback::SourceName(e.source)) + ":";
  Check(e.event_id.starts_with(source), "an event id does not name its source", e.event_id);
  Check(e.event_id.size() <= feedback::kMaxEventIdBytes, "an event id is too long", e.event_id);
  Check(e.reason.size() <= feedback::kMaxReasonBytes, "a reason is too long", e.reason);
  Check(feedback::CleanReason(e.reason) == e.reason, "a reason is not clean", e.reason);
  Check(feedback::NormalizeAddress(e.recipient) == e.recipient, "a recipient is not normal",
        e.recipient);
  Check(!e.recipient.empty() || e.type == feedback::EventType::kComplaint,
        "an event other than a complaint names nobody", e.event_id);
  Check(e.status.empty() || feedback::FindStatusCode(e.status) == e.status,
        "a status is no RFC 3463 code", e.status);
}

}  // namespace followup::fuzz
