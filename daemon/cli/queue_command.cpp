// followupd queue: the sends still to go, and what the operator does with them (as mailq and
// postsuper do for a mail server): list, requeue, cancel, hold, release; pause and resume delivery
// as a whole. docs/delivery.md, "The queue".
#include <cstdio>

#include "app/deliver.h"
#include "cli/command.h"
#include "cli/options.h"
#include "cli/output.h"

namespace followup::cli {
namespace {

using Json = nlohmann::ordered_json;

struct QueueArgs {
  std::vector<int64_t> ids;
  std::string rule, customer, status, reason;
  int64_t limit = 0;
  bool json = false;
};

// The selection the arguments make; a status name that is none is a usage error.
Result<store::LogFilter> Selection(const QueueArgs& args) {
  store::LogFilter f;
  f.ids = args.ids;
  f.rule = args.rule;
  f.customer = args.customer;
  f.limit = args.limit;
  if (!args.status.empty()) {
    f.status = store::ParseDeliveryStatus(args.status);
    if (!f.status)
      return Fail(ErrorCode::kUsage, "--status: one of " + store::DeliveryStatusNames());
  }
  return f;
}

// When a send in the queue is due: its next attempt when deferred, else its send_after.
Instant DueAt(const store::LogEntry& e) {
  if (e.status == store::DeliveryStatus::kDeferred && e.next_attempt_at) return *e.next_attempt_at;
  return e.send_after;
}

int RunList(Env& env, const QueueArgs& args) {
  auto f = Selection(args);
  if (!f) return Report(f.error());
  f->in_queue = true;
  auto store = env.store();
  if (!store) return Report(store.error());
  auto pause = app::DeliveryPause(**store);
  if (!pause) return Report(pause.error());
  if (!args.json && *pause)
    std::printf("delivery is paused since %s (%s): followupd queue resume\n",
                FormatInstant((*pause)->since).c_str(), (*pause)->reason.c_str());
  std::optional<Table> table;
  if (!args.json)
    table.emplace(std::vector<Table::Column>{{"id", true},
                                             {"due"},
                                             {"rule"},
                                             {"customer"},
                                             {"to"},
                                             {"status"},
                                             {"try", true},
                                             {"reply"}});
  auto r = (*store)->ForEachLogEntry(*f, [&](const store::LogEntry& e) {
    if (args.json) {
      Json line = {{"id", e.id},
                   {"due_at", FormatInstant(DueAt(e))},
                   {"rule", e.rule},
                   {"customer", e.customer},
                   {"recipient", e.recipient},
                   {"email", TextOrNull(e.recipient_email)},
                   {"status", store::DeliveryStatusName(e.status)},
                   {"attempts", e.attempts},
                   {"decided_at", FormatInstant(e.decided_at)},
                   {"template", e.template_name},
                   {"reply", TextOrNull(e.last_reply)}};
      std::printf("%s\n", line.dump().c_str());
      return;
    }
    table->Add({std::to_string(e.id), FormatInstant(DueAt(e)), e.rule, e.customer,
                e.recipient_email, std::string(store::DeliveryStatusName(e.status)),
                std::to_string(e.attempts), e.last_reply});
  });
  if (!r) return Report(r.error());
  return 0;
}

struct Action {
  store::QueueAction action;
  const char* name;  // the command
  const char* done;  // what the sends became
  const char* help;
};
constexpr Action kActions[] = {
    {store::QueueAction::kRequeue, "requeue", "requeued",
     "Put failed, deferred, held, cancelled or suppressed sends back in the queue, attempts "
     "counted from 0: they go out at the next delivery round."},
    {store::QueueAction::kCancel, "cancel", "cancelled",
     "Cancel queued, deferred or held sends: they are never sent (requeue undoes it)."},
    {store::QueueAction::kHold, "hold", "held",
     "Hold queued or deferred sends: they stay in the queue, unsent, until released."},
    {store::QueueAction::kRelease, "release", "released", "Release held sends into the queue."},
};

int RunAction(Env& env, const Action& action, const QueueArgs& args) {
  auto f = Selection(args);
  if (!f) return Report(f.error());
  if (f->ids.empty() && f->rule.empty() && f->customer.empty() && !f->status)
    return Report(Error{ErrorCode::kUsage,
                        std::string(action.name) +
                            ": say which sends: IDs (from followupd queue), --rule, --customer "
                            "or --status",
                        {}});
  auto store = env.store();
  if (!store) return Report(store.error());
  std::string reason =
      args.reason.empty() ? std::string("cancelled by the operator") : "cancelled: " + args.reason;
  auto n = (*store)->ChangeQueue(action.action, *f, reason, env.clock().Now());
  if (!n) return Report(n.error());
  std::string from;
  for (auto status : store::QueueActionFrom(action.action))
    from +=
        std::string(from.empty() ? "" : " or ") + std::string(store::DeliveryStatusName(status));
  std::printf("%s %lld send%s (of those selected, the ones %s)\n", action.done,
              static_cast<long long>(*n), *n == 1 ? "" : "s", from.c_str());
  return 0;
}

int RunPause(Env& env, const QueueArgs& args) {
  auto store = env.store();
  if (!store) return Report(store.error());
  auto before = app::DeliveryPause(**store);
  if (!before) return Report(before.error());
  if (*before) {
    std::printf("delivery is already paused since %s (%s)\n",
                FormatInstant((*before)->since).c_str(), (*before)->reason.c_str());
    return 0;
  }
  std::string reason = args.reason.empty() ? "paused by the operator" : args.reason;
  if (auto r = app::PauseDelivery(**store, env.clock().Now(), reason); !r) return Report(r.error());
  std::printf(
      "delivery paused: nothing is sent, by any followupd on this store, until followupd queue "
      "resume; decisions go on being made and queued\n");
  return 0;
}

int RunResume(Env& env) {
  auto store = env.store();
  if (!store) return Report(store.error());
  auto before = app::DeliveryPause(**store);
  if (!before) return Report(before.error());
  if (!*before) {
    std::printf("delivery is not paused\n");
    return 0;
  }
  if (auto r = app::ResumeDelivery(**store); !r) return Report(r.error());
  std::printf("delivery resumed (paused since %s): what is due goes out at the next round\n",
              FormatInstant((*before)->since).c_str());
  return 0;
}

// The options that select sends, on `app`.
void AddSelection(CLI::App* app, QueueArgs& args) {
  app->add_option("--rule", args.rule, "only this rule's sends");
  app->add_option("--customer", args.customer,
                  "only this customer's (or recipient's), external id");
  app->add_option("--status", args.status, "only sends in this status");
}

}  // namespace

std::vector<Command> AddQueueCommands(CLI::App& root) {
  std::vector<Command> commands;
  auto list = std::make_shared<QueueArgs>();
  auto* queue = root.add_subcommand(
      "queue",
      "The sends still to go (queued, sending, deferred, held), with when each is due and its "
      "last reply; and what to do with them. Without a command: list.");
  queue->require_subcommand(0, 1);
  AddSelection(queue, *list);
  queue->add_option("--limit", list->limit, "at most this many rows")->check(WholeNumber(1));
  queue->add_flag("--json", list->json, "JSON Lines");
  commands.push_back({queue, [list](Env& env) { return RunList(env, *list); }});
  auto* list_app = queue->add_subcommand("list", "List the queue (the default).");
  AddSelection(list_app, *list);
  list_app->add_option("--limit", list->limit, "at most this many rows")->check(WholeNumber(1));
  list_app->add_flag("--json", list->json, "JSON Lines");
  commands.push_back({list_app, [list](Env& env) { return RunList(env, *list); }});

  for (const auto& action : kActions) {
    auto args = std::make_shared<QueueArgs>();
    auto* app = queue->add_subcommand(action.name, action.help);
    app->add_option("ids", args->ids, "outbox ids, as followupd queue lists them");
    AddSelection(app, *args);
    if (action.action == store::QueueAction::kCancel)
      app->add_option("--reason", args->reason, "why (kept as the send's reply)");
    commands.push_back({app, [args, &action](Env& env) { return RunAction(env, action, *args); }});
  }

  auto pause = std::make_shared<QueueArgs>();
  auto* pause_app = queue->add_subcommand(
      "pause",
      "Pause delivery as a whole, for every followupd on this store, until resumed (kept in the "
      "store: a restart keeps it).");
  pause_app->add_option("--reason", pause->reason, "why (shown by queue and in the log)");
  commands.push_back({pause_app, [pause](Env& env) { return RunPause(env, *pause); }});
  auto* resume_app = queue->add_subcommand("resume", "Resume delivery.");
  commands.push_back({resume_app, [](Env& env) { return RunResume(env); }});
  return commands;
}

}  // namespace followup::cli
