// VERP return paths: each message goes out with an envelope sender that names the outbox row it
// was sent for, so that a bounce delivered back to that address says which send bounced, even
// when the bounce itself is mangled beyond reading:
//
//   PREFIX+TOKEN@DOMAIN          e.g. bounces+4711-k2j4q7m3xv5ta6bd@shop.example
//   TOKEN = ID "-" MAC
//
// ID is the outbox id in decimal. MAC is the first 80 bits of HMAC-SHA256(key, "followup-verp-1:"
// ID) in lower-case base32 (RFC 4648 alphabet, 16 characters), so that a forged bounce cannot name
// an outbox row (and so suppress an address) it was never sent for. Only letters, digits and '-':
// safe in a local part, and read back whatever case a mail system gives it. With a prefix of up
// to 27 characters every id fits the 64 characters of a local part ("bounces": 44 at most).
//
// Pure and thread-safe; the key is borrowed for the call (delivery/unsubscribe.h's LoadOrCreateKey
// makes one).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace followup::feedback {

// ID "-" MAC for an outbox id (>= 0).
std::string VerpToken(std::string_view key, int64_t outbox_id);

// PREFIX "+" TOKEN "@" DOMAIN. The prefix (a local part without '+') and the domain are taken as
// the config gives them.
std::string VerpReturnPath(std::string_view key, std::string_view prefix, std::string_view domain,
                           int64_t outbox_id);

// The outbox id a token names, once its MAC checks out (in any letter case; compared in constant
// time). kInvalidInput with the reason: not ID-MAC, an id that is no number, a MAC that does not
// match (forged, or made with another key).
Result<int64_t> ReadVerpToken(std::string_view key, std::string_view token);

// The TOKEN of an address PREFIX+TOKEN@DOMAIN (the prefix matched in any case, "<...>" and
// "rfc822;" around the address allowed), lower-cased; nullopt when the address is not of that
// shape or the token holds anything but letters, digits and '-' or is longer than 64. Does not
// check the MAC: ReadVerpToken does.
std::optional<std::string> VerpTokenOf(std::string_view address, std::string_view prefix);

}  // namespace followup::feedback
