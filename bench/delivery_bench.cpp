// delivery_bench: messages from a durable outbox to a mail server on loopback (see
// docs/benchmarks.md, "Delivery").
//
//   delivery_bench [--smtp smtp://127.0.0.1:PORT] [--no-http] [--messages N] [--connections C]
//                  [--batch-size B] [--templates DIR] [--keep DIR]
//
// For each path (SMTP when --smtp is given, then HTTP unless --no-http), in a fresh temporary
// folder: a fresh SQLite store with N customers and N queued sends (RecordDecisions, one
// transaction; not timed), the customer base loaded as the daemon has it (facts for templates),
// then the timed part: the deliver pass (app::Deliver, as the daemon and `run --once` run it) until
// every send is recorded "sent" (claim a batch, render, store the Message-IDs, send through the
// transport, record the outcomes; one store transaction per step, WAL with synchronous=NORMAL as
// the daemon runs it). The counts are
// checked afterwards (Drain's summary, the outbox's status counts, and for HTTP the requests the
// server answered). The transport is wrapped to time Send() apart from the rest of Drain.
//
// Also timed, for scale: the same transport sending N already rendered messages with no store at
// all, in batches of B ("transport alone").
//
// HTTP: a small loopback HTTP/1.1 server inside this program (a thread per connection, keep-alive)
// answers every POST with 200 and a Postmark-shaped JSON body; the transport is
// http://127.0.0.1:PORT/email with api postmark, C parallel transfers.
//
// The last line, "figures: key=value ...", is for scripts (bench/delivery_bench.sh).
// Exit 0 whether targets are met or not; non-zero when a step fails or a count is wrong.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "app/deliver.h"
#include "base/time.h"
#include "bench_util.h"
#include "delivery/mime.h"
#include "delivery/outbox.h"
#include "delivery/transport.h"
#include "store/store.h"
#include "worth/customer_base.h"
#include "worth/facts.h"

#ifndef FOLLOWUP_SOURCE_DIR
#define FOLLOWUP_SOURCE_DIR "."
#endif

namespace {

namespace fs = std::filesystem;
namespace app = followup::app;
namespace delivery = followup::delivery;
namespace store = followup::store;
namespace worth = followup::worth;
using followup::Instant;
using SteadyClock = std::chrono::steady_clock;

constexpr double kHttpTargetPerSecond = 5000;

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time (user + system) of this process so far, in seconds.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

using followup::bench::Die;

struct Args {
  std::string smtp_url;
  bool http = true;
  int messages = 10000;
  int connections = 8;
  int batch_size = delivery::OutboxOptions{}.batch_size;
  std::string templates = std::string(FOLLOWUP_SOURCE_DIR) + "/templates";
  std::string keep;
};

// ---------------------------------------------------------------------------------------------
// The loopback HTTP server: answers every request with 200 and a Postmark-like JSON body.

class MailApiServer {
 public:
  MailApiServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 256) != 0)
      Die("http server: cannot listen on 127.0.0.1");
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~MailApiServer() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    for (int fd : fds_) close(fd);
    close(listen_fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/email"; }
  int64_t requests() const { return requests_; }
  int64_t bad_requests() const { return bad_; }
  int connections() const { return connections_; }

 private:
  void Accept() {
    while (!stop_) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stop_) return;
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ++connections_;
      std::lock_guard lock(mutex_);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Keep-alive HTTP/1.1: requests with Content-Length bodies, one after the other.
  void Serve(int fd) {
    std::string buffer;
    buffer.reserve(16384);
    char chunk[16384];
    for (;;) {
      size_t head_end;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      std::string_view head(buffer.data(), head_end);
      size_t length = 0;
      bool post = head.starts_with("POST /email ");
      // Header names are case-insensitive; libcurl writes "Content-Length".
      for (std::string_view name : {"\r\nContent-Length:", "\r\ncontent-length:"}) {
        size_t at = head.find(name);
        if (at != std::string_view::npos) {
          length = std::strtoul(head.data() + at + name.size(), nullptr, 10);
          break;
        }
      }
      size_t total = head_end + 4 + length;
      while (buffer.size() < total) {
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      int64_t number = ++requests_;
      if (!post || length == 0) ++bad_;
      buffer.erase(0, total);
      char body[256];
      int body_len = std::snprintf(
          body, sizeof body,
          "{\"To\":\"customer@example.com\",\"SubmittedAt\":\"2026-01-01T00:00:00Z\","
          "\"MessageID\":\"0a129aee-e1cd-480d-b08d-%012lld\",\"ErrorCode\":0,\"Message\":\"OK\"}",
          static_cast<long long>(number));
      char out[512];
      int out_len = std::snprintf(out, sizeof out,
                                  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  "Content-Length: %d\r\n\r\n%s",
                                  body_len, body);
      std::string_view rest(out, static_cast<size_t>(out_len));
      while (!rest.empty()) {
        ssize_t n = send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0) return;
        rest.remove_prefix(static_cast<size_t>(n));
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> requests_{0}, bad_{0};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// ---------------------------------------------------------------------------------------------

// Times Send() of the transport it wraps.
class TimedTransport final : public delivery::Transport {
 public:
  explicit TimedTransport(delivery::Transport& inner) : inner_(inner) {}
  std::vector<delivery::SendResult> Send(std::span<const delivery::Message> messages,
                                         const Accepted& accepted) override {
    auto t0 = SteadyClock::now();
    auto r = inner_.Send(messages, accepted);
    elapsed += SteadyClock::now() - t0;
    ++calls;
    return r;
  }
  std::string_view kind() const override { return inner_.kind(); }

  SteadyClock::duration elapsed{};
  int calls = 0;

 private:
  delivery::Transport& inner_;
};

struct PathResult {
  double drain_seconds = 0;
  double send_seconds = 0;  // inside Drain, in Transport::Send
  double alone_seconds = 0;
  double drain_cpu_seconds = 0;  // this process, user + system, during the drain
  double alone_cpu_seconds = 0;
  int rounds = 0;
  int64_t sent = 0;
  size_t mime_bytes = 0;
};

delivery::ComposerOptions Composing(const Args& args) {
  delivery::ComposerOptions o;
  o.templates_dir = args.templates;
  o.from = {"hello@example.com", "Example Shop"};
  o.business_name = "Example Shop";
  o.currency = "EUR";
  o.unsubscribe_base_url = "https://shop.example.com/unsubscribe";
  o.unsubscribe_key = std::string(32, 'k');
  return o;
}

delivery::OutboxOptions Options(const Args& args) {
  delivery::OutboxOptions o;
  o.batch_size = args.batch_size;
  return o;
}

// A fresh store in `dir` with n customers and n queued sends of the winback template.
std::unique_ptr<store::Store> MakeStore(const fs::path& dir, int n) {
  auto opened = store::Store::Open("sqlite:" + (dir / "outbox.db").string());
  if (!opened) Die("store: " + opened.error().ToString());
  auto st = std::move(*opened);
  auto batch = st->BeginImport();
  if (!batch) Die("store: " + batch.error().ToString());
  const Instant created{std::chrono::seconds{1735689600}};  // 2025-01-01
  for (int i = 0; i < n; ++i) {
    store::CustomerRecord c;
    char id[32];
    std::snprintf(id, sizeof id, "c-%06d", i);
    c.external_id = id;
    c.email = "customer" + std::to_string(i) + "@example.net";
    c.name = "Customer Number" + std::to_string(i);
    c.created_at = created;
    auto put = (*batch)->PutCustomer(c);
    if (!put || put->outcome != store::PutOutcome::kInserted) Die("store: cannot put a customer");
  }
  if (auto r = (*batch)->Commit(); !r) Die("store: " + r.error().ToString());
  std::vector<int64_t> ids;
  if (auto r = st->ForEachCustomer([&](const store::CustomerRow& c) { ids.push_back(c.id); }); !r)
    Die("store: " + r.error().ToString());
  const Instant now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  std::vector<store::Decision> decisions;
  decisions.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    store::Decision d;
    d.dedupe_key = "bench-winback:c-" + std::to_string(i) + ":1";
    d.rule = "bench-winback";
    d.customer_id = d.recipient_id = ids[i];
    d.kind = store::DecisionKind::kSend;
    d.template_name = "winback";
    d.values_json = R"({"offer":"10% off your next order","offer_code":"COMEBACK10"})";
    d.decided_at = d.send_after = now - std::chrono::seconds{1};
    decisions.push_back(std::move(d));
  }
  auto recorded = st->RecordDecisions(decisions);
  if (!recorded || *recorded != n) Die("store: RecordDecisions did not queue every send");
  return st;
}

PathResult RunPath(const Args& args, const std::string& name, delivery::Transport& transport,
                   const std::function<int64_t()>& server_count) {
  fs::path dir = args.keep.empty() ? fs::temp_directory_path() /
                                         ("delivery_bench-" + std::to_string(getpid()) + "-" + name)
                                   : fs::path(args.keep) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto st = MakeStore(dir, args.messages);

  // The facts templates may use, as the daemon has them (customers without purchases here).
  auto zone = followup::LookupZone("UTC");
  worth::FactsOptions fo;
  fo.at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  fo.zone = *zone;
  auto base = worth::CustomerBase::Load(*st, fo);
  if (!base) Die("worth: " + base.error().ToString());

  auto clock = followup::SystemClock();
  TimedTransport timed(transport);
  delivery::Composer composer(Composing(args), delivery::FactsIn(*base), *clock);
  const delivery::OutboxOptions options = Options(args);

  PathResult out;
  // The size of one message as it goes out.
  {
    store::OutboxItem item;
    item.template_name = "winback";
    item.values_json = R"({"offer":"10% off your next order","offer_code":"COMEBACK10"})";
    auto row = st->FindCustomer("c-000001");
    if (!row || !*row) Die("store: no customer c-000001");
    auto m = composer.Compose(item, **row);
    if (!m) Die("compose: " + m.error().ToString());
    out.mime_bytes = delivery::BuildMime(*m).size();
  }

  int64_t before = server_count ? server_count() : 0;
  double cpu0 = CpuSeconds();
  auto t0 = SteadyClock::now();
  for (int pass = 0; pass < 5 && out.sent < args.messages; ++pass) {
    auto done = app::Deliver(*st, timed, composer, options, *clock);
    if (!done) Die(name + ": drain: " + done.error().ToString());
    out.sent += done->sent;
    if (done->failed || done->suppressed)
      Die(name + ": " + std::to_string(done->failed) + " failed, " +
          std::to_string(done->suppressed) + " suppressed");
    if (done->deferred) Die(name + ": " + std::to_string(done->deferred) + " deferred");
  }
  out.drain_seconds = Seconds(SteadyClock::now() - t0);
  out.drain_cpu_seconds = CpuSeconds() - cpu0;
  out.send_seconds = Seconds(timed.elapsed);
  out.rounds = timed.calls;
  if (out.sent != args.messages)
    Die(name + ": sent " + std::to_string(out.sent) + " of " + std::to_string(args.messages));
  auto counts = st->OutboxStatusCounts();
  if (!counts) Die("store: " + counts.error().ToString());
  if ((*counts)[store::DeliveryStatus::kSent] != args.messages || counts->size() != 1)
    Die(name + ": the outbox does not hold every send as sent");
  if (server_count && server_count() - before != args.messages)
    Die(name + ": the server answered " + std::to_string(server_count() - before) +
        " requests, not " + std::to_string(args.messages));

  // For scale: the transport alone, the same number of rendered messages, no store.
  {
    std::vector<delivery::Message> rendered;
    store::OutboxItem item;
    item.template_name = "winback";
    item.values_json = R"({"offer":"10% off your next order","offer_code":"COMEBACK10"})";
    auto row = st->FindCustomer("c-000002");
    if (!row || !*row) Die("store: no customer c-000002");
    auto m = composer.Compose(item, **row);
    if (!m) Die("compose: " + m.error().ToString());
    for (int i = 0; i < args.batch_size; ++i) {
      rendered.push_back(*m);
      rendered.back().message_id = delivery::NewMessageId("example.com");
    }
    before = server_count ? server_count() : 0;
    int64_t sent = 0;
    double acpu0 = CpuSeconds();
    auto a0 = SteadyClock::now();
    for (int done = 0; done < args.messages; done += args.batch_size) {
      size_t k = static_cast<size_t>(std::min(args.batch_size, args.messages - done));
      auto results = transport.Send(std::span<const delivery::Message>(rendered.data(), k));
      for (const auto& r : results) sent += r.outcome == delivery::Outcome::kSent;
    }
    out.alone_seconds = Seconds(SteadyClock::now() - a0);
    out.alone_cpu_seconds = CpuSeconds() - acpu0;
    if (sent != args.messages) Die(name + ": transport alone sent " + std::to_string(sent));
    if (server_count && server_count() - before != args.messages)
      Die(name + ": transport alone: the server answered " +
          std::to_string(server_count() - before) + " requests");
  }

  st.reset();
  if (args.keep.empty()) fs::remove_all(dir);
  return out;
}

void Print(const Args& args, const std::string& label, const PathResult& r) {
  double rate = r.sent / r.drain_seconds;
  std::printf("  %s outbox -> server: %lld messages in %.3f s: %.0f msgs/s\n", label.c_str(),
              static_cast<long long>(r.sent), r.drain_seconds, rate);
  std::printf(
      "    of which Transport::Send %.3f s (%.0f%%), the rest of Drain outside it (claim, render, "
      "store) %.3f s; %d rounds of up to %d\n",
      r.send_seconds, 100 * r.send_seconds / r.drain_seconds, r.drain_seconds - r.send_seconds,
      r.rounds, args.batch_size);
  std::printf("    CPU of this process (user + system): %.0f us a message\n",
              1e6 * r.drain_cpu_seconds / static_cast<double>(r.sent));
  std::printf(
      "    transport alone (same messages, no store): %.3f s: %.0f msgs/s, CPU %.0f us a "
      "message\n",
      r.alone_seconds, args.messages / r.alone_seconds, 1e6 * r.alone_cpu_seconds / args.messages);
  std::printf("    one message: %zu bytes of MIME\n", r.mime_bytes);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--smtp") {
      a.smtp_url = value();
    } else if (arg == "--no-http") {
      a.http = false;
    } else if (arg == "--messages") {
      a.messages = std::atoi(value().c_str());
    } else if (arg == "--connections") {
      a.connections = std::atoi(value().c_str());
    } else if (arg == "--batch-size") {
      a.batch_size = std::atoi(value().c_str());
    } else if (arg == "--templates") {
      a.templates = value();
    } else if (arg == "--keep") {
      a.keep = value();
    } else if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: delivery_bench [--smtp smtp://127.0.0.1:PORT] [--no-http] [--messages N]\n"
          "                      [--connections C] [--batch-size B] [--templates DIR] [--keep "
          "DIR]\n");
      std::exit(0);
    } else {
      Die("unknown argument " + std::string(arg));
    }
  }
  if (a.messages < 1 || a.connections < 1 || a.batch_size < 1) Die("bad numbers");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  std::printf("delivery benchmark: %d messages, %d connections, batches of %d, templates %s\n",
              args.messages, args.connections, args.batch_size, args.templates.c_str());
  std::string figures = "figures:";
  auto add = [&](const char* key, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %s=%.6g", key, v);
    figures += buf;
  };

  if (!args.smtp_url.empty()) {
    delivery::TransportOptions to;
    to.url = args.smtp_url;
    to.require_tls = false;
    to.connections = args.connections;
    auto transport = delivery::MakeTransport(to);
    if (!transport) Die("smtp transport: " + transport.error().ToString());
    auto r = RunPath(args, "smtp", **transport, {});
    Print(args, "SMTP (" + args.smtp_url + ")", r);
    add("smtp_msgs_per_s", r.sent / r.drain_seconds);
    add("smtp_seconds", r.drain_seconds);
    add("smtp_send_seconds", r.send_seconds);
    add("smtp_alone_msgs_per_s", args.messages / r.alone_seconds);
    add("smtp_mime_bytes", static_cast<double>(r.mime_bytes));
  }
  if (args.http) {
    MailApiServer server;
    delivery::TransportOptions to;
    to.url = server.url();
    to.api_kind = "postmark";
    to.api_token = "bench-token";
    to.connections = args.connections;
    auto transport = delivery::MakeTransport(to);
    if (!transport) Die("http transport: " + transport.error().ToString());
    auto r = RunPath(args, "http", **transport, [&] { return server.requests(); });
    if (server.bad_requests()) Die("http: the server saw requests that were not POST /email");
    Print(args, "HTTP (" + server.url() + ")", r);
    double rate = r.sent / r.drain_seconds;
    std::printf("    server: %d connections; target >= %.0f msgs/s: %s\n", server.connections(),
                kHttpTargetPerSecond, rate >= kHttpTargetPerSecond ? "PASS" : "MISS");
    add("http_msgs_per_s", rate);
    add("http_seconds", r.drain_seconds);
    add("http_send_seconds", r.send_seconds);
    add("http_alone_msgs_per_s", args.messages / r.alone_seconds);
    add("http_connections", server.connections());
  }
  std::printf("%s\n", figures.c_str());
  return 0;
}
