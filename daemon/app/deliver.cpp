#include "app/deliver.h"

#include <algorithm>
#include <charconv>

#include "rules/engine.h"

namespace followup::app {

Result<Delivery> OpenDelivery(const Settings& settings, delivery::FactsLookup facts,
                              const Clock& clock) {
  auto transport_options = LoadTransportOptions(settings.delivery);
  if (!transport_options) return tl::unexpected(transport_options.error());
  auto composer_options = LoadComposerOptions(settings);
  if (!composer_options) return tl::unexpected(composer_options.error());
  auto transport = delivery::MakeTransport(*transport_options);
  if (!transport) return tl::unexpected(transport.error());
  Delivery d;
  d.transport = std::move(*transport);
  d.composer =
      std::make_unique<delivery::Composer>(std::move(*composer_options), std::move(facts), clock);
  d.options = settings.delivery.outbox;
  return d;
}

Result<delivery::DrainSummary> Deliver(store::Store& store, delivery::Transport& transport,
                                       delivery::Composer& composer,
                                       const delivery::OutboxOptions& options, const Clock& clock,
                                       const DeliverHooks& hooks) {
  delivery::OutboxWorker worker(store, transport, composer, clock, options);
  worker.StopWhen(hooks.stop);
  if (hooks.on_outcome) worker.OnOutcome(hooks.on_outcome);
  return worker.Drain();
}

Result<delivery::DrainSummary> Deliver(store::Store& store, Delivery& delivery, const Clock& clock,
                                       const DeliverHooks& hooks) {
  return Deliver(store, *delivery.transport, *delivery.composer, delivery.options, clock, hooks);
}

namespace {
constexpr std::string_view kPauseKey = "delivery_paused";  // "SECONDS REASON"
}  // namespace

Result<std::optional<Pause>> DeliveryPause(store::Store& store) {
  auto value = store.GetMeta(kPauseKey);
  if (!value) return tl::unexpected(value.error());
  if (value->empty()) return std::optional<Pause>();
  Pause pause;
  size_t space = value->find(' ');
  int64_t seconds = 0;
  std::from_chars(value->data(), value->data() + std::min(space, value->size()), seconds);
  pause.since = Instant{std::chrono::seconds{seconds}};
  if (space != std::string::npos) pause.reason = value->substr(space + 1);
  return std::optional<Pause>(std::move(pause));
}

Result<void> PauseDelivery(store::Store& store, Instant at, std::string_view reason) {
  auto paused = DeliveryPause(store);
  if (!paused) return tl::unexpected(paused.error());
  if (*paused) return {};
  return store.SetMeta(kPauseKey,
                       std::to_string(at.time_since_epoch().count()) + " " + std::string(reason));
}

Result<void> ResumeDelivery(store::Store& store) { return store.SetMeta(kPauseKey, ""); }

store::OutboxItem PreviewItem(const rules::Rule& rule, const std::string& customer) {
  store::OutboxItem item;
  item.rule = rule.name;
  item.template_name = rule.send;
  item.values_json = rule.values_json;
  item.dedupe_key = rule.name + ":" + customer + ":preview";
  if (rule.is_sequence()) {  // a sequence: its first step
    item.template_name = rule.steps.front().send;
    item.values_json = rule.steps.front().values_json;
  } else if (rule.experiment) {
    const auto& arm = rules::AssignArm(rule, customer);
    item.arm = arm.name;
    if (!arm.send.empty()) item.template_name = arm.send;
    item.values_json = rules::ArmValues(rule, arm);
  }
  return item;
}

namespace {

// Why a message of `rule` about `customer` to `recipient` would not be sent, as Previewed says.
Result<std::vector<std::string>> WhyNotSent(store::Store& store, const rules::Rule& rule,
                                            const store::CustomerRow& customer,
                                            const store::CustomerRow& recipient) {
  std::vector<std::string> out;
  const auto assigned = rules::Assign(rule, customer.external_id);
  if (assigned.kind == store::DecisionKind::kHoldout)
    out.push_back("customer '" + customer.external_id +
                  "' is in the rule's holdout: recorded, never contacted");
  if (assigned.kind == store::DecisionKind::kControl)
    out.push_back("customer '" + customer.external_id + "' is in the control arm '" +
                  assigned.arm->name + "': recorded, never contacted");
  const std::string who = rule.to_referrer ? "the referrer '" + recipient.external_id + "'"
                                           : "customer '" + recipient.external_id + "'";
  if (recipient.unsubscribed_at)
    out.push_back(who + " unsubscribed on " + FormatInstant(*recipient.unsubscribed_at));
  if (!recipient.email || recipient.email->empty()) {
    out.push_back(who + " has no email address");
    return out;
  }
  auto suppressed = store::FindSuppression(store, *recipient.email);
  if (!suppressed) return tl::unexpected(suppressed.error());
  if (*suppressed)
    out.push_back("the address " + *recipient.email + " is suppressed since " +
                  FormatInstant((*suppressed)->created_at) + ": " + (*suppressed)->reason);
  return out;
}

}  // namespace

Result<Previewed> Preview(store::Store& store, const Settings& settings,
                          const rules::RuleSet& rules, const std::string& rule_name,
                          const store::CustomerRow& customer, const worth::CustomerBase& base,
                          const Clock& clock) {
  const rules::Rule* rule = nullptr;
  for (const auto& r : rules.rules)
    if (r.name == rule_name) rule = &r;
  if (!rule) return Fail(ErrorCode::kNotFound, "no rule named '" + rule_name + "'");
  store::CustomerRow recipient = customer;
  if (rule->to_referrer) {
    if (!customer.referred_by)
      return InvalidInput("rule '" + rule_name + "' writes to the referrer, and nobody referred '" +
                          customer.external_id + "'");
    auto referrer = store.FindCustomerById(*customer.referred_by);
    if (!referrer || !*referrer) return Fail(ErrorCode::kNotFound, "the referrer is gone");
    recipient = std::move(**referrer);
  }
  auto options = LoadComposerOptions(settings);
  if (!options) return tl::unexpected(options.error());
  store::OutboxItem item = PreviewItem(*rule, customer.external_id);
  item.recipient_id = recipient.id;
  item.customer_id = customer.id;
  delivery::Composer composer(std::move(*options), delivery::FactsIn(base), clock);
  auto message = composer.Compose(item, recipient);
  if (!message) return tl::unexpected(message.error());
  auto not_sent = WhyNotSent(store, *rule, customer, recipient);
  if (!not_sent) return tl::unexpected(not_sent.error());
  return Previewed{std::move(*message), std::move(*not_sent)};
}

}  // namespace followup::app
