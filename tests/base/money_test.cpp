#include "base/money.h"

#include <gtest/gtest.h>

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
