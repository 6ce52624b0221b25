#include "delivery/mime.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace followup::delivery {
namespace {

using namespace std::chrono;

// ---- A small independent reader of what BuildMime writes. ----

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string DecodeBase64(std::string_view in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    size_t v = kAlphabet.find(c);
    if (v == std::string::npos) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// RFC 2047 decoding of an unfolded header value: encoded words, and the whitespace between two
// adjacent encoded words dropped.
std::string DecodeWords(std::string_view value) {
  std::string out;
  bool last_was_word = false;
  std::string pending_space;
  size_t i = 0;
  while (i < value.size()) {
    if (value.substr(i).starts_with("=?")) {
      size_t charset_end = value.find('?', i + 2);
      size_t enc_end = value.find('?', charset_end + 1);
      size_t end = value.find("?=", enc_end + 1);
      EXPECT_NE(end, std::string_view::npos) << value;
      if (end == std::string_view::npos) return out;
      EXPECT_EQ(value.substr(i + 2, charset_end - i - 2), "UTF-8");
      char enc = value[charset_end + 1];
      std::string_view payload = value.substr(enc_end + 1, end - enc_end - 1);
      EXPECT_LE(end + 2 - i, 75u) << "encoded word too long";
      if (!last_was_word) out += pending_space;
      pending_space.clear();
      if (enc == 'B') {
        out += DecodeBase64(payload);
      } else {
        for (size_t k = 0; k < payload.size(); ++k) {
          if (payload[k] == '_') {
            out += ' ';
          } else if (payload[k] == '=' && k + 2 < payload.size() + 1) {
            out += static_cast<char>(HexValue(payload[k + 1]) * 16 + HexValue(payload[k + 2]));
            k += 2;
          } else {
            out += payload[k];
          }
        }
      }
      last_was_word = true;
      i = end + 2;
    } else if (value[i] == ' ' || value[i] == '\t') {
      pending_space += value[i];
      ++i;
    } else {
      out += pending_space;
      pending_space.clear();
      out += value[i];
      last_was_word = false;
      ++i;
    }
  }
  return out + pending_space;
}

std::string DecodeQuotedPrintable(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '=') {
      if (in.substr(i + 1).starts_with("\r\n")) {
        i += 2;
        continue;
      }
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

struct Parsed {
  std::vector<std::pair<std::string, std::string>> headers;  // unfolded values, in order
  std::string header_block;
  std::string body;
  std::string Get(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
  int Count(const std::string& name) const {
    int n = 0;
    for (const auto& h : headers) n += h.first == name;
    return n;
  }
};

Parsed Parse(const std::string& mime) {
  Parsed p;
  size_t end = mime.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos);
  p.header_block = mime.substr(0, end + 2);
  p.body = mime.substr(end + 4);
  size_t pos = 0;
  while (pos < p.header_block.size()) {
    size_t eol = p.header_block.find("\r\n", pos);
    std::string line = p.header_block.substr(pos, eol - pos);
    pos = eol + 2;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      EXPECT_FALSE(p.headers.empty());
      if (!p.headers.empty()) p.headers.back().second += line;  // unfold: drop the CRLF only
      continue;
    }
    size_t colon = line.find(':');
    EXPECT_NE(colon, std::string::npos) << "not a header line: " << line;
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    p.headers.emplace_back(line.substr(0, colon), value);
  }
  for (auto& h : p.headers) {  // a fold right after the colon leaves a leading space
    while (!h.second.empty() && h.second[0] == ' ') h.second.erase(0, 1);
  }
  return p;
}

// Every line end is CRLF, and no line is longer than `limit` octets.
void ExpectCrlfLines(const std::string& text, size_t limit) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ASSERT_GT(i, 0u);
      ASSERT_EQ(text[i - 1], '\r') << "bare LF at " << i;
      EXPECT_LE(i - 1 - start, limit) << "line: " << text.substr(start, i - 1 - start);
      start = i + 1;
    } else if (text[i] == '\r') {
      ASSERT_LT(i + 1, text.size());
      ASSERT_EQ(text[i + 1], '\n') << "bare CR at " << i;
    }
  }
}

Message BasicMessage() {
  Message m;
  m.from = {"hello@shop.example", "Example Shop"};
  m.to = {"ann@example.com", "Ann Smith"};
  m.subject = "We miss you";
  m.text = "Hello Ann,\ncome back.\n";
  m.html = "<p>Hello Ann,</p>\n<p>come back.</p>\n";
  m.message_id = "<abc123@shop.example>";
  m.date = sys_days(2025y / February / 13) + 10h + 5min + 7s;
  m.unsubscribe_url = "https://shop.example/unsubscribe?t=XYZ";
  return m;
}

TEST(Mime, PlainHeaders) {
  Message m = BasicMessage();
  m.reply_to = Address{"care@shop.example", ""};
  std::string mime = BuildMime(m);
  ExpectCrlfLines(mime, 76);
  Parsed p = Parse(mime);
  EXPECT_EQ(p.Get("Date"), "Thu, 13 Feb 2025 10:05:07 +0000");
  EXPECT_EQ(p.Get("From"), "Example Shop <hello@shop.example>");
  EXPECT_EQ(p.Get("To"), "Ann Smith <ann@example.com>");
  EXPECT_EQ(p.Get("Reply-To"), "care@shop.example");
  EXPECT_EQ(p.Get("Message-ID"), "<abc123@shop.example>");
  EXPECT_EQ(p.Get("Subject"), "We miss you");
  EXPECT_EQ(p.Get("MIME-Version"), "1.0");
  for (const char* name : {"Date", "From", "To", "Reply-To", "Message-ID", "Subject"}) {
    EXPECT_EQ(p.Count(name), 1) << name;
  }
  for (unsigned char c : mime) EXPECT_LT(c, 0x80) << "the message is 7-bit";
}

// What preview shows by default: the headers decoded and the text part as written.
TEST(Mime, ReadableMessageIsDecoded) {
  Message m = BasicMessage();
  m.to = {"", "Zoë\nEvil: yes"};
  m.subject = "Ein schöner Tag, = 100% für Sie";
  m.text =
      "Hallo Zoë,\r\na line of some length that quoted-printable would break well before its "
      "end, = and all\r\n";
  EXPECT_EQ(ReadableMessage(m),
            "Date: Thu, 13 Feb 2025 10:05:07 +0000\n"
            "From: Example Shop <hello@shop.example>\n"
            "To: Zoë Evil: yes (no email address)\n"
            "Subject: Ein schöner Tag, = 100% für Sie\n"
            "List-Unsubscribe: <https://shop.example/unsubscribe?t=XYZ>\n"
            "\n"
            "Hallo Zoë,\n"
            "a line of some length that quoted-printable would break well before its end, = "
            "and all\n"
            "\n"
            "(an HTML part goes with this text)\n");
  m.html.clear();
  m.to = {"ann@example.com", "Ann Smith"};
  m.reply_to = Address{"care@shop.example", ""};
  m.unsubscribe_url.clear();
  m.text = "no line end";
  EXPECT_EQ(ReadableMessage(m),
            "Date: Thu, 13 Feb 2025 10:05:07 +0000\n"
            "From: Example Shop <hello@shop.example>\n"
            "To: Ann Smith <ann@example.com>\n"
            "Reply-To: care@shop.example\n"
            "Subject: Ein schöner Tag, = 100% für Sie\n"
            "\n"
            "no line end\n");
}

TEST(Mime, DateFormat) {
  EXPECT_EQ(FormatRfc5322Date(sys_days(2024y / January / 1) + 0s),
            "Mon, 1 Jan 2024 00:00:00 +0000");
  EXPECT_EQ(FormatRfc5322Date(sys_days(2024y / February / 29) + 23h + 59min + 59s),
            "Thu, 29 Feb 2024 23:59:59 +0000");
}

TEST(Mime, EncodedSubjectsRoundTrip) {
  std::vector<std::string> subjects = {
      "Grüße aus Köln",
      "🎉 Party — 20 % off, today only!",
      "日本語のテキストはとても長いので、いくつかのエンコードされた単語に分割されます。さらに長く"
      "。",
      "Ümlaut with a very long tail of plain ASCII words that surely needs folding somewhere",
      "=?UTF-8?B?Zm9v?= looks encoded but is plain text",
      "question? under_score = equals",
      std::string(200, 'x'),
      "tab\there",
  };
  for (const auto& subject : subjects) {
    Message m = BasicMessage();
    m.subject = subject;
    std::string mime = BuildMime(m);
    ExpectCrlfLines(mime, 76);
    Parsed p = Parse(mime);
    std::string expected = subject == "tab\there" ? "tab here" : subject;
    EXPECT_EQ(DecodeWords(p.Get("Subject")), expected) << p.Get("Subject");
  }
  // Plain ASCII stays readable.
  Message m = BasicMessage();
  m.subject = "A plain subject, with punctuation: yes!";
  EXPECT_EQ(Parse(BuildMime(m)).Get("Subject"), "A plain subject, with punctuation: yes!");
}

TEST(Mime, EncodeWordsPicksTheShorterForm) {
  // Q for mostly ASCII text, B for mostly non-ASCII text.
  EXPECT_EQ(EncodeWords("Ümlaut here"), "=?UTF-8?Q?=C3=9Cmlaut_here?=");
  EXPECT_EQ(EncodeWords("Grüße"), "=?UTF-8?B?R3LDvMOfZQ==?=");
  EXPECT_TRUE(EncodeWords("日本語日本語").starts_with("=?UTF-8?B?"));
  // A UTF-8 character is never split across two words.
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "ü€𝄞";
  std::string encoded = EncodeWords(long_text);
  EXPECT_EQ(DecodeWords(encoded), long_text);
  size_t start = 0;
  while (start < encoded.size()) {
    size_t end = encoded.find(' ', start);
    if (end == std::string::npos) end = encoded.size();
    std::string word = encoded.substr(start, end - start);
    EXPECT_LE(word.size(), 66u);
    std::string decoded = DecodeWords(word);
    // Each word on its own is valid UTF-8: decoding it alone gives whole characters.
    EXPECT_NE(long_text.find(decoded), std::string::npos);
    start = end + 1;
  }
}

TEST(Mime, DisplayNames) {
  auto from_header = [](std::string name) {
    Message m = BasicMessage();
    m.from.display_name = std::move(name);
    return Parse(BuildMime(m)).Get("From");
  };
  EXPECT_EQ(from_header("O'Brien & Sons"), "O'Brien & Sons <hello@shop.example>");
  EXPECT_EQ(from_header("Doe, John"), "\"Doe, John\" <hello@shop.example>");
  EXPECT_EQ(from_header("Say \"hi\" \\ bye"), "\"Say \\\"hi\\\" \\\\ bye\" <hello@shop.example>");
  EXPECT_EQ(from_header(""), "hello@shop.example");
  std::string encoded = from_header("Jürgen Müller-Lüdenscheidt von der Straße, GmbH & Co. KG");
  ASSERT_TRUE(encoded.ends_with(" <hello@shop.example>")) << encoded;
  EXPECT_EQ(DecodeWords(encoded.substr(0, encoded.size() - 21)),
            "Jürgen Müller-Lüdenscheidt von der Straße, GmbH & Co. KG");
  // A word too long to fold becomes encoded words, so no line gets long.
  std::string long_word(120, 'W');
  Message m = BasicMessage();
  m.to.display_name = "Mr " + long_word;
  std::string mime = BuildMime(m);
  ExpectCrlfLines(mime, 76);
  std::string to = Parse(mime).Get("To");
  EXPECT_EQ(DecodeWords(to.substr(0, to.size() - 18)), "Mr " + long_word) << to;

  EXPECT_EQ(FormatAddressUtf8({"a@b.example", "Jürgen"}), "Jürgen <a@b.example>");
  EXPECT_EQ(FormatAddressUtf8({"a@b.example", "Müller, J."}), "\"Müller, J.\" <a@b.example>");
}

TEST(Mime, HeaderInjectionIsNeutralised) {
  Message m = BasicMessage();
  m.subject = "Hello\r\nBcc: victim@example.com\r\n\r\nbody?";
  m.from.display_name = "Evil\nX-Injected: 1";
  m.to.display_name = "Ann\rX-Injected: 2";
  m.to.email = "ann@example.com\r\nBcc: x@example.org";
  m.reply_to = Address{"r@example.com>\r\nX-Injected: 3", std::string("R\x00\x1b\x7f\xc2\x85", 6)};
  m.unsubscribe_url = "https://shop.example/u?t=1\r\nX-Evil: 1\r\n";
  m.message_id = "<id@x>\r\nX-Injected: 4";
  std::string mime = BuildMime(m);
  ExpectCrlfLines(mime, 998);
  Parsed p = Parse(mime);
  std::set<std::string> allowed = {"Date",
                                   "From",
                                   "To",
                                   "Reply-To",
                                   "Message-ID",
                                   "Subject",
                                   "MIME-Version",
                                   "List-Unsubscribe",
                                   "List-Unsubscribe-Post",
                                   "Content-Type"};
  for (const auto& [name, value] : p.headers) {
    EXPECT_TRUE(allowed.contains(name)) << "injected header: " << name << ": " << value;
  }
  for (char c : p.header_block) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') continue;
    EXPECT_TRUE(u >= 0x20 && u < 0x7F) << "control character " << int(u) << " in the headers";
  }
  EXPECT_EQ(p.Count("Bcc"), 0);
  EXPECT_EQ(DecodeWords(p.Get("Subject")), "Hello  Bcc: victim@example.com    body?");
  EXPECT_EQ(p.Get("List-Unsubscribe"), "<https://shop.example/u?t=1X-Evil:%201>");
  EXPECT_EQ(p.Get("Message-ID"), "<id@xX-Injected:4>");
  // The body starts where the headers end: the injected blank line did not split them.
  EXPECT_TRUE(p.body.starts_with("This is a multi-part message")) << p.body.substr(0, 80);
}

TEST(Mime, SanitizeHeaderText) {
  EXPECT_EQ(SanitizeHeaderText("  a\r\nb\tc\x01\x7f"
                               "d  "),
            "a  b c  d");
  EXPECT_EQ(SanitizeHeaderText("bad \xff\xfe utf8"), "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8");
  EXPECT_EQ(SanitizeHeaderText("nel\xc2\x85here"), "nel here");
  EXPECT_EQ(SanitizeHeaderText("overlong \xc0\xaf"), "overlong \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Mime, MultipartStructure) {
  Message m = BasicMessage();
  m.text = "Line one\nLine two with = and ü\n";
  m.html = "<p>Grüße</p>\r\n<p>=</p>";
  std::string mime = BuildMime(m);
  Parsed p = Parse(mime);
  std::string type = p.Get("Content-Type");
  ASSERT_TRUE(type.starts_with("multipart/alternative;")) << type;
  size_t b = type.find("boundary=\"");
  ASSERT_NE(b, std::string::npos);
  std::string boundary = type.substr(b + 10, type.find('"', b + 10) - b - 10);
  EXPECT_GE(boundary.size(), 20u);
  EXPECT_NE(boundary.find("=_"), std::string::npos);

  std::string delimiter = "\r\n--" + boundary + "\r\n";
  std::string close = "\r\n--" + boundary + "--\r\n";
  ASSERT_TRUE(p.body.ends_with(close));
  size_t first = p.body.find(delimiter);
  ASSERT_NE(first, std::string::npos);
  size_t second = p.body.find(delimiter, first + 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(p.body.find(delimiter, second + 1), std::string::npos) << "exactly two parts";
  std::string part1 = p.body.substr(first + delimiter.size(), second - first - delimiter.size());
  std::string part2 = p.body.substr(second + delimiter.size(),
                                    p.body.size() - close.size() - second - delimiter.size());
  for (const std::string* part : {&part1, &part2}) {
    EXPECT_EQ(part->find("--" + boundary), std::string::npos);
    ExpectCrlfLines(*part, 76);
  }
  Parsed text = Parse(part1);
  Parsed html = Parse(part2);
  EXPECT_EQ(text.Get("Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(text.Get("Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_EQ(html.Get("Content-Type"), "text/html; charset=UTF-8");
  EXPECT_EQ(html.Get("Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_EQ(DecodeQuotedPrintable(text.body), "Line one\r\nLine two with = and ü\r\n");
  EXPECT_EQ(DecodeQuotedPrintable(html.body), "<p>Grüße</p>\r\n<p>=</p>");

  // A fresh boundary for every message.
  std::string other = Parse(BuildMime(m)).Get("Content-Type");
  EXPECT_NE(type, other);
}

TEST(Mime, TextOnlyMessage) {
  Message m = BasicMessage();
  m.html.clear();
  m.text = "Just text.";
  Parsed p = Parse(BuildMime(m));
  EXPECT_EQ(p.Get("Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(p.Get("Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_EQ(DecodeQuotedPrintable(p.body), "Just text.\r\n");
  EXPECT_EQ(p.body.find("--"), std::string::npos);
}

TEST(Mime, QuotedPrintable) {
  EXPECT_EQ(EncodeQuotedPrintable("a=b"), "a=3Db");
  EXPECT_EQ(EncodeQuotedPrintable("trailing space \nand tab\t"), "trailing space=20\r\nand tab=09");
  EXPECT_EQ(EncodeQuotedPrintable(".\nFrom here\nFrom"), "=2E\r\n=46rom here\r\nFrom");
  EXPECT_EQ(EncodeQuotedPrintable("ü"), "=C3=BC");
  EXPECT_EQ(EncodeQuotedPrintable("a\r\nb\rc\nd"), "a\r\nb\r\nc\r\nd");

  std::string long_line(300, 'x');
  std::string encoded = EncodeQuotedPrintable(long_line);
  ExpectCrlfLines(encoded + "\r\n", 76);
  EXPECT_NE(encoded.find("=\r\n"), std::string::npos) << "soft line breaks";
  EXPECT_EQ(DecodeQuotedPrintable(encoded), long_line);

  // Random text (fixed seed): round trip, line limit, only printable ASCII.
  std::mt19937 gen(42);
  std::vector<std::string> alphabet = {"a", "Z", " ", "\t",    "=", ".", "\n", "\r\n",
                                       "ü", "€", "🎉", "From ", "x", "?", "_",  "\x01"};
  for (int round = 0; round < 200; ++round) {
    std::string text;
    int n = std::uniform_int_distribution<int>(0, 400)(gen);
    for (int i = 0; i < n; ++i) {
      text += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(gen)];
    }
    std::string qp = EncodeQuotedPrintable(text);
    ExpectCrlfLines(qp + "\r\n", 76);
    for (unsigned char c : qp) {
      ASSERT_TRUE((c >= 0x20 && c < 0x7F) || c == '\r' || c == '\n' || c == '\t');
    }
    EXPECT_EQ(qp.find("=_"), std::string::npos);
    std::string normalised;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
      normalised += text[i] == '\n' ? std::string("\r\n") : std::string(1, text[i]);
    }
    ASSERT_EQ(DecodeQuotedPrintable(qp), normalised) << "round " << round;
    // Whitespace never ends an encoded line.
    for (size_t i = 0; i + 1 < qp.size(); ++i) {
      if (qp[i] == '\r') {
        ASSERT_TRUE(i == 0 || (qp[i - 1] != ' ' && qp[i - 1] != '\t'));
      }
    }
  }
}

TEST(Mime, ListUnsubscribe) {
  Message m = BasicMessage();
  Parsed p = Parse(BuildMime(m));
  EXPECT_EQ(p.Get("List-Unsubscribe"), "<https://shop.example/unsubscribe?t=XYZ>");
  EXPECT_EQ(p.Get("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");

  m.unsubscribe_url.clear();
  p = Parse(BuildMime(m));
  EXPECT_EQ(p.Count("List-Unsubscribe"), 0);
  EXPECT_EQ(p.Count("List-Unsubscribe-Post"), 0);

  m.unsubscribe_url = "https://shop.example/u?name=Jürgen <x>";
  EXPECT_EQ(Parse(BuildMime(m)).Get("List-Unsubscribe"),
            "<https://shop.example/u?name=J%C3%BCrgen%20%3Cx%3E>");
}

TEST(Mime, FoldHeader) {
  std::string value =
      "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
      "fifteen sixteen seventeen";
  std::string folded = FoldHeader("Subject", value);
  ExpectCrlfLines(folded, 76);
  EXPECT_NE(folded.find("\r\n "), std::string::npos);
  Parsed p = Parse(folded + "\r\n");
  EXPECT_EQ(p.Get("Subject"), value);
}

TEST(Mime, MessageIds) {
  std::set<std::string> ids;
  for (int i = 0; i < 2000; ++i) {
    std::string id = NewMessageId("shop.example");
    ASSERT_TRUE(id.starts_with("<") && id.ends_with("@shop.example>")) << id;
    ASSERT_EQ(id.size(), 1 + 32 + 1 + 12 + 1);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 2000u);
  EXPECT_EQ(NewMessageId("evil>\r\nX: y").substr(33), "@evilXy>");
  EXPECT_TRUE(NewMessageId("").ends_with("@localhost>"));

  Message m = BasicMessage();
  m.message_id.clear();
  std::string id = Parse(BuildMime(m)).Get("Message-ID");
  EXPECT_TRUE(id.ends_with("@shop.example>")) << id;
}

TEST(Mime, InternationalizedDomainsGoOutInTheirAsciiForm) {
  EXPECT_EQ(WireEmail("a@example.com"), "a@example.com");
  EXPECT_EQ(WireEmail("user@ex\xc3\xa4mple.com"), "user@xn--exmple-cua.com");
  EXPECT_EQ(WireEmail("x@\xe4\xbe\x8b\xe3\x81\x88.jp"), "x@xn--r8jz45g.jp");
  EXPECT_TRUE(IsValidEmail(*WireEmail("user@ex\xc3\xa4mple.com")));
  EXPECT_EQ(WireEmail("j\xc3\xbcrgen@example.com"), std::nullopt) << "no SMTPUTF8";
  EXPECT_EQ(WireEmail("a@ex\xff.com"), std::nullopt) << "not UTF-8";
}

TEST(Mime, Addresses) {
  for (const char* good : {"a@b.example", "first.last+tag@sub.example.co.uk", "x_y-z@localhost",
                           "o'brien@example.com", "user@[127.0.0.1]"}) {
    EXPECT_TRUE(IsValidEmail(good)) << good;
  }
  for (const char* bad : {"", "plain", "@example.com", "a@", "a@@b.com", "a b@c.com", "a@b c.com",
                          ".a@b.com", "a..b@c.com", "a@-b.com", "a@b.com\r\nBcc: x@y.com",
                          "<a@b.com>", "\"q\"@b.com", "jürgen@example.com", "a@b.com>"}) {
    EXPECT_FALSE(IsValidEmail(bad)) << bad;
  }
  auto a = ParseAddress("Example Shop <hello@example.com>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->display_name, "Example Shop");
  EXPECT_EQ(a->email, "hello@example.com");
  a = ParseAddress("\"Doe, \\\"J\\\"\" <j@example.com>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->display_name, "Doe, \"J\"");
  a = ParseAddress("  bare@example.com ");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->display_name, "");
  EXPECT_EQ(a->email, "bare@example.com");
  EXPECT_FALSE(ParseAddress("Name <not an address>"));
  EXPECT_FALSE(ParseAddress("Name <a@b.com> trailing"));
  EXPECT_EQ(ParseAddress("x").error().code, ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace followup::delivery
