// One-click unsubscribe links (RFC 8058), signed so that nobody can unsubscribe someone else:
//
//   BASE_URL?c=CUSTOMER&t=TOKEN
//
// CUSTOMER is the customer's external id, percent-encoded (everything but A-Z a-z 0-9 - . _ ~).
// TOKEN is base64url without padding (44 characters) of a version byte (1) followed by
// HMAC-SHA256(key, version byte + customer external id). The link is the same for every rule and
// every message to that customer: unsubscribing is from all of them. Links never expire; changing
// the key file invalidates all links sent so far.
//
// The key is secret bytes from a key file (LoadOrCreateKey); the functions that take it borrow it
// for the call. Everything but LoadOrCreateKey is pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.h"

namespace followup::delivery {

inline constexpr size_t kUnsubscribeKeyMinBytes = 32;
// Queries longer than this are refused unread by VerifyUnsubscribe.
inline constexpr size_t kMaxUnsubscribeQueryBytes = 8192;

// The token for one customer: base64url (no padding) of version byte + HMAC-SHA256.
std::string UnsubscribeToken(std::string_view key, std::string_view customer_external_id);

// BASE_URL?c=CUSTOMER&t=TOKEN (with '&' instead of '?' when base_url already has a query).
std::string UnsubscribeUrl(std::string_view base_url, std::string_view key,
                           std::string_view customer_external_id);

// Checks a link that came back and returns the customer's external id. Takes the whole URL, the
// request target ("/unsubscribe?c=...&t=..."), or only the query ("c=...&t=...", with or without
// the '?'); other parameters (utm_* ...) are ignored, '+' reads as a space. kInvalidInput, with the
// reason, for a missing, repeated or badly encoded c or t, a token of the wrong length or version,
// and a token that does not match (forged, another key, another customer); the comparison is
// constant-time.
Result<std::string> VerifyUnsubscribe(std::string_view key, std::string_view query_or_url);

// The signing key in the file at `path`: its text is hex (64 hex digits for 32 bytes) or base64
// (standard or url-safe, padding optional), white space around it ignored; the key is the decoded
// bytes. When the file does not exist, creates it (and missing parent folders) atomically: 32 bytes
// from RAND_bytes, written as hex to a temp file beside it with mode 0600, fsync'ed, then linked
// into place so that two processes starting at once end up with the same key. Errors name the file:
// kInvalidInput when the text is neither hex nor base64 or decodes to fewer than
// kUnsubscribeKeyMinBytes; kRuntime when it cannot be read or created. Not to be called
// concurrently with something that deletes the file.
Result<std::string> LoadOrCreateKey(const std::string& path);

}  // namespace followup::delivery
