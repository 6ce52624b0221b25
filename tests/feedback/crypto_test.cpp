#include "feedback/crypto.h"

#include <gtest/gtest.h>

#include "feedback/test_keys.h"

namespace followup::feedback {
namespace {

using testing::At;

TEST(CryptoTest, Base64RoundTripAndStrictness) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s) << s;
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(*Base64Decode("Zm8"), "fo");  // padding optional
  EXPECT_FALSE(Base64Decode("Zm 8="));
  EXPECT_FALSE(Base64Decode("Zm8=="));
  EXPECT_FALSE(Base64Decode("Z"));
  EXPECT_FALSE(Base64Decode("Zm-_"));  // the URL alphabet is not standard base64
}

TEST(CryptoTest, MimeBase64SkipsLineBreaksAndJunk) {
  EXPECT_EQ(Base64DecodeMime("Zm9v\r\nYmFy\r\n"), "foobar");
  EXPECT_EQ(Base64DecodeMime("Zm9v!Ym Fy"), "foobar");
  EXPECT_EQ(Base64DecodeMime("Zm8=\r\nignored"), "fo");
}

TEST(CryptoTest, HexAndDigests) {
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  EXPECT_EQ(*HexDecode("01AB"), "\x01\xab");
  EXPECT_FALSE(HexDecode("0"));
  EXPECT_FALSE(HexDecode("zz"));
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

TEST(CryptoTest, RsaSignaturesWithACertificate) {
  testing::SigningCertificate cert(At("2025-01-01T00:00:00Z"), At("2026-01-01T00:00:00Z"));
  long long now = At("2025-02-13T10:00:00Z").time_since_epoch().count();
  std::string sha1 = testing::Sign(cert.key.get(), EVP_sha1(), "message");
  std::string sha256 = testing::Sign(cert.key.get(), EVP_sha256(), "message");
  EXPECT_EQ(VerifyRsaWithCertificate(cert.pem, Digest::kSha1, "message", sha1, now), "");
  EXPECT_EQ(VerifyRsaWithCertificate(cert.pem, Digest::kSha256, "message", sha256, now), "");
  EXPECT_EQ(VerifyRsaWithCertificate(cert.pem, Digest::kSha256, "message", sha1, now),
            "the signature does not match");
  EXPECT_EQ(VerifyRsaWithCertificate(cert.pem, Digest::kSha1, "massage", sha1, now),
            "the signature does not match");
  long long later = At("2026-02-01T00:00:00Z").time_since_epoch().count();
  EXPECT_EQ(VerifyRsaWithCertificate(cert.pem, Digest::kSha1, "message", sha1, later),
            "the signing certificate has expired");
  long long earlier = At("2024-12-01T00:00:00Z").time_since_epoch().count();
  EXPECT_EQ(VerifyRsaWithCertificate(cert.pem, Digest::kSha1, "message", sha1, earlier),
            "the signing certificate is not valid yet");
  EXPECT_EQ(VerifyRsaWithCertificate("not a certificate", Digest::kSha1, "message", sha1, now),
            "the signing certificate is not a PEM X.509 certificate");
}

TEST(CryptoTest, EcdsaP256) {
  testing::EcKey key;
  std::string signature = key.SignSha256("1739440805[]");
  EXPECT_EQ(VerifyEcdsaP256(key.PublicDer(), "1739440805[]", signature), "");
  EXPECT_EQ(VerifyEcdsaP256(key.PublicDer(), "1739440806[]", signature),
            "the signature does not match");
  EXPECT_EQ(VerifyEcdsaP256("junk", "x", signature),
            "the public key is not DER SubjectPublicKeyInfo");
  testing::Key rsa(EVP_RSA_gen(2048));
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(rsa.get(), &der);
  std::string rsa_der(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  EXPECT_EQ(VerifyEcdsaP256(rsa_der, "x", signature),
            "the public key is not an ECDSA key on P-256");
}

TEST(CryptoTest, EcdsaAgreesWithSendGridsOwnExample) {
  // The verification key, timestamp, payload and signature SendGrid's libraries check their
  // Signed Event Webhook verification against.
  auto key = Base64Decode(
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQG"
      "hHPTnlvFYPAZFceEu/1FwCM/QmGUhA==");
  auto signature = Base64Decode(
      "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2"
      "j/0=");
  std::string payload =
      R"({"category":"example_payload","event":"test_event","message_id":"message_id"})";
  ASSERT_TRUE(key && signature);
  EXPECT_EQ(VerifyEcdsaP256(*key, "1588788367" + payload, *signature), "");
  EXPECT_EQ(VerifyEcdsaP256(*key, "1588788368" + payload, *signature),
            "the signature does not match");
}

}  // namespace
}  // namespace followup::feedback
