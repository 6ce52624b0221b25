#include "cli/pipeline.h"

#include <cstdio>

#include "cli/worth_view.h"

namespace followup::cli {

rules::LoadOptions RuleOptions(const Env& env) {
  return service::RuleOptions(env.config(), env.clock().Now(), env.zone());
}

rules::ContactPolicy PolicyFor(const Env& env) { return service::PolicyFor(env.config()); }

std::optional<rules::RuleSet> LoadCheckedRules(const Env& env) {
  auto set = service::LoadCheckedRules(env.config(), env.clock().Now(), env.zone());
  if (!set) {
    for (const auto& e : set.error()) std::fprintf(stderr, "%s\n", e.ToString().c_str());
    return std::nullopt;
  }
  return std::move(*set);
}

Result<World> LoadWorld(Env& env, rules::RuleSet set) {
  auto base = LoadBase(env);
  if (!base) return tl::unexpected(base.error());
  auto store = env.store();
  if (!store) return tl::unexpected(store.error());
  auto snap = rules::LoadSnapshot(**store, set, PolicyFor(env), env.clock().Now());
  if (!snap) return tl::unexpected(snap.error());
  return World{std::move(set), std::move(*base), std::move(*snap)};
}

rules::Evaluation EvaluateAll(const Env& env, const rules::RuleSet& set,
                              const worth::CustomerBase& base, const rules::Snapshot& snap) {
  return service::EvaluateAll(env.config(), env.zone(), env.clock().Now(), set, base, snap);
}

rules::Evaluation EvaluateWorld(const Env& env, const World& w, int64_t explain_customer) {
  return service::EvaluateAll(env.config(), env.zone(), env.clock().Now(), w.rules, w.base,
                              w.snapshot, explain_customer);
}

}  // namespace followup::cli
