// followupd run --once (one pass: decide, then deliver) and preview. The always-on daemon
// (`run` without --once) is the service part's.
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/bounces.h"
#include "app/decide.h"
#include "app/deliver.h"
#include "app/rule_set.h"
#include "base/url.h"
#include "cli/command.h"
#include "cli/options.h"
#include "cli/worth_view.h"
#include "delivery/mime.h"
#include "service/daemon.h"

namespace followup::cli {
namespace {

// Delivery for a pass (docs/delivery.md, one deliverer per store): taken when free; while another
// pass holds it, waited for (that pass lets go when it ends, maybe before it saw this pass's
// decisions); a daemon's is left to it (its drain sends what is due within seconds).
Result<store::DeliveryOwner> TakeDelivery(store::Store& store) {
  bool said = false;
  for (;;) {
    auto owner = store.OwnDelivery(true);
    if (!owner || owner->ours || (owner->pid != 0 && !owner->one_pass)) return owner;
    if (!said && owner->pid != 0) {
      std::fprintf(stderr,
                   "followupd: waiting for followupd (pid %lld), which delivers for this store, "
                   "to finish its pass\n",
                   static_cast<long long>(owner->pid));
      said = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// One pass: what the daemon does at start, in its first full pass and in its drain, once.
int RunOnce(Env& env) {
  const app::Settings& settings = env.settings();
  const Instant now = env.clock().Now();
  auto store = env.store();
  if (!store) return Report(store.error());
  auto set = app::LoadCheckedRules(settings, now);
  if (!set) return ReportAll(set.error());
  auto base = LoadBase(env);
  if (!base) return Report(base.error());
  rules::Snapshot snapshot;
  auto decided = app::DecideAll(**store, *set, *base, settings, now, snapshot);
  if (!decided) return Report(decided.error());
  for (const auto& [rule, n] : decided->cancelled)
    std::printf("rule %s was removed or disabled: %lld of its queued sends cancelled\n",
                rule.c_str(), static_cast<long long>(n));
  auto owner = TakeDelivery(**store);
  if (!owner) return Report(owner.error());
  if (!owner->ours) {
    std::printf(
        "decided %lld new (of %zu); another followupd (pid %lld) delivers for this store; its "
        "outbox will send these\n",
        static_cast<long long>(decided->recorded), decided->evaluation.decisions.size(),
        static_cast<long long>(owner->pid));
    return 0;
  }
  // Sends a crash left half-done go out again (at-least-once).
  auto requeued = (*store)->RequeueInFlight();
  if (!requeued) return Report(requeued.error());
  // The bounce folder first (paused or not): what bounced since is suppressed before sending.
  if (!settings.feedback.bounces.empty()) {
    auto key = app::LoadVerpKey(settings.feedback);
    if (!key) return Report(key.error());
    auto read = app::ReadBounceFolder(**store, settings.feedback, *key, env.clock().Now());
    if (!read) return Report(read.error());
    if (read->files > 0)
      std::printf("bounces: %d reports read: %d events applied, %d recorded before, %d unmatched\n",
                  read->files, read->applied, read->duplicates, read->unmatched);
  }
  auto pause = app::DeliveryPause(**store);
  if (!pause) return Report(pause.error());
  if (*pause) {
    std::printf(
        "decided %lld new (of %zu); delivery is paused since %s (%s): nothing sent until "
        "followupd queue resume\n",
        static_cast<long long>(decided->recorded), decided->evaluation.decisions.size(),
        FormatInstant((*pause)->since).c_str(), (*pause)->reason.c_str());
    return 0;
  }
  auto delivery = app::OpenDelivery(settings, delivery::FactsIn(*base), env.clock());
  if (!delivery) return Report(delivery.error());
  auto drained = app::Deliver(**store, *delivery, env.clock());
  if (!drained) return Report(drained.error());
  std::printf(
      "decided %lld new (of %zu), sent %lld, deferred %lld, failed %lld, suppressed %lld "
      "via %s\n",
      static_cast<long long>(decided->recorded), decided->evaluation.decisions.size(),
      static_cast<long long>(drained->sent), static_cast<long long>(drained->deferred),
      static_cast<long long>(drained->failed), static_cast<long long>(drained->suppressed),
      settings.delivery.transport.url.c_str());
  if (!drained->sender_failure.empty()) {
    // The sender's failure (server down, TLS, login, MAIL FROM refused, HTTP 401/403): nothing
    // was failed for it, and the next run tries again.
    std::fprintf(stderr,
                 "followupd: delivery paused: the sender failed: %s; %lld sends stay queued "
                 "(no attempt counted)\n",
                 drained->sender_failure.c_str(), static_cast<long long>(drained->paused));
    return 3;
  }
  return 0;
}

// Reload signals a process only when it is a followupd that has this store open: its executable
// is named followupd (" (deleted)" after an upgrade replaced the file), and one of its open files
// is the store's database. /proc shows both to the process's own user and to root, as systemd's
// ExecReload= runs.
Result<void> CheckReloadTarget(int pid, const std::string& store_url) {
  namespace fs = std::filesystem;
  const std::string proc = "/proc/" + std::to_string(pid);
  const std::string which = "reload --pid " + std::to_string(pid);
  std::error_code ec;
  if (!fs::exists(proc, ec)) return InvalidInput(which + ": there is no such process");
  // The executable; where /proc hides it, the program name it was started with (cmdline is
  // readable by all), which can only tell that it is not a followupd.
  fs::path exe = fs::read_symlink(proc + "/exe", ec);
  bool exe_known = !ec;
  if (!exe_known) {
    std::ifstream cmdline(proc + "/cmdline", std::ios::binary);
    std::string argv0;
    std::getline(cmdline, argv0, '\0');
    exe = argv0;
  }
  std::string name = exe.filename().string();
  if (auto deleted = name.rfind(" (deleted)"); deleted != std::string::npos) name.erase(deleted);
  if (name != "followupd")
    return InvalidInput(which + ": the process runs " + exe.string() +
                        ", not followupd; nothing was signalled");
  if (!exe_known)
    return RuntimeFailure(which + ": cannot see which program the process runs: " + ec.message());
  auto store_file = StoreFilePath(store_url);
  if (!store_file) return tl::unexpected(store_file.error());
  // A PostgreSQL store is a connection, not a file to find among the process's open ones: that it
  // is followupd has to do.
  if (!*store_file) return {};
  const std::string& file = **store_file;
  struct stat store_stat {};
  if (::stat(file.c_str(), &store_stat) != 0)
    return RuntimeFailure(which + ": cannot stat the store " + file + ": " + std::strerror(errno));
  for (const auto& fd : fs::directory_iterator(proc + "/fd", ec)) {
    struct stat st {};
    if (::stat(fd.path().c_str(), &st) == 0 && st.st_dev == store_stat.st_dev &&
        st.st_ino == store_stat.st_ino)
      return {};
  }
  if (ec) return RuntimeFailure(which + ": cannot see the process's open files: " + ec.message());
  return InvalidInput(which + ": that followupd does not have the store " + file +
                      " open (another --config or --store?); nothing was signalled");
}

int RunPreview(Env& env, const std::string& rule_name, const std::string& customer, bool raw) {
  auto set = app::LoadCheckedRules(env.settings(), env.clock().Now());
  if (!set) return ReportAll(set.error());
  auto row = env.Customer(customer);
  if (!row) return Report(row.error());
  auto store = env.store();
  if (!store) return Report(store.error());
  auto base = LoadBase(env);
  if (!base) return Report(base.error());
  auto preview = app::Preview(**store, env.settings(), *set, rule_name, *row, *base, env.clock());
  if (!preview) return Report(preview.error());
  // Why it would not go out comes first; with --raw on stderr, so that stdout is the MIME alone.
  for (const auto& why : preview->not_sent)
    std::fprintf(raw ? stderr : stdout, "would not be sent: %s\n", why.c_str());
  if (!raw && !preview->not_sent.empty()) std::printf("\n");
  std::string text =
      raw ? delivery::BuildMime(preview->message) : delivery::ReadableMessage(preview->message);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace

Command AddRunCommand(CLI::App& root) {
  auto once = std::make_shared<bool>(false);
  auto* app = root.add_subcommand(
      "run",
      "The daemon, in the foreground (systemd runs this): watches the store, decides, sends; "
      "SIGHUP reloads the rules, SIGTERM stops. With --once: one pass (decide what the rules say "
      "now, record it, send everything due), then exit 0.");
  app->add_flag("--once", *once, "one pass, then exit");
  return {app,
          [once](Env& env) {
            if (*once) {
              service::UnblockStopSignals();
              return RunOnce(env);
            }
            if (env.at_given()) {
              std::fprintf(stderr,
                           "followupd: run (the daemon) follows the clock; --at goes with run "
                           "--once\n");
              return 2;
            }
            return service::RunDaemon(env.settings(), env.clock());
          },
          store::OpenMode::kCreate, false, true};
}

Command AddReloadCommand(CLI::App& root) {
  auto pid = std::make_shared<int>(0);
  auto* app = root.add_subcommand(
      "reload",
      "Ask the running daemon to reload its rules and templates (SIGHUP) and wait for the "
      "outcome: exit 0 accepted, 1 rejected (the daemon keeps its running rules), 3 no answer.");
  app->add_option("--pid", *pid, "the daemon's process id (a followupd with this store open)")
      ->required()
      ->check(WholeNumber(1, 4'194'304));
  return {app, [pid](Env& env) {
            auto store = env.store();
            if (!store) return Report(store.error());
            if (auto target = CheckReloadTarget(*pid, env.store_url()); !target)
              return Report(target.error());
            auto before = (*store)->GetMeta(service::kReloadMetaKey);
            if (!before) return Report(before.error());
            if (kill(*pid, SIGHUP) != 0)
              return Report(Error{ErrorCode::kRuntime,
                                  "reload: cannot signal process " + std::to_string(*pid) + ": " +
                                      std::strerror(errno),
                                  {}});
            for (int i = 0; i < 600; ++i) {
              std::this_thread::sleep_for(std::chrono::milliseconds(100));
              auto now = (*store)->GetMeta(service::kReloadMetaKey);
              if (!now) return Report(now.error());
              if (*now == *before) continue;
              auto space = now->find(' ');
              std::string outcome = space == std::string::npos ? *now : now->substr(space + 1);
              std::printf("reload: %s\n", outcome.c_str());
              return outcome == "ok" ? 0 : 1;
            }
            return Report(
                Error{ErrorCode::kRuntime,
                      "reload: no answer from process " + std::to_string(*pid) + " within 60 s",
                      {}});
          }};
}

Command AddPreviewCommand(CLI::App& root) {
  struct Args {
    std::string rule, customer;
    bool raw = false;
  };
  auto args = std::make_shared<Args>();
  auto* app = root.add_subcommand(
      "preview",
      "The email RULE would send for a customer, as it reads: the headers and the text part, "
      "after why it would not be sent (no email address, unsubscribed, suppressed, holdout or "
      "control arm) when it would not. --raw: the MIME as it would be sent.");
  app->add_option("rule", args->rule, "rule name")->required();
  app->add_option("--customer", args->customer, "the customer's id (external)")->required();
  app->add_flag("--raw", args->raw,
                "the message as sent (MIME, quoted-printable); why it would not be sent on stderr");
  return {app, [args](Env& env) { return RunPreview(env, args->rule, args->customer, args->raw); }};
}

}  // namespace followup::cli
