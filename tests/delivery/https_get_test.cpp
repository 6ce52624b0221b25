// HttpsGet against a real HTTPS server on loopback (OpenSSL's s_server) with a certificate made
// for the test: what it fetches, and what it refuses.
#include "delivery/https_get.h"

#include <gtest/gtest.h>

#include "delivery/test_servers.h"
#include "support/test_util.h"

namespace followup::delivery {
namespace {

class HttpsGetTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(server_.port(), 0) << "openssl s_server did not start"; }

  HttpsGetOptions Trusting() {
    HttpsGetOptions options;
    options.ca_file = server_.ca_file();
    return options;
  }

  testing::TempDir dir_;
  testing::HttpsFileServer server_{dir_.path()};
};

TEST_F(HttpsGetTest, FetchesTheBodyOverVerifiedTls) {
  server_.Write("cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  auto body = HttpsGet(server_.url("/cert.pem"), Trusting());
  ASSERT_TRUE(body) << body.error().ToString();
  EXPECT_EQ(*body, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
}

// A server whose certificate the client does not trust is not read.
TEST_F(HttpsGetTest, AnUntrustedCertificateIsRefused) {
  server_.Write("cert.pem", "x");
  auto body = HttpsGet(server_.url("/cert.pem"));  // the system's CAs only
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().code, ErrorCode::kRuntime);
  EXPECT_NE(body.error().message.find("GET " + server_.url("/cert.pem")), std::string::npos)
      << body.error().message;
}

TEST_F(HttpsGetTest, AnAnswerOverTheLimitIsAnError) {
  server_.Write("large.pem", std::string(100'000, 'a'));
  HttpsGetOptions small = Trusting();
  small.max_bytes = 10'000;
  auto large = HttpsGet(server_.url("/large.pem"), small);
  ASSERT_FALSE(large);
  EXPECT_NE(large.error().message.find("larger than 10000 bytes"), std::string::npos)
      << large.error().message;
}

TEST(HttpsGetUrlTest, OnlyHttpsIsFetched) {
  for (const char* url : {"http://127.0.0.1:1/x.pem", "file:///etc/passwd", "ftp://x/y"}) {
    auto body = HttpsGet(url);
    ASSERT_FALSE(body) << url;
    EXPECT_EQ(body.error().code, ErrorCode::kInvalidInput) << url;
  }
}

}  // namespace
}  // namespace followup::delivery
