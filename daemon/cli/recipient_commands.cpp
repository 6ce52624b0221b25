// followupd unsubscribe, resubscribe and suppress: who hears from the business, changed by the
// operator without SQL. Each takes effect at the next delivery round, in a running daemon too:
// delivery reads the recipient and the suppressions again before every send (docs/operations.md).
#include <cstdio>

#include "base/ascii.h"
#include "cli/command.h"
#include "cli/output.h"
#include "delivery/mime.h"

namespace followup::cli {
namespace {

using Json = nlohmann::ordered_json;

int RunUnsubscribe(Env& env, const std::string& id) {
  auto customer = env.Customer(id);
  if (!customer) return Report(customer.error());
  if (customer->unsubscribed_at) {
    std::printf("customer '%s' is already unsubscribed (since %s)\n", id.c_str(),
                FormatInstant(*customer->unsubscribed_at).c_str());
    return 0;
  }
  auto store = env.store();
  if (!store) return Report(store.error());
  if (auto r = (*store)->Unsubscribe(id, env.clock().Now()); !r) return Report(r.error());
  std::printf(
      "customer '%s' unsubscribed: nothing more is sent to them, mail already queued "
      "included\n",
      id.c_str());
  return 0;
}

int RunResubscribe(Env& env, const std::string& id) {
  auto customer = env.Customer(id);
  if (!customer) return Report(customer.error());
  auto store = env.store();
  if (!store) return Report(store.error());
  if (!customer->unsubscribed_at) {
    std::printf("customer '%s' is not unsubscribed\n", id.c_str());
  } else {
    if (auto r = (*store)->Resubscribe(id); !r) return Report(r.error());
    std::printf("customer '%s' resubscribed (was unsubscribed since %s)\n", id.c_str(),
                FormatInstant(*customer->unsubscribed_at).c_str());
  }
  // A suppressed address still gets nothing: say so, with how to lift it.
  if (customer->email) {
    std::string email = AsciiLower(*customer->email);
    auto found = store::FindSuppression(**store, email);
    if (!found) return Report(found.error());
    if (*found)
      std::printf(
          "note: their address %s is suppressed (%s); followupd suppress remove %s "
          "lifts that\n",
          email.c_str(), (*found)->reason.c_str(), email.c_str());
  }
  return 0;
}

// The address as the suppression list keeps it: lower-cased, and one followupd could send to.
Result<std::string> SuppressionAddress(const std::string& text) {
  std::string email = AsciiLower(text);
  if (!delivery::IsValidEmail(email))
    return Fail(ErrorCode::kUsage, "'" + text + "' is not an email address (local@domain)");
  return email;
}

struct SuppressArgs {
  std::string email;
  std::string reason;
  bool json = false;
};

int RunSuppressAdd(Env& env, const SuppressArgs& args) {
  auto email = SuppressionAddress(args.email);
  if (!email) return Report(email.error());
  auto store = env.store();
  if (!store) return Report(store.error());
  auto added = (*store)->AddSuppression(*email, args.reason, env.clock().Now());
  if (!added) return Report(added.error());
  if (*added) {
    std::printf("suppressed %s: nothing is sent to it, mail already queued included\n",
                email->c_str());
    return 0;
  }
  auto found = store::FindSuppression(**store, *email);
  if (!found) return Report(found.error());
  if (*found)
    std::printf("%s is already suppressed (since %s: %s)\n", email->c_str(),
                FormatInstant((*found)->created_at).c_str(), (*found)->reason.c_str());
  return 0;
}

int RunSuppressRemove(Env& env, const SuppressArgs& args) {
  std::string email = AsciiLower(args.email);
  auto store = env.store();
  if (!store) return Report(store.error());
  auto removed = (*store)->RemoveSuppression(email);
  if (!removed) return Report(removed.error());
  if (*removed)
    std::printf("%s is no longer suppressed\n", email.c_str());
  else
    std::printf("%s was not suppressed\n", email.c_str());
  return 0;
}

int RunSuppressList(Env& env, const SuppressArgs& args) {
  auto store = env.store();
  if (!store) return Report(store.error());
  auto list = (*store)->ListSuppressions();
  if (!list) return Report(list.error());
  if (args.json) {
    for (const auto& s : *list) {
      Json line = {{"email", s.email},
                   {"reason", TextOrNull(s.reason)},
                   {"created_at", FormatInstant(s.created_at)}};
      std::printf("%s\n", line.dump().c_str());
    }
    return 0;
  }
  Table table({{"email"}, {"since"}, {"reason"}});
  for (const auto& s : *list) table.Add({s.email, FormatInstant(s.created_at), s.reason});
  return 0;
}

}  // namespace

std::vector<Command> AddRecipientCommands(CLI::App& root) {
  std::vector<Command> commands;
  auto id = std::make_shared<std::string>();
  auto* unsubscribe = root.add_subcommand(
      "unsubscribe",
      "Unsubscribe a customer: nothing more is sent to them, mail already queued included.");
  unsubscribe->add_option("customer", *id, "the customer's id (the business's)")->required();
  commands.push_back({unsubscribe, [id](Env& env) { return RunUnsubscribe(env, *id); },
                      store::OpenMode::kExisting});

  auto re_id = std::make_shared<std::string>();
  auto* resubscribe = root.add_subcommand(
      "resubscribe", "Lift a customer's unsubscribe (they asked to hear from the business again).");
  resubscribe->add_option("customer", *re_id, "the customer's id (the business's)")->required();
  commands.push_back({resubscribe, [re_id](Env& env) { return RunResubscribe(env, *re_id); },
                      store::OpenMode::kExisting});

  auto* suppress = root.add_subcommand(
      "suppress",
      "The suppression list: addresses nothing is ever sent to (hard bounces, complaints, and "
      "those added here).");
  suppress->require_subcommand(1);
  auto add = std::make_shared<SuppressArgs>();
  add->reason = "added by the operator";
  auto* add_app = suppress->add_subcommand("add", "Suppress an address.");
  add_app->add_option("email", add->email, "the address")->required();
  add_app->add_option("--reason", add->reason, "why (shown by suppress list)")
      ->capture_default_str();
  commands.push_back(
      {add_app, [add](Env& env) { return RunSuppressAdd(env, *add); }, store::OpenMode::kCreate});
  auto remove = std::make_shared<SuppressArgs>();
  auto* remove_app = suppress->add_subcommand("remove", "Lift an address's suppression.");
  remove_app->add_option("email", remove->email, "the address")->required();
  commands.push_back({remove_app, [remove](Env& env) { return RunSuppressRemove(env, *remove); },
                      store::OpenMode::kExisting});
  auto list = std::make_shared<SuppressArgs>();
  auto* list_app =
      suppress->add_subcommand("list", "Every suppressed address, since when and why.");
  list_app->add_flag("--json", list->json, "JSON Lines");
  commands.push_back({list_app, [list](Env& env) { return RunSuppressList(env, *list); },
                      store::OpenMode::kExisting});
  return commands;
}

}  // namespace followup::cli
