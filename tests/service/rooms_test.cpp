// The service's rooms without a process: a ManualClock, a real SQLite file and a maildir. The
// decider and the deliverer are called as their threads would call them; time moves by hand.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <vector>

#include "delivery/test_servers.h"
#include "feedback/verp.h"
#include "service/decider.h"
#include "service/deliverer.h"
#include "service/health.h"
#include "service/metrics.h"
#include "service/periodic.h"
#include "service/shared_facts.h"
#include "service/smtp_sink.h"
#include "support/sqlite_util.h"
#include "support/store_fixture.h"

namespace followup::service {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

Instant At(const char* text) { return *ParseInstant(text, nullptr); }

// A decider and a deliverer over one fixture's store, on a ManualClock.
class Rooms {
 public:
  Rooms(testing::StoreFixture& f, Instant start)
      : clock(start),
        settings(f.Settings()),
        decider(settings, clock, metrics, facts, [this] { ++drains_asked; }),
        deliverer(settings, clock, metrics, facts.Lookup()) {}

  void Start() {
    ASSERT_EQ(decider.Start(), std::nullopt);
    ASSERT_EQ(deliverer.Start(), std::nullopt);
  }

  ManualClock clock;
  app::Settings settings;
  Metrics metrics;
  SharedFacts facts;
  int drains_asked = 0;
  Decider decider;
  Deliverer deliverer;
};

TEST(EveryTest, RefusesAPeriodThatIsNotPositive) {
  boost::asio::io_context io;
  int calls = 0;
  Every zero(io, std::chrono::milliseconds(0), [&] { ++calls; });
  auto started = zero.Start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(io.poll(), 0u);  // nothing armed: the loop has no work
  EXPECT_EQ(calls, 0);
}

TEST(DailyAtTest, TheRefitRunsAtThreeOnceADay) {
  const date::time_zone* berlin = *LookupZone("Europe/Berlin");
  // Started at noon local: that day counts as done (fresh facts were just loaded).
  DailyAt refit(3 * 60, berlin, At("2026-06-30T10:00:00Z"));
  EXPECT_FALSE(refit.Due(At("2026-06-30T22:00:00Z")));  // 00:00 local, before 03:00
  EXPECT_FALSE(refit.Due(At("2026-07-01T00:59:00Z")));  // 02:59 local
  EXPECT_TRUE(refit.Due(At("2026-07-01T01:00:00Z")));   // 03:00 local
  EXPECT_FALSE(refit.Due(At("2026-07-01T01:01:00Z")));  // once a day
  EXPECT_FALSE(refit.Due(At("2026-07-01T21:59:00Z")));  // 23:59 local
  EXPECT_TRUE(refit.Due(At("2026-07-02T04:00:00Z")));   // 06:00 local: a missed 03:00 still runs
}

TEST(HealthTest, AStalledThreadIsStalledAfterExactlyItsLimit) {
  ManualClock clock(At("2026-06-30T12:00:00Z"));
  Metrics metrics;
  const StallLimits limits{seconds(600), seconds(900)};
  Health health(clock, metrics, limits);
  Notifier notify;  // no $NOTIFY_SOCKET: pings go nowhere, Tick says whether it would ping
  boost::asio::io_context io;
  Watchdog watchdog(io, notify, health, std::chrono::milliseconds(1000));

  const int64_t t0 = clock.Now().time_since_epoch().count();
  metrics.heartbeat = t0;
  clock.Advance(seconds(600));
  EXPECT_EQ(health.Stalled(), std::nullopt);
  EXPECT_TRUE(watchdog.Tick());
  clock.Advance(seconds(1));
  ASSERT_TRUE(health.Stalled());
  EXPECT_NE(health.Stalled()->find("decision thread"), std::string::npos);
  EXPECT_FALSE(watchdog.Tick());

  // The delivery thread: only while it drains, and against its own limit.
  metrics.heartbeat = clock.Now().time_since_epoch().count();
  metrics.delivery_heartbeat = clock.Now().time_since_epoch().count();
  clock.Advance(seconds(900));
  metrics.heartbeat = clock.Now().time_since_epoch().count();
  EXPECT_TRUE(watchdog.Tick());  // idle: not expected to beat
  metrics.delivering = true;
  EXPECT_TRUE(watchdog.Tick());  // exactly its limit
  clock.Advance(seconds(1));
  metrics.heartbeat = clock.Now().time_since_epoch().count();
  ASSERT_TRUE(health.Stalled());
  EXPECT_NE(health.Stalled()->find("delivery thread"), std::string::npos);
  EXPECT_FALSE(watchdog.Tick());
}

TEST(DeciderTest, ADailyScheduleFiresOnceAtTenBerlinAcrossTheDstChange) {
  testing::StoreFixture f("Europe/Berlin");
  f.WriteRule("daily",
              "name: daily\ntrigger:\n  schedule: daily at 10:00\naction:\n  send: winback\n"
              "  values:\n    offer: a gift\n    offer_code: GIFT\n");
  f.Customers("id,email,name\nann,ann@example.com,Ann\n");
  f.Transactions(
      "id,customer_id,occurred_at,kind,amount,currency\nt1,ann,2026-03-01,purchase,25.00,EUR\n");
  // Saturday 28 March 2026, 11:00 local (CET, UTC+1); summer time starts on Sunday the 29th.
  Rooms rooms(f, At("2026-03-28T10:00:00Z"));
  rooms.Start();
  rooms.decider.FullPass();  // at start: the firing of the 28th is made up
  EXPECT_EQ(testing::Sql(f.db(), "SELECT count(*) FROM outbox"), "1");

  // Every five minutes for two days, as the poll would look: a full pass whenever a schedule
  // fired; the instants at which one ran.
  std::vector<Instant> passes;
  for (int step = 0; step < 2 * 24 * 12; ++step) {
    rooms.clock.Advance(minutes(5));
    if (!rooms.decider.ScheduleDue()) continue;
    passes.push_back(rooms.clock.Now());
    rooms.decider.FullPass();
  }
  // 10:00 local: 08:00Z in summer time on the 29th and the 30th.
  EXPECT_EQ(passes, (std::vector<Instant>{At("2026-03-29T08:00:00Z"), At("2026-03-30T08:00:00Z")}));
  EXPECT_EQ(testing::Sql(f.db(), "SELECT count(*) FROM outbox"), "3");
}

// With a bounce folder, the delivering room reads it before each drain: the mail server's bounce
// of a message the daemon sent (to the message's own VERP return path) marks that send bounced
// and suppresses the address, so nothing more goes to it.
TEST(DelivererTest, ABounceThatArrivesAfterTheSendSuppressesTheAddress) {
  testing::StoreFixture f;
  f.config.delivery.bounces = f.dir / "bounces";
  f.config.feedback.verp_key_file = f.dir / "verp.key";
  f.WriteRule("welcome", testing::kWelcomeRule);
  f.Customers("id,email,name\nnobody,nobody@example.com,No Body\n");
  Rooms rooms(f, At("2026-06-30T12:00:00Z"));
  rooms.Start();
  rooms.decider.FullPass();
  f.Transactions(
      "id,customer_id,occurred_at,kind,amount,currency\nt1,nobody,2026-06-30,purchase,25.00,EUR\n");
  rooms.decider.NewRows();
  rooms.deliverer.Drain();
  ASSERT_EQ(testing::Sql(f.db(), "SELECT status FROM outbox"), "sent");
  // The bounce, as Postfix writes it, to the return path the message went out with.
  auto key = app::LoadVerpKey(rooms.settings.feedback);
  ASSERT_TRUE(key) << key.error().ToString();
  const std::string return_path = feedback::VerpReturnPath(
      *key, "bounces", "shop.example", std::stoll(testing::Sql(f.db(), "SELECT id FROM outbox")));
  const std::string local = return_path.substr(0, return_path.find('@'));
  std::string dsn =
      testing::ReadFile(FOLLOWUP_SOURCE_DIR "/tests/data/feedback/dsn/postfix_hard.eml");
  for (size_t at; (at = dsn.find("bounces+4711-ywl6kbgtljhyhral")) != std::string::npos;)
    dsn.replace(at, 29, local);
  std::filesystem::create_directories(f.dir / "bounces/new");
  f.dir.Write("bounces/new/1782820000.M1P1.mail", dsn);
  rooms.clock.Advance(minutes(5));
  rooms.deliverer.Drain();
  EXPECT_EQ(testing::Sql(f.db(), "SELECT status FROM outbox"), "bounced");
  EXPECT_EQ(testing::Sql(f.db(),
                         "SELECT count(*) FROM suppressions WHERE email = "
                         "'nobody@example.com'"),
            "1");
  EXPECT_TRUE(std::filesystem::is_empty(f.dir / "bounces/new"));
  EXPECT_FALSE(std::filesystem::is_empty(f.dir / "bounces/cur"));
}

TEST(DeciderTest, ADecisionInQuietHoursWaitsAndGoesOutAtTheirEnd) {
  testing::StoreFixture f("Europe/Berlin");
  f.config.contact_policy.quiet_start_minute = 21 * 60;
  f.config.contact_policy.quiet_end_minute = 8 * 60;
  f.WriteRule("welcome", testing::kWelcomeRule);
  f.Customers("id,email,name\nann,ann@example.com,Ann\n");
  // 23:00 local (CEST, UTC+2): in quiet hours.
  Rooms rooms(f, At("2026-06-30T21:00:00Z"));
  rooms.Start();
  rooms.decider.FullPass();
  f.Transactions(
      "id,customer_id,occurred_at,kind,amount,currency\nt1,ann,2026-06-30,purchase,25.00,EUR\n");
  rooms.decider.NewRows();
  EXPECT_EQ(testing::Sql(f.db(), "SELECT status FROM outbox"), "queued");
  EXPECT_GT(rooms.drains_asked, 0);
  rooms.deliverer.Drain();
  EXPECT_EQ(f.Mails(), 0u);
  rooms.clock.Set(At("2026-07-01T05:59:00Z"));  // 07:59 local
  rooms.deliverer.Drain();
  EXPECT_EQ(f.Mails(), 0u);
  rooms.clock.Set(At("2026-07-01T06:00:00Z"));  // 08:00 local: quiet hours end
  rooms.deliverer.Drain();
  EXPECT_EQ(f.Mails(), 1u);
  EXPECT_EQ(testing::Sql(f.db(), "SELECT status FROM outbox"), "sent");
  EXPECT_EQ(rooms.metrics.sent, 1);
  // When each job last succeeded, on the daemon's clock: the pass at start, the drain just now.
  std::string metrics = MetricsText(rooms.metrics, StoreCounts{});
  EXPECT_NE(metrics.find("followup_last_success_timestamp_seconds{job=\"full_pass\"} " +
                         std::to_string(At("2026-06-30T21:00:00Z").time_since_epoch().count())),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("followup_last_success_timestamp_seconds{job=\"drain\"} " +
                         std::to_string(At("2026-07-01T06:00:00Z").time_since_epoch().count())),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("followup_last_success_timestamp_seconds{job=\"refit\"} 0\n"),
            std::string::npos)
      << metrics;
  // Nine hours from the decision to the server's acceptance: the send latency says so, and the
  // rule's count has its send.
  for (const char* line :
       {"followup_send_latency_seconds_bucket{le=\"14400\"} 0\n",
        "followup_send_latency_seconds_bucket{le=\"43200\"} 1\n",
        "followup_send_latency_seconds_sum 32400\n", "followup_send_latency_seconds_count 1\n",
        "followup_rule_sends_total{rule=\"welcome\",status=\"sent\"} 1\n",
        "followup_decision_latency_seconds_count{job=\"full_pass\"} 1\n",
        "followup_decision_latency_seconds_count{job=\"new_rows\"} 1\n"})
    EXPECT_NE(metrics.find(line), std::string::npos) << line << metrics;
}

TEST(DeciderTest, NewRowsAreDecidedOnceAndTheRulesReloadWhole) {
  testing::StoreFixture f;
  f.WriteRule("welcome", testing::kWelcomeRule);
  f.Customers("id,email,name\nann,ann@example.com,Ann\nbob,bob@example.com,Bob\n");
  Rooms rooms(f, At("2026-06-30T12:00:00Z"));
  rooms.Start();
  rooms.decider.FullPass();
  EXPECT_EQ(testing::Sql(f.db(), "SELECT count(*) FROM outbox"), "0");
  f.Transactions(
      "id,customer_id,occurred_at,kind,amount,currency\nt1,ann,2026-06-30,purchase,25.00,EUR\n");
  rooms.decider.NewRows();
  rooms.decider.NewRows();
  EXPECT_EQ(testing::Sql(f.db(), "SELECT count(*) FROM outbox"), "1");
  EXPECT_EQ(rooms.metrics.decisions, 1);

  // A broken rule file is rejected and the running rules keep deciding.
  f.WriteRule("broken", "name: broken\ntrigger:\n  event: nonsense\n");
  EXPECT_FALSE(rooms.decider.Reload());
  EXPECT_EQ(testing::Sql(f.db(), "SELECT value FROM meta WHERE key = 'reload'").substr(0, 9),
            "1 failed:");
  f.Transactions(
      "id,customer_id,occurred_at,kind,amount,currency\nt2,bob,2026-06-30,purchase,9.00,EUR\n");
  rooms.decider.NewRows();
  EXPECT_EQ(testing::Sql(f.db(), "SELECT count(*) FROM outbox"), "2");

  rooms.deliverer.Drain();
  EXPECT_EQ(f.Mails(), 2u);
}

// `n` customers who bought for the first time, so that the welcome rule queues a send to each.
void WelcomeCustomers(testing::StoreFixture& f, int n) {
  f.WriteRule("welcome", testing::kWelcomeRule);
  std::string customers = "id,email,name\n",
              transactions = "id,customer_id,occurred_at,kind,amount,currency\n";
  for (int i = 0; i < n; ++i) {
    customers += "c" + std::to_string(i) + ",c" + std::to_string(i) + "@example.com,C\n";
    transactions +=
        "t" + std::to_string(i) + ",c" + std::to_string(i) + ",2026-06-30,purchase,5,EUR\n";
  }
  f.Customers(customers);
  f.Transactions(transactions);
}

std::string Outbox(testing::StoreFixture& f) {
  return testing::Sql(f.db(),
                      "SELECT group_concat(s, ' ') FROM (SELECT status || '=' || count(*) || "
                      "'/' || sum(attempts) AS s FROM outbox GROUP BY status ORDER BY status)");
}

// The sender's failure pauses delivery: smtp-sink refuses every MAIL FROM. The sends stay queued
// with no attempt counted; delivery is tried again after retry_base, then twice as long each time;
// /healthz and /metrics say so; once the sink takes mail again, the next try sends everything.
TEST(DelivererTest, ARefusedSenderPausesDeliveryWithAGrowingBackOffUntilItWorks) {
  testing::StoreFixture f;
  testing::Sink sink(f.dir / "sink.dump", f.dir / "sink.log");
  const int port = testing::FreeLoopbackPort();
  ASSERT_TRUE(sink.Start(port, {"-f", "mail"}));
  f.config.delivery.transport = "smtp://127.0.0.1:" + std::to_string(port);
  f.config.delivery.require_tls = false;
  f.config.delivery.timeout = seconds(2);
  f.config.delivery.retry_base = seconds(60);
  f.config.delivery.max_attempts = 1;  // were it an attempt, the first would fail it for good
  WelcomeCustomers(f, 5);
  const Instant start = At("2026-06-30T12:00:00Z");
  Rooms rooms(f, start);
  rooms.Start();
  rooms.decider.FullPass();
  Health health(rooms.clock, rooms.metrics, StallLimits{});
  rooms.metrics.heartbeat = start.time_since_epoch().count();  // the decision thread is well

  rooms.deliverer.Drain();
  EXPECT_EQ(Outbox(f), "queued=5/0");
  EXPECT_EQ(testing::Sql(f.db(),
                         "SELECT count(*) FROM outbox WHERE last_reply LIKE "
                         "'%smtp MAIL FROM%'"),
            "5");
  EXPECT_TRUE(rooms.metrics.delivery_paused);
  EXPECT_EQ(rooms.metrics.sender_failures, 1);
  EXPECT_EQ(rooms.metrics.failed + rooms.metrics.deferred, 0);
  auto degraded = health.Degraded();
  ASSERT_TRUE(degraded);
  EXPECT_NE(degraded->find("delivery paused since 2026-06-30T12:00:00Z"), std::string::npos)
      << *degraded;
  EXPECT_NE(degraded->find("MAIL FROM"), std::string::npos) << *degraded;
  EXPECT_FALSE(health.Stalled()) << "a pause is no stall: the watchdog keeps going";
  std::string metrics = MetricsText(rooms.metrics, StoreCounts{});
  EXPECT_NE(metrics.find("followup_delivery_paused 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("followup_sender_failures_total 1\n"), std::string::npos) << metrics;

  // A try a minute after the first, two minutes after that, four after that; until the back-off
  // has passed, a drain (the 5-second timer's, say) tries nothing.
  int64_t tries = 1;
  for (int64_t wait : {60, 120, 240}) {
    rooms.clock.Advance(seconds(wait - 1));
    rooms.deliverer.Drain();
    EXPECT_EQ(rooms.metrics.sender_failures, tries) << "tried before the back-off of " << wait;
    rooms.clock.Advance(seconds(1));
    rooms.deliverer.Drain();
    EXPECT_EQ(rooms.metrics.sender_failures, ++tries) << "no try after " << wait << " s";
  }
  EXPECT_EQ(rooms.metrics.sender_failures, 4);
  EXPECT_EQ(Outbox(f), "queued=5/0");
  EXPECT_NE(health.Degraded()->find("4 failed tries"), std::string::npos) << *health.Degraded();

  // The sink takes mail again: the next try (eight minutes on) sends all, and the pause ends.
  ASSERT_TRUE(sink.Start(port));
  rooms.clock.Advance(seconds(480));
  rooms.deliverer.Drain();
  EXPECT_EQ(Outbox(f), "sent=5/5");
  EXPECT_FALSE(rooms.metrics.delivery_paused);
  EXPECT_FALSE(health.Degraded());
  EXPECT_EQ(rooms.metrics.sent, 5);
  sink.Stop();
  EXPECT_EQ(sink.MessageIds().size(), 5u);
}

// An HTTP mail API that answers 401 (a revoked token) pauses delivery likewise; when it takes the
// token again, the next try sends.
TEST(DelivererTest, AnApiRefusingTheTokenPausesDeliveryUntilItTakesIt) {
  testing::StoreFixture f;
  std::atomic<bool> refuse{true};
  std::atomic<int> requests{0};
  testing::HttpTestServer server([&](const testing::HttpRequest&) {
    ++requests;
    testing::HttpReply reply;
    reply.headers = {{"Content-Type", "application/json"}};
    reply.status = refuse ? 401 : 200;
    reply.body = refuse ? R"({"ErrorCode":10,"Message":"Bad or missing API token"})"
                        : R"({"MessageID":"m-1","ErrorCode":0})";
    return reply;
  });
  f.config.delivery.transport = server.url();
  f.config.delivery.timeout = seconds(2);
  f.config.delivery.retry_base = seconds(30);
  WelcomeCustomers(f, 3);
  Rooms rooms(f, At("2026-06-30T12:00:00Z"));
  rooms.Start();
  rooms.decider.FullPass();

  rooms.deliverer.Drain();
  EXPECT_EQ(Outbox(f), "queued=3/0");
  EXPECT_TRUE(rooms.metrics.delivery_paused);
  int asked = requests;
  rooms.clock.Advance(seconds(29));
  rooms.deliverer.Drain();
  EXPECT_EQ(requests, asked) << "no request while paused";
  refuse = false;
  rooms.clock.Advance(seconds(1));
  rooms.deliverer.Drain();
  EXPECT_EQ(Outbox(f), "sent=3/3");
  EXPECT_FALSE(rooms.metrics.delivery_paused);
  EXPECT_EQ(rooms.metrics.sender_failures, 1);
}

TEST(DelivererTest, AStopWithAHungMailServerEndsWithinItsBound) {
  testing::StoreFixture f;
  int port = 0;
  int listener = testing::ListenLoopback(port);  // accepts, and never greets
  ASSERT_GE(listener, 0);
  f.config.delivery.transport = "smtp://127.0.0.1:" + std::to_string(port);
  f.config.delivery.require_tls = false;
  f.config.delivery.connections = 2;
  f.config.delivery.timeout = seconds(1);
  f.WriteRule("welcome", testing::kWelcomeRule);
  std::string customers = "id,email,name\n",
              transactions = "id,customer_id,occurred_at,kind,amount,currency\n";
  for (int i = 0; i < 10; ++i) {
    customers += "c" + std::to_string(i) + ",c" + std::to_string(i) + "@example.com,C\n";
    transactions +=
        "t" + std::to_string(i) + ",c" + std::to_string(i) + ",2026-06-30,purchase,5,EUR\n";
  }
  f.Customers(customers);
  f.Transactions(transactions);
  Rooms rooms(f, At("2026-06-30T12:00:00Z"));
  rooms.Start();
  rooms.decider.FullPass();
  ASSERT_EQ(testing::Sql(f.db(), "SELECT count(*) FROM outbox"), "10");
  auto drained = std::async(std::launch::async, [&] { rooms.deliverer.Drain(); });
  std::vector<int> accepted;
  while (accepted.size() < 2) {
    pollfd p{listener, POLLIN, 0};
    ASSERT_GT(poll(&p, 1, 5000), 0) << "the transport did not connect";
    accepted.push_back(accept(listener, nullptr, nullptr));
  }
  EXPECT_TRUE(rooms.metrics.delivering);
  auto stopped = std::chrono::steady_clock::now();
  rooms.deliverer.Stop();
  ASSERT_EQ(drained.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, std::chrono::milliseconds(2500));
  EXPECT_FALSE(rooms.metrics.delivering);
  // The two on the wire: cut off (deferred), or back in the queue when the greeting's timeout
  // came first (a server that never greets is the sender's failure).
  const int64_t deferred = rooms.metrics.deferred;
  EXPECT_LE(deferred, 2);
  EXPECT_EQ(testing::Sql(f.db(), "SELECT count(*) FROM outbox WHERE status = 'queued'"),
            std::to_string(10 - deferred));
  EXPECT_EQ(testing::Sql(f.db(), "SELECT count(*) FROM outbox WHERE status = 'sending'"), "0");
  for (int fd : accepted) close(fd);
  close(listener);
}

}  // namespace
}  // namespace followup::service
