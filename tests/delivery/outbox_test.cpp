// The outbox worker over a real SQLite store and a real maildir: decisions become messages, every
// outcome is recorded, and a crash between "sending" and "sent" loses nothing.
#include "delivery/outbox.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <span>

#include "delivery/pause.h"
#include "delivery/test_servers.h"
#include "delivery/unsubscribe.h"
#include "feedback/verp.h"
#include "store/import.h"
#include "support/sqlite_util.h"
#include "support/test_util.h"
#include "worth/customer_base.h"
#include "worth/facts.h"

namespace followup::delivery {
namespace {

namespace fs = std::filesystem;
using store::DeliveryStatus;

const Instant kNow = *ParseInstant("2026-06-30T12:00:00Z", nullptr);

// An HTTP mail API's answer: `status` with a JSON `body`, and `headers` beside Content-Type.
testing::HttpReply JsonReply(int status, std::string body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
  testing::HttpReply reply;
  reply.status = status;
  reply.headers = std::move(headers);
  reply.headers.emplace_back("Content-Type", "application/json");
  reply.body = std::move(body);
  return reply;
}

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::Store::Open(dir_ / "f.db"));
    ASSERT_TRUE(Import(store::ImportTarget::kCustomers, "c.csv",
                       "id,email,name\nann,ann@example.com,Ann Lee\n"
                       "bob,bob@example.com,Bob\nnomail,,Nobody\n"));
    composing_.templates_dir = FOLLOWUP_SOURCE_DIR "/templates";
    composing_.from = {"hello@shop.example", "The Shop"};
    composing_.business_name = "The Shop";
    composing_.unsubscribe_base_url = "https://shop.example/unsubscribe";
    composing_.unsubscribe_key = std::string(32, 'k');
    options_.retry_base = std::chrono::seconds{60};
    TransportOptions maildir;
    maildir.url = "maildir://" + dir_ / "mail";
    auto transport = MakeTransport(maildir);
    ASSERT_TRUE(transport) << transport.error().ToString();
    transport_ = std::move(*transport);
  }

  int64_t Id(const std::string& external) { return (*store_->FindCustomer(external))->id; }

  // Imports `csv`, written to the folder as `file`, as followupd import does (business zone UTC);
  // false when the import failed.
  bool Import(store::ImportTarget target, const std::string& file, const std::string& csv) {
    store::ImportOptions io;
    io.zone = *LookupZone("UTC");
    io.target = target;
    return store::Import(*store_, dir_.Write(file, csv), io, {}).has_value();
  }

  void Decide(const std::string& customer, const std::string& key,
              const std::string& values = R"({"offer":"10% off","offer_code":"BACK10"})") {
    store::Decision d;
    d.dedupe_key = key;
    d.rule = "lapsed-winback";
    d.customer_id = d.recipient_id = Id(customer);
    d.kind = store::DecisionKind::kSend;
    d.template_name = "winback";
    d.values_json = values;
    d.decided_at = d.send_after = kNow;
    ASSERT_EQ(*store_->RecordDecisions(std::vector<store::Decision>{d}), 1);
  }

  std::map<std::string, store::LogEntry> Log() {
    std::map<std::string, store::LogEntry> out;
    EXPECT_TRUE(store_->ForEachLogEntry({}, [&](const auto& e) { out[e.dedupe_key] = e; }));
    return out;
  }

  size_t Delivered() {
    size_t n = 0;
    for (const auto& f : fs::directory_iterator(dir_ / "mail/new")) n += f.is_regular_file();
    return n;
  }

  // A worker over the fixture's store, composing with composing_ (no facts) and options_ as they
  // are now.
  OutboxWorker Worker(Transport& transport) {
    composer_.emplace(composing_, FactsLookup(), *clock_);
    return OutboxWorker(*store_, transport, *composer_, *clock_, options_);
  }

  // A transport to `url` (smtp-sink, or an HTTP mail API on loopback), with a short timeout.
  std::unique_ptr<Transport> Network(const std::string& url) {
    TransportOptions o;
    o.url = url;
    o.require_tls = false;  // smtp-sink has no STARTTLS
    o.api_token = "token";
    o.timeout = std::chrono::seconds{2};
    auto transport = MakeTransport(o);
    EXPECT_TRUE(transport) << transport.error().ToString();
    return transport ? std::move(*transport) : nullptr;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Transport> transport_;
  ComposerOptions composing_;
  OutboxOptions options_;
  std::unique_ptr<Clock> clock_ = FixedClock(kNow);
  std::optional<Composer> composer_;
};

TEST_F(OutboxTest, QueuedDecisionsAreRenderedSentAndLogged) {
  Decide("ann", "k1");
  Decide("bob", "k2");
  OutboxWorker worker = Worker(*transport_);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->sent, 2);
  EXPECT_EQ(Delivered(), 2u);
  auto log = Log();
  EXPECT_EQ(log["k1"].status, DeliveryStatus::kSent);
  EXPECT_EQ(log["k1"].attempts, 1);
  EXPECT_FALSE(log["k1"].message_id.empty());
  EXPECT_EQ(log["k1"].sent_at, kNow);
  // The message says what the template says, to the right person, with a working unsubscribe link.
  std::string mail;
  for (const auto& f : fs::directory_iterator(dir_ / "mail/new")) {
    auto text = testing::ReadFile(f.path());
    if (text.find("ann@example.com") != std::string::npos) mail = text;
  }
  ASSERT_FALSE(mail.empty());
  EXPECT_NE(mail.find("Subject: We miss you, Ann"), std::string::npos);
  EXPECT_NE(mail.find("BACK10"), std::string::npos);
  auto link = mail.find("List-Unsubscribe: <");
  ASSERT_NE(link, std::string::npos);
  auto url = mail.substr(link + 19, mail.find('>', link) - link - 19);
  EXPECT_EQ(*VerifyUnsubscribe(composing_.unsubscribe_key, url), "ann");
  // Nothing is due any more: a second drain sends nothing twice.
  EXPECT_EQ(worker.Drain()->sent, 0);
  EXPECT_EQ(Delivered(), 2u);
}

TEST_F(OutboxTest, EveryOutcomeIsReportedOnceAfterItIsStored) {
  Decide("ann", "k1");
  Decide("nomail", "k2");
  OutboxWorker worker = Worker(*transport_);
  std::vector<DeliveryEvent> events;
  worker.OnOutcome([&](const DeliveryEvent& e) {
    // Reported only once the store has it.
    EXPECT_EQ(Log()[e.customer == "ann" ? "k1" : "k2"].status, e.status);
    events.push_back(e);
  });
  ASSERT_TRUE(worker.Drain());
  ASSERT_EQ(events.size(), 2u);
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.customer < b.customer; });
  EXPECT_EQ(events[0].customer, "ann");
  EXPECT_EQ(events[0].rule, "lapsed-winback");
  EXPECT_EQ(events[0].email, "ann@example.com");
  EXPECT_EQ(events[0].status, DeliveryStatus::kSent);
  EXPECT_EQ(events[0].attempts, 1);
  EXPECT_EQ(events[0].message_id, Log()["k1"].message_id);
  EXPECT_EQ(events[1].customer, "nomail");
  EXPECT_EQ(events[1].status, DeliveryStatus::kSuppressed);
  EXPECT_EQ(events[1].reply, "no email address");
  EXPECT_TRUE(events[1].message_id.empty());
}

TEST_F(OutboxTest, ARetryIsTheSameMessage) {
  Decide("ann", "k1");
  // A worker claims the send, fixes its Message-ID, and dies before the outcome is recorded.
  auto claimed = store_->ClaimDue(kNow, 10);
  ASSERT_EQ(claimed->size(), 1u);
  std::vector<std::pair<int64_t, std::string>> ids = {{(*claimed)[0].id, "<first@shop.example>"}};
  ASSERT_TRUE(store_->SetMessageIds(ids));
  ASSERT_EQ(*store_->RequeueInFlight(), 1);
  OutboxWorker worker = Worker(*transport_);
  EXPECT_EQ(worker.Drain()->sent, 1);
  EXPECT_EQ(Log()["k1"].message_id, "<first@shop.example>");
  for (const auto& f : fs::directory_iterator(dir_ / "mail/new"))
    EXPECT_NE(testing::ReadFile(f.path()).find("Message-ID: <first@shop.example>"),
              std::string::npos);
}

TEST_F(OutboxTest, ACrashBetweenSendingAndSentLosesNothing) {
  Decide("ann", "k1");
  // A worker claimed it (status "sending") and died before recording the outcome.
  auto claimed = store_->ClaimDue(kNow, 10);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(Log()["k1"].status, DeliveryStatus::kSending);
  EXPECT_TRUE(store_->ClaimDue(kNow, 10)->empty()) << "a claimed send is not claimed twice";
  // The next start puts it back and sends it.
  EXPECT_EQ(*store_->RequeueInFlight(), 1);
  OutboxWorker worker = Worker(*transport_);
  EXPECT_EQ(worker.Drain()->sent, 1);
  EXPECT_EQ(Log()["k1"].status, DeliveryStatus::kSent);
  EXPECT_EQ(Delivered(), 1u);
}

TEST_F(OutboxTest, UnsubscribedOrAddresslessRecipientsAreSuppressedAtSendTime) {
  Decide("ann", "k1");
  Decide("nomail", "k2");
  sqlite3* db = nullptr;
  sqlite3_open((dir_ / "f.db").c_str(), &db);
  sqlite3_exec(db, "UPDATE customers SET unsubscribed_at = 1 WHERE external_id = 'ann'", nullptr,
               nullptr, nullptr);
  sqlite3_close(db);
  OutboxWorker worker = Worker(*transport_);
  auto summary = worker.Drain();
  EXPECT_EQ(summary->suppressed, 2);
  EXPECT_EQ(summary->sent, 0);
  auto log = Log();
  EXPECT_EQ(log["k1"].status, DeliveryStatus::kSuppressed);
  EXPECT_EQ(log["k1"].last_reply, "unsubscribed");
  EXPECT_EQ(log["k2"].last_reply, "no email address");
  EXPECT_EQ(Delivered(), 0u);
}

TEST_F(OutboxTest, AMessageThatCannotRenderFailsWithTheReason) {
  Decide("ann", "k1", R"({"offer":"10% off"})");  // the template also wants values.offer_code
  OutboxWorker worker = Worker(*transport_);
  EXPECT_EQ(worker.Drain()->failed, 1);
  auto e = Log()["k1"];
  EXPECT_EQ(e.status, DeliveryStatus::kFailed);
  EXPECT_NE(e.last_reply.find("values.offer_code"), std::string::npos) << e.last_reply;
  EXPECT_EQ(Delivered(), 0u);
}

// A transport that answers as told and remembers what it was given, round by round.
class ScriptedTransport final : public Transport {
 public:
  std::vector<SendResult> Send(std::span<const Message> messages,
                               const Accepted& accepted) override {
    if (before_send) before_send(messages);
    std::vector<std::string> round;
    std::vector<SendResult> results;
    for (const auto& m : messages) {
      round.push_back(m.to.email);
      results.push_back(reply(m));
      if (results.back().outcome == Outcome::kSent && accepted)
        accepted(results.size() - 1, results.back());
      if (after_each) after_each(results.size() - 1);
    }
    rounds.push_back(std::move(round));
    return results;
  }
  std::string_view kind() const override { return "scripted"; }

  std::function<void(std::span<const Message>)> before_send;
  std::function<void(size_t)> after_each;  // after messages[i] got its result
  std::function<SendResult(const Message&)> reply = [](const Message&) {
    SendResult r;
    r.outcome = Outcome::kSent;
    r.code = 250;
    return r;
  };
  std::vector<std::vector<std::string>> rounds;  // the recipients of each Send
};

// A message the server accepted is stored as sent at once, while the rest of its round is still
// out: a crash then would send again only what had not been accepted yet, not the whole round.
TEST_F(OutboxTest, AnAcceptedMessageIsStoredAsSentWhileItsRoundIsOut) {
  for (int i = 1; i <= 3; ++i) Decide(i % 2 ? "ann" : "bob", "k" + std::to_string(i));
  options_.batch_size = 3;
  ScriptedTransport transport;
  std::string mid_round;  // the statuses once the first message was accepted
  transport.after_each = [&](size_t i) {
    if (i != 0) return;
    const std::string db = dir_ / "f.db";
    testing::WaitFor(
        [&] {
          return testing::Sql(db,
                              "SELECT count(*) FROM outbox WHERE status = "
                              "'sent'") == "1";
        },
        std::chrono::seconds{10});
    mid_round = testing::Sql(db,
                             "SELECT group_concat(status, ',') FROM (SELECT status FROM "
                             "outbox ORDER BY id)");
  };
  int outcomes = 0;
  OutboxWorker worker = Worker(transport);
  worker.OnOutcome([&](const DeliveryEvent& e) {
    ++outcomes;
    EXPECT_EQ(e.status, DeliveryStatus::kSent);
    EXPECT_EQ(e.attempts, 1);
  });
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(mid_round, "sent,sending,sending");
  EXPECT_EQ(summary->sent, 3);
  EXPECT_EQ(outcomes, 3) << "each outcome reported once";
  for (const auto& [key, e] : Log()) {
    EXPECT_EQ(e.status, DeliveryStatus::kSent) << key;
    EXPECT_EQ(e.attempts, 1) << key << ": an attempt counted once";
  }
}

TEST_F(OutboxTest, AStopFinishesTheRoundOnTheWireAndClaimsNoMore) {
  for (int i = 1; i <= 6; ++i) Decide(i % 2 ? "ann" : "bob", "k" + std::to_string(i));
  options_.batch_size = 2;
  ScriptedTransport transport;
  std::atomic<bool> stop{false};
  transport.before_send = [&](std::span<const Message>) { stop = true; };  // SIGTERM meanwhile
  OutboxWorker worker = Worker(transport);
  worker.StopWhen(&stop);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->sent, 2) << "the round on the wire is finished and recorded";
  EXPECT_EQ(transport.rounds.size(), 1u);
  auto log = Log();
  int queued = 0;
  for (const auto& [key, entry] : log) queued += entry.status == DeliveryStatus::kQueued;
  EXPECT_EQ(queued, 4) << "nothing else was claimed: no send is left 'sending'";
}

// SIGTERM with a mail server that takes connections and never says a word: the stop starts no
// further message (the round's others go back to the queue, no attempt counted) and ends within
// about one timeout, instead of running every message of the round into its own timeout.
TEST_F(OutboxTest, AStopWithAHungServerEndsWithinOneTimeout) {
  constexpr int kSends = 20;
  for (int i = 0; i < kSends; ++i) Decide(i % 2 ? "ann" : "bob", "k" + std::to_string(i));
  options_.batch_size = kSends;
  int port = 0;
  int listener = testing::ListenLoopback(port);  // accepts, and never greets
  ASSERT_GE(listener, 0);
  TransportOptions smtp;
  smtp.url = "smtp://127.0.0.1:" + std::to_string(port);
  smtp.require_tls = false;
  smtp.connections = 2;
  smtp.timeout = std::chrono::seconds{1};
  auto transport = MakeTransport(smtp);
  ASSERT_TRUE(transport) << transport.error().ToString();
  std::atomic<bool> stop{false};
  OutboxWorker worker = Worker(**transport);
  worker.StopWhen(&stop);
  auto drained = std::async(std::launch::async, [&] { return worker.Drain(); });
  // Both connections are on the wire (the test accepts them, and says nothing) ...
  std::vector<int> accepted;
  while (accepted.size() < 2) {
    pollfd p{listener, POLLIN, 0};
    ASSERT_GT(poll(&p, 1, 5000), 0) << "the transport did not connect";
    accepted.push_back(accept(listener, nullptr, nullptr));
  }
  // ... when the stop comes.
  auto stopped = std::chrono::steady_clock::now();
  stop = true;
  (*transport)->Stop();
  ASSERT_EQ(drained.wait_for(std::chrono::seconds{10}), std::future_status::ready);
  auto took = std::chrono::steady_clock::now() - stopped;
  auto summary = drained.get();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_LT(took, std::chrono::milliseconds{2500}) << "the stop waited for more than the round "
                                                      "on the wire";
  // The two on the wire are cut off (deferred), or, when the greeting's timeout comes first, fail
  // as the sender's (a server that never greets): back in the queue unattempted.
  EXPECT_EQ(summary->deferred + summary->paused, 2);
  EXPECT_EQ(summary->requeued, kSends - 2);
  int deferred = 0, queued = 0;
  for (const auto& [key, e] : Log()) {
    if (e.status == DeliveryStatus::kDeferred) {
      ++deferred;
      EXPECT_EQ(e.attempts, 1) << key;
    } else {
      EXPECT_EQ(e.status, DeliveryStatus::kQueued) << key;
      EXPECT_EQ(e.attempts, 0) << key << " was not attempted";
      queued += e.status == DeliveryStatus::kQueued;
    }
  }
  EXPECT_EQ(deferred, summary->deferred);
  EXPECT_EQ(queued, kSends - summary->deferred);
  for (int fd : accepted) close(fd);
  close(listener);
}

TEST_F(OutboxTest, RoundsOverlapAndEachStoresItsMessageIdsBeforeItGoesOut) {
  // 7 sends in rounds of 2: the next round is read and rendered while one is out, and claimed
  // only once that one is stored.
  for (int i = 1; i <= 7; ++i) Decide(i % 2 ? "ann" : "bob", "k" + std::to_string(i));
  options_.batch_size = 2;
  ScriptedTransport transport;
  std::set<std::string> seen_ids;
  // Send runs on a thread of its own while the worker uses its store: look through another
  // connection.
  auto reader = std::move(*store::Store::Open(dir_ / "f.db"));
  transport.before_send = [&](std::span<const Message> messages) {
    EXPECT_LE(messages.size(), 2u);
    std::map<std::string, store::LogEntry> log;
    int sending = 0;
    EXPECT_TRUE(reader->ForEachLogEntry({}, [&](const auto& e) {
      log[e.dedupe_key] = e;
      sending += e.status == DeliveryStatus::kSending;
    }));
    EXPECT_EQ(sending, static_cast<int>(messages.size())) << "only the round going out is claimed";
    for (const auto& m : messages) {
      EXPECT_TRUE(seen_ids.insert(m.message_id).second) << "each message goes out once";
      // Its Message-ID is in the store already, and it is "sending".
      auto stored = std::find_if(log.begin(), log.end(), [&](const auto& entry) {
        return entry.second.message_id == m.message_id;
      });
      ASSERT_NE(stored, log.end()) << m.message_id << " was not stored before it went out";
      EXPECT_EQ(stored->second.status, DeliveryStatus::kSending);
    }
  };
  OutboxWorker worker = Worker(transport);
  std::vector<DeliveryEvent> events;
  worker.OnOutcome([&](const DeliveryEvent& e) {
    EXPECT_EQ(Log()[std::string("k") + std::to_string(events.size() + 1)].status,
              DeliveryStatus::kSent);
    events.push_back(e);
  });
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->sent, 7);
  ASSERT_EQ(transport.rounds.size(), 4u);
  EXPECT_EQ(transport.rounds[3].size(), 1u);
  ASSERT_EQ(events.size(), 7u) << "every outcome reported once, in order";
  auto log = Log();
  for (int i = 1; i <= 7; ++i) {
    const auto& e = log["k" + std::to_string(i)];
    EXPECT_EQ(e.status, DeliveryStatus::kSent);
    EXPECT_EQ(e.attempts, 1);
    EXPECT_TRUE(seen_ids.count(e.message_id)) << e.message_id;
    EXPECT_EQ(events[i - 1].message_id, e.message_id);
    EXPECT_EQ(events[i - 1].email, i % 2 ? "ann@example.com" : "bob@example.com");
  }
  EXPECT_EQ(worker.Drain()->sent, 0);
}

TEST_F(OutboxTest, ASendNoLongerDueDropsOutOfTheRoundReadAhead) {
  // Rounds of two: while k1 and k2 are out, k3 and k4 are read ahead; meanwhile another program
  // claims k3 (status "sending"). Only k4 goes out with the next round.
  for (int i = 1; i <= 4; ++i) Decide("ann", "k" + std::to_string(i));
  options_.batch_size = 2;
  ScriptedTransport transport;
  auto other = std::move(*store::Store::Open(dir_ / "f.db"));
  std::vector<std::string> messages_out;
  transport.before_send = [&](std::span<const Message> messages) {
    if (transport.rounds.empty()) {
      sqlite3* db = nullptr;
      sqlite3_open((dir_ / "f.db").c_str(), &db);
      sqlite3_busy_timeout(db, 5000);
      sqlite3_exec(db, "UPDATE outbox SET status = 'sending' WHERE dedupe_key = 'k3'", nullptr,
                   nullptr, nullptr);
      sqlite3_close(db);
    }
    for (const auto& m : messages) messages_out.push_back(m.message_id);
  };
  OutboxWorker worker = Worker(transport);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->sent, 3);
  ASSERT_EQ(transport.rounds.size(), 2u);
  EXPECT_EQ(transport.rounds[1].size(), 1u);
  auto log = Log();
  EXPECT_EQ(log["k3"].status, DeliveryStatus::kSending) << "left to whoever claimed it";
  EXPECT_TRUE(log["k3"].message_id.empty());
  EXPECT_EQ(log["k4"].status, DeliveryStatus::kSent);
  EXPECT_EQ(messages_out.back(), log["k4"].message_id);
}

TEST_F(OutboxTest, AHardBounceSuppressesTheAddressInTheRoundReadAhead) {
  // Rounds of one: ann's second send is read (and rendered) while her first is out; it bounces,
  // so neither it nor her third may go out.
  Decide("ann", "k1");
  Decide("ann", "k2");
  Decide("ann", "k3");
  Decide("bob", "k4");
  options_.batch_size = 1;
  ScriptedTransport transport;
  transport.reply = [](const Message& m) {
    SendResult r;
    r.outcome = m.to.email == "ann@example.com" ? Outcome::kPermanent : Outcome::kSent;
    r.hard_bounce = r.outcome == Outcome::kPermanent;
    r.code = r.hard_bounce ? 550 : 250;
    return r;
  };
  OutboxWorker worker = Worker(transport);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->failed, 1);
  EXPECT_EQ(summary->suppressed, 2);
  EXPECT_EQ(summary->sent, 1);
  std::vector<std::vector<std::string>> expected = {{"ann@example.com"}, {"bob@example.com"}};
  EXPECT_EQ(transport.rounds, expected);
  auto log = Log();
  EXPECT_EQ(log["k1"].status, DeliveryStatus::kFailed);
  for (const char* k : {"k2", "k3"}) {
    EXPECT_EQ(log[k].status, DeliveryStatus::kSuppressed) << k;
    EXPECT_EQ(log[k].last_reply, "address suppressed") << k;
    EXPECT_TRUE(log[k].message_id.empty()) << k;
  }
  EXPECT_EQ(log["k4"].status, DeliveryStatus::kSent);
}

// An internationalized domain goes out in its ASCII form (IDNA); an address with none (a local part
// that is not ASCII: followupd does not speak SMTPUTF8) fails without suppressing anyone, since
// that is followupd's limit, not the recipient's bounce.
TEST_F(OutboxTest, AnInternationalizedDomainIsSentInItsAsciiForm) {
  ASSERT_TRUE(Import(store::ImportTarget::kCustomers, "idn.csv",
                     "id,email,name\numa,user@ex\xc3\xa4mple.com,Uma\n"
                     "jurgen,j\xc3\xbcrgen@example.com,J\n"));
  Decide("uma", "k1");
  Decide("jurgen", "k2");
  TransportOptions o;
  o.url = "maildir://" + dir_ / "mail";
  auto transport = MakeTransport(o);
  ASSERT_TRUE(transport);
  OutboxWorker worker = Worker(**transport);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->sent, 1);
  EXPECT_EQ(summary->failed, 1);
  ASSERT_EQ(Delivered(), 1u);
  for (const auto& f : fs::directory_iterator(dir_ / "mail/new"))
    EXPECT_NE(testing::ReadFile(f.path()).find("To: Uma <user@xn--exmple-cua.com>"),
              std::string::npos);
  auto log = Log();
  EXPECT_EQ(log["k1"].status, DeliveryStatus::kSent);
  EXPECT_EQ(log["k2"].status, DeliveryStatus::kFailed);
  EXPECT_NE(log["k2"].last_reply.find("is not a valid address"), std::string::npos);
  EXPECT_TRUE(store_->Suppressions()->empty()) << "nobody bounced";
}

TEST_F(OutboxTest, EveryFactATemplateNamesIsInItsContext) {
  // Messages are rendered with the facts their template can name (MessageContext, the documented
  // context, has them all): named by path, and named inside a section. Ann has two purchases.
  ASSERT_TRUE(Import(store::ImportTarget::kTransactions, "t.csv",
                     "id,customer_id,occurred_at,kind,amount,currency\n"
                     "t1,ann,2026-01-10,purchase,20.00,EUR\n"
                     "t2,ann,2026-03-10,purchase,30.50,EUR\n"));
  worth::FactsOptions fo;
  fo.at = kNow;
  fo.zone = *LookupZone("UTC");
  auto base = worth::CustomerBase::Load(*store_, fo);
  ASSERT_TRUE(base) << base.error().ToString();
  store::CustomerRow ann = **store_->FindCustomer("ann");
  auto full = MessageContext(ann, {}, composing_, "{}", "https://u");
  EXPECT_EQ(full["customer"].size(), 4 + worth::AllFacts().size());
  dir_.Write("tpl/t/subject.mustache", "Hi {{customer.first_name}}\n");
  dir_.Write("tpl/t/text.mustache",
             "n={{customer.purchases}} r=[{{#customer}}{{revenue}}{{/customer}}] "
             "{{^customer.p_alive}}unknown{{/customer.p_alive}}\n");
  composing_.templates_dir = dir_ / "tpl";
  Composer composer(composing_, FactsIn(*base), *clock_);
  store::OutboxItem item;
  item.template_name = "t";
  item.values_json = "{}";
  auto m = composer.Compose(item, ann);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->subject, "Hi Ann");
  // Too little data for the models: p_alive is unknown (empty), the historic facts are there.
  EXPECT_EQ(m->text, "n=2 r=[50.50] unknown\n");
}

// An HTTP mail API on loopback answers 429 with Retry-After: 999999999 (31 years): the send is
// deferred by a day, the longest the back-off itself waits, not to 2058.
TEST_F(OutboxTest, AHugeRetryAfterDefersByADayAtMost) {
  Decide("ann", "k1");
  testing::HttpTestServer server([](const testing::HttpRequest&) {
    return JsonReply(429, R"({"ErrorCode":429,"Message":"slow down"})",
                     {{"Retry-After", "999999999"}});
  });
  auto transport = Network(server.url());
  ASSERT_TRUE(transport);
  OutboxWorker worker = Worker(*transport);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->deferred, 1);
  auto entry = Log()["k1"];
  EXPECT_EQ(entry.status, DeliveryStatus::kDeferred);
  ASSERT_TRUE(entry.next_attempt_at);
  EXPECT_EQ(*entry.next_attempt_at, kNow + std::chrono::days{1}) << entry.last_reply;
}

// smtp-sink refuses every MAIL FROM (5xx): the sender's failure. Nothing is failed or counted as
// an attempt; the round goes back to the queue with the reason, and the drain ends on it.
TEST_F(OutboxTest, ARefusedSenderPutsTheRoundBackInTheQueueUnattempted) {
  Decide("ann", "k1");
  Decide("bob", "k2");
  testing::SmtpSink sink({"-f", "MAIL"});
  auto transport = Network(sink.url());
  ASSERT_TRUE(transport);
  OutboxWorker worker = Worker(*transport);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->paused, 2);
  EXPECT_EQ(summary->failed + summary->deferred + summary->sent, 0);
  EXPECT_NE(summary->sender_failure.find("smtp MAIL FROM"), std::string::npos)
      << summary->sender_failure;
  for (const auto& [key, entry] : Log()) {
    EXPECT_EQ(entry.status, DeliveryStatus::kQueued) << key;
    EXPECT_EQ(entry.attempts, 0) << key;
    EXPECT_NE(entry.last_reply.find("MAIL FROM"), std::string::npos) << entry.last_reply;
  }
}

// With a bounce address configured, each message's MAIL FROM names its outbox row (VERP), so that
// a bounce sent back to it says which send bounced, and only this key's return paths are read.
TEST_F(OutboxTest, EachMessageGoesOutWithAReturnPathNamingItsSend) {
  Decide("ann", "k1");
  composing_.verp_key = "verp secret";
  composing_.verp_prefix = "bounces";
  composing_.verp_domain = "shop.example";
  testing::SmtpSink sink;
  ASSERT_TRUE(sink.running());
  auto transport = Network(sink.url());
  ASSERT_TRUE(transport);
  OutboxWorker worker = Worker(*transport);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->sent, 1);
  const int64_t id = Log()["k1"].id;
  const std::string log = sink.Log();
  const std::string path = feedback::VerpReturnPath("verp secret", "bounces", "shop.example", id);
  EXPECT_NE(log.find("MAIL FROM:<" + path + ">"), std::string::npos) << log;
  auto token = feedback::VerpTokenOf(path, "bounces");
  ASSERT_TRUE(token);
  EXPECT_EQ(*feedback::ReadVerpToken("verp secret", *token), id);
}

// An HTTP mail API that refuses the token (401): the sender's failure too.
TEST_F(OutboxTest, ARefusedApiTokenPutsTheRoundBackInTheQueueUnattempted) {
  Decide("ann", "k1");
  testing::HttpTestServer server([](const testing::HttpRequest&) {
    return JsonReply(401, R"({"ErrorCode":10,"Message":"Bad or missing API token"})");
  });
  auto transport = Network(server.url());
  ASSERT_TRUE(transport);
  OutboxWorker worker = Worker(*transport);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->paused, 1);
  EXPECT_NE(summary->sender_failure.find("401"), std::string::npos) << summary->sender_failure;
  auto entry = Log()["k1"];
  EXPECT_EQ(entry.status, DeliveryStatus::kQueued);
  EXPECT_EQ(entry.attempts, 0);
}

// max_age: a send that keeps failing for the recipient (450 at RCPT TO) is retried while it is
// younger than max_age, and failed with "expired after 5d" at the first failure from then on,
// though max_attempts is far off.
TEST_F(OutboxTest, ASendDeferredPastMaxAgeExpires) {
  Decide("ann", "k1");
  testing::SmtpSink sink({"-r", "RCPT"});
  auto transport = Network(sink.url());
  ASSERT_TRUE(transport);
  auto manual = std::make_unique<ManualClock>(kNow);
  ManualClock& clock = *manual;
  clock_ = std::move(manual);
  options_.max_attempts = 100;
  options_.max_age = std::chrono::days{5};

  OutboxWorker worker = Worker(*transport);
  ASSERT_TRUE(worker.Drain());
  EXPECT_EQ(Log()["k1"].status, DeliveryStatus::kDeferred);
  clock.Set(kNow + std::chrono::days{5} - std::chrono::seconds{1});
  ASSERT_TRUE(worker.Drain());
  auto entry = Log()["k1"];
  EXPECT_EQ(entry.status, DeliveryStatus::kDeferred) << "one second short of max_age";
  EXPECT_EQ(entry.attempts, 2);
  clock.Set(*entry.next_attempt_at);
  auto summary = worker.Drain();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->failed, 1);
  entry = Log()["k1"];
  EXPECT_EQ(entry.status, DeliveryStatus::kFailed);
  EXPECT_EQ(entry.attempts, 3);
  EXPECT_TRUE(entry.last_reply.starts_with("expired after 5d: 450 ")) << entry.last_reply;
}

// The pause's back-off: retry_base, doubling with every failed try, capped at an hour; a try that
// goes through ends it, and the next pause starts from retry_base again.
TEST(DeliveryPauseTest, TheBackOffGrowsToAnHourAndASuccessEndsIt) {
  using std::chrono::seconds;
  DeliveryPause pause(seconds{60});
  EXPECT_TRUE(pause.MayTry(kNow));
  EXPECT_FALSE(pause.Resumed()) << "nothing to resume";
  EXPECT_TRUE(pause.Failed(kNow, "smtp MAIL FROM: 550 no")) << "the pause begins: tell once";
  EXPECT_TRUE(pause.paused());
  EXPECT_EQ(pause.since(), kNow);
  EXPECT_FALSE(pause.MayTry(kNow + seconds{59}));
  EXPECT_TRUE(pause.MayTry(kNow + seconds{60}));
  Instant t = kNow + seconds{60};
  std::vector<int64_t> waits;
  for (int i = 0; i < 8; ++i) {
    EXPECT_FALSE(pause.Failed(t, "again")) << "still the same pause";
    waits.push_back((pause.next_try() - t).count());
    t = pause.next_try();
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{120, 240, 480, 960, 1920, 3600, 3600, 3600}));
  EXPECT_EQ(pause.failures(), 9);
  EXPECT_EQ(pause.reason(), "again");
  EXPECT_EQ(pause.since(), kNow);
  EXPECT_TRUE(pause.Resumed());
  EXPECT_FALSE(pause.paused());
  EXPECT_TRUE(pause.MayTry(t));
  EXPECT_TRUE(pause.Failed(t, "down"));
  EXPECT_EQ(pause.next_try() - t, seconds{60}) << "a new pause starts from retry_base";
}

TEST(BackoffTest, GrowsExponentiallyWithJitterAndHonoursRetryAfter) {
  std::mt19937_64 rng(1);
  for (int attempt = 1; attempt <= 5; ++attempt) {
    for (int i = 0; i < 50; ++i) {
      auto wait = Backoff(std::chrono::seconds{60}, attempt, std::nullopt, rng).count();
      double expected = 60.0 * (1 << (attempt - 1));
      EXPECT_GE(wait, expected * 0.8 - 1);
      EXPECT_LE(wait, expected * 1.2 + 1);
    }
  }
  EXPECT_EQ(Backoff(std::chrono::seconds{60}, 1, std::chrono::seconds{3600}, rng).count(), 3600);
  EXPECT_LE(Backoff(std::chrono::seconds{60}, 40, std::nullopt, rng).count(), 86400 * 1.2);
}

// A server's Retry-After of 999999999 seconds deferred a message to 2058; it is honoured up to a
// day, the back-off's own cap.
TEST(BackoffTest, RetryAfterIsCappedAtADay) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(Backoff(std::chrono::seconds{60}, 1, std::chrono::seconds{999999999}, rng).count(),
            86400);
  EXPECT_EQ(Backoff(std::chrono::seconds{60}, 1, std::chrono::seconds{86399}, rng).count(), 86399);
}

}  // namespace
}  // namespace followup::delivery
