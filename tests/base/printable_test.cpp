#include "base/printable.h"

#include <gtest/gtest.h>

namespace followup {
namespace {

TEST(PrintableTest, KeepsTextAndEscapesWhatActsOnATerminal) {
  EXPECT_EQ(Printable("Ann & Bo, 29.33 EUR"), "Ann & Bo, 29.33 EUR");
  EXPECT_EQ(Printable("Zoë 東京 \\ back"), "Zoë 東京 \\ back");
  EXPECT_EQ(Printable("a\nb\r\tc"), "a\\nb\\r\\tc");
  EXPECT_EQ(Printable(std::string("a\0b", 3)), "a\\0b");
  EXPECT_EQ(Printable("\x1b[31mred\x07\x7f"), "\\x1b[31mred\\x07\\x7f");
  // C1 controls (U+009B is a one-character CSI on some terminals), then bytes that are not UTF-8:
  // a lone continuation byte, a truncated sequence, an overlong '/', a surrogate.
  EXPECT_EQ(Printable("\xc2\x9b"
                      "2J \xc2\x85"),
            "\\u009b2J \\u0085");
  EXPECT_EQ(Printable("\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80"),
            "\\x80|\\xe2\\x82|\\xc0\\xaf|\\xed\\xa0\\x80");
  EXPECT_EQ(Printable("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is text
}

TEST(PrintableTest, IsItsOwnFixedPoint) {
  const std::string nasty = std::string("x\n\x1b\0\xc2\x9b\xff", 7);
  EXPECT_EQ(Printable(Printable(nasty)), Printable(nasty));
}

TEST(PrintableTest, CutsLongTextAtACharacterBoundary) {
  EXPECT_EQ(Printable("abcdef", 3), "abc...");
  EXPECT_EQ(Printable("abc", 3), "abc");
  EXPECT_EQ(Printable("ab東京", 4), "ab...");  // 東 is three bytes: it does not fit whole
  EXPECT_EQ(Quote(std::string(100, 'x')), "'" + std::string(kQuotedBytes, 'x') + "...'");
  EXPECT_EQ(Quote("it"), "'it'");
}

}  // namespace
}  // namespace followup
