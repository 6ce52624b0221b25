#include "delivery/transport_curl.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <mutex>
#include <unordered_set>

#include "delivery/mime.h"

namespace followup::delivery {

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string_view RecipientDomain(const Message& message) {
  std::string_view email = message.to.email;
  size_t at = email.rfind('@');
  return at == std::string_view::npos ? std::string_view() : email.substr(at + 1);
}

std::optional<SendResult> CheckMessage(const Message& message) {
  auto bad = [](std::string_view what, std::string_view email, bool hard) {
    SendResult r;
    r.outcome = Outcome::kPermanent;
    r.hard_bounce = hard;
    r.reply = std::string(what) + ": '" + SanitizeHeaderText(email) + "' is not a valid address";
    return r;
  };
  if (!IsValidEmail(message.to.email)) return bad("check recipient", message.to.email, true);
  if (!IsValidEmail(message.from.email)) return bad("check sender", message.from.email, false);
  if (message.reply_to && !IsValidEmail(message.reply_to->email)) {
    return bad("check reply-to", message.reply_to->email, false);
  }
  return std::nullopt;
}

std::string StripControls(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7F) out += c;
  }
  return out;
}

CurlSlot::CurlSlot() : easy_(curl_easy_init()) {}
CurlSlot::~CurlSlot() {
  if (easy_) curl_easy_cleanup(easy_);
}

CURLM* NewMulti(int connections) {
  CURLM* multi = curl_multi_init();
  if (!multi) return nullptr;
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(connections));
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(connections));
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(connections));
  return multi;
}

std::string DescribeCurlError(CURLcode code, const char* error_buffer) {
  std::string text = curl_easy_strerror(code);
  if (error_buffer && *error_buffer) {
    std::string detail = error_buffer;
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    if (detail != text) text += ": " + detail;
  }
  return text + " (curl " + std::to_string(static_cast<int>(code)) + ")";
}

void SetCommonOptions(CURL* easy, const TransportOptions& options) {
  long step = static_cast<long>(std::max<int64_t>(1, options.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  // Every network step is bounded: the TCP connect plus TLS handshake, every server reply
  // (SMTP: each command's response), and a stalled transfer (less than 1 byte in `step` seconds).
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, step);
  curl_easy_setopt(easy, CURLOPT_SERVER_RESPONSE_TIMEOUT, step);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, step);
  if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
}

std::vector<SendResult> RunTransfers(CURLM* multi, std::vector<std::unique_ptr<CurlSlot>>& slots,
                                     RateLimiter& limiter, std::span<const Message> messages) {
  using Clock = RateLimiter::Clock;
  std::vector<SendResult> results(messages.size());
  std::vector<bool> done(messages.size(), false);
  size_t remaining = messages.size();
  auto finish = [&](size_t index, SendResult result) {
    assert(!done[index]);
    results[index] = std::move(result);
    done[index] = true;
    --remaining;
  };

  std::deque<size_t> pending;
  for (size_t i = 0; i < messages.size(); ++i) pending.push_back(i);
  std::vector<std::optional<size_t>> running(slots.size());  // message index per slot
  std::vector<size_t> idle;
  for (size_t s = slots.size(); s-- > 0;) idle.push_back(s);

  while (remaining > 0) {
    // Start what may start: a free slot, and the message's tokens. A message whose domain is
    // held back does not hold back the messages behind it.
    Clock::duration wait = Clock::duration::max();
    std::unordered_set<std::string_view> held_domains;
    for (auto it = pending.begin(); it != pending.end() && !idle.empty();) {
      size_t index = *it;
      const Message& message = messages[index];
      if (auto rejected = CheckMessage(message)) {
        finish(index, std::move(*rejected));
        it = pending.erase(it);
        continue;
      }
      std::string_view domain = RecipientDomain(message);
      if (held_domains.contains(domain)) {
        ++it;
        continue;
      }
      Clock::duration delay = limiter.TryAcquire(domain, Clock::now());
      if (delay > Clock::duration::zero()) {
        wait = std::min(wait, delay);
        held_domains.insert(domain);
        ++it;
        continue;
      }
      size_t slot = idle.back();
      if (auto failed = slots[slot]->Start(message)) {
        finish(index, std::move(*failed));
        it = pending.erase(it);
        continue;
      }
      CURLMcode added = curl_multi_add_handle(multi, slots[slot]->easy());
      if (added != CURLM_OK) {
        SendResult r;
        r.reply = std::string("start transfer: ") + curl_multi_strerror(added);
        finish(index, std::move(r));
        it = pending.erase(it);
        continue;
      }
      idle.pop_back();
      running[slot] = index;
      it = pending.erase(it);
    }
    if (remaining == 0) break;

    int still_running = 0;
    CURLMcode performed = curl_multi_perform(multi, &still_running);
    bool progressed = false;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode code = msg->data.result;
      for (size_t s = 0; s < slots.size(); ++s) {
        if (slots[s]->easy() != easy || !running[s]) continue;
        finish(*running[s], slots[s]->Finish(code));
        curl_multi_remove_handle(multi, easy);
        running[s].reset();
        idle.push_back(s);
        progressed = true;
        break;
      }
    }
    if (performed != CURLM_OK) {
      // The multi handle itself is broken (out of memory): every transfer still out fails.
      for (size_t s = 0; s < slots.size(); ++s) {
        if (!running[s]) continue;
        SendResult r;
        r.reply = std::string("transfer: ") + curl_multi_strerror(performed);
        finish(*running[s], std::move(r));
        curl_multi_remove_handle(multi, slots[s]->easy());
        running[s].reset();
        idle.push_back(s);
      }
      progressed = true;
    }
    if (progressed || remaining == 0) continue;

    // libcurl 7.88 sets no timer for an SMTP server's response timeout: it is only checked when
    // the loop comes round, so the loop comes round often enough.
    constexpr int64_t kMaxPollMs = 200;
    int timeout_ms = kMaxPollMs;
    if (!pending.empty() && !idle.empty() && wait != Clock::duration::max()) {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(ms, 1, kMaxPollMs));
    }
    curl_multi_poll(multi, nullptr, 0, timeout_ms, nullptr);
  }
  return results;
}

}  // namespace followup::delivery
