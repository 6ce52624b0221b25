// SMTP through libcurl's multi interface: `connections` easy handles, each reused message after
// message, so the multi handle's connection cache keeps the SMTP sessions open between messages
// (one EHLO/STARTTLS/AUTH per connection, then MAIL FROM, RCPT TO, DATA per message).
//
// Classification. libcurl reports a rejected MAIL/RCPT/DATA as CURLE_SEND_ERROR (or
// CURLE_WEIRD_SERVER_REPLY after the final "."), the same code as a dropped connection, and
// CURLINFO_RESPONSE_CODE keeps the last reply even when the connection died after it (e.g. the 250
// to RCPT when the server hangs up at DATA). So every transfer clears its own record of the
// server's replies (read through CURLOPT_DEBUGFUNCTION), and a failed transfer is decided by the
// server's reply only when the LAST reply of this transfer was itself an error (>= 400) to a
// command of this transfer. Otherwise (dropped, timed out, refused, TLS) the failure is temporary
// with code 0, whatever an earlier reply said.
//   - error reply to MAIL FROM / RCPT TO / DATA / end of data: 4xx temporary, 5xx permanent;
//     a hard bounce when it is about the recipient: at RCPT TO 550/551/553 without an enhanced
//     code, or an enhanced code 5.1.x (not 5.1.7/5.1.8, the sender) or 5.2.1 (mailbox disabled);
//     after DATA only the 5.1.x/5.2.1 codes. A 550 5.7.1 (policy, relaying) is not a bounce.
//   - error reply to the greeting, EHLO, STARTTLS or AUTH: temporary with the server's code; it is
//     about this client's session, not about the message.
//   - the sender's failures (SendResult::sender_failure, temporary): an error reply to the
//     greeting, EHLO, STARTTLS, AUTH or MAIL FROM (but 552 at MAIL FROM: this message's size), and
//     any failure before MAIL FROM (refused, unreachable, TLS, login, no greeting). A 5xx at MAIL
//     FROM (smtp-sink -f mail, a sender domain refused) is the same for every message, so it
//     pauses delivery rather than failing them.
//
// libcurl closes the connection of a failed transfer (with QUIT); the next message on that slot
// opens a new one. The QUIT and its 221 come through the same easy handle and are ignored here.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/ascii.h"
#include "delivery/mime.h"
#include "delivery/transport_curl.h"

namespace followup::delivery {
namespace {

enum class Stage { kConnect, kEhlo, kStartTls, kAuth, kMail, kRcpt, kData, kBody, kOther };

std::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kConnect:
      return "smtp connect";
    case Stage::kEhlo:
      return "smtp EHLO";
    case Stage::kStartTls:
      return "smtp STARTTLS";
    case Stage::kAuth:
      return "smtp AUTH";
    case Stage::kMail:
      return "smtp MAIL FROM";
    case Stage::kRcpt:
      return "smtp RCPT TO";
    case Stage::kData:
      return "smtp DATA";
    case Stage::kBody:
      return "smtp end of data";
    case Stage::kOther:
      break;
  }
  return "smtp";
}

// Before MAIL FROM: the session, the same for every message.
bool IsSessionStage(Stage stage) {
  return stage == Stage::kConnect || stage == Stage::kEhlo || stage == Stage::kStartTls ||
         stage == Stage::kAuth;
}

// "5.1.1" from "550 5.1.1 No such user", or "".
std::string EnhancedCode(std::string_view reply) {
  if (reply.size() < 5) return "";
  std::string_view rest = reply.substr(4);
  size_t end = rest.find(' ');
  std::string_view token = rest.substr(0, end);
  int dots = 0;
  for (char c : token) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return "";
    }
  }
  if (dots != 2 || token.size() < 5 || (token[0] != '2' && token[0] != '4' && token[0] != '5')) {
    return "";
  }
  return std::string(token);
}

class SmtpSlot : public CurlSlot {
 public:
  explicit SmtpSlot(const TransportOptions& options) {
    SetCommonOptions(easy_, options);
    curl_easy_setopt(easy_, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy_, CURLOPT_READFUNCTION, &SmtpSlot::Read);
    curl_easy_setopt(easy_, CURLOPT_READDATA, this);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
    // The server's replies are read from the protocol trace; VERBOSE routes it to the callback
    // (nothing is printed).
    curl_easy_setopt(easy_, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(easy_, CURLOPT_DEBUGFUNCTION, &SmtpSlot::Debug);
    curl_easy_setopt(easy_, CURLOPT_DEBUGDATA, this);
    // After a failed transfer libcurl 7.88 sends QUIT and blocks the whole multi loop until the
    // reply comes or the response timeout passes: a server that stopped answering would stall
    // every other connection for another full timeout. The progress callback runs once per
    // second of that wait (or per timeout, if shorter) and ends it.
    curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, &SmtpSlot::Progress);
    curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, this);
    // smtps:// is TLS from the first byte. smtp:// with require_tls: STARTTLS or fail
    // (CURLUSESSL_ALL). Without require_tls: STARTTLS when the server offers it (CURLUSESSL_TRY),
    // plain text when it does not; a failed handshake or certificate check still fails.
    curl_easy_setopt(easy_, CURLOPT_USE_SSL,
                     static_cast<long>(options.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    if (!options.username.empty()) {
      curl_easy_setopt(easy_, CURLOPT_USERNAME, options.username.c_str());
      curl_easy_setopt(easy_, CURLOPT_PASSWORD, options.password.c_str());
    }
    // A hard ceiling on one message (connect, TLS, AUTH, MAIL, RCPT, DATA, body, end of data) on
    // top of the per-step limits: nothing can hold a slot forever.
    long step = static_cast<long>(std::max<int64_t>(1, options.timeout.count()));
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT, step * 10);
  }
  ~SmtpSlot() override {
    if (recipients_) curl_slist_free_all(recipients_);
  }

  std::optional<SendResult> Start(const Message& message) override {
    body_ = BuildMime(message);
    offset_ = 0;
    stage_ = Stage::kConnect;
    last_code_ = 0;
    last_reply_.clear();
    reply_lines_.clear();
    partial_.clear();
    quitting_ = false;
    error_[0] = '\0';
    from_ = "<" + (message.return_path.empty() ? message.from.email : message.return_path) + ">";
    if (recipients_) curl_slist_free_all(recipients_);
    recipients_ = curl_slist_append(nullptr, ("<" + message.to.email + ">").c_str());
    if (!recipients_) {
      SendResult r;
      r.reply = "smtp setup: out of memory";
      return r;
    }
    curl_easy_setopt(easy_, CURLOPT_MAIL_FROM, from_.c_str());
    curl_easy_setopt(easy_, CURLOPT_MAIL_RCPT, recipients_);
    curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_.size()));
    return std::nullopt;
  }

  SendResult Finish(CURLcode code) override {
    SendResult r;
    if (code == CURLE_OK) {
      r.outcome = Outcome::kSent;
      r.code = last_code_ ? last_code_ : 250;
      r.reply = last_reply_;
      size_t queued = last_reply_.find("queued as ");
      if (queued != std::string::npos) {
        std::string_view id = std::string_view(last_reply_).substr(queued + 10);
        r.provider_message_id = std::string(id.substr(0, id.find_first_of(" \t")));
      }
      return r;
    }
    if (last_code_ >= 400) {
      // The server refused the last command of this transfer: its reply decides.
      r.code = last_code_;
      r.reply = std::string(StageName(stage_)) + ": " + last_reply_;
      bool message_stage = stage_ == Stage::kMail || stage_ == Stage::kRcpt ||
                           stage_ == Stage::kData || stage_ == Stage::kBody;
      // 552 to MAIL FROM is this message's SIZE, not the sender.
      r.sender_failure = IsSessionStage(stage_) || (stage_ == Stage::kMail && last_code_ != 552);
      r.outcome = message_stage && !r.sender_failure && last_code_ >= 500 ? Outcome::kPermanent
                                                                          : Outcome::kTemporary;
      if (r.outcome == Outcome::kPermanent) {
        std::string enhanced = EnhancedCode(last_reply_);
        bool recipient_status =
            enhanced.starts_with("5.1.") && enhanced != "5.1.7" && enhanced != "5.1.8";
        recipient_status = recipient_status || enhanced == "5.2.1";
        if (stage_ == Stage::kRcpt) {
          r.hard_bounce = enhanced.empty()
                              ? (last_code_ == 550 || last_code_ == 551 || last_code_ == 553)
                              : recipient_status;
        } else if (stage_ == Stage::kData || stage_ == Stage::kBody) {
          r.hard_bounce = recipient_status;
        }
      }
      return r;
    }
    // No refusal from the server in this transfer: dropped, timed out, refused, TLS, local.
    r.outcome = Outcome::kTemporary;
    r.code = 0;
    Stage stage = code == CURLE_USE_SSL_FAILED ? Stage::kStartTls : stage_;
    std::string what;
    switch (code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
        stage = Stage::kConnect;
        break;
      case CURLE_OPERATION_TIMEDOUT:
        what = "timed out; ";
        break;
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
        what = "connection dropped; ";
        break;
      default:
        break;
    }
    // Before MAIL FROM nothing is about this message: the session failed.
    r.sender_failure = IsSessionFailure(code) || IsSessionStage(stage);
    r.reply = std::string(StageName(stage)) + ": " + what + DescribeCurlError(code, error_);
    if (!last_reply_.empty()) r.reply += "; last reply: " + last_reply_;
    return r;
  }

 private:
  static size_t Read(char* buffer, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<SmtpSlot*>(self_ptr);
    size_t n = std::min(size * count, self->body_.size() - self->offset_);
    std::memcpy(buffer, self->body_.data() + self->offset_, n);
    self->offset_ += n;
    return n;
  }

  static int Progress(void* self_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<SmtpSlot*>(self_ptr)->quitting_ ? 1 : 0;
  }

  static int Debug(CURL*, curl_infotype type, char* data, size_t size, void* self_ptr) {
    auto* self = static_cast<SmtpSlot*>(self_ptr);
    std::string_view text(data, size);
    if (type == CURLINFO_HEADER_OUT) {
      self->OnCommand(text);
    } else if (type == CURLINFO_HEADER_IN) {
      self->partial_.append(text);
      size_t nl;
      while ((nl = self->partial_.find('\n')) != std::string::npos) {
        std::string line = self->partial_.substr(0, nl);
        self->partial_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        self->OnReplyLine(line);
      }
    }
    return 0;
  }

  void OnCommand(std::string_view command) {
    // libcurl closes a connection (after a failed transfer, or to make room in its cache) through
    // whichever easy handle is at hand: that QUIT and its reply must not replace the reply that
    // decided this transfer, nor move its stage. QUIT has exactly one reply.
    quitting_ = AsciiStartsWithNoCase(command, "QUIT");
    if (quitting_) return;
    if (AsciiStartsWithNoCase(command, "EHLO") || AsciiStartsWithNoCase(command, "HELO")) {
      stage_ = Stage::kEhlo;
    } else if (AsciiStartsWithNoCase(command, "STARTTLS")) {
      stage_ = Stage::kStartTls;
    } else if (AsciiStartsWithNoCase(command, "AUTH")) {
      stage_ = Stage::kAuth;
    } else if (AsciiStartsWithNoCase(command, "MAIL FROM")) {
      stage_ = Stage::kMail;
    } else if (AsciiStartsWithNoCase(command, "RCPT TO")) {
      stage_ = Stage::kRcpt;
    } else if (AsciiStartsWithNoCase(command, "DATA")) {
      stage_ = Stage::kData;
    } else if (stage_ != Stage::kAuth) {  // AUTH continuation lines are base64, stay in AUTH
      stage_ = Stage::kOther;
    }
  }

  // One line of a reply: "250-..." continues, "250 ..." (or a bare "250") ends it.
  void OnReplyLine(std::string_view line) {
    bool coded = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                 std::isdigit(static_cast<unsigned char>(line[1])) &&
                 std::isdigit(static_cast<unsigned char>(line[2]));
    if (!coded) return;
    if (quitting_) {
      if (line.size() == 3 || line[3] != '-') quitting_ = false;
      return;
    }
    if (reply_lines_.size() < 2048) {
      if (!reply_lines_.empty()) reply_lines_ += " ";
      reply_lines_ += SanitizeHeaderText(line.substr(0, 512));
    }
    if (line.size() > 3 && line[3] == '-') return;
    last_code_ = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    last_reply_ = std::move(reply_lines_);
    reply_lines_.clear();
    if (last_code_ == 354) stage_ = Stage::kBody;  // the next reply is to the end of data
  }

  std::string body_;
  size_t offset_ = 0;
  std::string from_;
  curl_slist* recipients_ = nullptr;
  // Per transfer (cleared by Start): the stage of the last command sent, the last complete reply.
  Stage stage_ = Stage::kConnect;
  int last_code_ = 0;
  std::string last_reply_;
  std::string reply_lines_;
  std::string partial_;
  bool quitting_ = false;
};

// Lanes (transport_curl.h): each waits for the reply to its messages' final "." on its own. Two
// connections a lane measured best on loopback (8 connections: 1 lane 9,000 msgs/s, 2 lanes
// 17,000, 4 lanes 18,000, 8 lanes 16,000; more threads cost more switching than they save).
int SmtpLanes(const TransportOptions& options) { return (options.connections + 1) / 2; }

}  // namespace

Result<std::unique_ptr<Transport>> MakeSmtpTransport(const TransportOptions& options) {
  EnsureCurlGlobalInit();
  auto transport = std::make_unique<CurlTransport<SmtpSlot>>(options, "smtp", SmtpLanes(options));
  if (!transport->ok()) return RuntimeFailure("smtp setup: curl_multi_init failed");
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace followup::delivery
