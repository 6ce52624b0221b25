#include "base/money.h"

#include <gtest/gtest.h>

#include <limits>

namespace followup {
namespace {

TEST(MoneyTest, ParsesDecimalsIntoMinorUnits) {
  EXPECT_EQ(ParseAmount("29.33", 2).value(), 2933);
  EXPECT_EQ(ParseAmount("29.3", 2).value(), 2930);
  EXPECT_EQ(ParseAmount("29", 2).value(), 2900);
  EXPECT_EQ(ParseAmount(".5", 2).value(), 50);
  EXPECT_EQ(ParseAmount("0.00", 2).value(), 0);
  EXPECT_EQ(ParseAmount("+7", 2).value(), 700);
  EXPECT_EQ(ParseAmount("1500", 0).value(), 1500);
  EXPECT_EQ(ParseAmount("1.250", 3).value(), 1250);
  EXPECT_EQ(ParseAmount("3.1400", 2).value(), 314);  // trailing zeros beyond the exponent are fine
}

TEST(MoneyTest, RejectsWhatIsNotAnAmount) {
  for (const char* bad : {"", "-1.00", "abc", "1,00", "1.2.3", "1e5", " 1", ".", "+", "1.234"}) {
    auto r = ParseAmount(bad, 2);
    EXPECT_FALSE(r.has_value()) << bad;
  }
  EXPECT_NE(ParseAmount("-1", 2).error().message.find("negative"), std::string::npos);
  EXPECT_NE(ParseAmount("1.234", 2).error().message.find("more than 2 digits"), std::string::npos);
  EXPECT_NE(ParseAmount("99999999999999999999", 2).error().message.find("too large"),
            std::string::npos);
}

TEST(MoneyTest, AmountsPastSixtyFourBitsAreRefusedNotWrapped) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ParseAmount("92233720368547758.07", 2).value(), kMax);
  EXPECT_EQ(ParseAmount("9223372036854775807", 0).value(), kMax);
  EXPECT_EQ(ParseAmount("9223372036854775.807", 3).value(), kMax);
  // These wrapped: to 1.00, 0.00 and a negative amount.
  for (const char* past : {"9223372036854775809", "922337203685477580.8", "92233720368547758.08",
                           "92233720368547758.10", "18446744073709551716"}) {
    auto r = ParseAmount(past, 2);
    ASSERT_FALSE(r.has_value()) << past << " read as " << *r;
    EXPECT_NE(r.error().message.find("too large (at most 92233720368547758.07)"), std::string::npos)
        << r.error().message;
  }
  EXPECT_FALSE(ParseAmount("9223372036854775808", 0).has_value());
  EXPECT_FALSE(ParseAmount("9223372036854775.808", 3).has_value());
}

TEST(MoneyTest, ErrorsCiteTheTextEscapedAndCutShort) {
  auto r = ParseAmount("1\n2\x1b", 2);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "bad amount '1\\n2\\x1b': not a number");
  auto long_one = ParseAmount(std::string(10000, '9'), 2);
  ASSERT_FALSE(long_one.has_value());
  EXPECT_LT(long_one.error().message.size(), 200u);
}

TEST(MoneyTest, CurrencyExponents) {
  EXPECT_EQ(CurrencyExponent("EUR"), 2);
  EXPECT_EQ(CurrencyExponent("JPY"), 0);
  EXPECT_EQ(CurrencyExponent("KWD"), 3);
  EXPECT_TRUE(IsCurrencyCode("USD"));
  EXPECT_FALSE(IsCurrencyCode("usd"));
  EXPECT_FALSE(IsCurrencyCode("EURO"));
}

TEST(MoneyTest, FormatsMinorUnits) {
  EXPECT_EQ(FormatAmount(2933, 2), "29.33");
  EXPECT_EQ(FormatAmount(5, 2), "0.05");
  EXPECT_EQ(FormatAmount(-5, 2), "-0.05");
  EXPECT_EQ(FormatAmount(1500, 0), "1500");
}

}  // namespace
}  // namespace followup
