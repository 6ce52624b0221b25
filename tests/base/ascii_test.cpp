#include "base/ascii.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace followup {
namespace {

TEST(AsciiTest, LowerChangesOnlyTheAsciiCapitals) {
  EXPECT_EQ(AsciiLower("Anna.SMITH@Example.COM"), "anna.smith@example.com");
  EXPECT_EQ(AsciiLower("AZ az 09 @[`{"), "az az 09 @[`{");  // the neighbours of A-Z stay
  // UTF-8 passes through byte for byte: "ÄÖÜ straße" keeps its capitals outside ASCII.
  EXPECT_EQ(AsciiLower("\xC3\x84\xC3\x96\xC3\x9C Stra\xC3\x9F"
                       "E"),
            "\xC3\x84\xC3\x96\xC3\x9C stra\xC3\x9F"
            "e");
  EXPECT_EQ(AsciiLower(""), "");
  EXPECT_EQ(AsciiLower('Q'), 'q');
  EXPECT_EQ(AsciiLower('\xC3'), '\xC3');
}

TEST(AsciiTest, StartsWithNoCaseComparesOnlyThePrefix) {
  EXPECT_TRUE(AsciiStartsWithNoCase("mail FROM:<ann@example.com>", "MAIL FROM"));
  EXPECT_TRUE(AsciiStartsWithNoCase("QUIT", "quit"));
  EXPECT_TRUE(AsciiStartsWithNoCase("data", ""));
  EXPECT_FALSE(AsciiStartsWithNoCase("DAT", "DATA"));  // shorter than the prefix
  EXPECT_FALSE(AsciiStartsWithNoCase("RCPT TO", "MAIL"));
  EXPECT_FALSE(AsciiStartsWithNoCase("[UIT", "{UIT"));  // not letters: compared as they are
}

TEST(AsciiTest, WordsAreTheRunsBetweenBlanks) {
  using Words = std::vector<std::string>;
  EXPECT_EQ(AsciiWords("weekly on monday at 09:00"),
            (Words{"weekly", "on", "monday", "at", "09:00"}));
  EXPECT_EQ(AsciiWords(" \t10%\n by\r\v\fprofit  "), (Words{"10%", "by", "profit"}));
  EXPECT_EQ(AsciiWords(""), Words{});
  EXPECT_EQ(AsciiWords(" \t\n"), Words{});
}

}  // namespace
}  // namespace followup
