#include "feedback/event.h"

#include <gtest/gtest.h>

namespace followup::feedback {
namespace {

TEST(EventTest, NamesAreTheOnesTheLogAndTheGenericShapeUse) {
  EXPECT_EQ(EventTypeName(EventType::kHardBounce), "hard_bounce");
  EXPECT_EQ(EventTypeName(EventType::kSoftBounce), "soft_bounce");
  EXPECT_EQ(EventTypeName(EventType::kComplaint), "complaint");
  EXPECT_EQ(EventTypeName(EventType::kUnsubscribe), "unsubscribe");
  EXPECT_EQ(EventTypeName(EventType::kDelayed), "delayed");
  EXPECT_EQ(SourceName(Source::kSendGrid), "sendgrid");
  EXPECT_EQ(SourceName(Source::kArf), "arf");
}

TEST(EventTest, OnlyBouncesComplaintsAndUnsubscribesAreActedOn) {
  EXPECT_TRUE(IsActionable(EventType::kHardBounce));
  EXPECT_TRUE(IsActionable(EventType::kSoftBounce));
  EXPECT_TRUE(IsActionable(EventType::kComplaint));
  EXPECT_TRUE(IsActionable(EventType::kUnsubscribe));
  EXPECT_FALSE(IsActionable(EventType::kDelivered));
  EXPECT_FALSE(IsActionable(EventType::kDelayed));
  EXPECT_FALSE(IsActionable(EventType::kOpened));
  EXPECT_FALSE(IsActionable(EventType::kResubscribed));
  EXPECT_FALSE(IsActionable(EventType::kOther));
}

TEST(EventTest, CleanReasonFoldsWhiteSpaceReplacesBadBytesAndIsBounded) {
  EXPECT_EQ(CleanReason("  550 5.1.1\r\n    user\tunknown  "), "550 5.1.1 user unknown");
  EXPECT_EQ(CleanReason("caf\xc3\xa9 \xff!"), "caf\xc3\xa9 \xef\xbf\xbd!");
  EXPECT_EQ(CleanReason("a\x01\x7f"
                        "b"),
            "a b");
  std::string long_text(5000, 'x');
  EXPECT_EQ(CleanReason(long_text).size(), kMaxReasonBytes);
  // Never cut inside a character.
  std::string accents;
  for (int i = 0; i < 600; ++i) accents += "\xc3\xa9";
  std::string cut = CleanReason(accents);
  EXPECT_LE(cut.size(), kMaxReasonBytes);
  EXPECT_EQ(cut.size() % 2, 0u);
}

TEST(EventTest, FindStatusCodeTakesEnhancedCodesOnly) {
  EXPECT_EQ(FindStatusCode("smtp; 550 5.1.1 <a@b>: user unknown"), "5.1.1");
  EXPECT_EQ(FindStatusCode("550-5.1.1 The email account"), "5.1.1");
  EXPECT_EQ(FindStatusCode("452 4.2.2 Mailbox full."), "4.2.2");
  EXPECT_EQ(FindStatusCode("5.1.10"), "5.1.10");
  EXPECT_EQ(FindStatusCode("host [192.0.2.10] said: 554 5.7.1 blocked"), "5.7.1");
  EXPECT_EQ(FindStatusCode("1.2.3.4 and 3.1.1"), "");  // an address, and class 3 does not exist
  EXPECT_EQ(FindStatusCode("version 5.1.1.2"), "");
  EXPECT_EQ(FindStatusCode("5.1234.1"), "");
  EXPECT_EQ(FindStatusCode(""), "");
}

TEST(EventTest, DigestEventIdIsStableAndSeparatesItsParts) {
  std::string id = DigestEventId(Source::kDsn, {"<x@y>", "a@b"});
  EXPECT_EQ(id.substr(0, 4), "dsn:");
  EXPECT_EQ(id.size(), 4u + 32u);
  EXPECT_EQ(id, DigestEventId(Source::kDsn, {"<x@y>", "a@b"}));
  EXPECT_NE(id, DigestEventId(Source::kDsn, {"<x@y>a", "@b"}));
  EXPECT_NE(id, DigestEventId(Source::kArf, {"<x@y>", "a@b"}).substr(0));
}

TEST(EventTest, NormalizeAddressKeepsTheAddrSpecLowerCased) {
  EXPECT_EQ(NormalizeAddress(" Nobody@Example.COM "), "nobody@example.com");
  EXPECT_EQ(NormalizeAddress("<a@b>"), "a@b");
  EXPECT_EQ(NormalizeAddress("\"Also Gone\" <Also.Gone@example.com>"), "also.gone@example.com");
  EXPECT_EQ(NormalizeAddress("no-at-sign"), "");
  EXPECT_EQ(NormalizeAddress("@example.com"), "");
  EXPECT_EQ(NormalizeAddress("someone@"), "");
  EXPECT_EQ(NormalizeAddress("a b@c"), "");
  EXPECT_EQ(NormalizeAddress("<a@b"), "");
  EXPECT_EQ(NormalizeAddress(std::string(250, 'a') + "@b.cd"), "");
}

TEST(EventTest, StripAngles) {
  EXPECT_EQ(StripAngles(" <abc@shop.example> "), "abc@shop.example");
  EXPECT_EQ(StripAngles("abc@shop.example"), "abc@shop.example");
  EXPECT_EQ(StripAngles("<>"), "");
}

}  // namespace
}  // namespace followup::feedback
