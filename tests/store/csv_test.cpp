#include "store/csv.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace followup::store {
namespace {

// Reads every record of `text`.
std::vector<CsvRecord> ReadAll(const std::string& text, size_t max_field = 100,
                               size_t max_line = 1000) {
  std::FILE* f = fmemopen(const_cast<char*>(text.data()), text.size(), "rb");
  CsvReader reader(f, max_field, max_line);
  std::vector<CsvRecord> out;
  CsvRecord r;
  while (reader.Next(r).value()) out.push_back(r);
  std::fclose(f);
  return out;
}

TEST(CsvTest, PlainRecordsWithLineNumbers) {
  auto r = ReadAll("a,b,c\n1,2,3\r\n\n4,,6");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].fields, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r[1].line, 2);
  EXPECT_EQ(r[2].line, 4);  // the blank line is skipped but counted
  EXPECT_EQ(r[2].fields, (std::vector<std::string>{"4", "", "6"}));
}

TEST(CsvTest, QuotedFieldsFollowRfc4180) {
  auto r = ReadAll("\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\nnext,1,2\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].fields, (std::vector<std::string>{"x, y", "say \"hi\"", "two\nlines"}));
  EXPECT_TRUE(r[0].error.empty());
  EXPECT_EQ(r[1].line, 3);  // the quoted newline moved the next record down a line
}

TEST(CsvTest, MalformedRecordsAreFlaggedAndReadingGoesOn) {
  auto r = ReadAll("a\"b,c\n\"x\"y,z\nok,1\n\"never closed,2\nmore\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_NE(r[0].error.find("quote inside an unquoted field"), std::string::npos);
  EXPECT_NE(r[1].error.find("text after a closing quote"), std::string::npos);
  EXPECT_TRUE(r[2].error.empty());
  EXPECT_EQ(r[2].line, 3);
  EXPECT_NE(r[3].error.find("never closed (it starts on line 4)"), std::string::npos);
}

TEST(CsvTest, SizesAreBounded) {
  auto r = ReadAll(std::string(50, 'x') + ",1\nshort,2\n", 10, 1000);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NE(r[0].error.find("longer than 10 bytes"), std::string::npos);
  EXPECT_LE(r[0].fields[0].size(), 10u);
  EXPECT_TRUE(r[1].error.empty());
  auto lines = ReadAll("a,b,c,d,e,f,g,h,i,j,k\nx\n", 100, 8);
  EXPECT_NE(lines[0].error.find("line is longer than 8 bytes"), std::string::npos);
  EXPECT_TRUE(lines[1].error.empty());
}

TEST(CsvTest, ByteOrderMarkIsSkipped) {
  auto r = ReadAll("\xEF\xBB\xBFid,name\n1,a\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].fields[0], "id");
  // A broken one is said, not dropped in silence.
  auto broken = ReadAll("\xEF\xBBid,name\n1,a\n");
  ASSERT_EQ(broken.size(), 2u);
  EXPECT_EQ(broken[0].error, "the file starts with a broken byte order mark");
  EXPECT_TRUE(broken[1].error.empty());
}

TEST(CsvTest, ALoneCarriageReturnEndsALineToo) {
  // Records ended by a lone CR were all reported on the line of the first.
  auto r = ReadAll("a,b\r1,2\r\r3,4\r\n5,6\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1].fields, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(r[1].line, 2);
  EXPECT_EQ(r[2].line, 4);  // the blank line is counted
  EXPECT_EQ(r[3].line, 5);
}

}  // namespace
}  // namespace followup::store
