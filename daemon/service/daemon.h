// The always-on daemon (`followupd run`): one boost::asio::io_context for signals, timers and
// HTTP, and one worker thread that owns the store connection, the customer base, the rules and the
// outbox, and does every piece of work in order:
//
//   start       migrate, requeue sends a crash left in flight, load and check the rules (invalid:
//               exit 1), load every customer's facts, READY=1
//   new rows    polled every poll_interval_ms (max transaction id): those customers' facts are
//               updated, event rules without a wait evaluated, decisions recorded, outbox drained
//   full pass   at start and every service.full_pass, or when a schedule fires: every rule over
//               every customer (schedules, waited events, catch-up; dedupe keys make it never
//               twice), then the outbox drained
//   retries     the outbox drained every few seconds (deferred sends)
//   refit       the worth models refitted daily at service.refit_at
//   SIGHUP      reload: the new rules are loaded and checked off the loop and swapped in whole, or
//               the running set is kept and every error logged (RELOADING=1 / READY=1 around it);
//               an edit of a rule or template file (looked for every 2 s) does the same
//   SIGTERM     stop taking work, finish the round in flight, STOPPING=1, exit 0
#pragma once

#include <string>

#include "base/time.h"
#include "config/config.h"

namespace followup::service {

// Runs until SIGTERM or SIGINT. Returns the exit status: 0 after a clean stop, 1 when the config,
// rules or templates are invalid at start, 3 when the store or the transport cannot be set up.
int RunDaemon(const Config& config, const std::string& store_url, const date::time_zone* zone);

// The outcome of the last reload, as the daemon records it in the store (meta "reload"):
// "GENERATION ok" or "GENERATION failed: first error".
inline constexpr const char* kReloadMetaKey = "reload";

}  // namespace followup::service
