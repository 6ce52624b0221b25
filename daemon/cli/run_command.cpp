// followupd run --once (one pass: decide, then deliver) and preview. The always-on daemon
// (`run` without --once) is the service part's.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/command.h"
#include "cli/pipeline.h"
#include "cli/worth_view.h"
#include "delivery/mime.h"
#include "delivery/outbox.h"
#include "rules/runner.h"

namespace followup::cli {
namespace {

int RunOnce(Env& env) {
  auto store = env.store();
  if (!store) return Report(store.error());
  // Sends a crash left half-done go out again (at-least-once).
  auto requeued = (*store)->RequeueInFlight();
  if (!requeued) return Report(requeued.error());
  auto set = LoadCheckedRules(env);
  if (!set) return 1;
  auto base = LoadBase(env);
  if (!base) return Report(base.error());
  auto snap = rules::LoadSnapshot(**store, *set, PolicyFor(env), env.clock().Now());
  if (!snap) return Report(snap.error());
  auto eval = EvaluateAll(env, *set, *base, *snap);
  auto recorded = rules::RecordDecisions(**store, eval.decisions);
  if (!recorded) return Report(recorded.error());

  auto transport = service::MakeConfiguredTransport(env.config());
  if (!transport) return Report(transport.error());
  auto options = service::OutboxOptionsFor(env.config());
  if (!options) return Report(options.error());
  delivery::OutboxWorker worker(**store, **transport, &*base, env.clock(), std::move(*options));
  auto drained = worker.Drain();
  if (!drained) return Report(drained.error());
  std::printf(
      "decided %lld new (of %zu), sent %lld, deferred %lld, failed %lld, suppressed %lld "
      "via %s\n",
      static_cast<long long>(*recorded), eval.decisions.size(),
      static_cast<long long>(drained->sent), static_cast<long long>(drained->deferred),
      static_cast<long long>(drained->failed), static_cast<long long>(drained->suppressed),
      env.config().delivery.transport.c_str());
  return 0;
}

int RunPreview(Env& env, const std::string& rule_name, const std::string& customer) {
  auto set = LoadCheckedRules(env);
  if (!set) return 1;
  const rules::Rule* rule = nullptr;
  for (const auto& r : set->rules)
    if (r.name == rule_name) rule = &r;
  if (!rule) return Report(Error{ErrorCode::kNotFound, "no rule named '" + rule_name + "'", {}});
  auto store = env.store();
  if (!store) return Report(store.error());
  auto row = (*store)->FindCustomer(customer);
  if (!row) return Report(row.error());
  if (!*row)
    return Report(Error{ErrorCode::kNotFound, "no customer with id '" + customer + "'", {}});
  const store::CustomerRow* recipient = &**row;
  std::optional<store::CustomerRow> referrer;
  if (rule->to_referrer) {
    if (!(*row)->referred_by)
      return Report(Error{
          ErrorCode::kInvalidInput,
          "rule '" + rule_name + "' writes to the referrer, and nobody referred '" + customer + "'",
          {}});
    auto r = (*store)->FindCustomerById(*(*row)->referred_by);
    if (!r || !*r) return Report(Error{ErrorCode::kNotFound, "the referrer is gone", {}});
    referrer = **r;
    recipient = &*referrer;
  }
  auto base = LoadBase(env);
  if (!base) return Report(base.error());
  auto options = service::OutboxOptionsFor(env.config());
  if (!options) return Report(options.error());
  store::OutboxItem item = service::PreviewItem(*rule, (*row)->external_id);
  item.recipient_id = recipient->id;
  item.customer_id = (*row)->id;
  struct NoTransport final : delivery::Transport {
    std::vector<delivery::SendResult> Send(std::span<const delivery::Message>) override {
      return {};
    }
    std::string_view kind() const override { return "none"; }
  } none;
  delivery::OutboxWorker worker(**store, none, &*base, env.clock(), std::move(*options));
  auto message = worker.Compose(item, *recipient);
  if (!message) return Report(message.error());
  std::string mime = delivery::BuildMime(*message);
  std::fwrite(mime.data(), 1, mime.size(), stdout);
  return 0;
}

}  // namespace

Command AddRunCommand(CLI::App& root) {
  auto once = std::make_shared<bool>(false);
  auto* app = root.add_subcommand(
      "run",
      "The daemon. With --once: one pass (decide what the rules say now, record it, send "
      "everything due through the configured transport), then exit 0.");
  app->add_flag("--once", *once, "one pass, then exit");
  return {app, [once](Env& env) {
            if (!*once) {
              std::fprintf(stderr,
                           "followupd: run without --once is not available yet; use "
                           "run --once (e.g. from a systemd timer)\n");
              return 2;
            }
            return RunOnce(env);
          }};
}

Command AddPreviewCommand(CLI::App& root) {
  struct Args {
    std::string rule, customer;
  };
  auto args = std::make_shared<Args>();
  auto* app = root.add_subcommand(
      "preview", "The email RULE would send for a customer, rendered as it would be sent (MIME).");
  app->add_option("rule", args->rule, "rule name")->required();
  app->add_option("--customer", args->customer, "the customer's id (external)")->required();
  return {app, [args](Env& env) { return RunPreview(env, args->rule, args->customer); }};
}

}  // namespace followup::cli
