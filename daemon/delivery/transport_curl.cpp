#include "delivery/transport_curl.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
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
  // An address followupd cannot write to (no ASCII form: a non-ASCII local part, an
  // internationalized domain IDNA refuses) is its own limit, not the recipient's failure: it fails
  // without suppressing the address.
  if (!IsValidEmail(message.to.email))
    return bad("check recipient", message.to.email, WireEmail(message.to.email).has_value());
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

void StopSignal::Stop(Clock::duration grace) {
  Clock::rep none = kNone;
  Clock::rep deadline = (Clock::now() + grace).time_since_epoch().count();
  if (deadline == kNone) ++deadline;
  deadline_.compare_exchange_strong(none, deadline);
}

bool StopSignal::Overdue(Clock::time_point now) const {
  Clock::rep deadline = deadline_.load();
  return deadline != kNone && now.time_since_epoch().count() >= deadline;
}

CurlSlot::CurlSlot() : easy_(curl_easy_init()) {}
CurlSlot::~CurlSlot() {
  if (easy_) curl_easy_cleanup(easy_);
}

CurlMulti::CurlMulti(int connections) : multi_(curl_multi_init()) {
  if (!multi_) return;
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(connections));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(connections));
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(connections));
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() {
  // libcurl closes the cached connections here and reports their sockets gone: this object is
  // still whole while it does.
  if (multi_) curl_multi_cleanup(multi_);
}

int CurlMulti::OnSocket(CURL*, curl_socket_t socket, int what, void* self_ptr, void*) {
  auto& watched = static_cast<CurlMulti*>(self_ptr)->watched_;
  auto it =
      std::find_if(watched.begin(), watched.end(), [&](const pollfd& p) { return p.fd == socket; });
  if (what == CURL_POLL_REMOVE) {
    if (it != watched.end()) watched.erase(it);
    return 0;
  }
  short events = 0;
  if (what & CURL_POLL_IN) events |= POLLIN;
  if (what & CURL_POLL_OUT) events |= POLLOUT;
  if (it == watched.end()) {
    watched.push_back(pollfd{socket, events, 0});
  } else {
    it->events = events;
  }
  return 0;
}

int CurlMulti::OnTimer(CURLM*, long timeout_ms, void* self_ptr) {
  auto* self = static_cast<CurlMulti*>(self_ptr);
  if (timeout_ms < 0) {
    self->timer_.reset();
  } else {
    self->timer_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

CURLMcode CurlMulti::Act(curl_socket_t socket, int events) {
  int running = 0;
  return curl_multi_socket_action(multi_, socket, events, &running);
}

CURLMcode CurlMulti::Drive(int max_wait_ms) {
  auto now = Clock::now();
  if (timer_ && *timer_ <= now) {
    timer_.reset();
    return Act(CURL_SOCKET_TIMEOUT, 0);
  }
  int wait_ms = max_wait_ms;
  if (timer_) {
    auto until = std::chrono::ceil<std::chrono::milliseconds>(*timer_ - now).count();
    wait_ms = static_cast<int>(std::clamp<int64_t>(until, 0, max_wait_ms));
  }
  int n = poll(watched_.data(), watched_.size(), wait_ms);
  if (n < 0) {
    if (errno == EINTR) return CURLM_OK;  // the caller comes round again
    return errno == ENOMEM ? CURLM_OUT_OF_MEMORY : CURLM_INTERNAL_ERROR;  // not a busy loop
  }
  // libcurl's callbacks change watched_ while it runs: act on a copy of what was ready.
  ready_.clear();
  if (n > 0) {
    for (const pollfd& p : watched_) {
      if (!p.revents) continue;
      int events = 0;
      if (p.revents & (POLLIN | POLLHUP)) events |= CURL_CSELECT_IN;
      if (p.revents & POLLOUT) events |= CURL_CSELECT_OUT;
      if (p.revents & (POLLERR | POLLNVAL)) events |= CURL_CSELECT_ERR;
      ready_.emplace_back(p.fd, events);
    }
  } else if (!timer_ || *timer_ > Clock::now()) {
    // The whole wait passed in silence: let every transfer check its own limits.
    for (const pollfd& p : watched_) ready_.emplace_back(p.fd, 0);
  }
  for (const auto& [socket, events] : ready_) {
    if (CURLMcode rc = Act(socket, events); rc != CURLM_OK) return rc;
  }
  if (timer_ && *timer_ <= Clock::now()) {
    timer_.reset();
    return Act(CURL_SOCKET_TIMEOUT, 0);
  }
  return CURLM_OK;
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

bool IsSessionFailure(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_USE_SSL_FAILED:
    case CURLE_LOGIN_DENIED:
      return true;
    default:
      return false;
  }
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

namespace {

using LimitClock = RateLimiter::Clock;

// One Send call as the lanes share it: the messages not yet started, and the results.
struct Batch {
  Batch(std::span<const Message> m, RateLimiter& l, const StopSignal& s,
        const Transport::Accepted& a)
      : messages(m), limiter(l), stop(s), accepted(a), results(m.size()), done(m.size(), 0) {}

  // Under `mutex`. Once the transport is stopped, every message not started yet is answered
  // kNotStarted and none is taken.
  void DropPendingIfStopped() {
    if (!stop.stopped()) return;
    for (size_t index : pending) {
      SendResult r;
      r.outcome = Outcome::kNotStarted;
      r.reply = "not started: delivery is stopping";
      Finish(index, std::move(r));
    }
    pending.clear();
  }

  // Under `mutex`. Notes a finished transfer's result: the first sender's failure while nothing
  // has been sent yet stops the batch (below).
  void Note(const SendResult& result) {
    if (result.outcome == Outcome::kSent) sent_any = true;
    if (result.sender_failure && !sender_failed) sender_failed = result;
  }

  // Under `mutex`. After the sender's failure, with nothing sent: every message would fail alike,
  // so none more is started (a server that is down costs one timeout, not one per message). Each
  // gets kNotStarted with that failure, which the outbox treats as the sender's.
  void DropPendingIfSenderFailed() {
    if (!sender_failed || sent_any) return;
    for (size_t index : pending) {
      SendResult r = *sender_failed;
      r.outcome = Outcome::kNotStarted;
      r.reply = "not started: " + sender_failed->reply;
      Finish(index, std::move(r));
    }
    pending.clear();
  }

  // Under `mutex`. The first pending message that may start now (its tokens taken), or nullopt;
  // `wait` becomes how long until a held-back one may. A message whose domain is held back does
  // not hold back the messages behind it; one that cannot be sent as it is gets its result here.
  std::optional<size_t> TakeNext(LimitClock::duration& wait) {
    DropPendingIfStopped();
    DropPendingIfSenderFailed();
    std::unordered_set<std::string_view> held_domains;
    for (auto it = pending.begin(); it != pending.end();) {
      size_t index = *it;
      const Message& message = messages[index];
      if (auto rejected = CheckMessage(message)) {
        Finish(index, std::move(*rejected));
        it = pending.erase(it);
        continue;
      }
      std::string_view domain = RecipientDomain(message);
      if (held_domains.contains(domain)) {
        ++it;
        continue;
      }
      LimitClock::duration delay = limiter.TryAcquire(domain, LimitClock::now());
      if (delay > LimitClock::duration::zero()) {
        wait = std::min(wait, delay);
        held_domains.insert(domain);
        ++it;
        continue;
      }
      pending.erase(it);
      return index;
    }
    return std::nullopt;
  }

  // Each index once, by whichever lane had it (distinct elements: no lock needed).
  void Finish(size_t index, SendResult result) {
    assert(!done[index]);
    results[index] = std::move(result);
    done[index] = 1;
  }

  std::span<const Message> messages;
  RateLimiter& limiter;
  const StopSignal& stop;
  const Transport::Accepted& accepted;
  std::mutex mutex;
  std::deque<size_t> pending;               // guarded by mutex
  bool sent_any = false;                    // guarded by mutex
  std::optional<SendResult> sender_failed;  // guarded by mutex
  std::vector<SendResult> results;
  std::vector<char> done;
};

void RunLane(CurlLane& lane, Batch& batch) {
  CURLM* multi = lane.multi.get();
  auto& slots = lane.slots;
  std::vector<std::optional<size_t>> running(slots.size());  // message index per slot
  std::vector<size_t> idle;
  for (size_t s = slots.size(); s-- > 0;) idle.push_back(s);

  for (;;) {
    // Start what may start on this lane's free slots.
    LimitClock::duration wait = LimitClock::duration::max();
    bool more = false;  // messages left that no lane has started yet
    while (!idle.empty()) {
      std::optional<size_t> next;
      {
        std::lock_guard lock(batch.mutex);
        next = batch.TakeNext(wait);
        more = !batch.pending.empty();
      }
      if (!next) break;
      size_t slot = idle.back();
      if (auto failed = slots[slot]->Start(batch.messages[*next])) {
        batch.Finish(*next, std::move(*failed));
        continue;
      }
      CURLMcode added = curl_multi_add_handle(multi, slots[slot]->easy());
      if (added != CURLM_OK) {
        SendResult r;
        r.reply = std::string("start transfer: ") + curl_multi_strerror(added);
        batch.Finish(*next, std::move(r));
        continue;
      }
      idle.pop_back();
      running[slot] = *next;
    }
    if (idle.size() == slots.size() && !more) return;

    // libcurl 7.88 sets no timer for an SMTP server's response timeout: it is only checked when
    // the transfer runs, so Drive runs every transfer after this long in silence.
    constexpr int64_t kMaxWaitMs = 200;
    int wait_ms = kMaxWaitMs;
    if (more && !idle.empty() && wait != LimitClock::duration::max()) {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
      wait_ms = static_cast<int>(std::clamp<int64_t>(ms, 1, kMaxWaitMs));
    }
    CURLMcode performed = lane.multi.Drive(wait_ms);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode code = msg->data.result;
      for (size_t s = 0; s < slots.size(); ++s) {
        if (slots[s]->easy() != easy || !running[s]) continue;
        SendResult result = slots[s]->Finish(code);
        {
          std::lock_guard lock(batch.mutex);
          batch.Note(result);
        }
        if (result.outcome == Outcome::kSent && batch.accepted) batch.accepted(*running[s], result);
        batch.Finish(*running[s], std::move(result));
        curl_multi_remove_handle(multi, easy);
        running[s].reset();
        idle.push_back(s);
        break;
      }
    }
    // The multi handle itself is broken (out of memory), or the stop's grace has run out: every
    // transfer still out ends here, as a temporary failure.
    std::string cut_off;
    if (performed != CURLM_OK) {
      cut_off = std::string("transfer: ") + curl_multi_strerror(performed);
    } else if (batch.stop.Overdue(StopSignal::Clock::now())) {
      cut_off = "stopped: cut off in flight when delivery stopped";
    }
    if (!cut_off.empty()) {
      for (size_t s = 0; s < slots.size(); ++s) {
        if (!running[s]) continue;
        SendResult r;
        r.reply = cut_off;
        batch.Finish(*running[s], std::move(r));
        curl_multi_remove_handle(multi, slots[s]->easy());
        running[s].reset();
        idle.push_back(s);
      }
    }
  }
}

}  // namespace

std::vector<SendResult> RunTransfers(std::vector<std::unique_ptr<CurlLane>>& lanes,
                                     RateLimiter& limiter, const StopSignal& stop,
                                     std::span<const Message> messages,
                                     const Transport::Accepted& accepted) {
  Batch batch(messages, limiter, stop, accepted);
  for (size_t i = 0; i < messages.size(); ++i) batch.pending.push_back(i);
  // As many lanes as the messages fill: a small batch stays on the first lane's connections.
  std::vector<std::thread> threads;
  size_t covered = lanes.empty() ? 0 : lanes[0]->slots.size();
  for (size_t l = 1; l < lanes.size() && covered < messages.size(); ++l) {
    covered += lanes[l]->slots.size();
    try {
      threads.emplace_back([&batch, lane = lanes[l].get()] { RunLane(*lane, batch); });
    } catch (const std::system_error&) {
      break;  // no thread: the lanes that run take this one's share
    }
  }
  if (!lanes.empty()) RunLane(*lanes[0], batch);
  for (auto& t : threads) t.join();
  return std::move(batch.results);
}

}  // namespace followup::delivery
