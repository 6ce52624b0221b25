// followupd log: the send log.
#include <cstdio>

#include "cli/command.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/worth_view.h"

namespace followup::cli {
namespace {

struct LogArgs {
  std::string since, rule, customer, status;
  int64_t limit = 0;
  bool json = false;
};

Json TimeOrNull(const std::optional<Instant>& t) {
  if (!t) return nullptr;
  return FormatInstant(*t);
}

int RunLog(Env& env, const LogArgs& args) {
  store::LogFilter filter;
  filter.rule = args.rule;
  filter.customer = args.customer;
  filter.limit = args.limit;
  if (!args.since.empty()) {
    // "7d" (that long before --at/now) or a time.
    if (auto d = ParseDuration(args.since)) {
      filter.since = env.clock().Now() - *d;
    } else if (auto t = ParseInstant(args.since, env.zone())) {
      filter.since = *t;
    } else {
      return Report(Error{ErrorCode::kUsage,
                          "--since: expected a duration such as 7d or a time such as 2026-06-01",
                          {}});
    }
  }
  if (!args.status.empty()) {
    filter.status = store::ParseDeliveryStatus(args.status);
    if (!filter.status)
      return Report(
          Error{ErrorCode::kUsage, "--status: one of " + store::DeliveryStatusNames(), {}});
  }
  auto store = env.store();
  if (!store) return Report(store.error());
  std::optional<Table> table;
  if (!args.json)
    table.emplace(std::vector<Table::Column>{
        {"decided"}, {"rule"}, {"customer"}, {"to"}, {"status"}, {"try", true}, {"reply"}});
  auto r = (*store)->ForEachLogEntry(filter, [&](const store::LogEntry& e) {
    if (args.json) {
      Json line = {{"id", e.id},
                   {"decided_at", FormatInstant(e.decided_at)},
                   {"rule", e.rule},
                   {"customer", e.customer},
                   {"recipient", e.recipient},
                   {"email", TextOrNull(e.recipient_email)},
                   {"kind", store::DecisionKindName(e.kind)},
                   {"arm", TextOrNull(e.arm)},
                   {"template", e.template_name},
                   {"status", store::DeliveryStatusName(e.status)},
                   {"attempts", e.attempts},
                   {"send_after", FormatInstant(e.send_after)},
                   {"next_attempt_at", TimeOrNull(e.next_attempt_at)},
                   {"sent_at", TimeOrNull(e.sent_at)},
                   {"reply", TextOrNull(e.last_reply)},
                   {"provider_message_id", TextOrNull(e.provider_message_id)},
                   {"message_id", TextOrNull(e.message_id)},
                   {"dedupe_key", e.dedupe_key},
                   {"updated_at", FormatInstant(e.updated_at)}};
      std::printf("%s\n", line.dump().c_str());
      return;
    }
    std::string to = e.kind == store::DecisionKind::kSend
                         ? e.recipient_email
                         : "(" + std::string(store::DecisionKindName(e.kind)) + ")";
    table->Add({FormatInstant(e.decided_at), e.rule, e.customer, to,
                std::string(store::DeliveryStatusName(e.status)), std::to_string(e.attempts),
                e.last_reply});
  });
  if (!r) return Report(r.error());
  return 0;
}

}  // namespace

Command AddLogCommand(CLI::App& root) {
  auto args = std::make_shared<LogArgs>();
  auto* app = root.add_subcommand(
      "log",
      "The send log, newest first: every decision and its delivery. JSON Lines with --json.");
  app->add_option("--since", args->since, "decided after: a duration back from now (7d) or a time");
  app->add_option("--rule", args->rule, "only this rule");
  app->add_option("--customer", args->customer, "only this customer (or recipient), external id");
  app->add_option("--status", args->status, "only this status: " + store::DeliveryStatusNames());
  app->add_option("--limit", args->limit, "at most this many rows")->check(WholeNumber(1));
  app->add_flag("--json", args->json, "JSON Lines");
  return {app, [args](Env& env) { return RunLog(env, *args); }};
}

}  // namespace followup::cli
