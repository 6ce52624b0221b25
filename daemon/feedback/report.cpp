#include "feedback/report.h"

#include <string>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "feedback/crypto.h"
#include "feedback/mime.h"
#include "feedback/verp.h"

namespace followup::feedback {
namespace {

using mime::Headers;
using mime::Part;

bool IsStatusPart(const Part& p) {
  return p.content_type.Is("message/delivery-status") ||
         p.content_type.Is("message/global-delivery-status");
}
bool IsFeedbackPart(const Part& p) { return p.content_type.Is("message/feedback-report"); }
bool IsOriginalPart(const Part& p) {
  const mime::ContentType& t = p.content_type;
  return t.Is("message/rfc822") || t.Is("message/global") || t.Is("text/rfc822-headers") ||
         t.Is("message/global-headers") || t.Is("message/rfc822-headers");
}

struct Found {
  const Part* report = nullptr;  // the delivery-status or feedback-report part
  const Part* parent = nullptr;  // the multipart that holds it
};

// The shallowest report part, so that a report quoted inside the returned message never wins over
// the report itself.
Found FindReportPart(const Part& root) {
  std::vector<std::pair<const Part*, const Part*>> level = {{&root, nullptr}};
  while (!level.empty()) {
    std::vector<std::pair<const Part*, const Part*>> next;
    for (auto [part, parent] : level) {
      if (IsStatusPart(*part) || IsFeedbackPart(*part)) return {part, parent};
      for (const Part& child : part->children) next.emplace_back(&child, part);
    }
    level = std::move(next);
  }
  return {};
}

// The headers of the reported (original) message beside the report part; nullptr when there is
// none. `storage` keeps headers read from a text/rfc822-headers body.
const Headers* OriginalHeaders(const Part* parent, Headers& storage, const mime::Limits& limits) {
  if (parent == nullptr) return nullptr;
  for (const Part& child : parent->children) {
    if (!IsOriginalPart(child)) continue;
    if (!child.children.empty()) return &child.children.front().headers;
    storage = mime::ParseHeaders(child.body, limits);
    return &storage;
  }
  return nullptr;
}

std::string FirstWordLower(std::string_view value) {
  auto words = AsciiWords(value);
  if (words.empty()) return "";
  std::string word = AsciiLower(words.front());
  while (!word.empty() && (word.back() == ';' || word.back() == ',')) word.pop_back();
  return word;
}

// "rfc822; a@b" -> "a@b" (normalised); "" when it is no address.
std::string TypedAddress(std::string_view value) {
  if (size_t semicolon = value.find(';'); semicolon != std::string_view::npos) {
    value.remove_prefix(semicolon + 1);
  }
  auto addresses = mime::Addresses(value, 1);
  return addresses.empty() ? "" : NormalizeAddress(addresses.front());
}

std::string FindVerpToken(const Headers& outer, const Headers* per_message, const Headers* original,
                          std::string_view prefix) {
  auto search = [&](const Headers& headers, std::string_view name) -> std::string {
    for (std::string_view value : headers.GetAll(name)) {
      std::string_view v = value;
      if (size_t semicolon = v.find(';'); semicolon != std::string_view::npos) {
        v.remove_prefix(semicolon + 1);  // "rfc822; ..."
      }
      for (const std::string& address : mime::Addresses(v, 10)) {
        if (auto token = VerpTokenOf(address, prefix)) return *token;
      }
    }
    return "";
  };
  for (std::string_view name :
       {"Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To"}) {
    if (std::string token = search(outer, name); !token.empty()) return token;
  }
  if (per_message != nullptr) {
    if (std::string token = search(*per_message, "X-Postfix-Sender"); !token.empty()) return token;
  }
  if (original != nullptr) {
    if (std::string token = search(*original, "Return-Path"); !token.empty()) return token;
  }
  return "";
}

// The first of `fields` in `headers` that reads as a date, else `fallback`.
Instant DateOr(const Headers* headers, std::initializer_list<std::string_view> fields,
               Instant fallback) {
  if (headers == nullptr) return fallback;
  for (std::string_view name : fields) {
    if (auto value = headers->Get(name)) {
      if (auto t = mime::ParseDate(*value)) return *t;
    }
  }
  return fallback;
}

Report Unrecognised(std::string note) {
  Report report;
  report.note = std::move(note);
  return report;
}

struct Context {
  const ReportOptions& options;
  const mime::Limits& limits;
  const Headers& outer;
  std::string id_base;  // the report's own Message-ID, or a digest of its bytes
};

Report ReadDeliveryStatus(const Context& c, const Found& found) {
  std::vector<Headers> groups =
      mime::ParseFieldGroups(found.report->body, c.limits, c.options.max_recipients + 1);
  auto is_recipient = [](const Headers& h) {
    return h.Get("Final-Recipient").has_value() || h.Get("Original-Recipient").has_value();
  };
  const Headers* per_message = nullptr;
  if (!groups.empty())
    per_message = &groups.front();  // may also be a recipient group (sloppy MTAs)
  Headers storage;
  const Headers* original = OriginalHeaders(found.parent, storage, c.limits);
  std::string message_id = original ? StripAngles(original->Get("Message-ID").value_or("")) : "";
  if (message_id.empty() && per_message != nullptr) {
    message_id = StripAngles(per_message->Get("X-Original-Message-ID").value_or(""));
  }
  std::string verp = FindVerpToken(c.outer, per_message, original, c.options.verp_prefix);
  Instant fallback =
      DateOr(per_message, {"Arrival-Date"}, DateOr(&c.outer, {"Date"}, c.options.received_at));

  Report report;
  report.kind = ReportKind::kDeliveryStatus;
  for (const Headers& group : groups) {
    if (!is_recipient(group) || report.events.size() >= c.options.max_recipients) continue;
    Event event;
    event.source = Source::kDsn;
    event.recipient = TypedAddress(group.Get("Final-Recipient").value_or(""));
    if (event.recipient.empty()) {
      event.recipient = TypedAddress(group.Get("Original-Recipient").value_or(""));
    }
    if (event.recipient.empty()) continue;
    std::string action = FirstWordLower(group.Get("Action").value_or(""));
    std::string_view diagnostic = group.Get("Diagnostic-Code").value_or("");
    event.status = FindStatusCode(group.Get("Status").value_or(""));
    if (event.status.empty()) event.status = FindStatusCode(diagnostic);
    char status_class = event.status.empty() ? '\0' : event.status.front();
    if (action == "failed") {
      event.type = status_class == '4' ? EventType::kSoftBounce : EventType::kHardBounce;
    } else if (action == "delayed") {
      event.type = EventType::kDelayed;
    } else if (action == "delivered" || action == "relayed" || action == "expanded") {
      event.type = EventType::kDelivered;
    } else if (status_class == '5') {  // no (or an unknown) Action: the status decides
      event.type = EventType::kHardBounce;
    } else if (status_class == '4') {
      event.type = EventType::kSoftBounce;
    } else {
      event.type = EventType::kOther;
    }
    event.message_id = message_id;
    event.verp_token = verp;
    event.occurred_at = DateOr(&group, {"Last-Attempt-Date"}, fallback);
    event.reason = CleanReason(diagnostic.empty() ? group.Get("Status").value_or("") : diagnostic);
    event.event_id = DigestEventId(Source::kDsn, {c.id_base, event.recipient, action});
    report.events.push_back(std::move(event));
  }
  if (report.events.empty())
    return Unrecognised("a delivery status report that names no recipient");
  return report;
}

Report ReadFeedbackReport(const Context& c, const Found& found) {
  Headers fields = mime::ParseHeaders(found.report->body, c.limits);
  Headers storage;
  const Headers* original = OriginalHeaders(found.parent, storage, c.limits);
  std::string feedback_type = FirstWordLower(fields.Get("Feedback-Type").value_or(""));
  EventType type = feedback_type == "abuse" || feedback_type == "fraud" || feedback_type == "virus"
                       ? EventType::kComplaint
                       : EventType::kOther;

  std::vector<std::string> recipients;
  for (std::string_view value : fields.GetAll("Original-Rcpt-To")) {
    if (std::string address = TypedAddress(value); !address.empty()) recipients.push_back(address);
    if (recipients.size() >= c.options.max_recipients) break;
  }
  if (recipients.empty() && original != nullptr) {
    for (std::string_view value : original->GetAll("To")) {
      for (const std::string& address : mime::Addresses(value, c.options.max_recipients)) {
        if (std::string a = NormalizeAddress(address); !a.empty()) recipients.push_back(a);
      }
    }
    if (recipients.size() > c.options.max_recipients) recipients.resize(c.options.max_recipients);
  }
  if (recipients.empty()) recipients.push_back("");  // redacted: found by message id or token

  std::string message_id = original ? StripAngles(original->Get("Message-ID").value_or("")) : "";
  std::string verp = FindVerpToken(c.outer, nullptr, original, c.options.verp_prefix);
  if (recipients.front().empty()) {
    // Only a complaint is kept without an address (feedback loops redact it; the message id or
    // the VERP token finds it): Event::recipient is empty for nothing else.
    if (type != EventType::kComplaint) {
      return Unrecognised("a feedback report that names no recipient and is no complaint");
    }
    if (message_id.empty() && verp.empty()) {
      return Unrecognised("a feedback report that names no recipient and no message");
    }
  }
  Instant at = DateOr(&fields, {"Arrival-Date", "Received-Date"},
                      DateOr(&c.outer, {"Date"}, c.options.received_at));
  std::string reason = "Feedback-Type: " + std::string(fields.Get("Feedback-Type").value_or(""));
  if (auto agent = fields.Get("User-Agent")) reason += "; User-Agent: " + std::string(*agent);
  if (auto mta = fields.Get("Reporting-MTA")) reason += "; Reporting-MTA: " + std::string(*mta);

  Report report;
  report.kind = ReportKind::kFeedbackReport;
  for (const std::string& recipient : recipients) {
    Event event;
    event.source = Source::kArf;
    event.type = type;
    event.recipient = recipient;
    event.message_id = message_id;
    event.verp_token = verp;
    event.occurred_at = at;
    event.reason = CleanReason(reason);
    event.event_id = DigestEventId(Source::kArf, {c.id_base, recipient});
    report.events.push_back(std::move(event));
  }
  return report;
}

// The first text/plain leaf of a tree (the part itself when it is one).
const Part* FirstText(const Part& part) {
  if (part.content_type.Is("text/plain") && part.children.empty()) return &part;
  if (part.content_type.type != "multipart") return nullptr;
  for (const Part& child : part.children) {
    if (const Part* text = FirstText(child)) return text;
  }
  return nullptr;
}

// Exim's plain-text bounce: X-Failed-Recipients names the addresses; the body says why, each
// address on a line of its own followed by indented lines, and then "------ This is a copy of the
// message, including all the headers. ------" (or "... of the message's headers. ------") and the
// returned message.
Report ReadEximText(const Context& c, const Part& root) {
  std::vector<std::string> failed;
  for (std::string_view value : c.outer.GetAll("X-Failed-Recipients")) {
    for (const std::string& address : mime::Addresses(value, c.options.max_recipients)) {
      std::string a = NormalizeAddress(address);
      if (!a.empty() && failed.size() < c.options.max_recipients) failed.push_back(a);
    }
  }
  if (failed.empty()) return Unrecognised("X-Failed-Recipients names no address");

  const Part* text = FirstText(root);
  std::string_view body = text ? text->body : std::string_view();
  std::string_view explanation = body;
  Headers original;
  constexpr std::string_view kCopy = "------ This is a copy of the message";
  if (size_t copy = body.find(kCopy); copy != std::string_view::npos) {
    explanation = body.substr(0, copy);
    std::string_view rest = body.substr(copy);
    size_t line_end = rest.find('\n');
    rest = line_end == std::string_view::npos ? std::string_view() : rest.substr(line_end + 1);
    while (rest.starts_with("\n") || rest.starts_with("\r\n")) {
      rest.remove_prefix(rest.front() == '\r' ? 2 : 1);
    }
    original = mime::ParseHeaders(rest, c.limits);
  }
  std::string message_id = StripAngles(original.Get("Message-ID").value_or(""));
  std::string verp = FindVerpToken(c.outer, nullptr, &original, c.options.verp_prefix);
  Instant at = DateOr(&c.outer, {"Date"}, c.options.received_at);

  // The lines of the explanation, to find each address's own paragraph.
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < explanation.size() && lines.size() < 10000;) {
    size_t end = explanation.find('\n', pos);
    std::string_view line =
        explanation.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = end == std::string_view::npos ? explanation.size() : end + 1;
  }
  auto paragraph_of = [&](const std::string& address) {
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string first = AsciiLower(lines[i]);
      size_t start = first.find_first_not_of(" \t");
      if (start == std::string::npos || first.compare(start, address.size(), address) != 0) {
        continue;
      }
      std::string out(lines[i]);
      for (size_t k = i + 1; k < lines.size() && !lines[k].empty() &&
                             (lines[k].front() == ' ' || lines[k].front() == '\t');
           ++k) {
        out += ' ';
        out += lines[k];
        if (out.size() > kMaxReasonBytes) break;
      }
      return out;
    }
    return std::string("listed in X-Failed-Recipients");
  };

  Report report;
  report.kind = ReportKind::kDeliveryStatus;
  for (const std::string& address : failed) {
    Event event;
    event.source = Source::kDsn;
    event.type = EventType::kHardBounce;
    event.recipient = address;
    event.message_id = message_id;
    event.verp_token = verp;
    event.occurred_at = at;
    event.reason = CleanReason(paragraph_of(address));
    event.status = FindStatusCode(event.reason);
    event.event_id = DigestEventId(Source::kDsn, {c.id_base, address, "failed"});
    report.events.push_back(std::move(event));
  }
  return report;
}

}  // namespace

Report ReadReport(std::string_view bytes, const ReportOptions& options) {
  try {
    if (bytes.size() > options.max_bytes) {
      return Unrecognised("larger than " + std::to_string(options.max_bytes) + " bytes");
    }
    mime::Limits limits;
    mime::Message message(bytes, limits);
    const Part& root = message.root();
    if (root.headers.fields.empty()) return Unrecognised("no header fields");
    std::string own_id = StripAngles(root.headers.Get("Message-ID").value_or(""));
    Context context{options, limits, root.headers,
                    own_id.empty() ? "sha256:" + HexEncode(Sha256(bytes)) : own_id};

    Found found = FindReportPart(root);
    if (found.report != nullptr && IsStatusPart(*found.report)) {
      return ReadDeliveryStatus(context, found);
    }
    if (found.report != nullptr) return ReadFeedbackReport(context, found);
    if (root.headers.Get("X-Failed-Recipients")) return ReadEximText(context, root);
    return Unrecognised(
        "neither a delivery status notification nor a feedback report (no message/delivery-status "
        "or message/feedback-report part, no X-Failed-Recipients)");
  } catch (const std::exception& e) {
    return Unrecognised(std::string("unreadable: ") + e.what());
  }
}

}  // namespace followup::feedback
