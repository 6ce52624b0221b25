// Where followupd's log lines go, the structured fields they carry, and masking personal data.
//
// SetUpLogging() makes spdlog's default logger write either
//   - to the journal, natively (sd_journal_sendv(3)), when $JOURNAL_STREAM says that standard error
//     is a journal stream (systemd sets it for a service whose StandardError= is the journal, the
//     default). Each line is one journal entry with MESSAGE=, PRIORITY= (the syslog number of the
//     spdlog level), SYSLOG_IDENTIFIER=followupd and the fields of the LogFields scopes alive on
//     the logging thread, so that `journalctl -u followupd RULE=lapsed-winback` finds one rule's
//     lines. A line the journal does not take (its socket is missing, say) goes to standard
//     error instead, as "<PRIORITY>message", which the journal stream understands: no line is
//     lost.
//   - else to standard error, as "2024-05-01T12:00:00.123 info message". The fields are not
//     repeated there: the message text says what it needs to.
// $SPDLOG_LEVEL sets the level (info by default; `SPDLOG_LEVEL=debug` shows every decision).
//
// Thread safety: log from any thread. LogFields are per thread: a scope's fields go only on the
// lines its own thread logs.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace followup::service {

// The identifier journal entries carry (SYSLOG_IDENTIFIER=), whichever program logs.
inline constexpr std::string_view kSyslogIdentifier = "followupd";

// Sets spdlog's default logger as described above. Call once, early, from the main thread.
void SetUpLogging();

// The latest warnings and errors the default logger took (at most 20), newest first, each
// "YYYY-MM-DDTHH:MM:SS LEVEL MESSAGE" (the machine's clock): for the console's overview.
std::vector<std::string> RecentProblems();

// True when $JOURNAL_STREAM is "DEVICE:INODE" (decimal) and names the file that standard error is
// open on (fstat(2): st_dev and st_ino), as sd_journal_stream_fd(3) and systemd.exec(5) say to
// check. False when it is unset, unparsable, or names another file (standard error was redirected
// after systemd started the process, or the variable was inherited from a parent service).
bool StderrIsJournal();
// The same check for any `journal_stream` value and open file descriptor.
bool IsJournalStream(std::string_view journal_stream, int fd);

// One structured field: `name` as the journal wants it, upper case letters, digits and '_'
// ("RULE", "CUSTOMER", "EMAIL_MESSAGE_ID"); other characters are turned into '_', lower case
// letters into upper case. Names that the log sink sets itself (MESSAGE, PRIORITY,
// SYSLOG_IDENTIFIER, CODE_*) are ignored.
struct LogField {
  std::string_view name;
  std::string value;
};

// Adds fields to every line this thread logs while the object lives:
//
//   LogFields fields{{"RULE", rule.name}, {"CUSTOMER", customer.external_id}};
//   spdlog::info("decided: send {}", template_name);   // carries RULE= and CUSTOMER=
//
// Scopes nest: an inner scope adds its fields to the outer ones, and where both name the same
// field the inner value wins until the inner scope ends. Create them on the stack only (they must
// end in the reverse order of their creation, on the thread that created them).
class LogFields {
 public:
  explicit LogFields(std::initializer_list<LogField> fields);
  ~LogFields();
  LogFields(const LogFields&) = delete;
  LogFields& operator=(const LogFields&) = delete;

 private:
  size_t count_ = 0;
};

// The fields in force on the calling thread, one per name (the innermost value), in the order
// they were first set.
std::vector<std::pair<std::string, std::string>> CurrentLogFields();

// An email address fit for an info-level log line: the first character of the local part, "***",
// then the domain. "ann.lee@example.com" -> "a***@example.com"; no '@' -> "***"; "" -> "".
std::string MaskEmail(std::string_view email);

}  // namespace followup::service
