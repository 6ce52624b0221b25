// Private to daemon/delivery: what the transports share. The libcurl multi loop that runs a batch
// of messages over a fixed set of reused easy handles, the per-transport factories, and the checks
// every transport makes before it sends.
#pragma once

#include <curl/curl.h>

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

// Runs `messages` over `slots` (one transfer per slot at a time) in `multi`, honouring `limiter`.
// Returns exactly one result per message, in order.
std::vector<SendResult> RunTransfers(CURLM* multi, std::vector<std::unique_ptr<CurlSlot>>& slots,
                                     RateLimiter& limiter, std::span<const Message> messages);

// A multi handle configured for `connections` reused connections.
CURLM* NewMulti(int connections);

// A transport over libcurl multi: `options.connections` slots of type Slot (each constructed from
// the transport's own options), reused across messages and Send calls. Owns `multi`.
template <typename Slot>
class CurlTransport final : public Transport {
 public:
  CurlTransport(const TransportOptions& options, CURLM* multi, std::string_view kind)
      : options_(options),
        multi_(multi),
        kind_(kind),
        limiter_(options.rate_per_second, options.rate_per_domain) {
    for (int i = 0; i < options.connections; ++i)
      slots_.push_back(std::make_unique<Slot>(options_));
  }
  ~CurlTransport() override {
    slots_.clear();  // easy handles first (they are not in the multi handle between sends)
    curl_multi_cleanup(multi_);
  }

  std::vector<SendResult> Send(std::span<const Message> messages) override {
    return RunTransfers(multi_, slots_, limiter_, messages);
  }
  std::string_view kind() const override { return kind_; }

 private:
  TransportOptions options_;  // the slots keep a reference to it
  CURLM* multi_;
  std::string_view kind_;
  RateLimiter limiter_;
  std::vector<std::unique_ptr<CurlSlot>> slots_;
};

// "the peer closed the connection (curl 56: ...)": libcurl's words for a failed transfer.
std::string DescribeCurlError(CURLcode code, const char* error_buffer);

// Common easy options: no signals, the timeouts for one network step, the CA file, TCP keepalive.
void SetCommonOptions(CURL* easy, const TransportOptions& options);

}  // namespace followup::delivery
