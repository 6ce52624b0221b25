#include "service/daemon.h"

#include <date/tz.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <unordered_set>

#include "delivery/outbox.h"
#include "delivery/unsubscribe.h"
#include "service/http_server.h"
#include "service/notify.h"
#include "service/pipeline.h"

namespace followup::service {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

Instant Now() { return std::chrono::time_point_cast<seconds>(std::chrono::system_clock::now()); }

// Counters the worker updates and /metrics reads.
struct Metrics {
  std::atomic<int64_t> decisions{0};
  std::atomic<int64_t> sent{0}, deferred{0}, failed{0}, suppressed{0};
  std::atomic<int64_t> reloads_ok{0}, reloads_failed{0};
  std::atomic<int> last_reload_ok{1};
  std::atomic<double> last_full_pass_seconds{0};
  std::atomic<double> last_evaluation_seconds{0};
  std::atomic<int64_t> heartbeat{0};  // seconds since epoch of the worker's last finished job
};

// Everything the worker thread owns. Loop code never touches it directly: it posts jobs.
class Worker {
 public:
  Worker(const Config& config, std::string store_url, const date::time_zone* zone, Metrics& m)
      : config_(config), store_url_(std::move(store_url)), zone_(zone), metrics_(m) {}

  // Opens everything; the exit status on failure.
  std::optional<int> Start() {
    auto store = store::Store::Open(store_url_);
    if (!store) {
      spdlog::error("store open {}: {}", store_url_, store.error().ToString());
      return ExitCodeFor(store.error());
    }
    store_ = std::move(*store);
    if (auto n = store_->RequeueInFlight(); !n) {
      spdlog::error("store requeue: {}", n.error().ToString());
      return 3;
    } else if (*n > 0) {
      spdlog::warn("outbox: {} sends were in flight at the last stop; sending them again", *n);
    }
    auto set = LoadCheckedRules(config_, Now(), zone_);
    if (!set) {
      for (const auto& e : set.error()) spdlog::error("rules: {}", e.ToString());
      return 1;
    }
    rules_ = std::make_shared<const rules::RuleSet>(std::move(*set));
    auto transport = MakeConfiguredTransport(config_);
    if (!transport) {
      spdlog::error("delivery transport {}: {}", config_.delivery.transport,
                    transport.error().ToString());
      return ExitCodeFor(transport.error());
    }
    transport_ = std::move(*transport);
    auto options = OutboxOptionsFor(config_);
    if (!options) {
      spdlog::error("delivery: {}", options.error().ToString());
      return ExitCodeFor(options.error());
    }
    outbox_options_ = std::move(*options);
    auto hwm = store_->MaxTransactionId();
    if (!hwm) {
      spdlog::error("store: {}", hwm.error().ToString());
      return 3;
    }
    high_water_ = *hwm;
    if (!LoadBase()) return 3;
    return std::nullopt;
  }

  // Every rule over every customer, then the outbox.
  void FullPass() {
    auto started = std::chrono::steady_clock::now();
    Instant now = Now();
    base_->set_at(now);
    auto snap = rules::LoadSnapshot(*store_, *rules_, PolicyFor(config_), now);
    if (!snap) {
      spdlog::error("full pass: store: {}", snap.error().ToString());
      return;
    }
    snapshot_ = std::move(*snap);
    Decide(EvaluateAll(config_, zone_, now, *rules_, *base_, *snapshot_));
    for (const auto& r : rules_->rules)
      if (r.trigger.schedule) {
        auto fired = r.trigger.schedule->LastFiring(now, zone_);
        periods_[r.name] = fired ? fired->period : "";
      }
    metrics_.last_full_pass_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Drain();
  }

  // True when a schedule has fired since the last full pass.
  bool ScheduleDue() const {
    Instant now = Now();
    for (const auto& r : rules_->rules) {
      if (!r.trigger.schedule) continue;
      auto fired = r.trigger.schedule->LastFiring(now, zone_);
      auto it = periods_.find(r.name);
      if (fired && (it == periods_.end() || it->second != fired->period)) return true;
    }
    return false;
  }

  // Rows other programs committed since the last look: facts, event rules, outbox.
  void NewRows() {
    auto max = store_->MaxTransactionId();
    if (!max) {
      spdlog::warn("watch: store: {} (retrying)", max.error().ToString());
      return;
    }
    if (*max <= high_water_ || !snapshot_) return;
    auto started = std::chrono::steady_clock::now();
    Instant now = Now();
    base_->set_at(now);
    std::vector<rules::Event> events;
    std::unordered_set<int64_t> customers;
    int64_t seen = high_water_;
    auto scan =
        store_->ForEachTransactionAfter(high_water_, [&](const store::RecentTransaction& t) {
          events.push_back({t.customer_id, t.external_id, t.occurred_at, t.kind, t.first_purchase});
          customers.insert(t.customer_id);
          seen = std::max(seen, t.id);
        });
    if (!scan) {
      spdlog::warn("watch: store: {} (retrying)", scan.error().ToString());
      return;
    }
    auto suppressed = store_->Suppressions();
    std::unordered_set<std::string> suppressed_set;
    if (suppressed) suppressed_set.insert(suppressed->begin(), suppressed->end());
    for (int64_t id : customers) {
      if (auto r = base_->Update(*store_, id); !r) {
        spdlog::warn("facts of customer {}: {}", id, r.error().ToString());
        continue;
      }
      if (auto row = store_->FindCustomerById(id); row && *row)
        snapshot_->contacts.Upsert(rules::ContactFrom(**row, suppressed_set, now));
    }
    // Event rules without a wait act now; waited ones are the full pass's.
    rules::RuleSet immediate;
    for (const auto& r : rules_->rules)
      if (r.trigger.event && r.trigger.wait.count() == 0) immediate.rules.push_back(r);
    if (!immediate.rules.empty()) {
      rules::EvaluateInput in;
      in.rules = &immediate;
      in.facts = &*base_;
      in.contacts = &snapshot_->contacts;
      in.history = &snapshot_->history;
      in.events = events;
      in.policy = PolicyFor(config_);
      in.now = now;
      in.zone = zone_;
      // The rows count as seen only once their decisions are stored: a store that is locked
      // now gets them looked at again on the next poll (dedupe keys make that harmless).
      if (!Decide(rules::Evaluate(in))) return;
    }
    high_water_ = seen;
    metrics_.last_evaluation_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Drain();
  }

  void Drain() {
    delivery::OutboxWorker worker(*store_, *transport_, &*base_, *clock_, outbox_options_);
    auto done = worker.Drain();
    if (!done) {
      spdlog::error("outbox: {}", done.error().ToString());
      return;
    }
    metrics_.sent += done->sent;
    metrics_.deferred += done->deferred;
    metrics_.failed += done->failed;
    metrics_.suppressed += done->suppressed;
    if (done->sent + done->deferred + done->failed + done->suppressed > 0)
      spdlog::info("outbox: sent {}, deferred {}, failed {}, suppressed {}", done->sent,
                   done->deferred, done->failed, done->suppressed);
  }

  // Validate-then-swap: the running rules stay unless the whole new set checks out.
  bool Reload() {
    ++reload_generation_;
    auto set = LoadCheckedRules(config_, Now(), zone_);
    std::string outcome;
    if (!set) {
      for (const auto& e : set.error()) spdlog::error("reload rejected: {}", e.ToString());
      outcome = std::to_string(reload_generation_) + " failed: " + set.error().front().ToString();
      ++metrics_.reloads_failed;
      metrics_.last_reload_ok = 0;
    } else {
      rules_ = std::make_shared<const rules::RuleSet>(std::move(*set));
      spdlog::info("reload: {} rules in force", rules_->rules.size());
      outcome = std::to_string(reload_generation_) + " ok";
      ++metrics_.reloads_ok;
      metrics_.last_reload_ok = 1;
      periods_.clear();  // new schedules get their catch-up pass
    }
    if (auto r = store_->SetMeta(kReloadMetaKey, outcome); !r)
      spdlog::error("store: recording the reload outcome: {}", r.error().ToString());
    return set.has_value();
  }

  void Refit() {
    base_->set_at(Now());
    base_->Refit();
    const auto& m = base_->population().model;
    spdlog::info("worth: models refitted ({})", m.bgnbd ? "BG/NBD fitted" : m.bgnbd_note);
  }

  void InitReloadGeneration() {
    auto meta = store_->GetMeta(kReloadMetaKey);
    if (meta && !meta->empty()) reload_generation_ = std::atoll(meta->c_str());
  }

  store::Store& store() { return *store_; }

 private:
  bool LoadBase() {
    auto base = worth::CustomerBase::Load(*store_, FactsOptionsFor(config_, Now(), zone_));
    if (!base) {
      spdlog::error("worth: {}", base.error().ToString());
      return false;
    }
    base_ = std::move(*base);
    const auto& m = base_->population().model;
    spdlog::info("worth: {} customers; {}", base_->customers().size(),
                 m.bgnbd ? "BG/NBD and Gamma-Gamma fitted" : "historic facts: " + m.bgnbd_note);
    return true;
  }

  // Records the decisions; false when the store refused them.
  bool Decide(const rules::Evaluation& eval) {
    if (eval.decisions.empty()) return true;
    auto recorded = rules::RecordDecisions(*store_, eval.decisions);
    if (!recorded) {
      spdlog::error("decisions: store: {} (retrying)", recorded.error().ToString());
      return false;
    }
    rules::Remember(snapshot_->history, eval.decisions);
    metrics_.decisions += *recorded;
    for (const auto& d : eval.decisions) {
      spdlog::debug("decided rule={} customer={} kind={} key={}", d.rule, d.customer_id,
                    rules::DecisionKindName(d.kind), d.dedupe_key);
    }
    spdlog::info("decided {} new ({} made)", *recorded, eval.decisions.size());
    return true;
  }

  const Config& config_;
  std::string store_url_;
  const date::time_zone* zone_;
  Metrics& metrics_;
  std::unique_ptr<Clock> clock_ = SystemClock();
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<const rules::RuleSet> rules_;  // swapped whole on reload
  std::optional<worth::CustomerBase> base_;
  std::optional<rules::Snapshot> snapshot_;
  std::unique_ptr<delivery::Transport> transport_;
  delivery::OutboxOptions outbox_options_;
  std::map<std::string, std::string> periods_;  // schedule rule -> period of the last full pass
  int64_t high_water_ = 0;
  int64_t reload_generation_ = 0;
};

// A fingerprint of every file under the rules and templates folders (names, sizes, times): when
// it changes, the daemon reloads as on SIGHUP.
std::string FilesFingerprint(const Config& config) {
  namespace fs = std::filesystem;
  std::string out;
  for (const auto& dir : {config.rules_dir, config.templates_dir}) {
    std::error_code ec;
    std::vector<std::string> lines;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto size = it->file_size(ec);
      auto time = it->last_write_time(ec).time_since_epoch().count();
      lines.push_back(it->path().string() + " " + std::to_string(size) + " " +
                      std::to_string(time));
    }
    std::sort(lines.begin(), lines.end());
    for (const auto& l : lines) out += l + "\n";
  }
  return out;
}

std::string MetricsText(const Metrics& m, std::optional<std::map<std::string, int64_t>> outbox) {
  std::string out;
  out += PrometheusMetric("followup_decisions_total", "counter",
                          "Decisions recorded by this process.", {{{}, double(m.decisions)}});
  out += PrometheusMetric("followup_sends_total", "counter",
                          "Delivery attempts by this process, by outcome.",
                          {{{{"status", "sent"}}, double(m.sent)},
                           {{{"status", "deferred"}}, double(m.deferred)},
                           {{{"status", "failed"}}, double(m.failed)},
                           {{{"status", "suppressed"}}, double(m.suppressed)}});
  if (outbox) {
    std::vector<std::pair<std::map<std::string, std::string>, double>> rows;
    for (const auto& [status, n] : *outbox) rows.push_back({{{"status", status}}, double(n)});
    out += PrometheusMetric("followup_outbox", "gauge", "Outbox rows by status.", rows);
  }
  out += PrometheusMetric("followup_last_reload_success", "gauge",
                          "1 if the last reload was accepted.", {{{}, double(m.last_reload_ok)}});
  out += PrometheusMetric("followup_reloads_total", "counter", "Reloads by outcome.",
                          {{{{"outcome", "ok"}}, double(m.reloads_ok)},
                           {{{"outcome", "failed"}}, double(m.reloads_failed)}});
  out += PrometheusMetric("followup_full_pass_seconds", "gauge",
                          "Duration of the last evaluation of every rule over every customer.",
                          {{{}, m.last_full_pass_seconds.load()}});
  out += PrometheusMetric("followup_evaluation_seconds", "gauge",
                          "Duration of the last evaluation of new rows.",
                          {{{}, m.last_evaluation_seconds.load()}});
  return out;
}

}  // namespace

int RunDaemon(const Config& config, const std::string& store_url, const date::time_zone* zone) {
  Metrics metrics;
  Notifier notify;
  asio::io_context io;
  // The worker: one thread, jobs in order.
  asio::thread_pool pool(1);
  auto strand = asio::make_strand(pool);
  Worker worker(config, store_url, zone, metrics);

  std::optional<int> failed;
  {
    std::promise<std::optional<int>> started;
    asio::post(strand, [&] {
      auto r = worker.Start();
      if (!r) worker.InitReloadGeneration();
      started.set_value(r);
    });
    failed = started.get_future().get();
  }
  if (failed) {
    pool.join();
    return *failed;
  }

  // The loop's own store connection, for /unsubscribe and /metrics.
  auto loop_store = store::Store::Open(store_url);
  if (!loop_store) {
    spdlog::error("store open {}: {}", store_url, loop_store.error().ToString());
    return 3;
  }
  std::optional<HttpServer> http;
  if (!config.service.listen.empty()) {
    auto colon = config.service.listen.rfind(':');
    HttpServerOptions ho;
    ho.address = config.service.listen.substr(0, colon);
    ho.port = static_cast<uint16_t>(std::atoi(config.service.listen.c_str() + colon + 1));
    HttpHandlers handlers;
    handlers.health = [&]() -> std::pair<bool, std::string> {
      auto age = Now().time_since_epoch().count() - metrics.heartbeat.load();
      if (age > std::max<int64_t>(600, 3 * config.service.full_pass.count()))
        return {false, "the worker has not finished a job for " + std::to_string(age) + " s"};
      return {true, ""};
    };
    handlers.metrics = [&] {
      auto counts = (*loop_store)->OutboxStatusCounts();
      return MetricsText(metrics, counts ? std::optional(*counts) : std::nullopt);
    };
    auto key = delivery::LoadOrCreateKey(config.delivery.unsubscribe_key_file);
    if (!key) {
      spdlog::error("unsubscribe key: {}", key.error().ToString());
      pool.join();
      return 3;
    }
    handlers.unsubscribe = [&, key = *key](std::string_view query) -> Result<std::string> {
      auto customer = delivery::VerifyUnsubscribe(key, query);
      if (!customer) return customer;
      auto done = (*loop_store)->Unsubscribe(*customer, Now());
      if (!done) return tl::unexpected(done.error());
      if (!*done) return Fail(ErrorCode::kNotFound, "unknown customer");
      spdlog::info("unsubscribed customer={}", *customer);
      return customer;
    };
    handlers.log = [](std::string_view line) { spdlog::warn("{}", line); };
    http.emplace(io, ho, handlers);
    auto port = http->Start();
    if (!port) {
      spdlog::error("{}", port.error().ToString());
      pool.join();
      return 3;
    }
    spdlog::info("http: listening on {}:{}", ho.address, *port);
  }

  // Jobs are posted to the worker one at a time per kind: a slow pass is not queued up behind.
  std::atomic<bool> busy_rows{false}, busy_pass{false}, stopping{false};
  auto job = [&](std::atomic<bool>& busy, auto fn) {
    if (stopping || busy.exchange(true)) return;
    asio::post(strand, [&, fn] {
      if (!stopping) fn();
      metrics.heartbeat = Now().time_since_epoch().count();
      busy = false;
    });
  };
  job(busy_pass, [&] { worker.FullPass(); });

  // Timers on the loop.
  asio::steady_timer poll(io), pass(io), retry(io), refit(io), watchdog(io), files(io);
  std::function<void()> arm_poll = [&] {
    poll.expires_after(milliseconds(config.service.poll_interval_ms));
    poll.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      job(busy_rows, [&] {
        worker.NewRows();
        if (worker.ScheduleDue()) worker.FullPass();
      });
      arm_poll();
    });
  };
  std::function<void()> arm_pass = [&] {
    pass.expires_after(config.service.full_pass);
    pass.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      job(busy_pass, [&] { worker.FullPass(); });
      arm_pass();
    });
  };
  std::function<void()> arm_retry = [&] {
    retry.expires_after(seconds(5));
    retry.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      job(busy_rows, [&] { worker.Drain(); });
      arm_retry();
    });
  };
  int64_t last_refit_day = LocalDay(Now(), zone);
  std::function<void()> arm_refit = [&] {
    refit.expires_after(seconds(60));
    refit.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      Instant now = Now();
      int64_t day = LocalDay(now, zone);
      auto local = zone->to_local(now);
      int minute = static_cast<int>(
          std::chrono::duration_cast<std::chrono::minutes>(local - date::floor<date::days>(local))
              .count());
      if (day != last_refit_day && minute >= config.service.refit_minute) {
        last_refit_day = day;
        job(busy_pass, [&] { worker.Refit(); });
      }
      arm_refit();
    });
  };
  std::function<void()> arm_watchdog = [&] {
    auto interval = notify.WatchdogPingInterval();
    if (!interval) return;
    watchdog.expires_after(*interval);
    watchdog.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      (void)notify.Watchdog();
      arm_watchdog();
    });
  };
  // Rule and template files are watched (a cheap look every two seconds): an edit reloads.
  std::string fingerprint = FilesFingerprint(config);
  std::function<void()> reload = [&] {
    (void)notify.Reloading("reloading rules");
    asio::post(strand, [&] {
      bool ok = worker.Reload();
      asio::post(io, [&, ok] {
        (void)notify.Ready(ok ? "running" : "running (reload rejected: see the log)");
      });
    });
  };
  std::function<void()> arm_files = [&] {
    files.expires_after(seconds(2));
    files.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      auto now = FilesFingerprint(config);
      if (now != fingerprint) {
        fingerprint = now;
        spdlog::info("rule or template files changed: reloading");
        reload();
      }
      arm_files();
    });
  };
  arm_files();
  arm_poll();
  arm_pass();
  arm_retry();
  arm_refit();
  arm_watchdog();

  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        spdlog::info("SIGHUP: reloading rules and templates");
        fingerprint = FilesFingerprint(config);
        reload();
        wait_signal();
        return;
      }
      spdlog::info("{}: stopping after the work in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      (void)notify.Stopping("stopping");
      stopping = true;
      for (auto* t : {&poll, &pass, &retry, &refit, &watchdog, &files}) t->cancel();
      if (http) http->Stop();
    });
  };
  wait_signal();

  (void)notify.Ready("running");
  spdlog::info("followupd running: rules from {}, mail via {}", config.rules_dir,
               config.delivery.transport);
  io.run();
  pool.join();  // the job in flight finishes: in-flight sends are recorded
  spdlog::info("stopped");
  return 0;
}

}  // namespace followup::service
