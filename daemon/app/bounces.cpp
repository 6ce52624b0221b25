#include "app/bounces.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <vector>

#include "base/files.h"
#include "feedback/report.h"
#include "feedback/verp.h"

namespace followup::app {
namespace {

namespace fs = std::filesystem;

std::optional<store::FeedbackAction> ActionOf(feedback::EventType type) {
  switch (type) {
    case feedback::EventType::kHardBounce:
      return store::FeedbackAction::kHardBounce;
    case feedback::EventType::kSoftBounce:
      return store::FeedbackAction::kSoftBounce;
    case feedback::EventType::kComplaint:
      return store::FeedbackAction::kComplaint;
    case feedback::EventType::kUnsubscribe:
      return store::FeedbackAction::kUnsubscribe;
    default:
      return std::nullopt;
  }
}

// Moves `file` into `folder`, keeping its name (in cur/ with the maildir's ":2," info, as a mail
// reader expects it there). kRuntime when it cannot.
Result<void> MoveInto(const fs::path& file, const fs::path& folder, bool as_read) {
  std::string name = file.filename().string();
  if (as_read && name.find(":2,") == std::string::npos) name += ":2,";
  std::error_code ec;
  fs::rename(file, folder / name, ec);
  if (ec)
    return RuntimeFailure("bounces: moving " + file.string() + " to " + folder.string() + ": " +
                          ec.message());
  return {};
}

// The event as the store records it, when it is one that changes anything; nullopt for the
// kinds that are only counted.
std::optional<store::FeedbackEvent> StoreEvent(const feedback::Event& event, bool trusted,
                                               std::optional<int64_t> verp_outbox_id) {
  auto action = ActionOf(event.type);
  if (!action) return std::nullopt;
  store::FeedbackEvent out;
  out.event_id = event.event_id;
  out.source = std::string(feedback::SourceName(event.source));
  out.action = *action;
  out.recipient = event.recipient;
  out.trusted = trusted;
  out.verp_outbox_id = verp_outbox_id;
  out.message_id = event.message_id;
  out.provider_message_id = event.provider_message_id;
  out.status = event.status;
  out.reason = event.reason;
  out.occurred_at = event.occurred_at;
  return out;
}

}  // namespace

Result<RecordedEvents> RecordEvents(store::Store& store, std::span<const feedback::Event> events,
                                    bool trusted, std::string_view verp_key,
                                    const store::FeedbackPolicy& policy, Instant now) {
  RecordedEvents recorded;
  std::vector<store::FeedbackEvent> stored;
  for (const auto& event : events) {
    std::optional<int64_t> verp_id;
    if (!verp_key.empty() && !event.verp_token.empty())
      if (auto id = feedback::ReadVerpToken(verp_key, event.verp_token)) verp_id = *id;
    if (auto e = StoreEvent(event, trusted, verp_id))
      stored.push_back(std::move(*e));
    else
      ++recorded.counted;
  }
  if (stored.empty()) return recorded;
  auto results = store.RecordFeedback(stored, policy, now);
  if (!results) return tl::unexpected(results.error());
  for (const auto& r : *results) {
    if (r.outcome == store::FeedbackOutcome::kApplied) ++recorded.applied;
    if (r.outcome == store::FeedbackOutcome::kDuplicate) ++recorded.duplicates;
    if (r.outcome == store::FeedbackOutcome::kUnmatched) ++recorded.unmatched;
  }
  return recorded;
}

Result<BounceFolderPass> ReadBounceFolder(store::Store& store, const FeedbackSettings& feedback,
                                          std::string_view verp_key, Instant now) {
  const fs::path root = feedback.bounces;
  const fs::path incoming = root / "new", read = root / "cur", unmatched = root / "unmatched";
  for (const auto& dir : {root / "tmp", incoming, read, unmatched})
    if (auto made = MakePrivateDirectories(dir); !made) return tl::unexpected(made.error());

  // In name order: a maildir name begins with its delivery time, so older reports go first.
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(incoming, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().filename().string()[0] != '.')
      files.push_back(it->path());
  if (ec) return RuntimeFailure("bounces: reading " + incoming.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());

  BounceFolderPass pass;
  feedback::ReportOptions options;
  options.verp_prefix = feedback.verp_prefix;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) continue;  // gone meanwhile (another reader moved it): not ours to handle
    std::string text(std::istreambuf_iterator<char>(in), {});
    in.close();
    options.received_at = now;
    const feedback::Report report = feedback::ReadReport(text, options);

    auto recorded =
        RecordEvents(store, report.events, /*trusted=*/false, verp_key, feedback.policy, now);
    if (!recorded) return tl::unexpected(recorded.error());  // the file stays in new/
    pass.applied += recorded->applied;
    pass.duplicates += recorded->duplicates;
    const bool matched = recorded->matched();
    // A report whose events are all kinds that change nothing (a delay, a success notice) was
    // still read: it goes to cur/. Unrecognised or about no send of ours: unmatched/.
    const bool informational = report.kind != feedback::ReportKind::kUnrecognised &&
                               recorded->counted == static_cast<int>(report.events.size());
    const bool keep_as_read = matched || informational;
    if (!keep_as_read) ++pass.unmatched;
    if (auto moved = MoveInto(file, keep_as_read ? read : unmatched, keep_as_read); !moved)
      return tl::unexpected(moved.error());
    ++pass.files;
  }
  return pass;
}

}  // namespace followup::app
