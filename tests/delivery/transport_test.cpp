// The transports against real servers on 127.0.0.1: a maildir on disk, Postfix's smtp-sink (with
// its fault injection), and a scripted HTTP server.
#include "delivery/transport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "delivery/rate_limit.h"
#include "delivery/test_servers.h"
#include "support/test_util.h"

namespace followup::delivery {
namespace {

using namespace std::chrono;
using followup::testing::HttpReply;
using followup::testing::HttpRequest;
using followup::testing::HttpTestServer;
using followup::testing::SmtpSink;
using followup::testing::TcpProxy;
using followup::testing::TempDir;

// What the sink has dumped, once it has dumped `count` messages (it writes each one as the session
// goes on) or after 10 s.
std::vector<std::string> DumpsOnceThereAre(const SmtpSink& sink, size_t count) {
  auto deadline = steady_clock::now() + seconds(10);
  auto dumped = sink.Messages();
  while (dumped.size() < count && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
    dumped = sink.Messages();
  }
  return dumped;
}

Message TestMessage(int i, std::string to = "") {
  Message m;
  m.from = {"hello@shop.example", "Example Shop"};
  m.to = {to.empty() ? "customer" + std::to_string(i) + "@example.com" : to, "Customer Ü"};
  m.reply_to = Address{"care@shop.example", "Care"};
  m.subject = "Message " + std::to_string(i) + " — für dich";
  m.text = "Hello " + std::to_string(i) + "\n.\nend\n";
  m.html = "<p>Hello " + std::to_string(i) + "</p>";
  m.message_id = "<m" + std::to_string(i) + "@shop.example>";
  m.date = sys_days(2025y / March / 1) + 9h;
  m.unsubscribe_url = "https://shop.example/u?t=" + std::to_string(i);
  m.idempotency_key = "decision-" + std::to_string(i);
  m.rule = "lapsed";
  m.customer = "C" + std::to_string(i);
  return m;
}

std::vector<Message> TestMessages(int n) {
  std::vector<Message> out;
  for (int i = 0; i < n; ++i) out.push_back(TestMessage(i));
  return out;
}

std::unique_ptr<Transport> Make(TransportOptions options) {
  auto t = MakeTransport(options);
  EXPECT_TRUE(t) << (t ? "" : t.error().ToString());
  return t ? std::move(*t) : nullptr;
}

TransportOptions SmtpOptions(std::string url, int connections = 2) {
  TransportOptions o;
  o.url = std::move(url);
  o.require_tls = false;  // smtp-sink has no STARTTLS
  o.connections = connections;
  o.timeout = seconds(1);
  return o;
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double SecondsSince(steady_clock::time_point start) {
  return duration<double>(steady_clock::now() - start).count();
}

// ---------------------------------------------------------------- MakeTransport

TEST(MakeTransport, RejectsBadUrlsAndOptions) {
  TransportOptions o;
  o.url = "ftp://example.com";
  auto t = MakeTransport(o);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(t.error().message.find("unknown scheme 'ftp'"), std::string::npos);

  o.url = "no-scheme";
  EXPECT_EQ(MakeTransport(o).error().code, ErrorCode::kInvalidInput);
  o.url = "smtp://user:secret@127.0.0.1:25";
  t = MakeTransport(o);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("credentials_file"), std::string::npos);
  o.url = "smtp://";
  EXPECT_FALSE(MakeTransport(o));
  o.url = "https://127.0.0.1/email";
  o.api_kind = "mailchimp";
  EXPECT_EQ(MakeTransport(o).error().code, ErrorCode::kInvalidInput);
  o.api_kind = "postmark";
  o.connections = 0;
  EXPECT_EQ(MakeTransport(o).error().code, ErrorCode::kInvalidInput);
  o.connections = 1;
  o.url = "maildir://";
  EXPECT_EQ(MakeTransport(o).error().code, ErrorCode::kInvalidInput);
  o.url = "maildir:///proc/followup-cannot-be-here";
  EXPECT_EQ(MakeTransport(o).error().code, ErrorCode::kRuntime);

  o.url = "SMTPS://127.0.0.1:4650";
  auto smtps = MakeTransport(o);
  ASSERT_TRUE(smtps);
  EXPECT_EQ((*smtps)->kind(), "smtp");
}

// ---------------------------------------------------------------- maildir

TEST(MaildirTransport, MessagesLandInNewCompleteWithUniqueNames) {
  TempDir dir;
  std::string path = dir / "deep/mail";
  TransportOptions o;
  o.url = "maildir://" + path;
  auto transport = Make(o);
  ASSERT_TRUE(transport);
  EXPECT_EQ(transport->kind(), "maildir");
  for (const char* sub : {"tmp", "new", "cur"}) {
    EXPECT_TRUE(std::filesystem::is_directory(path + "/" + sub)) << sub;
  }

  auto messages = TestMessages(25);
  messages[3].to.email = "not an address";
  auto results = transport->Send(messages);
  ASSERT_EQ(results.size(), messages.size());
  std::set<std::string> names;
  for (size_t i = 0; i < results.size(); ++i) {
    if (i == 3) {
      EXPECT_EQ(results[i].outcome, Outcome::kPermanent);
      EXPECT_TRUE(results[i].hard_bounce);
      continue;
    }
    ASSERT_EQ(results[i].outcome, Outcome::kSent) << results[i].reply;
    names.insert(results[i].provider_message_id);
    std::string file = path + "/new/" + results[i].provider_message_id;
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    std::string content = ReadAll(file);
    EXPECT_EQ(content.find('\r'), std::string::npos) << "maildir files use LF";
    EXPECT_NE(content.find("Message-ID: <m" + std::to_string(i) + "@shop.example>"),
              std::string::npos);
    EXPECT_NE(content.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"),
              std::string::npos);
    EXPECT_TRUE(content.ends_with("--\n")) << "complete: ends with the closing boundary";
  }
  EXPECT_EQ(names.size(), 24u) << "unique names";
  size_t in_new = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(path + "/new")) {
    ++in_new;
  }
  EXPECT_EQ(in_new, 24u);
  EXPECT_TRUE(std::filesystem::is_empty(path + "/tmp")) << "nothing left in tmp/";
  for (const auto& name : names) {
    EXPECT_EQ(name.find('/'), std::string::npos);
    EXPECT_EQ(name.find(':'), std::string::npos);
  }

  // A second transport on the same maildir (another process, say) never collides.
  auto again = Make(o);
  auto more = again->Send(TestMessages(5));
  for (const auto& r : more) EXPECT_TRUE(names.insert(r.provider_message_id).second);
}

TEST(MaildirTransport, WriteFailureIsTemporaryAndNamed) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  TransportOptions o;
  o.url = "maildir://" + dir / "mail";
  auto transport = Make(o);
  std::filesystem::permissions(dir / "mail/tmp", std::filesystem::perms::owner_read);
  auto results = transport->Send(TestMessages(1));
  EXPECT_EQ(results[0].outcome, Outcome::kTemporary);
  EXPECT_NE(results[0].reply.find("maildir write"), std::string::npos);
}

// ---------------------------------------------------------------- rate limits

TEST(RateLimiter, SpacesSendsOverallAndPerDomain) {
  using Clock = RateLimiter::Clock;
  Clock::time_point t0{};
  t0 += hours(1);
  RateLimiter limiter(10, 2);  // 100 ms apart overall, 500 ms apart per domain
  EXPECT_EQ(limiter.TryAcquire("a.example", t0), Clock::duration::zero());
  EXPECT_EQ(limiter.TryAcquire("b.example", t0), milliseconds(100));
  EXPECT_EQ(limiter.TryAcquire("b.example", t0 + milliseconds(100)), Clock::duration::zero());
  EXPECT_EQ(limiter.TryAcquire("A.EXAMPLE", t0 + milliseconds(200)), milliseconds(300));
  EXPECT_EQ(limiter.TryAcquire("c.example", t0 + milliseconds(200)), Clock::duration::zero());
  EXPECT_EQ(limiter.TryAcquire("a.example", t0 + milliseconds(500)), Clock::duration::zero());

  RateLimiter unlimited(0, 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(unlimited.TryAcquire("x", t0), Clock::duration::zero());
}

// ---------------------------------------------------------------- SMTP (Postfix smtp-sink)

class SmtpTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(followup::testing::kSmtpSink, X_OK), 0)
        << followup::testing::kSmtpSink
        << " is missing: install Debian's postfix package (scripts/install-deps)";
  }
};

TEST_F(SmtpTransport, AllSentOverReusedConnections) {
  SmtpSink sink;
  ASSERT_TRUE(sink.running());
  TcpProxy proxy(sink.port());
  auto transport = Make(SmtpOptions(proxy.url(), 2));
  ASSERT_TRUE(transport);
  auto messages = TestMessages(12);
  auto start = steady_clock::now();
  auto results = transport->Send(messages);
  ASSERT_EQ(results.size(), 12u);
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kSent) << r.reply;
    EXPECT_EQ(r.code, 250);
  }
  // A second batch goes over the same connections.
  results = transport->Send(TestMessages(6));
  for (const auto& r : results) EXPECT_EQ(r.outcome, Outcome::kSent) << r.reply;
  EXPECT_LE(proxy.connections(), 2) << "connections are reused";
  EXPECT_LT(SecondsSince(start), 3.0);

  transport.reset();  // QUIT, so the sink writes every dump
  auto dumped = DumpsOnceThereAre(sink, 18);
  ASSERT_EQ(dumped.size(), 18u);
  std::set<std::string> ids;
  for (const auto& d : dumped) {
    size_t at = d.find("Message-ID: <m");
    ASSERT_NE(at, std::string::npos);
    ids.insert(d.substr(at, d.find('>', at) - at));
    EXPECT_NE(d.find("X-Mail-Args: <hello@shop.example>"), std::string::npos) << d;
    EXPECT_NE(d.find("X-Rcpt-Args: <customer"), std::string::npos);
    EXPECT_NE(d.find("\n=2E\n"), std::string::npos) << "a lone '.' line is encoded";
    EXPECT_TRUE(d.ends_with("--\n\n")) << "the whole message arrived";
  }
  EXPECT_EQ(ids.size(), 12u);  // m0..m11 (the second batch reused m0..m5)
}

TEST_F(SmtpTransport, SoftRejectAtRcptIsTemporary) {
  SmtpSink sink({"-r", "RCPT"});
  auto transport = Make(SmtpOptions(sink.url()));
  auto results = transport->Send(TestMessages(3));
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kTemporary);
    EXPECT_EQ(r.code, 450);
    EXPECT_FALSE(r.hard_bounce);
    EXPECT_FALSE(r.sender_failure) << "about the recipient";
    EXPECT_NE(r.reply.find("smtp RCPT TO: 450 4.3.0"), std::string::npos) << r.reply;
  }
}

TEST_F(SmtpTransport, HardRejectAtRcptIsPermanentHardBounce) {
  SmtpSink sink({"-f", "RCPT", "-B", "550 5.1.1 Error: no such user"});
  auto transport = Make(SmtpOptions(sink.url()));
  auto results = transport->Send(TestMessages(2));
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kPermanent);
    EXPECT_EQ(r.code, 550);
    EXPECT_TRUE(r.hard_bounce);
    EXPECT_FALSE(r.sender_failure);
    EXPECT_NE(r.reply.find("5.1.1 Error: no such user"), std::string::npos) << r.reply;
  }
}

TEST_F(SmtpTransport, PolicyRejectIsPermanentButNotABounce) {
  // smtp-sink's default hard reply, "500 5.3.0", and a relay denial are not about the mailbox.
  // A refused sender (MAIL FROM) is no message's fault: temporary, and the sender's failure.
  SmtpSink sink({"-f", "RCPT"});
  auto results = Make(SmtpOptions(sink.url()))->Send(TestMessages(1));
  EXPECT_EQ(results[0].outcome, Outcome::kPermanent);
  EXPECT_EQ(results[0].code, 500);
  EXPECT_FALSE(results[0].hard_bounce);

  SmtpSink relay({"-f", "RCPT", "-B", "550 5.7.1 Relaying denied"});
  results = Make(SmtpOptions(relay.url()))->Send(TestMessages(1));
  EXPECT_EQ(results[0].outcome, Outcome::kPermanent);
  EXPECT_EQ(results[0].code, 550);
  EXPECT_FALSE(results[0].hard_bounce);

  EXPECT_FALSE(results[0].sender_failure);

  SmtpSink sender({"-f", "MAIL", "-B", "553 5.1.8 Sender domain unknown"});
  results = Make(SmtpOptions(sender.url()))->Send(TestMessages(1));
  EXPECT_EQ(results[0].outcome, Outcome::kTemporary) << "the sender's failure fails no message";
  EXPECT_TRUE(results[0].sender_failure);
  EXPECT_EQ(results[0].code, 553);
  EXPECT_FALSE(results[0].hard_bounce) << "a rejected sender is not the recipient's bounce";
  EXPECT_NE(results[0].reply.find("smtp MAIL FROM"), std::string::npos) << results[0].reply;
}

TEST_F(SmtpTransport, RejectAfterDataIsClassifiedByTheReply) {
  SmtpSink sink({"-f", "."});
  auto results = Make(SmtpOptions(sink.url()))->Send(TestMessages(1));
  EXPECT_EQ(results[0].outcome, Outcome::kPermanent);
  EXPECT_EQ(results[0].code, 500);
  EXPECT_FALSE(results[0].sender_failure) << "one message refused after DATA";
  EXPECT_NE(results[0].reply.find("end of data"), std::string::npos) << results[0].reply;

  SmtpSink soft({"-r", "."});
  results = Make(SmtpOptions(soft.url()))->Send(TestMessages(1));
  EXPECT_EQ(results[0].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[0].code, 450);
}

TEST_F(SmtpTransport, DisconnectAtDataIsTemporaryWithoutAStaleCode) {
  // The server hangs up after DATA without a reply: the last reply seen was 250 (to RCPT TO),
  // which must not be reported.
  SmtpSink sink({"-q", "DATA"});
  auto results = Make(SmtpOptions(sink.url()))->Send(TestMessages(3));
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kTemporary);
    EXPECT_EQ(r.code, 0) << r.reply;
    EXPECT_NE(r.reply.find("smtp DATA"), std::string::npos) << r.reply;
  }

  SmtpSink closing({"-Q", "DATA"});  // 421 and hang up
  results = Make(SmtpOptions(closing.url()))->Send(TestMessages(2));
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kTemporary);
    EXPECT_EQ(r.code, 421) << r.reply;
  }
}

TEST_F(SmtpTransport, DroppedReusedConnectionDoesNotReportTheEarlierMessagesCode) {
  // One connection; the proxy cuts it when the second message's DATA arrives, after the first
  // message went through on it (250). The second must be temporary with no code, and the third
  // goes out on a new connection.
  SmtpSink sink;
  TcpProxy proxy(sink.port(), /*drop_at_data=*/2);
  auto transport = Make(SmtpOptions(proxy.url(), 1));
  auto results = transport->Send(TestMessages(3));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].outcome, Outcome::kSent) << results[0].reply;
  EXPECT_EQ(results[0].code, 250);
  EXPECT_EQ(results[1].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[1].code, 0) << results[1].reply;
  EXPECT_EQ(results[2].outcome, Outcome::kSent) << results[2].reply;
  EXPECT_EQ(proxy.connections(), 2);
}

// The server is down: the sender's failure. The messages on the two connections fail with it;
// the rest are not started (they would fail alike), and carry the same failure.
TEST_F(SmtpTransport, ServerNotListeningIsTemporary) {
  int port = followup::testing::FreeLoopbackPort();
  auto transport = Make(SmtpOptions("smtp://127.0.0.1:" + std::to_string(port)));
  auto start = steady_clock::now();
  auto results = transport->Send(TestMessages(6));
  ASSERT_EQ(results.size(), 6u);
  EXPECT_EQ(results[0].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[1].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[5].outcome, Outcome::kNotStarted) << results[5].reply;
  for (const auto& r : results) {
    EXPECT_TRUE(r.outcome == Outcome::kTemporary || r.outcome == Outcome::kNotStarted);
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(r.sender_failure) << "the server is down for every message";
    EXPECT_NE(r.reply.find("smtp connect"), std::string::npos) << r.reply;
  }
  EXPECT_LT(SecondsSince(start), 2.0);
}

TEST_F(SmtpTransport, RequireTlsWithoutStarttlsFailsFast) {
  SmtpSink sink;
  TransportOptions o = SmtpOptions(sink.url());
  o.require_tls = true;
  auto start = steady_clock::now();
  auto results = Make(o)->Send(TestMessages(2));
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kTemporary);
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(r.sender_failure);
    EXPECT_NE(r.reply.find("smtp STARTTLS"), std::string::npos) << r.reply;
  }
  EXPECT_LT(SecondsSince(start), 1.0);
  EXPECT_TRUE(sink.Messages().empty());
}

TEST_F(SmtpTransport, SlowServerTimesOut) {
  SmtpSink sink({"-w", "4"});  // waits 4 s before answering DATA
  auto start = steady_clock::now();
  auto results = Make(SmtpOptions(sink.url()))->Send(TestMessages(1));
  EXPECT_EQ(results[0].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[0].code, 0) << results[0].reply;
  EXPECT_FALSE(results[0].sender_failure) << "timed out at DATA: this message's transfer";
  EXPECT_NE(results[0].reply.find("timed out"), std::string::npos) << results[0].reply;
  EXPECT_LT(SecondsSince(start), 3.0);  // 1 s to time out + at most 1 s for libcurl's QUIT
}

TEST_F(SmtpTransport, AuthFailureIsTemporary) {
  // smtp-sink offers AUTH PLAIN LOGIN but answers AUTH with "250 2.0.0 Ok" instead of 235:
  // libcurl reports a denied login. That is about the session (our credentials), not the message.
  SmtpSink sink;
  TransportOptions o = SmtpOptions(sink.url());
  o.username = "shop";
  o.password = "secret";
  auto results = Make(o)->Send(TestMessages(2));
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kTemporary);
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(r.sender_failure);
    EXPECT_NE(r.reply.find("smtp AUTH"), std::string::npos) << r.reply;
  }
  EXPECT_NE(sink.Log().find("AUTH PLAIN"), std::string::npos) << "credentials were offered";
  EXPECT_TRUE(sink.Messages().empty());
}

TEST_F(SmtpTransport, EveryMessageGetsExactlyOneResultInOrder) {
  SmtpSink sink;
  auto messages = TestMessages(9);
  messages[2].to.email = "bad address@example.com";
  messages[5].from.email = "";
  messages[7].to.email = "x@example.com\r\nRCPT TO:<other@example.com>";
  auto results = Make(SmtpOptions(sink.url(), 3))->Send(messages);
  ASSERT_EQ(results.size(), messages.size());
  for (size_t i = 0; i < results.size(); ++i) {
    if (i == 2 || i == 5 || i == 7) {
      EXPECT_EQ(results[i].outcome, Outcome::kPermanent) << i;
      EXPECT_EQ(results[i].hard_bounce, i != 5) << i;
      EXPECT_NE(results[i].reply.find("not a valid address"), std::string::npos);
    } else {
      EXPECT_EQ(results[i].outcome, Outcome::kSent) << i << ": " << results[i].reply;
    }
  }
  EXPECT_TRUE(Make(SmtpOptions(sink.url()))->Send({}).empty());
}

TEST_F(SmtpTransport, ManyConnectionsOverSeveralLanesKeepOrderAndReuse) {
  // 8 connections run as several lanes, each on its own thread during Send.
  SmtpSink sink;
  TcpProxy proxy(sink.port());
  auto transport = Make(SmtpOptions(proxy.url(), 8));
  ASSERT_TRUE(transport);
  for (int batch = 0; batch < 2; ++batch) {
    auto messages = TestMessages(60);
    messages[17].to.email = "not an address";
    auto results = transport->Send(messages);
    ASSERT_EQ(results.size(), 60u);
    for (size_t i = 0; i < results.size(); ++i) {
      if (i == 17) {
        EXPECT_EQ(results[i].outcome, Outcome::kPermanent);
        EXPECT_TRUE(results[i].hard_bounce);
        continue;
      }
      EXPECT_EQ(results[i].outcome, Outcome::kSent) << i << ": " << results[i].reply;
      EXPECT_EQ(results[i].code, 250) << i;
    }
  }
  EXPECT_LE(proxy.connections(), 8) << "connections are reused";
  transport.reset();
  auto dumped = DumpsOnceThereAre(sink, 118);
  ASSERT_EQ(dumped.size(), 118u);
  std::multiset<std::string> ids;
  for (const auto& d : dumped) {
    size_t at = d.find("Message-ID: <m");
    ASSERT_NE(at, std::string::npos);
    ids.insert(d.substr(at, d.find('>', at) - at));
  }
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(ids.count("Message-ID: <m" + std::to_string(i) + "@shop.example"), i == 17 ? 0u : 2u)
        << i;
  }
}

TEST_F(SmtpTransport, RepliesAreClassifiedOnEveryLane) {
  SmtpSink soft({"-r", "RCPT"});
  auto results = Make(SmtpOptions(soft.url(), 8))->Send(TestMessages(30));
  ASSERT_EQ(results.size(), 30u);
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kTemporary);
    EXPECT_EQ(r.code, 450);
    EXPECT_NE(r.reply.find("smtp RCPT TO: 450 4.3.0"), std::string::npos) << r.reply;
  }
  SmtpSink hard({"-f", ".", "-B", "554 5.2.1 Mailbox disabled"});
  results = Make(SmtpOptions(hard.url(), 8))->Send(TestMessages(30));
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kPermanent);
    EXPECT_EQ(r.code, 554);
    EXPECT_TRUE(r.hard_bounce);
    EXPECT_NE(r.reply.find("end of data"), std::string::npos) << r.reply;
  }
  SmtpSink dropping({"-q", "DATA"});
  results = Make(SmtpOptions(dropping.url(), 8))->Send(TestMessages(20));
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kTemporary);
    EXPECT_EQ(r.code, 0) << r.reply;
    EXPECT_NE(r.reply.find("smtp DATA"), std::string::npos) << r.reply;
  }
}

// The caller hears of each message the server accepted while the call is still out, once, with
// its index, from the lanes' threads; of a refused one it does not.
TEST_F(SmtpTransport, TellsOfEachAcceptedMessageAsItGoes) {
  SmtpSink sink;
  auto messages = TestMessages(30);
  messages[7].to.email = "not an address";
  std::mutex mutex;
  std::multiset<size_t> told;
  auto results =
      Make(SmtpOptions(sink.url(), 8))->Send(messages, [&](size_t index, const SendResult& r) {
        EXPECT_EQ(r.outcome, Outcome::kSent);
        std::lock_guard lock(mutex);
        told.insert(index);
      });
  ASSERT_EQ(results.size(), messages.size());
  std::multiset<size_t> sent;
  for (size_t i = 0; i < results.size(); ++i)
    if (results[i].outcome == Outcome::kSent) sent.insert(i);
  EXPECT_EQ(sent.size(), 29u);
  EXPECT_EQ(told, sent);
}

TEST_F(SmtpTransport, SlowServerTimesOutOnEveryLane) {
  // Each lane waits for its own replies: the timeouts run side by side, not one after another
  // (that would take 8 s and more).
  SmtpSink sink({"-w", "4"});
  auto start = steady_clock::now();
  auto results = Make(SmtpOptions(sink.url(), 8))->Send(TestMessages(8));
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kTemporary);
    EXPECT_EQ(r.code, 0) << r.reply;
    EXPECT_NE(r.reply.find("timed out"), std::string::npos) << r.reply;
  }
  EXPECT_LT(SecondsSince(start), 5.0);
}

TEST_F(SmtpTransport, RatePerSecondAndPerDomain) {
  SmtpSink sink;
  TransportOptions o = SmtpOptions(sink.url(), 4);
  o.rate_per_second = 20;  // 50 ms apart: 8 messages take >= 350 ms
  auto start = steady_clock::now();
  auto results = Make(o)->Send(TestMessages(8));
  double elapsed = SecondsSince(start);
  for (const auto& r : results) EXPECT_EQ(r.outcome, Outcome::kSent) << r.reply;
  EXPECT_GE(elapsed, 0.33);
  EXPECT_LT(elapsed, 1.5);

  o.rate_per_second = 0;
  o.rate_per_domain = 10;  // 100 ms apart per domain; two domains interleave
  std::vector<Message> messages;
  for (int i = 0; i < 6; ++i) {
    messages.push_back(
        TestMessage(i, "c" + std::to_string(i) + (i % 2 ? "@a.example" : "@b.example")));
  }
  start = steady_clock::now();
  results = Make(o)->Send(messages);
  elapsed = SecondsSince(start);
  for (const auto& r : results) EXPECT_EQ(r.outcome, Outcome::kSent) << r.reply;
  EXPECT_GE(elapsed, 0.18);  // 3 per domain: 0, 100, 200 ms
  EXPECT_LT(elapsed, 0.6);
}

// ---------------------------------------------------------------- HTTP API

HttpReply Json(int status, nlohmann::json body,
               std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpReply r;
  r.status = status;
  r.body = body.dump();
  r.headers = std::move(headers);
  return r;
}

TransportOptions HttpOptions(std::string url, std::string kind = "postmark") {
  TransportOptions o;
  o.url = std::move(url);
  o.api_kind = std::move(kind);
  o.api_token = "server-token-123";
  o.connections = 2;
  o.timeout = seconds(1);
  return o;
}

TEST(HttpTransport, PostmarkShapeTokenAndMessageId) {
  HttpTestServer server([](const HttpRequest& req) {
    auto body = nlohmann::json::parse(req.body);
    return Json(200, {{"To", body["To"]},
                      {"MessageID", "pm-" + body["Metadata"]["customer"].get<std::string>()},
                      {"ErrorCode", 0},
                      {"Message", "OK"}});
  });
  auto transport = Make(HttpOptions(server.url()));
  auto messages = TestMessages(5);
  messages[4].html.clear();
  messages[4].unsubscribe_url.clear();
  messages[4].reply_to.reset();
  auto results = transport->Send(messages);
  ASSERT_EQ(results.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(results[i].outcome, Outcome::kSent) << results[i].reply;
    EXPECT_EQ(results[i].code, 200);
    EXPECT_EQ(results[i].provider_message_id, "pm-C" + std::to_string(i));
  }
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_LE(server.connections(), 2) << "keep-alive connections are reused";
  for (const auto& req : requests) {
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.target, "/email");
    EXPECT_EQ(req.header("x-postmark-server-token"), "server-token-123");
    EXPECT_EQ(req.header("content-type"), "application/json");
    EXPECT_EQ(req.header("accept"), "application/json");
    EXPECT_TRUE(req.header("idempotency-key").starts_with("decision-"));
    auto body = nlohmann::json::parse(req.body);
    int i = std::stoi(body["Metadata"]["customer"].get<std::string>().substr(1));
    EXPECT_EQ(req.header("idempotency-key"), "decision-" + std::to_string(i));
    EXPECT_EQ(body["From"], "Example Shop <hello@shop.example>");
    EXPECT_EQ(body["To"], "Customer Ü <customer" + std::to_string(i) + "@example.com>");
    EXPECT_EQ(body["Subject"], "Message " + std::to_string(i) + " — für dich");
    EXPECT_EQ(body["TextBody"], "Hello " + std::to_string(i) + "\n.\nend\n");
    EXPECT_EQ(body["MessageStream"], "outbound");
    EXPECT_EQ(body["Metadata"]["rule"], "lapsed");
    if (i == 4) {
      EXPECT_FALSE(body.contains("HtmlBody"));
      EXPECT_FALSE(body.contains("ReplyTo"));
      EXPECT_EQ(body["Headers"], nlohmann::json::array());
    } else {
      EXPECT_EQ(body["HtmlBody"], "<p>Hello " + std::to_string(i) + "</p>");
      EXPECT_EQ(body["ReplyTo"], "Care <care@shop.example>");
      nlohmann::json expected = nlohmann::json::array(
          {{{"Name", "List-Unsubscribe"},
            {"Value", "<https://shop.example/u?t=" + std::to_string(i) + ">"}},
           {{"Name", "List-Unsubscribe-Post"}, {"Value", "List-Unsubscribe=One-Click"}}});
      EXPECT_EQ(body["Headers"], expected);
    }
  }
}

TEST(HttpTransport, GenericShapeBearerAndIdempotencyKey) {
  HttpTestServer server([](const HttpRequest&) { return Json(202, {{"id", "gen-1"}}); });
  auto transport = Make(HttpOptions(server.url("/v1/send"), "generic"));
  auto results = transport->Send(TestMessages(1));
  ASSERT_EQ(results[0].outcome, Outcome::kSent) << results[0].reply;
  EXPECT_EQ(results[0].code, 202);
  EXPECT_EQ(results[0].provider_message_id, "gen-1");
  auto req = server.requests().at(0);
  EXPECT_EQ(req.target, "/v1/send");
  EXPECT_EQ(req.header("authorization"), "Bearer server-token-123");
  EXPECT_EQ(req.header("idempotency-key"), "decision-0");
  EXPECT_EQ(req.header("x-postmark-server-token"), "");
  auto body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["from"], "Example Shop <hello@shop.example>");
  EXPECT_EQ(body["to"], "Customer Ü <customer0@example.com>");
  EXPECT_EQ(body["reply_to"], "Care <care@shop.example>");
  EXPECT_EQ(body["subject"], "Message 0 — für dich");
  EXPECT_EQ(body["text"], "Hello 0\n.\nend\n");
  EXPECT_EQ(body["html"], "<p>Hello 0</p>");
  EXPECT_EQ(body["idempotency_key"], "decision-0");
  EXPECT_EQ(body["headers"]["List-Unsubscribe"], "<https://shop.example/u?t=0>");
  EXPECT_EQ(body["headers"]["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
}

TEST(HttpTransport, ClassifiesStatusesAndRetryAfter) {
  // The customer id picks the server's answer.
  HttpTestServer server([](const HttpRequest& req) -> HttpReply {
    auto body = nlohmann::json::parse(req.body);
    std::string c = body["Metadata"]["customer"];
    if (c == "C0") return Json(429, {{"Message", "slow down"}}, {{"Retry-After", "120"}});
    if (c == "C1") {
      time_t later = time(nullptr) + 60;
      char date[64];
      strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&later));
      return Json(503, {{"Message", "maintenance"}}, {{"Retry-After", date}});
    }
    if (c == "C2") return Json(500, {{"Message", "boom"}});
    if (c == "C3") return Json(422, {{"ErrorCode", 300}, {"Message", "Invalid email request"}});
    if (c == "C4") {
      return Json(422, {{"ErrorCode", 406},
                        {"Message",
                         "You tried to send to recipient(s) that have been marked as "
                         "inactive."}});
    }
    // Last: after the sender's failure nothing more of the call would start.
    if (c == "C6") return Json(401, {{"ErrorCode", 10}, {"Message", "Bad or missing API token"}});
    HttpReply r;
    r.status = 400;
    r.body = "not json at all";
    r.headers = {{"Content-Type", "text/plain"}};
    return r;
  });
  auto results = Make(HttpOptions(server.url()))->Send(TestMessages(7));
  ASSERT_EQ(results.size(), 7u);

  EXPECT_EQ(results[0].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[0].code, 429);
  EXPECT_EQ(results[0].retry_after, seconds(120));
  EXPECT_NE(results[0].reply.find("slow down"), std::string::npos);

  EXPECT_EQ(results[1].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[1].code, 503);
  ASSERT_TRUE(results[1].retry_after);
  EXPECT_NEAR(static_cast<double>(results[1].retry_after->count()), 60, 3);

  EXPECT_EQ(results[2].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[2].code, 500);
  EXPECT_FALSE(results[2].retry_after);

  EXPECT_EQ(results[3].outcome, Outcome::kPermanent);
  EXPECT_EQ(results[3].code, 422);
  EXPECT_FALSE(results[3].hard_bounce);
  EXPECT_NE(results[3].reply.find("Invalid email request"), std::string::npos);

  EXPECT_EQ(results[4].outcome, Outcome::kPermanent);
  EXPECT_TRUE(results[4].hard_bounce) << "Postmark 406: inactive recipient";

  EXPECT_EQ(results[5].outcome, Outcome::kPermanent);
  EXPECT_EQ(results[5].code, 400);
  EXPECT_NE(results[5].reply.find("not json at all"), std::string::npos);

  EXPECT_EQ(results[6].outcome, Outcome::kTemporary) << "a bad token must not fail the mail";
  EXPECT_EQ(results[6].code, 401);
  EXPECT_TRUE(results[6].sender_failure) << "a bad token pauses delivery";
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(results[i].sender_failure) << i;
}

TEST(HttpTransport, TimeoutAndDroppedConnectionAreTemporary) {
  HttpTestServer server([](const HttpRequest& req) {
    HttpReply r;
    auto body = nlohmann::json::parse(req.body);
    std::string c = body["Metadata"]["customer"];
    r.action = c == "C0" ? HttpReply::Action::kHang : HttpReply::Action::kDrop;
    return r;
  });
  auto start = steady_clock::now();
  auto results = Make(HttpOptions(server.url()))->Send(TestMessages(2));
  double elapsed = SecondsSince(start);
  EXPECT_EQ(results[0].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[0].code, 0);
  EXPECT_NE(results[0].reply.find("timed out"), std::string::npos) << results[0].reply;
  EXPECT_EQ(results[1].outcome, Outcome::kTemporary);
  EXPECT_EQ(results[1].code, 0);
  EXPECT_NE(results[1].reply.find("connection dropped"), std::string::npos) << results[1].reply;
  EXPECT_FALSE(results[0].sender_failure || results[1].sender_failure) << "it was reached";
  EXPECT_LT(elapsed, 3.0);
}

TEST(HttpTransport, ServerNotListeningIsTemporary) {
  int port = followup::testing::FreeLoopbackPort();
  auto results = Make(HttpOptions("http://127.0.0.1:" + std::to_string(port) + "/email"))
                     ->Send(TestMessages(2));
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kTemporary);
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(r.sender_failure) << "the API cannot be reached for any message";
    EXPECT_NE(r.reply.find("http connect"), std::string::npos) << r.reply;
  }
}

TEST(HttpTransport, NoHeaderInjectionThroughTokenOrKey) {
  HttpTestServer server([](const HttpRequest&) { return Json(200, {{"MessageID", "x"}}); });
  TransportOptions o = HttpOptions(server.url(), "generic");
  o.api_token = "tok\r\nX-Injected: 1";
  auto messages = TestMessages(1);
  messages[0].idempotency_key = "key\r\nX-Injected: 2";
  auto results = Make(o)->Send(messages);
  ASSERT_EQ(results[0].outcome, Outcome::kSent) << results[0].reply;
  auto req = server.requests().at(0);
  EXPECT_EQ(req.header("x-injected"), "");
  EXPECT_EQ(req.header("authorization"), "Bearer tokX-Injected: 1");
  EXPECT_EQ(req.header("idempotency-key"), "keyX-Injected: 2");
}

}  // namespace
}  // namespace followup::delivery
