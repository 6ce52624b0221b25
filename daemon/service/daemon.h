// The always-on daemon (`followupd run`): one boost::asio::io_context for signals, timers and
// HTTP, and two worker threads. The decision thread owns a store connection, the rules and the
// contact snapshot, and keeps the customer base current; the delivery thread owns another store
// connection and the transport, and reads recipients' facts from that base under a shared lock.
// Each does its work in order:
//
//   start       migrate, load and check the rules (invalid: exit 1), load every customer's facts;
//               then requeue sends a crash left in flight and set up the transport; READY=1
//   new rows    seen at once through an inotify watch on the store's files (SQLite: the database
//               and its WAL), and in any case every poll_interval_ms (the max transaction id, the
//               fallback when a backend has no such files): those customers' facts are
//               updated, event rules without a wait evaluated, decisions recorded, and the
//               delivery thread asked to drain the outbox
//   full pass   at start and every service.full_pass, or when a schedule fires: every rule over
//               every customer (schedules, waited events, catch-up; dedupe keys make it never
//               twice), then a drain asked for
//   delivery    the outbox drained when decisions were recorded and every few seconds (deferred
//               sends), on its own thread: a delivery round never delays the next look at new rows
//   refit       the worth models refitted daily at service.refit_at
//   SIGHUP      reload: the new rules are loaded and checked off the loop and swapped in whole, or
//               the running set is kept and every error logged (RELOADING=1 / READY=1 around it);
//               an edit of a rule or template file (looked for every 2 s) does the same
//   SIGTERM     stop taking work, finish the rounds in flight, STOPPING=1, exit 0
//   watchdog    WATCHDOG=1 every WatchdogSec/2 from the loop, as long as the decision thread has
//               finished a job within max(10 min, 3 x full_pass) and a draining delivery thread
//               has recorded an outcome within the longer of that and 2 x (batch / connections
//               + 1) x delivery.timeout (/healthz uses the same test)
#pragma once

#include <string>

#include "app/settings.h"
#include "base/time.h"

namespace followup::service {

// Runs until SIGTERM or SIGINT. Returns the exit status: 0 after a clean stop, 1 when the config,
// rules or templates are invalid at start, 3 when the store or the transport cannot be set up.
int RunDaemon(const app::Settings& settings);

// The outcome of the last reload, as the daemon records it in the store (meta "reload"):
// "GENERATION ok" or "GENERATION failed: first error".
inline constexpr const char* kReloadMetaKey = "reload";

}  // namespace followup::service
