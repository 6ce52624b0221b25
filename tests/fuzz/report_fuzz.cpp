// Fuzzes the bounce and feedback-loop messages read from a maildir (feedback/report.h): any
// message, read as a DSN, an ARF report or neither.
#include <cstdint>
#include <string_view>

#include "base/time.h"
#include "feedback/report.h"
#include "feedback_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  static const feedback::ReportOptions options = [] {
    feedback::ReportOptions o;
    o.received_at = *ParseInstant("2026-06-30T12:00:00Z", nullptr);
    o.max_bytes = 1 << 16;  // small limits, so that inputs can reach them
    o.max_recipients = 20;
    return o;
  }();
  std::string_view message(reinterpret_cast<const char*>(data), size);
  feedback::Report report = feedback::ReadReport(message, options);
  if (report.kind == feedback::ReportKind::kUnrecognised) {
    fuzz::Check(report.events.empty(), "an unrecognised report has events");
    return 0;
  }
  fuzz::Check(!report.events.empty(), "a recognised report has no event");
  fuzz::Check(report.events.size() <= options.max_recipients, "more events than recipients read");
  for (const auto& e : report.events) {
    fuzz::CheckEvent(e);
    const bool arf = report.kind == feedback::ReportKind::kFeedbackReport;
    fuzz::Check(arf == (e.source == feedback::Source::kArf), "an event of the wrong source");
  }
  return 0;
}
