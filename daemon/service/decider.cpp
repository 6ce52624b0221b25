#include "service/decider.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

#include "app/rule_set.h"
#include "service/log.h"
#include "service/open_store.h"

namespace followup::service {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace

Decider::Decider(const app::Settings& settings, const Clock& clock, Metrics& metrics,
                 SharedFacts& facts, std::function<void()> decided)
    : settings_(settings),
      clock_(clock),
      metrics_(metrics),
      facts_(facts),
      decided_(std::move(decided)) {}

std::optional<int> Decider::Start() {
  if (auto failed = OpenStore(settings_.store_url, store_)) return failed;
  commit_files_ = store_->CommitSignalFiles();
  auto set = app::LoadCheckedRules(settings_, clock_.Now());
  if (!set) {
    for (const auto& e : set.error()) spdlog::error("rules: {}", e.ToString());
    return 1;
  }
  InForce(std::move(*set));
  auto hwm = store_->MaxTransactionId();
  if (!hwm) {
    spdlog::error("store: {}", hwm.error().ToString());
    return 3;
  }
  high_water_ = *hwm;
  if (!LoadBase()) return 3;
  if (auto meta = store_->GetMeta(kReloadMetaKey); meta && !meta->empty())
    reload_generation_ = std::atoll(meta->c_str());
  return std::nullopt;
}

void Decider::InForce(rules::RuleSet set) {
  Metrics::SequenceSteps steps;
  for (const auto& r : set.rules) {
    if (!r.is_sequence()) continue;
    steps.push_back({r.name, {}});
    for (const auto& step : r.steps) steps.back().second.push_back(step.name);
  }
  metrics_.SetSequenceSteps(std::move(steps));
  rules_ = std::make_shared<const rules::RuleSet>(std::move(set));
}

void Decider::FullPass() {
  auto started = std::chrono::steady_clock::now();
  const Instant now = clock_.Now();
  SetAt(now);
  CancelSendsOfGoneRules(now);
  rules::Snapshot snapshot;
  auto evaluation = app::EvaluateAll(*store_, *rules_, facts_.base(), settings_, now, snapshot);
  if (!evaluation) {
    spdlog::error("full pass: store: {}", evaluation.error().ToString());
    return;
  }
  snapshot_ = std::move(snapshot);
  // Decisions the store refused are made again by the next pass (dedupe keys make it once).
  if (auto decided = app::Record(*store_, std::move(*evaluation), *snapshot_); decided) {
    Recorded(*decided);
    metrics_.last_full_pass_at = now.time_since_epoch().count();
  } else {
    spdlog::error("decisions: store: {} (retrying)", decided.error().ToString());
  }
  for (const auto& r : rules_->rules)
    if (r.trigger.schedule) {
      auto fired = r.trigger.schedule->LastFiring(now, settings_.zone);
      periods_[r.name] = fired ? fired->period : "";
    }
  metrics_.last_full_pass_seconds = SecondsSince(started);
  metrics_.ObserveDecision("full_pass", metrics_.last_full_pass_seconds);
  decided_();  // also the deferred sends that fell due
}

void Decider::CancelSendsOfGoneRules(Instant now) {
  if (auto cancelled = app::CancelSendsOfGoneRules(*store_, *rules_, now); !cancelled)
    spdlog::error("cancelling the sends of removed rules: store: {} (retrying)",
                  cancelled.error().ToString());
  else
    for (const auto& [rule, n] : *cancelled)
      spdlog::warn("rule {} was removed or disabled: {} of its queued sends cancelled", rule, n);
}

bool Decider::ScheduleDue() const {
  const Instant now = clock_.Now();
  for (const auto& r : rules_->rules) {
    if (!r.trigger.schedule) continue;
    auto fired = r.trigger.schedule->LastFiring(now, settings_.zone);
    auto it = periods_.find(r.name);
    if (fired && (it == periods_.end() || it->second != fired->period)) return true;
  }
  return false;
}

void Decider::NewRows() {
  auto max = store_->MaxTransactionId();
  if (!max) {
    spdlog::warn("watch: store: {} (retrying)", max.error().ToString());
    return;
  }
  if (*max <= high_water_ || !snapshot_) return;
  auto started = std::chrono::steady_clock::now();
  const Instant now = clock_.Now();
  SetAt(now);
  auto rows = rules::ReadNewRows(*store_, high_water_);
  if (!rows) {
    spdlog::warn("watch: store: {} (retrying)", rows.error().ToString());
    return;
  }
  for (int64_t id : rows->customers) {
    auto updated = facts_.With([&](worth::CustomerBase& base) { return base.Update(*store_, id); });
    if (!updated) spdlog::warn("facts of customer {}: {}", id, updated.error().ToString());
  }
  // The rows count as seen only once their decisions are stored: a store that is locked now gets
  // them looked at again on the next poll (dedupe keys make that harmless).
  auto decided = app::DecideNew(*store_, *rules_, facts_.base(), settings_, now, *snapshot_, *rows);
  if (!decided) {
    spdlog::warn("watch: store: {} (retrying)", decided.error().ToString());
    return;
  }
  Recorded(*decided);
  high_water_ = rows->high_water;
  metrics_.last_evaluation_seconds = SecondsSince(started);
  metrics_.ObserveDecision("new_rows", metrics_.last_evaluation_seconds);
}

bool Decider::Reload() {
  ++reload_generation_;
  auto set = app::LoadCheckedRules(settings_, clock_.Now());
  std::string outcome;
  if (!set) {
    for (const auto& e : set.error()) spdlog::error("reload rejected: {}", e.ToString());
    outcome = std::to_string(reload_generation_) + " failed: " + set.error().front().ToString();
    ++metrics_.reloads_failed;
    metrics_.last_reload_ok = 0;
  } else {
    InForce(std::move(*set));
    spdlog::info("reload: {} rules in force", rules_->rules.size());
    outcome = std::to_string(reload_generation_) + " ok";
    ++metrics_.reloads_ok;
    metrics_.last_reload_ok = 1;
    periods_.clear();  // new schedules get their catch-up pass
    CancelSendsOfGoneRules(clock_.Now());
  }
  if (auto r = store_->SetMeta(kReloadMetaKey, outcome); !r)
    spdlog::error("store: recording the reload outcome: {}", r.error().ToString());
  return set.has_value();
}

void Decider::Refit() {
  const Instant now = clock_.Now();
  facts_.With([&](worth::CustomerBase& base) {
    base.set_at(now);
    base.Refit();
  });
  const auto& m = facts_.base().population().model;
  spdlog::info("worth: models refitted ({})", m.bgnbd ? "BG/NBD fitted" : m.bgnbd_note);
  metrics_.last_refit_at = now.time_since_epoch().count();
}

bool Decider::LoadBase() {
  auto base = app::LoadFacts(*store_, settings_, clock_.Now());
  if (!base) {
    spdlog::error("worth: {}", base.error().ToString());
    return false;
  }
  facts_.Set(std::move(*base));
  const auto& m = facts_.base().population().model;
  spdlog::info("worth: {} customers; {}", facts_.base().customers().size(),
               m.bgnbd ? "BG/NBD and Gamma-Gamma fitted" : "historic facts: " + m.bgnbd_note);
  return true;
}

void Decider::SetAt(Instant now) {
  facts_.With([&](worth::CustomerBase& base) { base.set_at(now); });
}

void Decider::Recorded(const app::Decided& decided) {
  const auto& decisions = decided.evaluation.decisions;
  if (decisions.empty()) return;
  metrics_.decisions += decided.recorded;
  if (spdlog::should_log(spdlog::level::debug)) {
    for (const auto& d : decisions) {
      const rules::Contact* contact = snapshot_ ? snapshot_->contacts.Find(d.customer_id) : nullptr;
      std::string customer = contact ? contact->external_id : std::to_string(d.customer_id);
      LogFields fields{{"RULE", d.rule}, {"CUSTOMER", customer}};
      spdlog::debug("decided rule={} customer={} kind={} key={}", d.rule, customer,
                    rules::DecisionKindName(d.kind), d.dedupe_key);
    }
  }
  spdlog::info("decided {} new ({} made)", decided.recorded, decisions.size());
  if (decided.recorded > 0) decided_();
}

}  // namespace followup::service
