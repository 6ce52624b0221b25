// Keys, certificates and signatures made with OpenSSL in the test, standing in for the providers'
// own: an RSA key with a self-signed certificate (Amazon SNS) and a P-256 key pair (SendGrid).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "base/time.h"

namespace followup::feedback::testing {

inline std::string ReadFixture(const std::string& relative) {
  std::ifstream in(std::string(FOLLOWUP_TEST_DATA_DIR) + "/feedback/" + relative, std::ios::binary);
  if (!in) throw std::runtime_error("no fixture " + relative);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline Instant At(const char* text) { return *ParseInstant(text, nullptr); }

struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

inline std::string Sign(EVP_PKEY* key, const EVP_MD* md, const std::string& message) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  EVP_DigestSignInit(ctx, nullptr, md, nullptr, key);
  EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(message.data()),
                 message.size());
  std::string signature(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                 reinterpret_cast<const unsigned char*>(message.data()), message.size());
  EVP_MD_CTX_free(ctx);
  signature.resize(length);
  return signature;
}

// An RSA key and a self-signed PEM certificate for it, valid from `not_before` to `not_after`.
struct SigningCertificate {
  Key key;
  std::string pem;

  SigningCertificate(Instant not_before, Instant not_after) : key(EVP_RSA_gen(2048)) {
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    ASN1_TIME_set(X509_getm_notBefore(cert), not_before.time_since_epoch().count());
    ASN1_TIME_set(X509_getm_notAfter(cert), not_after.time_since_epoch().count());
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("sns.amazonaws.com"), -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    X509_set_pubkey(cert, key.get());
    X509_sign(cert, key.get(), EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    long length = BIO_get_mem_data(bio, &data);
    pem.assign(data, static_cast<size_t>(length));
    BIO_free(bio);
    X509_free(cert);
  }
};

// A P-256 key pair; the public half as DER SubjectPublicKeyInfo.
struct EcKey {
  Key key{EVP_EC_gen("P-256")};

  std::string PublicDer() const {
    unsigned char* der = nullptr;
    int length = i2d_PUBKEY(key.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
    OPENSSL_free(der);
    return out;
  }
  std::string SignSha256(const std::string& message) const {
    return Sign(key.get(), EVP_sha256(), message);
  }
};

}  // namespace followup::feedback::testing
