#include "service/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <future>

#include "service/log.h"

namespace followup::service {
namespace {

namespace asio = boost::asio;

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// Runs `fn` on `strand` and waits for its answer.
template <typename Fn>
std::optional<int> OnStrand(Strand& strand, Fn fn) {
  std::promise<std::optional<int>> done;
  asio::post(strand, [&] { done.set_value(fn()); });
  return done.get_future().get();
}

}  // namespace

void BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void UnblockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

Daemon::Daemon(const app::Settings& settings, const Clock& clock)
    : settings_(settings),
      clock_(clock),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      decide_strand_(asio::make_strand(pool_)),
      deliver_strand_(asio::make_strand(pool_)),
      deliverer_(settings, clock, metrics_, facts_.Lookup()),
      drain_(deliver_strand_, stopping_, [this] { deliverer_.Drain(); }),
      decider_(settings, clock, metrics_, facts_, [this] { drain_.Request(); }),
      rows_(
          decide_strand_, stopping_,
          [this] {
            decider_.NewRows();
            if (decider_.ScheduleDue()) decider_.FullPass();
          },
          [this] { metrics_.heartbeat = clock_.Now().time_since_epoch().count(); }),
      full_pass_(
          decide_strand_, stopping_, [this] { decider_.FullPass(); },
          [this] { metrics_.heartbeat = clock_.Now().time_since_epoch().count(); }),
      refit_(
          decide_strand_, stopping_, [this] { decider_.Refit(); },
          [this] { metrics_.heartbeat = clock_.Now().time_since_epoch().count(); }),
      health_(clock, metrics_, StallLimitsFor(settings)),
      watchdog_(io_, notify_, health_,
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    notify_.WatchdogPingInterval().value_or(std::chrono::microseconds(0)))),
      desk_(settings, clock, metrics_, health_),
      store_watch_(io_, [this] { rows_.Request(); }),
      rule_files_(settings),
      daily_refit_(settings.service.refit_minute, settings.zone, clock.Now()),
      poll_(io_, settings.service.poll_interval, [this] { rows_.Request(); }),
      pass_(io_, settings.service.full_pass, [this] { full_pass_.Request(); }),
      retry_(io_, std::chrono::seconds(5), [this] { drain_.Request(); }),
      refit_check_(io_, std::chrono::seconds(60),
                   [this] {
                     if (daily_refit_.Due(clock_.Now())) refit_.Request();
                   }),
      files_(io_, std::chrono::seconds(2), [this] {
        if (!rule_files_.Changed()) return;
        spdlog::info("rule or template files changed: reloading");
        Reload();
      }) {
  // The signal set is in place: the signals main blocked may come now, to this thread only (the
  // worker threads were started with them blocked and keep them so).
  UnblockStopSignals();
}

Daemon::~Daemon() {
  stopping_ = true;
  pool_.join();
  desk_.Stop();
}

std::optional<int> Daemon::Start() {
  // The decision thread first (store migrated, rules checked, facts loaded), then the delivery
  // thread (in-flight sends requeued, transport set up).
  if (auto failed = OnStrand(decide_strand_, [this] { return decider_.Start(); })) return failed;
  if (auto failed = OnStrand(deliver_strand_, [this] { return deliverer_.Start(); })) return failed;
  metrics_.heartbeat = clock_.Now().time_since_epoch().count();

  if (!settings_.service.listen.empty()) {
    if (auto failed = desk_.Start()) return failed;
    auto colon = settings_.service.listen.rfind(':');
    HttpServerOptions options;
    options.address = settings_.service.listen.substr(0, colon);
    options.port = static_cast<uint16_t>(std::atoi(settings_.service.listen.c_str() + colon + 1));
    options.max_connections = static_cast<size_t>(settings_.service.max_connections);
    auto log = [](std::string_view line) { spdlog::warn("{}", line); };
    http_.emplace(io_, options, Endpoints(desk_.Handlers(), log), log);
    auto port = http_->Start();
    if (!port) {
      spdlog::error("{}", port.error().ToString());
      return 3;
    }
    spdlog::info("http: listening on {}:{}", options.address, *port);
  }

  full_pass_.Request();
  if (!decider_.commit_files().empty()) {
    if (auto watching = store_watch_.Start(decider_.commit_files()); !watching)
      spdlog::warn("watch: {} (polling every {} ms only)", watching.error().ToString(),
                   settings_.service.poll_interval.count());
  }
  for (Every* every : {&poll_, &pass_, &retry_, &refit_check_, &files_}) {
    if (auto started = every->Start(); !started) {
      spdlog::error("service: {}", started.error().ToString());
      return 1;
    }
  }
  watchdog_.Start();
  return std::nullopt;
}

int Daemon::Run() {
  if (auto failed = Start()) {
    Stop();
    return *failed;
  }
  WaitSignal();
  if (auto r = notify_.Ready("running"); !r) spdlog::warn("notify: {}", r.error().ToString());
  spdlog::info("followupd running: rules from {}, mail via {}", settings_.rules_dir,
               settings_.delivery.transport.url);
  io_.run();
  pool_.join();  // the job in flight finishes: in-flight sends are recorded
  desk_.Stop();
  spdlog::info("stopped");
  return 0;
}

void Daemon::WaitSignal() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading rules and templates");
      rule_files_.Seen();
      Reload();
      WaitSignal();
      return;
    }
    spdlog::info("{}: stopping after the work in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    if (auto r = notify_.Stopping("stopping"); !r) spdlog::warn("notify: {}", r.error().ToString());
    Stop();
  });
}

void Daemon::Reload() {
  if (auto r = notify_.Reloading("reloading rules"); !r)
    spdlog::warn("notify: {}", r.error().ToString());
  asio::post(decide_strand_, [this] {
    bool ok = decider_.Reload();
    asio::post(io_, [this, ok] {
      if (auto r = notify_.Ready(ok ? "running" : "running (reload rejected: see the log)"); !r)
        spdlog::warn("notify: {}", r.error().ToString());
    });
  });
}

void Daemon::Stop() {
  stopping_ = true;
  deliverer_.Stop();
  for (Every* every : {&poll_, &pass_, &retry_, &refit_check_, &files_}) every->Stop();
  watchdog_.Stop();
  store_watch_.Stop();
  if (http_) http_->Stop();
  signals_.cancel();
}

int RunDaemon(const app::Settings& settings, const Clock& clock) {
  Daemon daemon(settings, clock);
  return daemon.Run();
}

}  // namespace followup::service
