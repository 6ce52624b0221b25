// The operator's controls in the console (docs/console.md, "Actions"): POST forms to
// /console/action, each confirmed on a page of its own before anything changes, each carrying a
// CSRF token. Pure: the daemon's desk reads the form, asks here what it means, does it with the
// store and logs it.
//
//   action=hold|release|cancel|requeue  the sends the send log's filters select (rule, status,
//                                       customer, from, to: at least one of rule, status,
//                                       customer), as followupd queue does; reason= for cancel
//   action=pause [reason=]              delivery paused until resumed, as followupd queue pause
//   action=resume
//   action=unsubscribe customer=ID      as followupd unsubscribe
//   action=suppress email=ADDRESS [reason=]   as followupd suppress add
//   confirm=yes                         the second step: do it (without it: the confirmation page)
//   csrf=TOKEN                          CsrfToken's value from a console page
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/time.h"
#include "console/console.h"
#include "store/store.h"

namespace followup::console {

// A form's token: "ISSUED.MAC" with MAC the hex HMAC-SHA256 of "followup-console-csrf:ISSUED"
// under `key`; valid for 24 hours from ISSUED (Unix seconds). A page from another site cannot
// read it (the console's CSP and the browser's same-origin rule), so it cannot post a form that
// passes.
std::string CsrfToken(std::string_view key, Instant now);
bool CsrfValid(std::string_view key, std::string_view token, Instant now);

enum class ActionKind { kQueue, kPause, kResume, kUnsubscribe, kSuppress };

struct Action {
  ActionKind kind = ActionKind::kQueue;
  std::string name;                                      // the form's action= value
  store::QueueAction queue = store::QueueAction::kHold;  // for kQueue
  LogQuery selection;                                    // for kQueue
  std::string customer;                                  // for kUnsubscribe
  std::string email;                                     // for kSuppress (lower-cased)
  std::string reason;  // for cancel, pause, suppress; "" = the default words
  bool confirmed = false;
};

// The action a form's fields ask for. kInvalidInput naming the field: an unknown action, a queue
// action that selects nothing (no rule, status or customer), a bad date or status, no customer or
// no email address where one is needed.
Result<Action> ReadAction(const std::map<std::string, std::string>& form);

// The store's filter for a queue action's sends (no page limit).
store::LogFilter QueueFilterFor(const Action& action, const date::time_zone* zone);

// What the action will do, in words ("hold the sends of rule winback with status queued").
std::string Describe(const Action& action);

// The confirmation page: what will happen (with `matching`, the sends it selects now, for a queue
// action; -1 when unknown), and a form that posts the same fields with confirm=yes and `csrf`.
Page RenderConfirm(const Action& action, int64_t matching, std::string_view csrf);
// The page after: `done` ("held 12 sends"), and links back.
Page RenderDone(const Action& action, std::string_view done);

}  // namespace followup::console
