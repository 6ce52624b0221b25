#include "feedback/verp.h"

#include <gtest/gtest.h>

namespace followup::feedback {
namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";
const std::string kOtherKey(32, '\x7f');

TEST(VerpTest, ReturnPathNamesTheOutboxRowAndReadsBack) {
  std::string path = VerpReturnPath(kKey, "bounces", "shop.example", 4711);
  // The fixtures under tests/data/feedback were made with this key: keep them in step.
  EXPECT_EQ(path, "bounces+4711-ywl6kbgtljhyhral@shop.example");
  auto token = VerpTokenOf(path, "bounces");
  ASSERT_TRUE(token);
  EXPECT_EQ(*token, "4711-ywl6kbgtljhyhral");
  EXPECT_EQ(*ReadVerpToken(kKey, *token), 4711);
}

TEST(VerpTest, ShortEnoughForALocalPartAndSafeInAnyCase) {
  std::string token = VerpToken(kKey, 999'999'999'999'999'999);
  EXPECT_LE(std::string("bounces+").size() + token.size(), 64u);
  for (char c : token) {
    EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') << token;
  }
  // Mail systems that upper-case local parts do not break it.
  std::string upper;
  for (char c : token) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  EXPECT_EQ(*ReadVerpToken(kKey, upper), 999'999'999'999'999'999);
  EXPECT_EQ(*VerpTokenOf("BOUNCES+" + upper + "@SHOP.EXAMPLE", "bounces"), token);
}

TEST(VerpTest, AForgedTokenNamesNothing) {
  std::string token = VerpToken(kKey, 4711);
  // Another outbox id with the same MAC: the point of the MAC.
  std::string forged = "4712" + token.substr(token.find('-'));
  auto read = ReadVerpToken(kKey, forged);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().message, "VERP token: the signature does not match");
  EXPECT_FALSE(ReadVerpToken(kOtherKey, token));
  EXPECT_FALSE(ReadVerpToken(kKey, "4711"));
  EXPECT_FALSE(ReadVerpToken(kKey, "-abc"));
  EXPECT_FALSE(ReadVerpToken(kKey, "04711" + token.substr(4)));  // the id written another way
  EXPECT_FALSE(ReadVerpToken(kKey, "x4711" + token.substr(4)));
  EXPECT_FALSE(ReadVerpToken(kKey, token.substr(0, token.size() - 1)));
  EXPECT_FALSE(ReadVerpToken(kKey, std::string(200, '1')));
}

TEST(VerpTest, TokenOfReadsTheAddressShapesReportsCarry) {
  EXPECT_EQ(*VerpTokenOf("<bounces+12-abc@shop.example>", "bounces"), "12-abc");
  EXPECT_EQ(*VerpTokenOf("rfc822; bounces+12-abc@shop.example", "bounces"), "12-abc");
  EXPECT_EQ(*VerpTokenOf("Bounces+12-ABC@shop.example", "bounces"), "12-abc");
  EXPECT_FALSE(VerpTokenOf("bounces@shop.example", "bounces"));
  EXPECT_FALSE(VerpTokenOf("bounces+@shop.example", "bounces"));
  EXPECT_FALSE(VerpTokenOf("bouncesx+12-abc@shop.example", "bounces"));
  EXPECT_FALSE(VerpTokenOf("other+12-abc@shop.example", "bounces"));
  EXPECT_FALSE(VerpTokenOf("bounces+12-abc", "bounces"));
  EXPECT_FALSE(VerpTokenOf("bounces+12_abc@shop.example", "bounces"));
  EXPECT_FALSE(VerpTokenOf("bounces+12-abc@shop.example", ""));
}

}  // namespace
}  // namespace followup::feedback
