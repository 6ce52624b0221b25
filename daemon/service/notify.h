// What the daemon tells systemd (sd_notify(3)): started, reloading, stopping, still alive, status.
//
// systemd runs followupd with Type=notify (systemd/followupd.service) and passes the address of its
// notification socket in $NOTIFY_SOCKET; with WatchdogSec= it also passes $WATCHDOG_USEC (and
// $WATCHDOG_PID). Outside systemd (a terminal, a test, `run --once` from cron) $NOTIFY_SOCKET is
// unset and every call here is a no-op that succeeds, so callers never need to ask.
//
// The protocol, in the order the service loop uses it:
//   Ready("…")       once config, rules and store are loaded: READY=1 (systemd: started)
//   Reloading()      on SIGHUP, before reading anything: RELOADING=1 + MONOTONIC_USEC=now
//   Ready("…")       after the reload, whether it swapped or kept the old set: READY=1
//   Watchdog()       every WatchdogPingInterval() from the loop: WATCHDOG=1. systemd arms the
//                    watchdog at READY=1, or at the first WATCHDOG=1 if that comes earlier.
//   ExtendTimeout(d) during a long start (store migration) or stop: EXTEND_TIMEOUT_USEC=d, so that
//                    TimeoutStartSec=/TimeoutStopSec= do not run out first
//   Stopping("…")    on SIGTERM, before draining: STOPPING=1
//   Status("…")      whenever there is news for `systemctl status`: STATUS=…
//
// Thread safety: every member may be called from any thread at any time (each call opens, sends on
// and closes its own socket); only a concurrent setenv()/unsetenv() of these variables would race,
// which nobody does in followupd.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace followup::service {

class Notifier {
 public:
  // Status texts longer than this are cut (on a UTF-8 character boundary) before sending.
  static constexpr size_t kMaxStatusBytes = 1024;

  Notifier() = default;

  // True when $NOTIFY_SOCKET is set (and not empty): the calls below send something.
  bool enabled() const;

  // Each call sends one datagram, exactly the lines shown (joined with '\n'); a non-empty status
  // adds a last line "STATUS=<status>" with line breaks and NULs in it turned into spaces, so a
  // status can never add a line of its own (say, a stray READY=1).
  //   Ready:      "READY=1"
  //   Reloading:  "RELOADING=1", "MONOTONIC_USEC=<CLOCK_MONOTONIC now, in µs>" (systemd >= 253
  //               wants it; older ones ignore it)
  //   Stopping:   "STOPPING=1"
  //   Watchdog:   "WATCHDOG=1"
  //   Status:     "STATUS=<status>"
  //   ExtendTimeout: "EXTEND_TIMEOUT_USEC=<µs>" (the current start/stop/reload may take this much
  //               longer, counted from now)
  // Success when sent, or when $NOTIFY_SOCKET is unset (nothing sent). A runtime Error when
  // $NOTIFY_SOCKET is set but the datagram cannot be sent (no such socket, bad address): systemd is
  // then not listening, and the caller logs it and carries on.
  Result<void> Ready(std::string_view status = {}) const;
  Result<void> Reloading(std::string_view status = {}) const;
  Result<void> Stopping(std::string_view status = {}) const;
  Result<void> Watchdog() const;
  Result<void> Status(std::string_view status) const;
  Result<void> ExtendTimeout(std::chrono::microseconds extra) const;

  // $WATCHDOG_USEC, when it is a positive number and $WATCHDOG_PID is unset or this process's id;
  // else nullopt (no watchdog: do not ping). Independent of $NOTIFY_SOCKET, as in libsystemd.
  std::optional<std::chrono::microseconds> WatchdogTimeout() const;
  // Half of WatchdogTimeout(): how often the loop should call Watchdog().
  std::optional<std::chrono::microseconds> WatchdogPingInterval() const;

  // The datagram text for a status: line breaks and NULs become spaces, cut to kMaxStatusBytes.
  static std::string SanitizeStatus(std::string_view status);

 private:
  // Sends `message` (several "KEY=VALUE" lines) if $NOTIFY_SOCKET is set; `what` names it in
  // errors.
  Result<void> Send(const std::string& message, std::string_view what) const;
};

}  // namespace followup::service
