// The console's login: crypt(3) hashes in a USER:HASH file, checked against HTTP basic auth.
#include "console/access.h"

#include <gtest/gtest.h>

#include "feedback/crypto.h"

namespace followup::console {
namespace {

// `openssl passwd -6 -salt followupconsole 'open sesame'`
constexpr const char* kHash =
    "$6$followupconsole$PyvSq3cSAzMilwgCc6ktLoHwkTp1/"
    "w.SVzanAFxipLVJ2uqKZHxxUeTtqbRKE2eoADZnhhlHKIvabGou2gWpl1";

std::string Basic(const std::string& user_password) {
  return "Basic " + feedback::Base64Encode(user_password);
}

TEST(AccessTest, TheRightPasswordPassesAndNothingElseDoes) {
  auto c = ParseCredentials(std::string("# operators\n\nada:") + kHash + "\n", "users");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_TRUE(Authorized(*c, Basic("ada:open sesame")));
  EXPECT_TRUE(Authorized(*c, "basic " + feedback::Base64Encode("ada:open sesame")));
  EXPECT_FALSE(Authorized(*c, Basic("ada:open sesame ")));
  EXPECT_FALSE(Authorized(*c, Basic("ada:")));
  EXPECT_FALSE(Authorized(*c, Basic("bob:open sesame")));
  EXPECT_FALSE(Authorized(*c, Basic("ada")));
  EXPECT_FALSE(Authorized(*c, "Bearer x"));
  EXPECT_FALSE(Authorized(*c, ""));
  EXPECT_FALSE(Authorized(*c, "Basic !!!"));
}

TEST(AccessTest, BadLinesNameTheirPlace) {
  auto no_colon = ParseCredentials("ada\n", "users");
  ASSERT_FALSE(no_colon);
  EXPECT_EQ(no_colon.error().message, "users:1: expected USER:HASH");
  auto plain = ParseCredentials("# x\nada:open sesame\n", "users");
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message.find("users:2: the hash of 'ada' is not one crypt(3) takes"),
            std::string::npos)
      << plain.error().message;
  // MD5-crypt (openssl passwd -1) is broken: refused.
  EXPECT_FALSE(ParseCredentials("ada:$1$salt$qJH7.N4xYta3aEG/dfqo/0\n", "users"));
  // A user name with control characters is cited printably (a fuzzer's finding).
  auto odd = ParseCredentials("a\x01\x9c:x\n", "users");
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().message.find("'a\\x01\\x9c'"), std::string::npos) << odd.error().message;
  auto nobody = ParseCredentials("# nobody yet\n", "users");
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, ErrorCode::kInvalidInput);
  auto missing = ReadCredentials("/nonexistent/users");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kRuntime);
}

}  // namespace
}  // namespace followup::console
