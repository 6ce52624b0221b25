// Journal entries through libsystemd's sd_journal_sendv(3), not a hand-written native protocol
// sender: it already serialises values with line breaks in them, and hands entries too large for
// one datagram over in a sealed memfd, as journald expects (see notify.cpp on the library).
#include "service/log.h"

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace followup::service {
namespace {

// Where sd_journal_sendv() sends entries (fixed in libsystemd).
constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

// The fields of this thread's live LogFields scopes, outermost first; a name may repeat.
thread_local std::vector<std::pair<std::string, std::string>> tls_fields;

// Journal field names: at most 64 characters of A-Z, 0-9 and '_', not starting with a digit or '_'
// (journald keeps leading '_' for the fields it adds itself and drops such fields from clients).
std::string JournalFieldName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
    if (out.empty() && (c == '_' || (c >= '0' && c <= '9'))) continue;
    out += c;
  }
  if (out.size() > 64) out.resize(64);
  return out;
}

// Fields the sink sets itself; a LogFields scope cannot replace them.
bool Reserved(std::string_view name) {
  return name == "MESSAGE" || name == "PRIORITY" || name == "SYSLOG_IDENTIFIER" ||
         name.starts_with("CODE_");
}

int SyslogPriority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return LOG_DEBUG;
    case spdlog::level::info:
      return LOG_INFO;
    case spdlog::level::warn:
      return LOG_WARNING;
    case spdlog::level::err:
      return LOG_ERR;
    case spdlog::level::critical:
      return LOG_CRIT;
    default:
      return LOG_INFO;
  }
}

// One journal entry per line; standard error ("<PRIORITY>text", the journal stream's level prefix)
// for a line that sd_journal_sendv() could not send.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    int priority = SyslogPriority(msg.level);
    std::string_view text(msg.payload.data(), msg.payload.size());

    std::vector<std::string> items;
    items.reserve(8);
    items.push_back("MESSAGE=" + std::string(text));
    items.push_back("PRIORITY=" + std::to_string(priority));
    items.push_back("SYSLOG_IDENTIFIER=" + std::string(kSyslogIdentifier));
    if (!msg.source.empty()) {
      items.push_back("CODE_FILE=" + std::string(msg.source.filename));
      items.push_back("CODE_LINE=" + std::to_string(msg.source.line));
      if (msg.source.funcname) items.push_back("CODE_FUNC=" + std::string(msg.source.funcname));
    }
    for (auto& [name, value] : CurrentLogFields()) items.push_back(name + "=" + value);

    std::vector<iovec> iov(items.size());
    for (size_t i = 0; i < items.size(); ++i) iov[i] = {items[i].data(), items[i].size()};
    // sd_journal_sendv() reports success, having sent nothing, when the socket does not exist (no
    // journald): look first, so that such a line goes to standard error instead.
    if (::access(kJournalSocket, F_OK) == 0 &&
        sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0)
      return;

    // Every line of the text gets the prefix: the stream makes one entry of each.
    std::string fallback;
    std::string prefix = "<" + std::to_string(priority) + ">";
    size_t start = 0;
    do {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      fallback += prefix;
      fallback.append(text.substr(start, end - start));
      fallback += '\n';
      start = end + 1;
    } while (start < text.size());
    std::fwrite(fallback.data(), 1, fallback.size(), stderr);
    std::fflush(stderr);
  }

  void flush_() override { std::fflush(stderr); }
};

}  // namespace

bool IsJournalStream(std::string_view journal_stream, int fd) {
  size_t colon = journal_stream.find(':');
  if (colon == std::string_view::npos) return false;
  auto parse = [](std::string_view text, unsigned long long& out) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return !text.empty() && ec == std::errc() && ptr == end;
  };
  unsigned long long dev = 0, ino = 0;
  if (!parse(journal_stream.substr(0, colon), dev) || !parse(journal_stream.substr(colon + 1), ino))
    return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  return stream != nullptr && IsJournalStream(stream, STDERR_FILENO);
}

namespace {

// The latest warnings and errors, for the console (RecentProblems).
std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> Problems() {
  static auto sink = [] {
    auto s = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(20);
    s->set_level(spdlog::level::warn);
    s->set_pattern("%Y-%m-%dT%H:%M:%S %l %v");
    return s;
  }();
  return sink;
}

}  // namespace

std::vector<std::string> RecentProblems() {
  std::vector<std::string> lines = Problems()->last_formatted();
  std::reverse(lines.begin(), lines.end());
  for (auto& line : lines)
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return lines;
}

void SetUpLogging() {
  std::shared_ptr<spdlog::logger> logger;
  if (StderrIsJournal()) {
    logger = std::make_shared<spdlog::logger>(std::string(kSyslogIdentifier),
                                              std::make_shared<JournalSink>());
  } else {
    logger = std::make_shared<spdlog::logger>(std::string(kSyslogIdentifier),
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  }
  logger->sinks().push_back(Problems());
  spdlog::set_default_logger(logger);
  spdlog::cfg::load_env_levels();
}

LogFields::LogFields(std::initializer_list<LogField> fields) {
  for (const auto& field : fields) {
    std::string name = JournalFieldName(field.name);
    if (name.empty() || Reserved(name)) continue;
    tls_fields.emplace_back(std::move(name), field.value);
    ++count_;
  }
}

LogFields::~LogFields() { tls_fields.resize(tls_fields.size() - count_); }

std::vector<std::pair<std::string, std::string>> CurrentLogFields() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : tls_fields) {
    bool seen = false;
    for (auto& field : out) {
      if (field.first == name) {
        field.second = value;  // an inner scope's value replaces the outer one
        seen = true;
      }
    }
    if (!seen) out.emplace_back(name, value);
  }
  return out;
}

std::string MaskEmail(std::string_view email) {
  if (email.empty()) return "";
  size_t at = email.rfind('@');
  if (at == std::string_view::npos) return "***";
  std::string out;
  if (at > 0) {
    // The whole first character, when it is a multi-byte UTF-8 sequence.
    size_t first = 1;
    while (first < at && (static_cast<unsigned char>(email[first]) & 0xC0) == 0x80) ++first;
    out.append(email.substr(0, first));
  }
  out += "***";
  out.append(email.substr(at));
  return out;
}

}  // namespace followup::service
