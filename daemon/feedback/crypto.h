// The byte-level helpers the feedback parsers share: base64 and hex, SHA-256 and HMAC-SHA256
// (OpenSSL), a constant-time comparison, and signature checks with public keys. Internal to the
// feedback part; pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace followup::feedback {

// Standard base64 (RFC 4648 section 4). Strict: only the alphabet, '=' padding (optional), no
// white space. nullopt otherwise.
std::optional<std::string> Base64Decode(std::string_view text);
// Base64 as MIME bodies carry it (RFC 2045 section 6.8): bytes outside the alphabet (line breaks,
// white space, junk) are skipped; decoding stops at the first '='.
std::string Base64DecodeMime(std::string_view text);
std::string Base64Encode(std::string_view bytes);

// Lower-case hex.
std::string HexEncode(std::string_view bytes);
// Hex in either case, an even number of digits; nullopt otherwise.
std::optional<std::string> HexDecode(std::string_view text);

// 32 raw bytes each.
std::string Sha256(std::string_view bytes);
std::string HmacSha256(std::string_view key, std::string_view message);

// Equal sizes and equal bytes, in time that depends only on the sizes.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

enum class Digest { kSha1, kSha256 };

// Checks an RSA PKCS#1 v1.5 signature (SHA1withRSA or SHA256withRSA) over `message` with the
// public key of the PEM X.509 certificate `certificate_pem`. Returns "" when the signature is
// good, else why not ("the certificate is not PEM X.509", "the certificate expired at ...",
// "the signature does not match"). `now` (UTC seconds) is checked against the certificate's
// validity period.
std::string VerifyRsaWithCertificate(std::string_view certificate_pem, Digest digest,
                                     std::string_view message, std::string_view signature,
                                     long long now);

// Checks an ECDSA signature (DER, as X.509 and SendGrid write it) over SHA-256 of `message` with
// a public key given as DER SubjectPublicKeyInfo. "" when good, else why not ("the public key is
// not DER SubjectPublicKeyInfo", "the public key is not on P-256", "the signature does not
// match").
std::string VerifyEcdsaP256(std::string_view public_key_der, std::string_view message,
                            std::string_view signature_der);

}  // namespace followup::feedback
