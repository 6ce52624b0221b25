// Internet message format: a Message as RFC 5322 / MIME bytes, and the small encoders behind it.
//
// Everything that comes from data (names, subject, addresses, URLs, ids) is sanitised before it
// reaches a header: CR, LF and every other control character become a space (or are dropped where a
// space is not allowed), so no value can start a header of its own. Bodies are quoted-printable, so
// the bytes on the wire are 7-bit, lines are at most 76 characters and the random MIME boundary
// (which contains "=_") cannot occur in them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/time.h"
#include "delivery/message.h"

namespace followup::delivery {

// The whole message, headers and body, with CRLF line ends:
//   Date, From, To, [Reply-To], Message-ID, Subject, MIME-Version,
//   [List-Unsubscribe + List-Unsubscribe-Post (RFC 8058 one-click), when unsubscribe_url is set],
//   Content-Type multipart/alternative (text/plain + text/html, both UTF-8 quoted-printable), or
//   a single text/plain part when html is empty.
// Non-ASCII display names and subjects are RFC 2047 encoded words (UTF-8, B or Q, whichever is
// shorter); header lines are folded to at most 76 characters where the value allows it. An empty
// message_id is replaced by NewMessageId(the From domain). Invalid UTF-8 becomes U+FFFD.
std::string BuildMime(const Message& message);

// The message as a person reads it (`followupd preview` without --raw): Date, From, To,
// [Reply-To], Subject and [List-Unsubscribe], sanitised as in BuildMime but not encoded (names and
// subject in UTF-8), a blank line, then the text part as written, not quoted-printable; LF line
// ends. An address that is empty is shown as "(no email address)"; a last line says when an HTML
// part goes with the text.
std::string ReadableMessage(const Message& message);

// "<RANDOM@domain>": 128 random bits plus a per-process counter, so unique across processes and
// calls. The domain is sanitised to [A-Za-z0-9.-]; empty becomes "localhost".
std::string NewMessageId(std::string_view domain);

// True when `email` is an addr-spec this daemon will send to or from: ASCII dot-atom local part
// (no quoted local parts), "@", a domain of letters, digits, hyphens and dots (or an address
// literal in brackets); at most 254 characters. Nothing that could break a header or an SMTP
// command passes.
bool IsValidEmail(std::string_view email);

// `email` as it goes on the wire: an internationalized domain ("user@exämple.com") in its ASCII
// form, IDNA 2008 by libidn2 ("user@xn--exmple-cua.com"); an ASCII address as it is. nullopt when
// the domain cannot be converted, or the local part is not ASCII (followupd does not speak
// SMTPUTF8): an address followupd cannot write to, which says nothing of the recipient's mailbox.
std::optional<std::string> WireEmail(std::string_view email);

// Parses "Name <email>", "\"Quoted, Name\" <email>", "<email>" or a bare "email" (as written in the
// config: delivery.from / delivery.reply_to). kInvalidInput naming the problem otherwise.
Result<Address> ParseAddress(std::string_view text);

// ---- The pieces, exposed for tests and for transports that build their own requests. ----

// The date as RFC 5322 writes it: "Thu, 13 Feb 2025 10:00:00 +0000".
std::string FormatRfc5322Date(Instant t);

// `text` made safe for a header value: invalid UTF-8 replaced by U+FFFD, CR/LF/TAB and every
// other control character (C0, DEL) replaced by a space, leading and trailing spaces trimmed.
std::string SanitizeHeaderText(std::string_view text);

// One header value as RFC 2047 encoded words ("=?UTF-8?B?...?=" or "=?UTF-8?Q?...?="), each at
// most 66 characters, never splitting a UTF-8 character, separated by a single space (fold points).
// The Q form only leaves letters, digits and !*+-/ unencoded, so it is valid in a phrase too.
std::string EncodeWords(std::string_view utf8);

// "Name <email>" for a header: the display name as atoms, a quoted-string, or encoded words, as
// needed; just "email" when the name is empty. Unfolded (single spaces are the fold points).
std::string FormatAddress(const Address& address);
// The same without RFC 2047 (the name stays UTF-8, quoted when needed): for JSON mail APIs.
std::string FormatAddressUtf8(const Address& address);

// A URL for a header such as List-Unsubscribe: control characters dropped; space, non-ASCII bytes
// and <>" percent-encoded.
std::string SanitizeHeaderUrl(std::string_view url);

// Quoted-printable (RFC 2045) with CRLF hard line breaks: every input line end (CRLF, LF or a
// lone CR) becomes CRLF; lines are at most 76 characters including a soft break's "=". A "." or
// "From " at the start of a line is encoded too, so the body survives dot-stuffing and mbox.
std::string EncodeQuotedPrintable(std::string_view text);

// `header: value` folded at spaces in `value` so that lines stay within 76 characters where
// possible (a single longer word stays whole), with CRLF at the end of every line.
std::string FoldHeader(std::string_view name, std::string_view value);

}  // namespace followup::delivery
