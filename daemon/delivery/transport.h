// Transports: how a message leaves. Chosen by URL in the config (`delivery.transport`):
//   maildir://PATH          write each message into a maildir (tmp/ -> new/); nothing leaves.
//                           maildir:///abs/path or maildir://rel/path. Files use LF line ends (the
//                           maildir convention); the name of the file is the provider_message_id.
//   smtp://HOST[:PORT][/EHLO-NAME]
//                           SMTP through libcurl (default port 25). STARTTLS is required unless
//                           require_tls is false; then it is used when the server offers it
//                           (CURLUSESSL_TRY: opportunistic, and a failed handshake still fails).
//   smtps://HOST[:PORT]     SMTPS (implicit TLS, default port 465); always encrypted.
//   http://... https://...  an HTTP mail API through libcurl: the URL is the endpoint the JSON is
//                           POSTed to (https://api.postmarkapp.com/email); api_kind picks the
//                           shape.
//
// Classification (SendResult): the server's reply decides when it gave one about the message
// (SMTP: 4xx temporary, 5xx permanent; HTTP: 2xx sent, 429/5xx temporary, other 4xx permanent);
// everything about the session rather than the message (connect, TLS, SMTP AUTH, HTTP 401/403,
// timeouts, dropped connections, local errors) is kTemporary with code 0 unless the server gave a
// code, so that a misconfiguration delays mail but never fails it. A failure that is the sender's
// (the server unreachable, TLS, the login, a refused greeting, EHLO, AUTH or MAIL FROM, an HTTP
// 401/403) is kTemporary with sender_failure set: the outbox pauses delivery on it. After such a
// failure, while nothing of the call has been sent, Send starts no further message: each gets
// kNotStarted with the same failure (sender_failure set). A message with an invalid
// From/To/Reply-To address (mime.h IsValidEmail) is kPermanent without any traffic (a hard bounce
// for To). smtp_transport.cpp and http_transport.cpp document the details.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "delivery/message.h"

namespace followup::delivery {

struct TransportOptions {
  std::string url;
  bool require_tls = true;  // SMTP: refuse to send without STARTTLS
  // user:password (SMTP AUTH) or the API token, read from a file (never from rule files or logs).
  std::string username;
  std::string password;
  std::string api_token;
  std::string api_kind = "postmark";  // postmark | generic
  // Parallel connections (SMTP) / transfers (HTTP), 1..1000; kept open and reused across
  // messages and Send calls.
  int connections = 8;
  // Per network step: TCP connect + TLS handshake, each SMTP reply, a stalled upload (no byte for
  // this long). An HTTP request is also capped at 2x this overall, an SMTP message at 10x.
  std::chrono::seconds timeout{30};
  // Token buckets (rate_limit.h), kept for the transport's lifetime; a message waits for both
  // tokens before its transfer starts. 0 = unlimited.
  double rate_per_second = 0;  // messages per second over the transport
  double rate_per_domain = 0;  // messages per second to one recipient domain
  // A CA bundle to verify TLS peers with instead of the system's (tests); "" = the system's.
  std::string ca_file;
  // Postmark only: the message stream ("outbound" is the default transactional stream; marketing
  // follow-ups belong on a broadcast stream, e.g. "broadcast").
  std::string message_stream = "outbound";
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Told, as soon as the server has accepted messages[index] (Outcome::kSent), its result, while
  // the rest of the call may still be out: so that the caller can record it at once, and a crash
  // later in the call does not send it again. Called from whichever thread finished the message,
  // possibly several at once: it must be thread-safe, quick and must not throw.
  using Accepted = std::function<void(size_t index, const SendResult& result)>;

  // Sends the messages (concurrently, up to options.connections, reusing connections) and returns
  // one result per message, in the same order. Never throws; every failure is a classified result.
  // Blocks until all are done; `accepted` (may be empty) hears of each sent one before that. Not
  // thread-safe: one caller at a time.
  virtual std::vector<SendResult> Send(std::span<const Message> messages,
                                       const Accepted& accepted) = 0;
  std::vector<SendResult> Send(std::span<const Message> messages) { return Send(messages, {}); }
  // A bounded stop, for SIGTERM: from now on Send starts no further message (each one not started
  // gets Outcome::kNotStarted), and a transfer already on the wire gets at most options.timeout
  // more before it is cut off (kTemporary, "stopped"). For the rest of the transport's life. May
  // be called from any thread, also while Send runs on another; idempotent. The default does
  // nothing: a transport whose every message is quick (maildir) finishes its call.
  virtual void Stop() {}
  // "maildir", "smtp", "http": for logs.
  virtual std::string_view kind() const = 0;
};

// The transport for options.url. kInvalidInput for an unknown scheme or a bad URL; kRuntime when
// it cannot be set up (e.g. the maildir cannot be created).
Result<std::unique_ptr<Transport>> MakeTransport(const TransportOptions& options);

}  // namespace followup::delivery
