// sd_notify through libsystemd (Debian: libsystemd-dev; pkg-config libsystemd), not a hand-written
// datagram sender. The protocol fits in a dozen lines, but libsystemd is its reference
// implementation, maintained with systemd itself, and already on every Debian machine (libsystemd0
// is a dependency of the Essential packages util-linux and bsdutils, and of systemd). It knows
// every address form ('/' paths, '@' abstract names, AF_VSOCK ones in newer versions), sends
// SCM_CREDENTIALS so that NotifyAccess=main can check the sender, and applies the exact
// $WATCHDOG_USEC / $WATCHDOG_PID rules (sd_watchdog_enabled). The price is one more shared library
// at run time, and a -dev package at build time; keeping up with the protocol stays systemd's job.
#include "service/notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace followup::service {
namespace {

std::string Line(std::string_view key, std::string_view value) {
  std::string line(key);
  line += '=';
  line += value;
  return line;
}

std::string WithStatus(std::string message, std::string_view status) {
  if (!status.empty()) {
    message += '\n';
    message += Line("STATUS", Notifier::SanitizeStatus(status));
  }
  return message;
}

// CLOCK_MONOTONIC in microseconds: the clock systemd compares MONOTONIC_USEC= against.
uint64_t MonotonicMicros() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

bool Notifier::enabled() const {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

std::string Notifier::SanitizeStatus(std::string_view status) {
  std::string out(status);
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\0') c = ' ';
  if (out.size() > kMaxStatusBytes) {
    size_t cut = kMaxStatusBytes;
    // Do not split a UTF-8 sequence: back off over continuation bytes (10xxxxxx).
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

Result<void> Notifier::Send(const std::string& message, std::string_view what) const {
  if (!enabled()) return {};
  int r = sd_notify(/*unset_environment=*/0, message.c_str());
  if (r < 0) {
    return RuntimeFailure("sd_notify " + std::string(what) + " to $NOTIFY_SOCKET (" +
                          std::getenv("NOTIFY_SOCKET") + "): " + std::strerror(-r));
  }
  return {};
}

Result<void> Notifier::Ready(std::string_view status) const {
  return Send(WithStatus("READY=1", status), "READY=1");
}

Result<void> Notifier::Reloading(std::string_view status) const {
  std::string message = "RELOADING=1\n" + Line("MONOTONIC_USEC", std::to_string(MonotonicMicros()));
  return Send(WithStatus(std::move(message), status), "RELOADING=1");
}

Result<void> Notifier::Stopping(std::string_view status) const {
  return Send(WithStatus("STOPPING=1", status), "STOPPING=1");
}

Result<void> Notifier::Watchdog() const { return Send("WATCHDOG=1", "WATCHDOG=1"); }

Result<void> Notifier::Status(std::string_view status) const {
  return Send(Line("STATUS", SanitizeStatus(status)), "STATUS");
}

Result<void> Notifier::ExtendTimeout(std::chrono::microseconds extra) const {
  long long usec = extra.count() < 0 ? 0 : static_cast<long long>(extra.count());
  return Send(Line("EXTEND_TIMEOUT_USEC", std::to_string(usec)), "EXTEND_TIMEOUT_USEC");
}

std::optional<std::chrono::microseconds> Notifier::WatchdogTimeout() const {
  uint64_t usec = 0;
  // > 0: on, for this process; 0: off, or meant for another process; < 0: unparsable variables.
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(usec));
}

std::optional<std::chrono::microseconds> Notifier::WatchdogPingInterval() const {
  auto timeout = WatchdogTimeout();
  if (!timeout) return std::nullopt;
  return *timeout / 2;
}

}  // namespace followup::service
