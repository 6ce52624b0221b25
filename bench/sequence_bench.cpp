// Sequences in the full decide pass: the shipped rules (two of them sequences) over 1,000,000
// customers with 100,000 places in flight, against the same pass with every sequence turned back
// into a one-email rule (its first step as the action) and nobody in flight. Both run
// app::EvaluatePass, the pass the daemon makes on its snapshot (store reading and writing apart).
// Targets (issue 13): the pass with sequences within 1.5x of the one without; memory under 100
// bytes per place in flight (what the snapshot holds for it: the place and its entry in the
// history, measured as heap growth with mallinfo2).
//
//   build/bench/sequence_bench [--customers N] [--in-flight N] [--rules DIR] [--templates DIR]
// (bench/sequence_bench.sh runs it from the checkout and says which machine it ran on.)
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "app/decide.h"
#include "bench_util.h"
#include "rules/rule.h"
#include "synthetic_shop.h"

using namespace followup;

namespace {

size_t HeapInUse() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Places in flight: every (customers / n)-th customer, alternately in each sequence of `rules`,
// having had its first step 1.5 to 7.5 days before `now` (a seventh of them due for the second).
std::vector<store::SequencePlace> InFlight(const rules::RuleSet& rules, int64_t customers,
                                           int64_t n, Instant now) {
  std::vector<const rules::Rule*> sequences;
  for (const auto& r : rules.rules)
    if (r.is_sequence() && r.steps.size() >= 2) sequences.push_back(&r);
  if (sequences.empty()) bench::Die("no rule with two steps or more in the rules");
  std::vector<store::SequencePlace> places;
  places.reserve(n);
  int64_t every = std::max<int64_t>(1, customers / n);
  for (int64_t k = 0; k < n; ++k) {
    const rules::Rule& rule = *sequences[k % sequences.size()];
    store::SequencePlace p;
    p.rule = rule.name;
    p.customer_id = 1 + (k * every) % customers;
    p.entered_at = p.last_at = now - std::chrono::hours{36 + 24 * (k % 7)};
    p.occurrence = FormatInstant(p.entered_at).substr(0, 10);
    if (rule.experiment) {
      const auto& arm = rule.experiment->arms[k % 5 == 0 ? rule.experiment->arms.size() - 1 : 0];
      p.arm = arm.name;
      if (arm.control) p.kind = store::DecisionKind::kControl;
    } else if (k % 10 == 0) {
      p.kind = store::DecisionKind::kHoldout;
    }
    p.done.push_back(
        {rule.steps[0].name, p.entered_at, std::string(store::DecisionKindName(p.kind))});
    p.next_step = rule.steps[1].name;
    p.next_due = p.entered_at + rule.steps[1].wait;
    places.push_back(std::move(p));
  }
  return places;
}

// The same rules as they were before sequences: each sequence's first step as its one action.
rules::RuleSet WithoutSequences(rules::RuleSet rules) {
  for (auto& r : rules.rules) {
    if (!r.is_sequence()) continue;
    r.send = r.steps[0].send;
    r.values_json = r.steps[0].values_json;
    r.steps.clear();
  }
  return rules;
}

struct Timed {
  double best_s = 1e9;
  size_t decisions = 0, places = 0;
};

Timed Time(const rules::RuleSet& rules, const worth::CustomerBase& base,
           const app::Settings& settings, Instant now, const rules::Snapshot& snapshot,
           std::span<const store::SequencePlace> in_flight) {
  Timed t;
  for (int round = 0; round < 3; ++round) {
    auto start = std::chrono::steady_clock::now();
    auto eval = app::EvaluatePass(rules, base, settings, now, snapshot, snapshot.events, in_flight);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    t.best_s = std::min(t.best_s, s);
    t.decisions = eval.decisions.size();
    t.places = eval.places.size();
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t customers = 1'000'000, in_flight = 100'000;
  std::string rules_dir = "rules", templates_dir = "templates";
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) bench::Die(std::string(argv[i]) + " needs a value");
    if (!std::strcmp(argv[i], "--customers")) {
      customers = std::atoll(argv[i + 1]);
    } else if (!std::strcmp(argv[i], "--in-flight")) {
      in_flight = std::atoll(argv[i + 1]);
    } else if (!std::strcmp(argv[i], "--rules")) {
      rules_dir = argv[i + 1];
    } else if (!std::strcmp(argv[i], "--templates")) {
      templates_dir = argv[i + 1];
    } else {
      bench::Die(std::string("unknown option ") + argv[i]);
    }
  }
  if (customers < 1 || in_flight < 1) bench::Die("--customers and --in-flight: numbers >= 1");
  const Instant now = *ParseInstant("2026-06-30T12:00:00Z", nullptr);
  app::Settings settings;
  settings.zone = *LookupZone("UTC");
  settings.rules_dir = rules_dir;
  settings.templates_dir = templates_dir;
  settings.policy.max_contacts = 1;
  settings.policy.quiet_start_minute = settings.policy.quiet_end_minute = 0;

  auto set = rules::LoadRules(settings.RuleLoadOptions(now));
  if (!set) {
    for (const auto& e : set.error()) std::fprintf(stderr, "%s\n", e.ToString().c_str());
    return 1;
  }
  const rules::RuleSet without = WithoutSequences(*set);

  std::fprintf(stderr, "building facts for %lld customers...\n", static_cast<long long>(customers));
  auto shop = bench::MakeSyntheticShop(customers, now, settings.zone);
  rules::Snapshot snapshot;
  snapshot.contacts = rules::Contacts(std::move(shop.contacts));

  // Without sequences: nobody in flight.
  std::fprintf(stderr, "the pass without sequences...\n");
  Timed plain = Time(without, shop.base, settings, now, snapshot, {});

  // With them: the places read into the snapshot as LoadSnapshot does, their heap measured.
  malloc_trim(0);
  size_t before = HeapInUse();
  snapshot.places = InFlight(*set, customers, in_flight, now);
  size_t places_only = HeapInUse();
  rules::RememberPlaces(snapshot, snapshot.places);
  double per_place = double(HeapInUse() - before) / double(in_flight);
  double in_places = double(places_only - before) / double(in_flight);
  std::fprintf(stderr, "the pass with sequences...\n");
  Timed seq = Time(*set, shop.base, settings, now, snapshot, snapshot.places);

  size_t sequences = 0;
  for (const auto& r : set->rules) sequences += r.is_sequence();
  double ratio = seq.best_s / plain.best_s;
  std::printf("rules: %zu (%zu sequences), customers: %lld, places in flight: %lld\n",
              set->rules.size(), sequences, static_cast<long long>(customers),
              static_cast<long long>(in_flight));
  std::printf("pass without sequences: %.3f s (best of 3), %zu decisions\n", plain.best_s,
              plain.decisions);
  std::printf("pass with sequences:    %.3f s (best of 3), %zu decisions, %zu places written\n",
              seq.best_s, seq.decisions, seq.places);
  std::printf("ratio: %.2f (target <= 1.5): %s\n", ratio, ratio <= 1.5 ? "PASS" : "MISS");
  std::printf(
      "memory per place in flight: %.0f bytes (target < 100): %s; the place %.0f, its entry in "
      "the history %.0f\n",
      per_place, per_place < 100 ? "PASS" : "MISS", in_places, per_place - in_places);
  std::printf("figures: plain_s=%.3f sequences_s=%.3f ratio=%.2f bytes_per_place=%.0f\n",
              plain.best_s, seq.best_s, ratio, per_place);
  return 0;
}
