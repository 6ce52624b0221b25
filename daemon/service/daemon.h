// The always-on daemon (`followupd run`): builds the rooms (docs/architecture.md, the rooms of the
// service), owns the loop (one boost::asio::io_context for signals, timers, the watches and HTTP),
// the decision and delivery strands and the timers; start, run, stop.
//
//   start       the decider (store migrated, rules and templates checked: invalid is exit 1; facts
//               loaded; a store that fails is exit 3), then the deliverer (sends left `sending`
//               requeued, transport and composer set up), then the desk and the HTTP server;
//               READY=1
//   new rows    seen at once through the store watch, and in any case every poll_interval_ms:
//               the decider's NewRows, and a full pass when a schedule has fired
//   full pass   at start and every service.full_pass; a drain is asked for after every pass that
//               recorded decisions, and every 5 s for deferred sends falling due
//   refit       once a day at service.refit_at (local time)
//   SIGHUP      reload: validated off the loop and swapped in whole, or the running set kept and
//               every error logged (RELOADING=1 / READY=1 around it); an edit of a rule or
//               template file (looked for every 2 s) does the same
//   SIGTERM     STOPPING=1; nothing new starts, the deliverer's bounded stop, the threads joined,
//               exit 0
//   watchdog    WATCHDOG=1 every WatchdogSec/2 while Health (health.h) says all is well
//
// Time is the injected Clock: schedules, quiet hours, the daily refit, heartbeats and stall limits
// all ask it; the timers wait on the monotonic clock.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <optional>

#include "app/settings.h"
#include "base/time.h"
#include "service/decider.h"
#include "service/deliverer.h"
#include "service/desk.h"
#include "service/health.h"
#include "service/http_server.h"
#include "service/job.h"
#include "service/metrics.h"
#include "service/notify.h"
#include "service/periodic.h"
#include "service/rule_files.h"
#include "service/shared_facts.h"
#include "service/store_watch.h"

namespace followup::service {

// One run of the daemon. Run from the thread that made it (the loop thread).
class Daemon {
 public:
  // Borrows `settings` and `clock`; starts the two worker threads (nothing runs on them yet).
  Daemon(const app::Settings& settings, const Clock& clock);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Start, run until SIGTERM or SIGINT, stop: the exit status (see RunDaemon).
  int Run();

 private:
  // The exit status when a room fails to start.
  std::optional<int> Start();
  void WaitSignal();
  void Reload();
  void Stop();

  const app::Settings& settings_;
  const Clock& clock_;
  Metrics metrics_;
  Notifier notify_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  // Two threads: one decides (jobs in order on its strand), one delivers (jobs in order on its).
  boost::asio::thread_pool pool_{2};
  Strand decide_strand_, deliver_strand_;
  std::atomic<bool> stopping_{false};
  SharedFacts facts_;
  Deliverer deliverer_;
  Job drain_;
  Decider decider_;
  Job rows_, full_pass_, refit_;
  Health health_;
  Watchdog watchdog_;
  Desk desk_;
  std::optional<HttpServer> http_;
  StoreWatch store_watch_;
  RuleFilesWatch rule_files_;
  DailyAt daily_refit_;
  Every poll_, pass_, retry_, refit_check_, files_;
};

// Runs until SIGTERM or SIGINT. Returns the exit status: 0 after a clean stop, 1 when the config,
// rules or templates are invalid at start, 3 when the store or the transport cannot be set up.
// Borrows `clock`. SIGTERM, SIGINT and SIGHUP should be blocked in every thread before the call
// (BlockStopSignals): the daemon takes them once it can handle them.
int RunDaemon(const app::Settings& settings, const Clock& clock);

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and every thread it starts later): call
// it first thing in main, before any thread exists, so that a signal during start-up is held
// until the daemon handles it. UnblockStopSignals undoes it (for the commands that are not the
// daemon).
void BlockStopSignals();
void UnblockStopSignals();

}  // namespace followup::service
