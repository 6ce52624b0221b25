#include "feedback/report.h"

#include <gtest/gtest.h>

#include "feedback/test_keys.h"
#include "feedback/verp.h"

namespace followup::feedback {
namespace {

using testing::At;
using testing::ReadFixture;

// The key the fixtures' VERP tokens were made with.
const std::string kVerpKey = "0123456789abcdef0123456789abcdef";

ReportOptions Options() {
  ReportOptions options;
  options.received_at = At("2025-03-01T00:00:00Z");
  return options;
}

Report Read(const std::string& fixture) { return ReadReport(ReadFixture(fixture), Options()); }

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(ReportTest, PostfixHardBounce) {
  Report report = Read("dsn/postfix_hard.eml");
  ASSERT_EQ(report.kind, ReportKind::kDeliveryStatus) << report.note;
  ASSERT_EQ(report.events.size(), 1u);
  const Event& e = report.events[0];
  EXPECT_EQ(e.source, Source::kDsn);
  EXPECT_EQ(e.type, EventType::kHardBounce);
  EXPECT_EQ(e.recipient, "nobody@example.com");
  EXPECT_EQ(e.status, "5.1.1");
  EXPECT_EQ(e.message_id, "9b1f0c6e4d3a2b18a7f6e5d4c3b2a190@shop.example");
  EXPECT_EQ(e.verp_token, "4711-ywl6kbgtljhyhral");
  EXPECT_EQ(*ReadVerpToken(kVerpKey, e.verp_token), 4711);
  // No Last-Attempt-Date: the report's Arrival-Date.
  EXPECT_EQ(e.occurred_at, At("2025-02-13T10:00:00Z"));
  EXPECT_EQ(e.reason,
            "smtp; 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in "
            "local recipient table");
  EXPECT_TRUE(e.event_id.starts_with("dsn:")) << e.event_id;
}

TEST(ReportTest, PostfixDelayIsNotABounce) {
  Report report = Read("dsn/postfix_delayed.eml");
  ASSERT_EQ(report.kind, ReportKind::kDeliveryStatus) << report.note;
  ASSERT_EQ(report.events.size(), 1u);
  EXPECT_EQ(report.events[0].type, EventType::kDelayed);
  EXPECT_FALSE(IsActionable(report.events[0].type));
  EXPECT_EQ(report.events[0].status, "4.4.1");
  // The original's headers only (text/rfc822-headers).
  EXPECT_EQ(report.events[0].message_id, "4c8e2a6f0b1d3e5a7c9e1f3a5b7d9e1f@shop.example");
  EXPECT_EQ(report.events[0].verp_token, "4712-6qckwpmcvwfkgahl");
}

TEST(ReportTest, PostfixGivingUpOnATemporaryFailureIsASoftBounce) {
  Report report = Read("dsn/postfix_expired.eml");
  ASSERT_EQ(report.events.size(), 1u);
  EXPECT_EQ(report.events[0].type, EventType::kSoftBounce);
  EXPECT_EQ(report.events[0].recipient, "gone@example.org");
  EXPECT_EQ(report.events[0].status, "4.4.1");
  EXPECT_EQ(report.events[0].message_id, "0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a@shop.example");
}

TEST(ReportTest, EximMultipartReport) {
  Report report = Read("dsn/exim_report.eml");
  ASSERT_EQ(report.kind, ReportKind::kDeliveryStatus) << report.note;
  ASSERT_EQ(report.events.size(), 1u);
  const Event& e = report.events[0];
  EXPECT_EQ(e.type, EventType::kHardBounce);
  EXPECT_EQ(e.recipient, "missing@example.com");
  EXPECT_EQ(e.status, "5.0.0");  // what Exim's Status says, though the reply said 5.1.1
  EXPECT_EQ(e.message_id, "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b@shop.example");
  EXPECT_EQ(e.verp_token, "4714-nsljashcvg4rv3va");      // from Envelope-to
  EXPECT_EQ(e.occurred_at, At("2025-02-13T10:00:06Z"));  // no Arrival-Date: the Date header
}

TEST(ReportTest, EximPlainTextBounceWithXFailedRecipients) {
  Report report = Read("dsn/exim_text.eml");
  ASSERT_EQ(report.kind, ReportKind::kDeliveryStatus) << report.note;
  ASSERT_EQ(report.events.size(), 2u);
  EXPECT_EQ(report.events[0].type, EventType::kHardBounce);
  EXPECT_EQ(report.events[0].recipient, "missing@example.com");
  EXPECT_EQ(report.events[0].status, "5.1.1");
  EXPECT_NE(report.events[0].reason.find("User unknown in virtual mailbox table"),
            std::string::npos)
      << report.events[0].reason;
  EXPECT_EQ(report.events[1].recipient, "full.mailbox@example.net");
  EXPECT_EQ(report.events[1].status, "5.2.2");
  EXPECT_NE(report.events[1].reason.find("Mailbox full"), std::string::npos);
  for (const Event& e : report.events) {
    EXPECT_EQ(e.message_id, "6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d@shop.example");
    EXPECT_EQ(e.verp_token, "4715-ou6tjoum3ohri5qm");
    EXPECT_EQ(e.occurred_at, At("2025-02-13T10:00:07Z"));
  }
  EXPECT_NE(report.events[0].event_id, report.events[1].event_id);
}

TEST(ReportTest, GmailReport) {
  Report report = Read("dsn/gmail.eml");
  ASSERT_EQ(report.kind, ReportKind::kDeliveryStatus) << report.note;
  ASSERT_EQ(report.events.size(), 1u);
  const Event& e = report.events[0];
  EXPECT_EQ(e.type, EventType::kHardBounce);
  EXPECT_EQ(e.recipient, "no.such.user@gmail.com");
  EXPECT_EQ(e.status, "5.1.1");
  EXPECT_EQ(e.message_id, "2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c@shop.example");
  EXPECT_EQ(e.verp_token, "4716-j2lvctgtvtyyjysh");
  EXPECT_EQ(e.occurred_at, At("2025-02-13T10:00:07Z"));  // Last-Attempt-Date, from PST
  EXPECT_TRUE(e.reason.starts_with("smtp; 550-5.1.1 The email account")) << e.reason;
  EXPECT_LE(e.reason.size(), kMaxReasonBytes);
}

TEST(ReportTest, GmailReportWithoutTheOriginalFallsBackToXOriginalMessageId) {
  std::string text = ReadFixture("dsn/gmail.eml");
  text = text.substr(0, text.rfind("--000000000000a1b2c3062df0e123\nContent-Type: message/rfc822"));
  Report report = ReadReport(text, Options());
  ASSERT_EQ(report.events.size(), 1u);
  EXPECT_EQ(report.events[0].message_id, "2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c@shop.example");
}

TEST(ReportTest, CrlfLineEndsReadTheSame) {
  std::string lf = ReadFixture("dsn/postfix_hard.eml");
  std::string crlf;
  for (char c : lf) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  Report a = ReadReport(lf, Options());
  Report b = ReadReport(crlf, Options());
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].recipient, a.events[0].recipient);
  EXPECT_EQ(b.events[0].message_id, a.events[0].message_id);
  EXPECT_EQ(b.events[0].reason, a.events[0].reason);
  EXPECT_EQ(b.events[0].event_id, a.events[0].event_id);  // the same report, the same event
}

TEST(ReportTest, TheSameReportDeliveredTwiceGivesTheSameEventIds) {
  std::string text = ReadFixture("dsn/postfix_hard.eml");
  // A second delivery of the same report gains a header of its own on the way.
  std::string again = "Received: by relay2.shop.example; Thu, 13 Feb 2025 10:01:00 +0000\n" + text;
  EXPECT_EQ(ReadReport(text, Options()).events[0].event_id,
            ReadReport(again, Options()).events[0].event_id);
  // Another report about the same address is another event.
  std::string other = Replace(text, "<20250213100005.4B5C6C0456@mail.shop.example>",
                              "<20250214100005.99999C0456@mail.shop.example>");
  EXPECT_NE(ReadReport(text, Options()).events[0].event_id,
            ReadReport(other, Options()).events[0].event_id);
}

TEST(ReportTest, ArfAbuseReportIsAComplaint) {
  Report report = Read("arf/abuse.eml");
  ASSERT_EQ(report.kind, ReportKind::kFeedbackReport) << report.note;
  ASSERT_EQ(report.events.size(), 1u);
  const Event& e = report.events[0];
  EXPECT_EQ(e.source, Source::kArf);
  EXPECT_EQ(e.type, EventType::kComplaint);
  EXPECT_EQ(e.recipient, "complainer@example.com");
  EXPECT_EQ(e.message_id, "9b1f0c6e4d3a2b18a7f6e5d4c3b2a190@shop.example");
  EXPECT_EQ(e.verp_token, "4711-ywl6kbgtljhyhral");  // the reported message's Return-Path
  EXPECT_EQ(e.occurred_at, At("2025-02-13T10:00:01Z"));
  EXPECT_EQ(e.reason,
            "Feedback-Type: abuse; User-Agent: ExampleFBL/2.1; Reporting-MTA: dns; "
            "mx.mailbox.example");
  EXPECT_TRUE(e.event_id.starts_with("arf:"));
}

TEST(ReportTest, ArfWithoutOriginalRcptToUsesTheReportedMessagesTo) {
  std::string text =
      Replace(ReadFixture("arf/abuse.eml"), "Original-Rcpt-To: <Complainer@Example.COM>\n", "");
  Report report = ReadReport(text, Options());
  ASSERT_EQ(report.events.size(), 1u);
  EXPECT_EQ(report.events[0].recipient, "complainer@example.com");
}

TEST(ReportTest, RedactedArfStillNamesTheMessage) {
  std::string text =
      Replace(ReadFixture("arf/abuse.eml"), "Original-Rcpt-To: <Complainer@Example.COM>\n", "");
  text = Replace(text, "To: Complainer <complainer@example.com>", "To: redacted");
  Report report = ReadReport(text, Options());
  ASSERT_EQ(report.events.size(), 1u);
  EXPECT_EQ(report.events[0].recipient, "");
  EXPECT_EQ(report.events[0].message_id, "9b1f0c6e4d3a2b18a7f6e5d4c3b2a190@shop.example");
  EXPECT_EQ(report.events[0].type, EventType::kComplaint);
}

TEST(ReportTest, ArfNotSpamIsNoComplaint) {
  std::string text =
      Replace(ReadFixture("arf/abuse.eml"), "Feedback-Type: abuse", "Feedback-Type: not-spam");
  Report report = ReadReport(text, Options());
  ASSERT_EQ(report.events.size(), 1u);
  EXPECT_EQ(report.events[0].type, EventType::kOther);
}

TEST(ReportTest, ARedactedArfThatIsNoComplaintIsUnrecognised) {
  // Found by fuzzing: a report without a Feedback-Type (or with one that is no complaint) that
  // names nobody gave an event of kind "other" with no recipient, which only complaints may have.
  std::string text =
      Replace(ReadFixture("arf/abuse.eml"), "Original-Rcpt-To: <Complainer@Example.COM>\n", "");
  text = Replace(text, "To: Complainer <complainer@example.com>", "To: redacted");
  for (const char* type : {"Feedback-Type: not-spam", "X-Feedback-Type: abuse"}) {
    Report report = ReadReport(Replace(text, "Feedback-Type: abuse", type), Options());
    EXPECT_EQ(report.kind, ReportKind::kUnrecognised) << type;
    EXPECT_TRUE(report.events.empty()) << type;
    EXPECT_EQ(report.note, "a feedback report that names no recipient and is no complaint") << type;
  }
}

TEST(ReportTest, AnAutoReplyIsUnrecognised) {
  Report report = Read("other/autoreply.eml");
  EXPECT_EQ(report.kind, ReportKind::kUnrecognised);
  EXPECT_TRUE(report.events.empty());
  EXPECT_NE(report.note.find("neither"), std::string::npos) << report.note;
}

TEST(ReportTest, AReportThatNamesNobodyIsUnrecognised) {
  std::string text = ReadFixture("dsn/postfix_hard.eml");
  text = Replace(text, "Final-Recipient: rfc822; nobody@example.com\n", "");
  text = Replace(text, "Original-Recipient: rfc822;nobody@example.com\n", "");
  Report report = ReadReport(text, Options());
  EXPECT_EQ(report.kind, ReportKind::kUnrecognised);
  EXPECT_EQ(report.note, "a delivery status report that names no recipient");
}

TEST(ReportTest, TooLargeOrEmptyIsUnrecognisedUnread) {
  ReportOptions options = Options();
  options.max_bytes = 100;
  Report big = ReadReport(ReadFixture("dsn/postfix_hard.eml"), options);
  EXPECT_EQ(big.kind, ReportKind::kUnrecognised);
  EXPECT_EQ(big.note, "larger than 100 bytes");
  EXPECT_EQ(ReadReport("", Options()).kind, ReportKind::kUnrecognised);
  EXPECT_EQ(ReadReport("\n\n\n", Options()).kind, ReportKind::kUnrecognised);
}

TEST(ReportTest, RecipientsPerReportAreCapped) {
  std::string text =
      "Message-ID: <many@x>\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
      "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n";
  for (int i = 0; i < 50; ++i) {
    text +=
        "\nFinal-Recipient: rfc822; r" + std::to_string(i) + "@x\nAction: failed\nStatus: 5.1.1\n";
  }
  text += "--b--\n";
  ReportOptions options = Options();
  options.max_recipients = 10;
  Report report = ReadReport(text, options);
  EXPECT_EQ(report.events.size(), 10u);
}

TEST(ReportTest, HostileInputNeverCrashes) {
  // Truncations of every fixture at many points, and a few pathological shapes.
  for (const char* name :
       {"dsn/postfix_hard.eml", "dsn/gmail.eml", "dsn/exim_text.eml", "arf/abuse.eml"}) {
    std::string text = ReadFixture(name);
    for (size_t cut = 0; cut < text.size(); cut += 37) {
      Report report = ReadReport(std::string_view(text).substr(0, cut), Options());
      for (const Event& e : report.events) EXPECT_LE(e.reason.size(), kMaxReasonBytes);
    }
  }
  std::string nested;
  for (int i = 0; i < 2000; ++i) nested += "Content-Type: message/rfc822\n\n";
  EXPECT_EQ(ReadReport(nested, Options()).kind, ReportKind::kUnrecognised);
  std::string boundaries = "Content-Type: multipart/report; boundary=\"\"\n\n--\n--\n";
  EXPECT_EQ(ReadReport(boundaries, Options()).kind, ReportKind::kUnrecognised);
  std::string binary(4096, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 131 % 256);
  EXPECT_EQ(ReadReport(binary, Options()).kind, ReportKind::kUnrecognised);
}

}  // namespace
}  // namespace followup::feedback
