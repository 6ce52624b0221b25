// The bounce folder (config delivery.bounces; docs/feedback.md, "The bounce folder"): the maildir
// the mail server delivers the VERP return address to, holding delivery status notifications and
// feedback-loop reports. Each file in new/ is read (feedback::ReadReport), its events recorded and
// applied (Store::RecordFeedback: each event id once), and only then moved: to cur/ when one of
// its events matched a send followupd made (or was recorded before), else to unmatched/
// (unrecognised, or about no send of ours). A crash between recording and moving reads the file
// again, which its event ids make harmless. Nothing is ever deleted.
//
// Thread safety: uses the caller's store connection, on the caller's thread.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "app/settings.h"
#include "base/error.h"
#include "base/time.h"
#include "feedback/event.h"
#include "store/store.h"

namespace followup::app {

// What one look at the folder did.
struct BounceFolderPass {
  int files = 0;       // taken from new/
  int applied = 0;     // events recorded and acted on
  int duplicates = 0;  // events recorded before (a file read again after a crash, a re-delivery)
  int unmatched = 0;   // files moved to unmatched/
};

// What recording one report's or one request's events came to.
struct RecordedEvents {
  int applied = 0;     // recorded and acted on
  int duplicates = 0;  // recorded before
  int unmatched = 0;   // about no send of ours (a mail report): nothing recorded
  int counted = 0;     // kinds that change nothing (delivered, delayed, ...): not recorded
  // An event matched a send of ours, or had been recorded before.
  bool matched() const { return applied + duplicates > 0; }
};

// Records and applies the events that change anything (hard and soft bounces, complaints,
// unsubscribes), in one transaction (Store::RecordFeedback); `trusted`: their recipients are
// authenticated (a signed webhook), not only named by a mail; a VERP token counts once its MAC
// checks out under `verp_key` ("" = no tokens read). kRuntime when the store fails: nothing is
// recorded.
Result<RecordedEvents> RecordEvents(store::Store& store, std::span<const feedback::Event> events,
                                    bool trusted, std::string_view verp_key,
                                    const store::FeedbackPolicy& policy, Instant now);

// Reads every file in `feedback.bounces`/new (creating new/, cur/ and unmatched/ when missing), as
// above; `verp_key` checks the VERP tokens (LoadVerpKey). kRuntime when the folder or the store
// fails: the files not yet handled stay in new/ for the next look.
Result<BounceFolderPass> ReadBounceFolder(store::Store& store, const FeedbackSettings& feedback,
                                          std::string_view verp_key, Instant now);

}  // namespace followup::app
