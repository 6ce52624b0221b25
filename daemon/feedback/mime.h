// A small, bounded MIME reader for exactly what bounce and feedback-loop reports need: header
// fields with folding, Content-Type and its parameters, multipart bodies split at their
// boundaries, encapsulated messages (message/rfc822 and friends), quoted-printable and base64
// bodies, address lists and RFC 5322 dates. Internal to the feedback part (report.h is the
// interface); pure and thread-safe.
//
// Hostile input is expected: every size, count and depth below is capped, nothing throws, and
// a malformed piece is read as far as it makes sense (a header line that is no field is skipped,
// a multipart without its closing delimiter ends at the end of the text, a part over the limits is
// left out) rather than failing the whole message.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"

namespace followup::feedback::mime {

struct Limits {
  size_t max_fields = 1000;             // header fields in one header block (more are ignored)
  size_t max_field_bytes = 16 * 1024;   // one unfolded field value (longer is cut)
  size_t max_parts = 200;               // entities in the whole tree
  int max_depth = 6;                    // nesting of multiparts and encapsulated messages
  size_t max_decoded_bytes = 16 << 20;  // bodies decoded from base64 / quoted-printable in all
};

struct Field {
  std::string name;   // as written
  std::string value;  // unfolded (line breaks removed, the folding white space kept), trimmed
};

struct Headers {
  std::vector<Field> fields;

  // The value of the first field called `name` (ASCII case-insensitive), if any.
  std::optional<std::string_view> Get(std::string_view name) const;
  // The values of every field called `name`, in order.
  std::vector<std::string_view> GetAll(std::string_view name) const;
};

// Reads a header block: fields up to the first empty line (LF or CRLF line ends). A "From " line
// (mbox) at the very start and lines that are neither a field nor a continuation are skipped.
// Returns the fields and sets *body (when given) to what follows the empty line (empty when there
// is none).
Headers ParseHeaders(std::string_view text, const Limits& limits, std::string_view* body = nullptr);

// Groups of fields separated by empty lines, as message/delivery-status bodies hold them (RFC 3464
// section 2.1): at most `max_groups`, empty groups skipped.
std::vector<Headers> ParseFieldGroups(std::string_view text, const Limits& limits,
                                      size_t max_groups);

struct ContentType {
  std::string type = "text";                  // lower-cased
  std::string subtype = "plain";              // lower-cased
  std::map<std::string, std::string> params;  // names lower-cased; values unquoted, as written

  bool Is(std::string_view type_slash_subtype) const;  // "multipart/report" (lower-case)
  std::string Param(std::string_view name) const;      // "" when absent
};

// A Content-Type value; text/plain (RFC 2045's default) when it is missing or unreadable.
ContentType ParseContentType(std::string_view value);

struct Part {
  Headers headers;
  ContentType content_type;
  // The body with its transfer encoding undone (quoted-printable, base64); a view into the input
  // or into the Message that owns the part.
  std::string_view body;
  // A multipart's parts; for message/rfc822 and message/global, one child: the encapsulated
  // message.
  std::vector<Part> children;
};

// A whole message read into a tree of parts. Owns the decoded bodies; the parts view into them and
// into the input, which must outlive the Message.
class Message {
 public:
  Message(std::string_view bytes, const Limits& limits);
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  const Part& root() const { return root_; }

 private:
  void Parse(Part& part, std::string_view text, int depth);
  std::string_view Decode(std::string_view body, std::string_view transfer_encoding);

  Limits limits_;
  size_t parts_ = 0;
  size_t decoded_bytes_ = 0;
  std::deque<std::string> decoded_;  // bodies decoded from base64 / quoted-printable
  Part root_;
};

// Quoted-printable (RFC 2045): =XX bytes, soft line breaks; a broken escape is kept as written.
std::string DecodeQuotedPrintable(std::string_view text);

// The addr-specs of an address list ("Name <a@b>, c@d (comment), group: e@f;"): the part inside
// <...> when there is one, else the word with comments and quotes removed; only those with an '@';
// at most `max` of them.
std::vector<std::string> Addresses(std::string_view value, size_t max = 100);

// An RFC 5322 date ("Thu, 13 Feb 2025 10:00:05 +0000 (UTC)"), with the obsolete forms too: no day
// of the week, two-digit years, zone names (UT, GMT, EST ... PDT; military letters as +0000),
// seconds left out. nullopt when it is none of these.
std::optional<Instant> ParseDate(std::string_view text);

}  // namespace followup::feedback::mime
