#include "feedback/mime.h"

#include <gtest/gtest.h>

#include "feedback/test_keys.h"

namespace followup::feedback::mime {
namespace {

using testing::At;

TEST(MimeTest, HeadersUnfoldAndLookUpInAnyCase) {
  std::string_view body;
  Headers h = ParseHeaders(
      "From x@y  Thu Feb 13 10:00:00 2025\n"  // an mbox line, skipped
      "Subject: one\r\n"
      "  two\r\n"
      "\tthree\r\n"
      "X-Empty:\r\n"
      "not a field\r\n"
      "Received: a\r\n"
      "Received : b\r\n"
      "\r\n"
      "body\r\n",
      Limits{}, &body);
  EXPECT_EQ(h.Get("subject").value_or("?"), "one  two\tthree");
  EXPECT_EQ(h.Get("X-EMPTY").value_or("?"), "");
  EXPECT_EQ(h.GetAll("received"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_FALSE(h.Get("not a field"));
  EXPECT_EQ(body, "body\r\n");
}

TEST(MimeTest, HeadersAreBounded) {
  Limits limits;
  limits.max_fields = 3;
  limits.max_field_bytes = 10;
  std::string text;
  for (int i = 0; i < 10; ++i) text += "F" + std::to_string(i) + ": 0123456789abcdef\n";
  text += " continued\n\nbody";
  Headers h = ParseHeaders(text, limits);
  ASSERT_EQ(h.fields.size(), 3u);
  EXPECT_EQ(h.fields[0].value, "0123456789");
  // A header block that never ends gives no body.
  std::string_view body = "unset";
  ParseHeaders("A: b\nC: d", limits, &body);
  EXPECT_EQ(body, "");
}

TEST(MimeTest, ContentTypeAndParameters) {
  ContentType t = ParseContentType(
      "Multipart/Report; report-type=delivery-status;\t boundary=\"3F1A/mail.shop.example\" "
      "(a comment); charset = utf-8");
  EXPECT_TRUE(t.Is("multipart/report"));
  EXPECT_EQ(t.Param("report-type"), "delivery-status");
  EXPECT_EQ(t.Param("boundary"), "3F1A/mail.shop.example");
  EXPECT_EQ(t.Param("charset"), "utf-8");
  EXPECT_EQ(t.Param("none"), "");
  EXPECT_TRUE(ParseContentType("").Is("text/plain"));
  EXPECT_TRUE(ParseContentType("garbage").Is("text/plain"));
  EXPECT_EQ(ParseContentType(R"(text/plain; name="a \"quoted\" name")").Param("name"),
            "a \"quoted\" name");
}

TEST(MimeTest, MultipartTreeWithEncodingsAndAnEncapsulatedMessage) {
  std::string text =
      "Content-Type: multipart/mixed; boundary=outer\n"
      "\n"
      "preamble\n"
      "--outer\n"
      "Content-Type: text/plain\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "caf=C3=A9 soft=\n"
      "break\n"
      "--outer\n"
      "Content-Type: text/plain\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "aGVsbG8g\n"
      "d29ybGQ=\n"
      "--outer  \n"
      "Content-Type: message/rfc822\n"
      "\n"
      "Message-ID: <inner@x>\n"
      "Content-Type: multipart/alternative; boundary=inner\n"
      "\n"
      "--inner\n"
      "\n"
      "plain\n"
      "--inner--\n"
      "--outer--\n"
      "epilogue\n";
  Message message(text, Limits{});
  const Part& root = message.root();
  ASSERT_EQ(root.children.size(), 3u);
  EXPECT_EQ(root.children[0].body, "caf\xc3\xa9 softbreak");
  EXPECT_EQ(root.children[1].body, "hello world");
  const Part& encapsulated = root.children[2];
  ASSERT_EQ(encapsulated.children.size(), 1u);
  EXPECT_EQ(encapsulated.children[0].headers.Get("Message-ID").value_or(""), "<inner@x>");
  ASSERT_EQ(encapsulated.children[0].children.size(), 1u);
  EXPECT_EQ(encapsulated.children[0].children[0].body, "plain");
}

TEST(MimeTest, AMultipartWithoutItsClosingDelimiterEndsAtTheEnd) {
  Message message("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n",
                  Limits{});
  ASSERT_EQ(message.root().children.size(), 2u);
  EXPECT_EQ(message.root().children[0].body, "one");
  EXPECT_EQ(message.root().children[1].body, "two\n");
}

TEST(MimeTest, NestingAndPartCountsAreCapped) {
  // 100 multiparts nested in each other: read down to max_depth, no deeper, no crash.
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
            std::to_string(i) + "\n";
  }
  text += "\nleaf\n";
  Limits limits;
  Message deep(text, limits);
  int depth = 0;
  for (const Part* p = &deep.root(); !p->children.empty(); p = &p->children.front()) ++depth;
  EXPECT_EQ(depth, limits.max_depth);

  std::string many = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 5000; ++i) many += "--b\n\nx\n";
  Message wide(many, limits);
  EXPECT_EQ(wide.root().children.size(), limits.max_parts);
}

TEST(MimeTest, DecodedBytesAreBudgeted) {
  Limits limits;
  limits.max_decoded_bytes = 10;
  Message message(
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n"
      "--b\nContent-Transfer-Encoding: base64\n\nd29ybGQ=\n--b--\n",
      limits);
  ASSERT_EQ(message.root().children.size(), 2u);
  EXPECT_EQ(message.root().children[0].body, "hello");
  EXPECT_EQ(message.root().children[1].body, "");  // over the budget: left undecoded, empty
}

TEST(MimeTest, QuotedPrintable) {
  EXPECT_EQ(DecodeQuotedPrintable("a=3Db=\r\nc"), "a=bc");
  EXPECT_EQ(DecodeQuotedPrintable("a=  \nb"), "ab");  // soft break with trailing blanks
  EXPECT_EQ(DecodeQuotedPrintable("100=%"), "100=%");
  EXPECT_EQ(DecodeQuotedPrintable("x=4"), "x=4");
  EXPECT_EQ(DecodeQuotedPrintable("x="), "x");
}

TEST(MimeTest, Addresses) {
  EXPECT_EQ(Addresses("\"Doe, Jane\" <jane@example.com>, bob@example.com (Bob), <c@d>"),
            (std::vector<std::string>{"jane@example.com", "bob@example.com", "c@d"}));
  EXPECT_EQ(Addresses("undisclosed-recipients:;"), std::vector<std::string>{});
  EXPECT_EQ(Addresses("team: a@b, c@d;, e@f"), (std::vector<std::string>{"a@b", "c@d", "e@f"}));
  EXPECT_EQ(Addresses("a@b, c@d, e@f", 2).size(), 2u);
  EXPECT_EQ(Addresses("<unterminated@x"), std::vector<std::string>{"unterminated@x"});
}

TEST(MimeTest, Rfc5322Dates) {
  EXPECT_EQ(*ParseDate("Thu, 13 Feb 2025 10:00:05 +0000 (UTC)"), At("2025-02-13T10:00:05Z"));
  EXPECT_EQ(*ParseDate("Thu, 13 Feb 2025 02:00:07 -0800 (PST)"), At("2025-02-13T10:00:07Z"));
  EXPECT_EQ(*ParseDate("13 Feb 2025 10:00 GMT"), At("2025-02-13T10:00:00Z"));
  EXPECT_EQ(*ParseDate("Thu, 8 Mar 2005 17:40:36 EDT"), At("2005-03-08T21:40:36Z"));
  EXPECT_EQ(*ParseDate("Sat, 1 Jan 00 00:00:00 +0100"), At("1999-12-31T23:00:00Z"));
  EXPECT_EQ(*ParseDate("Mon, 3 Mar 99 12:00:00 Z"), At("1999-03-03T12:00:00Z"));
  EXPECT_FALSE(ParseDate("yesterday"));
  EXPECT_FALSE(ParseDate("31 Feb 2025 10:00:00 +0000"));
  EXPECT_FALSE(ParseDate("13 Feb 2025 25:00:00 +0000"));
  EXPECT_FALSE(ParseDate("13 Feb 2025 10:00:00 +9999"));
  EXPECT_FALSE(ParseDate("13 Feb 2025 10:00:00 Mars"));
  EXPECT_FALSE(ParseDate(""));
}

}  // namespace
}  // namespace followup::feedback::mime
