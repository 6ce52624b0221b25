#include "service/daemon.h"

#include <date/tz.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_set>

#include "app/decide.h"
#include "app/deliver.h"
#include "app/rule_set.h"
#include "delivery/outbox.h"
#include "delivery/unsubscribe.h"
#include "service/endpoints.h"
#include "service/http_server.h"
#include "service/log.h"
#include "service/notify.h"
#include "service/prometheus.h"

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
  // Seconds since the epoch when the decision thread last finished a job (it runs one every
  // poll_interval_ms when all is well).
  std::atomic<int64_t> heartbeat{0};
  // The same for the delivery thread while it drains: set when a drain starts and at every
  // recorded outcome. Idle (not draining), it is not expected to beat.
  std::atomic<int64_t> delivery_heartbeat{0};
  std::atomic<bool> delivering{false};
};

// A store connection of the caller's own; a failure is logged.
Result<std::unique_ptr<store::Store>> OpenStore(const std::string& url) {
  auto store = store::Store::Open(url);
  if (!store) spdlog::error("store open {}: {}", url, store.error().ToString());
  return store;
}

// The customer base: the decision thread keeps it current and changes it only while holding
// `lock` exclusively; the delivery thread reads recipients' facts holding it shared.
struct SharedFacts {
  std::optional<worth::CustomerBase> base;
  std::shared_mutex lock;
};

// A job that runs on a strand one at a time: a request while it runs makes it run once more
// afterwards (so work that arrives during a run is never left waiting for the next timer), and
// requests while it waits to run are one run. Nothing runs once `stopping` is set.
class Job {
 public:
  using Strand = asio::strand<asio::thread_pool::executor_type>;
  Job(Strand& strand, const std::atomic<bool>& stopping, std::function<void()> fn,
      std::function<void()> after = {})
      : strand_(strand), stopping_(stopping), fn_(std::move(fn)), after_(std::move(after)) {}

  void Request() {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (running_) {
      again_ = true;
      return;
    }
    running_ = true;
    asio::post(strand_, [this] { Run(); });
  }

 private:
  void Run() {
    for (;;) {
      if (!stopping_) fn_();
      if (after_) after_();
      std::lock_guard lock(mutex_);
      if (!again_ || stopping_) {
        running_ = false;
        return;
      }
      again_ = false;
    }
  }

  Strand& strand_;
  const std::atomic<bool>& stopping_;
  std::function<void()> fn_, after_;
  std::mutex mutex_;
  bool running_ = false, again_ = false;
};

// Everything the decision thread owns: its store connection, the rules and the contact snapshot;
// it keeps the shared customer base current. Loop code never touches it directly: it posts jobs.
class Worker {
 public:
  Worker(const app::Settings& config, std::string store_url, const date::time_zone* zone,
         Metrics& m, SharedFacts& facts, std::function<void()> decided)
      : config_(config),
        store_url_(std::move(store_url)),
        zone_(zone),
        metrics_(m),
        facts_(facts),
        decided_(std::move(decided)) {}

  // Opens everything; the exit status on failure.
  std::optional<int> Start() {
    auto store = OpenStore(store_url_);
    if (!store) return ExitCodeFor(store.error());
    store_ = std::move(*store);
    commit_files_ = store_->CommitSignalFiles();
    auto set = app::LoadCheckedRules(config_, Now());
    if (!set) {
      for (const auto& e : set.error()) spdlog::error("rules: {}", e.ToString());
      return 1;
    }
    rules_ = std::make_shared<const rules::RuleSet>(std::move(*set));
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
    SetAt(now);
    auto snap = rules::LoadSnapshot(*store_, *rules_, config_.policy, now);
    if (!snap) {
      spdlog::error("full pass: store: {}", snap.error().ToString());
      return;
    }
    snapshot_ = std::move(*snap);
    Decide(rules::Evaluate(rules::MakeInput(*rules_, *facts_.base, *snapshot_, snapshot_->events,
                                            config_.policy, now, zone_)));
    for (const auto& r : rules_->rules)
      if (r.trigger.schedule) {
        auto fired = r.trigger.schedule->LastFiring(now, zone_);
        periods_[r.name] = fired ? fired->period : "";
      }
    metrics_.last_full_pass_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    decided_();  // also the deferred sends that fell due
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
    SetAt(now);
    auto rows = rules::ReadNewRows(*store_, high_water_);
    if (!rows) {
      spdlog::warn("watch: store: {} (retrying)", rows.error().ToString());
      return;
    }
    for (int64_t id : rows->customers) {
      Result<void> r;
      {
        std::unique_lock lock(facts_.lock);
        r = facts_.base->Update(*store_, id);
      }
      if (!r) spdlog::warn("facts of customer {}: {}", id, r.error().ToString());
    }
    if (auto r = rules::RefreshContacts(*store_, *snapshot_, rows->customers, now); !r) {
      spdlog::warn("watch: store: {} (retrying)", r.error().ToString());
      return;
    }
    // Event rules without a wait act now; waited ones are the full pass's.
    rules::RuleSet immediate = rules::ImmediateRules(*rules_);
    if (!immediate.rules.empty()) {
      auto in = rules::MakeInput(immediate, *facts_.base, *snapshot_, rows->events, config_.policy,
                                 now, zone_);
      // The rows count as seen only once their decisions are stored: a store that is locked
      // now gets them looked at again on the next poll (dedupe keys make that harmless).
      if (!Decide(rules::Evaluate(in))) return;
    }
    high_water_ = rows->high_water;
    metrics_.last_evaluation_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  // Validate-then-swap: the running rules stay unless the whole new set checks out.
  bool Reload() {
    ++reload_generation_;
    auto set = app::LoadCheckedRules(config_, Now());
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
    std::unique_lock lock(facts_.lock);
    facts_.base->set_at(Now());
    facts_.base->Refit();
    const auto& m = facts_.base->population().model;
    spdlog::info("worth: models refitted ({})", m.bgnbd ? "BG/NBD fitted" : m.bgnbd_note);
  }

  void InitReloadGeneration() {
    auto meta = store_->GetMeta(kReloadMetaKey);
    if (meta && !meta->empty()) reload_generation_ = std::atoll(meta->c_str());
  }

  // Files whose writes mean a commit (Store::CommitSignalFiles), fixed at Start: any thread may
  // read them afterwards.
  const std::vector<std::string>& commit_files() const { return commit_files_; }

 private:
  bool LoadBase() {
    auto base = app::LoadFacts(*store_, config_, Now());
    if (!base) {
      spdlog::error("worth: {}", base.error().ToString());
      return false;
    }
    std::unique_lock lock(facts_.lock);
    facts_.base = std::move(*base);
    const auto& m = facts_.base->population().model;
    spdlog::info("worth: {} customers; {}", facts_.base->customers().size(),
                 m.bgnbd ? "BG/NBD and Gamma-Gamma fitted" : "historic facts: " + m.bgnbd_note);
    return true;
  }

  void SetAt(Instant now) {
    std::unique_lock lock(facts_.lock);
    facts_.base->set_at(now);
  }

  // Records the decisions; false when the store refused them.
  bool Decide(const rules::Evaluation& eval) {
    if (eval.decisions.empty()) return true;
    auto recorded = store_->RecordDecisions(eval.decisions);
    if (!recorded) {
      spdlog::error("decisions: store: {} (retrying)", recorded.error().ToString());
      return false;
    }
    rules::Remember(snapshot_->history, eval.decisions);
    metrics_.decisions += *recorded;
    if (spdlog::should_log(spdlog::level::debug)) {
      for (const auto& d : eval.decisions) {
        const rules::Contact* contact = snapshot_->contacts.Find(d.customer_id);
        std::string customer = contact ? contact->external_id : std::to_string(d.customer_id);
        LogFields fields{{"RULE", d.rule}, {"CUSTOMER", customer}};
        spdlog::debug("decided rule={} customer={} kind={} key={}", d.rule, customer,
                      rules::DecisionKindName(d.kind), d.dedupe_key);
      }
    }
    spdlog::info("decided {} new ({} made)", *recorded, eval.decisions.size());
    if (*recorded > 0) decided_();
    return true;
  }

  const app::Settings& config_;
  std::string store_url_;
  const date::time_zone* zone_;
  Metrics& metrics_;
  SharedFacts& facts_;
  std::function<void()> decided_;  // asks the delivery thread to drain the outbox
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<const rules::RuleSet> rules_;  // swapped whole on reload
  std::optional<rules::Snapshot> snapshot_;
  std::vector<std::string> commit_files_;
  std::map<std::string, std::string> periods_;  // schedule rule -> period of the last full pass
  int64_t high_water_ = 0;
  int64_t reload_generation_ = 0;
};

// Everything the delivery thread owns: its own store connection, the transport and the outbox
// options. It drains the outbox when the decision thread has recorded sends, after a full pass,
// and every few seconds for deferred sends, so deciding never waits for a delivery round.
class Deliverer {
 public:
  Deliverer(const app::Settings& config, std::string store_url, Metrics& m, SharedFacts& facts,
            const std::atomic<bool>& stopping)
      : config_(config),
        store_url_(std::move(store_url)),
        metrics_(m),
        facts_(facts),
        stopping_(stopping) {}

  // Opens everything and puts back sends a crash left in flight; the exit status on failure.
  std::optional<int> Start() {
    auto store = OpenStore(store_url_);
    if (!store) return ExitCodeFor(store.error());
    store_ = std::move(*store);
    if (auto n = store_->RequeueInFlight(); !n) {
      spdlog::error("store requeue: {}", n.error().ToString());
      return 3;
    } else if (*n > 0) {
      spdlog::warn("outbox: {} sends were in flight at the last stop; sending them again", *n);
    }
    auto transport_options = app::LoadTransportOptions(config_.delivery);
    if (!transport_options) {
      spdlog::error("delivery: {}", transport_options.error().ToString());
      return ExitCodeFor(transport_options.error());
    }
    auto transport = delivery::MakeTransport(*transport_options);
    if (!transport) {
      spdlog::error("delivery transport {}: {}", config_.delivery.transport.url,
                    transport.error().ToString());
      return ExitCodeFor(transport.error());
    }
    transport_ = std::move(*transport);
    auto options = app::LoadComposerOptions(config_);
    if (!options) {
      spdlog::error("delivery: {}", options.error().ToString());
      return ExitCodeFor(options.error());
    }
    // The composer reads a recipient's facts under the base's lock, shared: the decision thread
    // changes the base holding it exclusively.
    composer_.emplace(
        std::move(*options),
        [this](int64_t customer_id, const std::vector<bool>& wanted) {
          std::shared_lock lock(facts_.lock);
          return facts_.base ? delivery::FactsIn(*facts_.base)(customer_id, wanted)
                             : delivery::FactValues();
        },
        *clock_);
    return std::nullopt;
  }

  void Drain() {
    // A drain that failed on the store may have left its round "sending" (putting it back can
    // fail for the same reason): this thread is the only one that claims, so put it back now.
    if (requeue_) {
      auto n = store_->RequeueInFlight();
      if (!n) {
        spdlog::error("outbox: {} (retrying)", n.error().ToString());
        return;
      }
      requeue_ = false;
    }
    delivery::OutboxWorker worker(*store_, *transport_, *composer_, *clock_,
                                  config_.delivery.outbox);
    auto beat = [this] { metrics_.delivery_heartbeat = Now().time_since_epoch().count(); };
    // Counted per stored outcome, so that the rounds of a drain that later fails still count.
    worker.OnOutcome([&](const delivery::DeliveryEvent& e) {
      LogOutcome(e);
      if (e.status == store::DeliveryStatus::kSent)
        ++metrics_.sent;
      else if (e.status == store::DeliveryStatus::kDeferred)
        ++metrics_.deferred;
      else if (e.status == store::DeliveryStatus::kFailed)
        ++metrics_.failed;
      else if (e.status == store::DeliveryStatus::kSuppressed)
        ++metrics_.suppressed;
      beat();
    });
    worker.StopWhen(&stopping_);
    beat();
    metrics_.delivering = true;
    auto done = worker.Drain();
    metrics_.delivering = false;
    if (!done) {
      spdlog::error("outbox: {}", done.error().ToString());
      requeue_ = true;
      return;
    }
    if (done->sent + done->deferred + done->failed + done->suppressed > 0)
      spdlog::info("outbox: sent {}, deferred {}, failed {}, suppressed {}", done->sent,
                   done->deferred, done->failed, done->suppressed);
    if (done->requeued > 0)
      spdlog::info("outbox: stopping: {} claimed sends not started, back in the queue",
                   done->requeued);
  }

  // Bounds the drain in flight (any thread): no further message starts, and the transfers on the
  // wire get one delivery.timeout more.
  void Stop() {
    if (transport_) transport_->Stop();
  }

 private:
  // One line per outcome (sent ones at debug level), with the journal fields that find it.
  static void LogOutcome(const delivery::DeliveryEvent& e) {
    LogFields fields{
        {"RULE", e.rule}, {"CUSTOMER", e.customer}, {"EMAIL_MESSAGE_ID", e.message_id}};
    if (e.suppressed_address)
      spdlog::warn("suppressed address {} of customer {} after a hard bounce", MaskEmail(e.email),
                   e.customer);
    if (e.status == store::DeliveryStatus::kQueued) {
      spdlog::debug("not started rule={} customer={}: {}", e.rule, e.customer, e.reply);
    } else if (e.status == store::DeliveryStatus::kSent) {
      spdlog::debug("sent rule={} customer={} message_id={}", e.rule, e.customer, e.message_id);
    } else if (e.status == store::DeliveryStatus::kDeferred) {
      spdlog::info("deferred rule={} customer={} message_id={} attempt {}: {}", e.rule, e.customer,
                   e.message_id, e.attempts, e.reply);
    } else {
      spdlog::warn("{} rule={} customer={} message_id={}: {}", store::DeliveryStatusName(e.status),
                   e.rule, e.customer, e.message_id, e.reply);
    }
  }

  const app::Settings& config_;
  std::string store_url_;
  Metrics& metrics_;
  SharedFacts& facts_;
  const std::atomic<bool>& stopping_;
  bool requeue_ = false;  // the last drain failed on the store
  std::unique_ptr<Clock> clock_ = SystemClock();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<delivery::Transport> transport_;
  std::optional<delivery::Composer> composer_;
};

// Calls `changed` when one of `files` is written (inotify on the folders holding them, so a file
// that is replaced or created later is still seen): a commit by another program wakes the
// daemon at once. The poll timer stays as the fallback, and the only way when this fails.
class FileWatch {
 public:
  FileWatch(asio::io_context& io, std::function<void()> changed)
      : descriptor_(io), changed_(std::move(changed)) {}

  Result<void> Start(const std::vector<std::string>& files) {
    namespace fs = std::filesystem;
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return RuntimeFailure(std::string("inotify: ") + std::strerror(errno));
    descriptor_.assign(fd);
    for (const auto& file : files) {
      fs::path path = fs::absolute(file);
      std::string folder = path.parent_path().string();
      int wd = inotify_add_watch(fd, folder.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO);
      if (wd < 0) return RuntimeFailure("inotify " + folder + ": " + std::strerror(errno));
      names_[wd].insert(path.filename().string());
    }
    Read();
    return {};
  }

  void Stop() {
    boost::system::error_code ignored;
    descriptor_.close(ignored);
  }

 private:
  void Read() {
    descriptor_.async_read_some(
        asio::buffer(buffer_), [this](boost::system::error_code ec, size_t n) {
          if (ec) return;  // cancelled at stop
          bool hit = false;
          for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buffer_.data() + at);
            auto it = names_.find(event->wd);
            if (event->mask & IN_Q_OVERFLOW) hit = true;  // events were lost: look anyway
            if (event->len > 0 && it != names_.end() && it->second.count(event->name)) hit = true;
            at += sizeof(inotify_event) + event->len;
          }
          if (hit) changed_();
          Read();
        });
  }

  asio::posix::stream_descriptor descriptor_;
  std::function<void()> changed_;
  std::map<int, std::set<std::string>> names_;  // watch descriptor -> file names in its folder
  alignas(inotify_event) std::array<char, 8192> buffer_;
};

// A fingerprint of every file under the rules and templates folders (names, sizes, times): when
// it changes, the daemon reloads as on SIGHUP.
std::string FilesFingerprint(const app::Settings& config) {
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

std::string MetricsText(const Metrics& m,
                        std::optional<std::map<store::DeliveryStatus, int64_t>> outbox) {
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
    for (const auto& [status, n] : *outbox)
      rows.push_back({{{"status", std::string(store::DeliveryStatusName(status))}}, double(n)});
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

int RunDaemon(const app::Settings& config) {
  const std::string& store_url = config.store_url;
  const date::time_zone* zone = config.zone;
  Metrics metrics;
  Notifier notify;
  asio::io_context io;
  // Caught from here on: a SIGTERM during the start (a large store takes seconds to load) is held
  // until the loop runs, and then stops the daemon cleanly like any other.
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  // Two threads: one decides (jobs in order on its strand), one delivers (jobs in order on its).
  asio::thread_pool pool(2);
  Job::Strand decide_strand = asio::make_strand(pool);
  Job::Strand deliver_strand = asio::make_strand(pool);
  std::atomic<bool> stopping{false};
  SharedFacts facts;
  Deliverer deliverer(config, store_url, metrics, facts, stopping);
  Job drain(deliver_strand, stopping, [&] { deliverer.Drain(); });
  Worker worker(config, store_url, zone, metrics, facts, [&] { drain.Request(); });

  // Started in order: the decision thread first (store migrated, rules checked, facts loaded),
  // then the delivery thread (in-flight sends requeued, transport set up).
  auto start = [&](Job::Strand& strand, auto fn) {
    std::promise<std::optional<int>> started;
    asio::post(strand, [&] { started.set_value(fn()); });
    return started.get_future().get();
  };
  std::optional<int> failed = start(decide_strand, [&] {
    auto r = worker.Start();
    if (!r) worker.InitReloadGeneration();
    return r;
  });
  if (!failed) failed = start(deliver_strand, [&] { return deliverer.Start(); });
  if (failed) {
    pool.join();
    return *failed;
  }

  // The decision thread finishes a job every poll_interval_ms when all is well (a full pass over
  // a large store takes longer); a draining delivery thread records a round's outcomes at least
  // every round, and a round whose every connection times out takes (batch / connections + 1)
  // timeouts. A thread silent for longer than its limit is taken to be stuck: /healthz answers 503
  // and the systemd watchdog is no longer fed, so systemd restarts the unit.
  auto beat = [&] { metrics.heartbeat = Now().time_since_epoch().count(); };
  beat();
  const int64_t stall_limit = std::max<int64_t>(600, 3 * config.service.full_pass.count());
  const int64_t delivery_limit =
      std::max<int64_t>(stall_limit, 2 * config.delivery.transport.timeout.count() *
                                         (delivery::OutboxOptions{}.batch_size /
                                              std::max(1, config.delivery.transport.connections) +
                                          1));
  auto stalled = [&]() -> std::optional<std::string> {
    int64_t now = Now().time_since_epoch().count();
    if (int64_t age = now - metrics.heartbeat.load(); age > stall_limit)
      return "the decision thread has not finished a job for " + std::to_string(age) + " s";
    if (int64_t age = now - metrics.delivery_heartbeat.load();
        metrics.delivering && age > delivery_limit)
      return "the delivery thread has recorded no outcome for " + std::to_string(age) + " s";
    return std::nullopt;
  };

  // The loop's own store connection, for /unsubscribe and /metrics.
  auto loop_store = OpenStore(store_url);
  if (!loop_store) return ExitCodeFor(loop_store.error());
  std::optional<HttpServer> http;
  if (!config.service.listen.empty()) {
    auto colon = config.service.listen.rfind(':');
    HttpServerOptions ho;
    ho.address = config.service.listen.substr(0, colon);
    ho.port = static_cast<uint16_t>(std::atoi(config.service.listen.c_str() + colon + 1));
    EndpointHandlers handlers;
    handlers.health = [&]() -> std::pair<bool, std::string> {
      if (auto why = stalled()) return {false, *why};
      return {true, ""};
    };
    handlers.metrics = [&](std::function<void(std::string)> done) {
      auto counts = (*loop_store)->OutboxStatusCounts();
      done(MetricsText(metrics, counts ? std::optional(*counts) : std::nullopt));
    };
    auto key = app::LoadUnsubscribeKey(config.delivery);
    if (!key) {
      spdlog::error("unsubscribe key: {}", key.error().ToString());
      pool.join();
      return 3;
    }
    handlers.unsubscribe = [&, key = *key](std::string query,
                                           std::function<void(Result<std::string>)> done) {
      auto customer = delivery::VerifyUnsubscribe(key, query);
      if (!customer) return done(customer);
      auto unsubscribed = (*loop_store)->Unsubscribe(*customer, Now());
      if (!unsubscribed) return done(tl::unexpected(unsubscribed.error()));
      if (!*unsubscribed) return done(Fail(ErrorCode::kNotFound, "unknown customer"));
      LogFields fields{{"CUSTOMER", *customer}};
      spdlog::info("unsubscribed customer={}", *customer);
      done(customer);
    };
    ho.max_connections = static_cast<size_t>(config.service.max_connections);
    auto log = [](std::string_view line) { spdlog::warn("{}", line); };
    http.emplace(io, ho, Endpoints(std::move(handlers), log), log);
    auto port = http->Start();
    if (!port) {
      spdlog::error("{}", port.error().ToString());
      pool.join();
      return 3;
    }
    spdlog::info("http: listening on {}:{}", ho.address, *port);
  }

  // The decision thread's jobs, one run of each kind at a time.
  Job rows(
      decide_strand, stopping,
      [&] {
        worker.NewRows();
        if (worker.ScheduleDue()) worker.FullPass();
      },
      beat);
  Job full_pass(
      decide_strand, stopping, [&] { worker.FullPass(); }, beat);
  Job refit_job(
      decide_strand, stopping, [&] { worker.Refit(); }, beat);
  full_pass.Request();

  // Rows other programs commit: seen at once through a watch on the store's files, and in any
  // case within poll_interval_ms (the poll timer below).
  FileWatch store_watch(io, [&] { rows.Request(); });
  if (!worker.commit_files().empty()) {
    if (auto watching = store_watch.Start(worker.commit_files()); !watching)
      spdlog::warn("watch: {} (polling every {} ms only)", watching.error().ToString(),
                   config.service.poll_interval.count());
  }

  // Timers on the loop.
  asio::steady_timer poll(io), pass(io), retry(io), refit(io), watchdog(io), files(io);
  std::function<void()> arm_poll = [&] {
    poll.expires_after(config.service.poll_interval);
    poll.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      rows.Request();
      arm_poll();
    });
  };
  std::function<void()> arm_pass = [&] {
    pass.expires_after(config.service.full_pass);
    pass.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      full_pass.Request();
      arm_pass();
    });
  };
  std::function<void()> arm_retry = [&] {
    retry.expires_after(seconds(5));
    retry.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      drain.Request();
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
        refit_job.Request();
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
      if (auto why = stalled())
        spdlog::error("watchdog: {}; not telling systemd all is well", *why);
      else
        (void)notify.Watchdog();
      arm_watchdog();
    });
  };
  // Rule and template files are watched (a cheap look every two seconds): an edit reloads.
  std::string fingerprint = FilesFingerprint(config);
  std::function<void()> reload = [&] {
    (void)notify.Reloading("reloading rules");
    asio::post(decide_strand, [&] {
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
      deliverer.Stop();
      for (auto* t : {&poll, &pass, &retry, &refit, &watchdog, &files}) t->cancel();
      store_watch.Stop();
      if (http) http->Stop();
    });
  };
  wait_signal();

  (void)notify.Ready("running");
  spdlog::info("followupd running: rules from {}, mail via {}", config.rules_dir,
               config.delivery.transport.url);
  io.run();
  pool.join();  // the job in flight finishes: in-flight sends are recorded
  spdlog::info("stopped");
  return 0;
}

}  // namespace followup::service
