// Private to daemon/delivery: what the transports share. The libcurl multi loop that runs a batch
// of messages over a fixed set of reused easy handles, the per-transport factories, and the checks
// every transport makes before it sends.
#pragma once

#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "delivery/message.h"
#include "delivery/rate_limit.h"
#include "delivery/transport.h"

namespace followup::delivery {

Result<std::unique_ptr<Transport>> MakeMaildirTransport(const TransportOptions& options,
                                                        std::string path);
Result<std::unique_ptr<Transport>> MakeSmtpTransport(const TransportOptions& options);
Result<std::unique_ptr<Transport>> MakeHttpTransport(const TransportOptions& options);

// curl_global_init, once per process (thread-safe).
void EnsureCurlGlobalInit();

// The recipient's domain ("" when there is no "@").
std::string_view RecipientDomain(const Message& message);

// A kPermanent result when the message cannot be sent as it is (an invalid From, To or Reply-To
// address); nullopt when it can. An invalid To is a hard bounce: it will never be deliverable.
std::optional<SendResult> CheckMessage(const Message& message);

// `text` without control characters, for a value that goes into a protocol line (an HTTP header).
std::string StripControls(std::string_view text);

// One easy handle and the state of the transfer it runs. The handle (and with it the multi handle's
// connection cache) lives as long as the transport, so connections are reused across messages and
// across Send calls.
class CurlSlot {
 public:
  CurlSlot();
  virtual ~CurlSlot();
  CurlSlot(const CurlSlot&) = delete;
  CurlSlot& operator=(const CurlSlot&) = delete;

  CURL* easy() const { return easy_; }

  // Sets the per-message options and clears every piece of per-transfer state (reply codes, text,
  // buffers), so nothing of an earlier message can leak into this one's result. Returns a result
  // instead when the transfer cannot be set up.
  virtual std::optional<SendResult> Start(const Message& message) = 0;
  // Classifies the finished transfer.
  virtual SendResult Finish(CURLcode code) = 0;

 protected:
  CURL* easy_;
  char error_[CURL_ERROR_SIZE] = {};
};

// A libcurl multi handle driven through its socket interface: libcurl says which sockets it
// wants watched (CURLMOPT_SOCKETFUNCTION) and when it wants to be called back
// (CURLMOPT_TIMERFUNCTION); Drive() polls exactly those sockets and hands libcurl only the ones
// that are ready, so a wake-up runs the transfers that can make progress and no others. The
// sockets are watched with poll(2) over a small array: connections move in and out of the watch
// list with every message (libcurl drops a connection's socket while it sits in the connection
// cache between transfers), and with poll that costs no system call.
class CurlMulti {
 public:
  // Configured for `connections` reused connections; get() is null when libcurl cannot make one.
  explicit CurlMulti(int connections);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  CURLM* get() const { return multi_; }

  // Runs what libcurl's timer asks for if it is due; otherwise waits up to `max_wait_ms` for a
  // watched socket or the timer and runs what became ready. When the whole wait passes with
  // nothing ready, every watched socket's transfers are run anyway: libcurl checks some limits
  // (7.88: the SMTP server response timeout) only when a transfer runs, and sets no timer for them.
  CURLMcode Drive(int max_wait_ms);

 private:
  using Clock = std::chrono::steady_clock;
  static int OnSocket(CURL* easy, curl_socket_t socket, int what, void* self, void* socket_data);
  static int OnTimer(CURLM* multi, long timeout_ms, void* self);
  CURLMcode Act(curl_socket_t socket, int events);

  CURLM* multi_;
  std::vector<pollfd> watched_;
  std::vector<std::pair<curl_socket_t, int>> ready_;  // reused between wake-ups
  std::optional<Clock::time_point> timer_;            // when libcurl wants CURL_SOCKET_TIMEOUT
};

// A transport's stop (Transport::Stop), as the lanes of a Send read it: no further message is
// started once it is set, and transfers still out at `deadline` are cut off. Any thread may set it.
class StopSignal {
 public:
  using Clock = std::chrono::steady_clock;
  // Sets the stop, with transfers on the wire allowed `grace` more; a second call changes nothing.
  void Stop(Clock::duration grace);
  bool stopped() const { return deadline_.load() != kNone; }
  // True once stopped and the grace has run out.
  bool Overdue(Clock::time_point now) const;

 private:
  static constexpr Clock::rep kNone = 0;
  std::atomic<Clock::rep> deadline_{kNone};  // time_since_epoch of the deadline; kNone: running
};

// A share of a transport's connections with the multi handle that runs them. Each lane is run by
// one thread at a time; lanes share nothing of libcurl's.
struct CurlLane {
  explicit CurlLane(int connections) : multi(connections) {}
  CurlMulti multi;
  std::vector<std::unique_ptr<CurlSlot>> slots;  // one transfer each at a time
};

// Runs `messages` over the lanes, honouring `limiter` and `stop`: lane 0 on the calling thread,
// every other lane on a thread of its own for the duration of the call. Free slots take the next
// message as they come free, in order. Returns exactly one result per message, in order.
//
// Why several lanes: libcurl (7.88 and later) reads the reply to an SMTP message's final "." with
// a blocking wait inside the multi handle, so while one connection waits for it no other
// connection of that multi handle makes progress. With lanes the waits of one lane overlap with
// the work of the others.
std::vector<SendResult> RunTransfers(std::vector<std::unique_ptr<CurlLane>>& lanes,
                                     RateLimiter& limiter, const StopSignal& stop,
                                     std::span<const Message> messages,
                                     const Transport::Accepted& accepted);

// A transport over libcurl multi: `options.connections` slots of type Slot (each constructed from
// the transport's own options), spread over `lanes` lanes (at most one per connection), reused
// across messages and Send calls.
template <typename Slot>
class CurlTransport final : public Transport {
 public:
  CurlTransport(const TransportOptions& options, std::string_view kind, int lanes)
      : options_(options), kind_(kind), limiter_(options.rate_per_second, options.rate_per_domain) {
    lanes = std::clamp(lanes, 1, std::max(1, options.connections));
    for (int l = 0; l < lanes; ++l) {
      // Connections spread as evenly as they go: 8 over 3 lanes is 3, 3, 2.
      int share = options.connections / lanes + (l < options.connections % lanes ? 1 : 0);
      auto lane = std::make_unique<CurlLane>(share);
      for (int i = 0; i < share; ++i) lane->slots.push_back(std::make_unique<Slot>(options_));
      lanes_.push_back(std::move(lane));
    }
  }
  ~CurlTransport() override {
    // The easy handles first (they are not in their multi handle between sends).
    for (auto& lane : lanes_) lane->slots.clear();
  }

  // False when libcurl could not make a multi handle.
  bool ok() const {
    return std::all_of(lanes_.begin(), lanes_.end(),
                       [](const auto& lane) { return lane->multi.get() != nullptr; });
  }

  std::vector<SendResult> Send(std::span<const Message> messages,
                               const Accepted& accepted) override {
    return RunTransfers(lanes_, limiter_, stop_, messages, accepted);
  }
  void Stop() override { stop_.Stop(options_.timeout); }
  std::string_view kind() const override { return kind_; }

 private:
  TransportOptions options_;  // the slots keep a reference to it
  std::string_view kind_;
  RateLimiter limiter_;
  StopSignal stop_;
  std::vector<std::unique_ptr<CurlLane>> lanes_;
};

// "the peer closed the connection (curl 56: ...)": libcurl's words for a failed transfer.
std::string DescribeCurlError(CURLcode code, const char* error_buffer);

// Whether libcurl's `code` says the server could not be reached or trusted (name, connect, TLS
// handshake or certificate, login): a failure of the sender's session, whichever message it was.
bool IsSessionFailure(CURLcode code);

// Common easy options: no signals, the timeouts for one network step, the CA file, TCP keepalive.
void SetCommonOptions(CURL* easy, const TransportOptions& options);

}  // namespace followup::delivery
