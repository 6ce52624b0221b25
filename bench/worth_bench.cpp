// worth_bench: times the worth part on an existing store (see docs/benchmarks.md, "Customer
// worth").
//
//   worth_bench STORE_PATH [--at DATE] [--updates N] [--seed S] [--load-only]
//
// Measures, in this order:
//   load     CustomerBase::Load: every customer and transaction read, folded into summaries,
//            models fitted and applied (what `followupd customers` does first)
//   peak     the process's peak resident set size right after Load (VmHWM), in MB (10^6 bytes)
//   fit      BuildPopulation over the loaded summaries: patterns, score cut points and both fits;
//            also FitBgNbd and FitGammaGamma alone on the same patterns (median of a few runs)
//   apply    ApplyModel for every summary (on copies, a chunk at a time)
//   refit    CustomerBase::Refit (fit + apply, the nightly refit)
//   update   N CustomerBase::Update calls on random existing customers, each timed
//
// The business zone is UTC, the time unit weeks, money in cents (the defaults of an empty config).
// The last line, "figures: key=value ...", is for scripts (bench/worth_bench.sh).
// Exit 0 whether targets are met or not; non-zero only when the store cannot be read.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "base/time.h"
#include "bench_util.h"
#include "store/store.h"
#include "worth/customer_base.h"
#include "worth/facts.h"
#include "worth/model.h"

namespace {

using followup::bench::Percentile;

using followup::Instant;
using Clock = std::chrono::steady_clock;
namespace worth = followup::worth;

// Targets (the issue's): facts within 1.5x of sqlite3's GROUP BY (compared by worth_bench.sh),
// peak memory under 300 MB, both fits under 2 s on 1M customers (10 ms on CDNOW), one update under
// 1 ms.
constexpr double kPeakTargetMB = 300;
constexpr double kUpdateTargetUs = 1000;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// "1.234 s" or, under a second, "12.34 ms".
std::string Dur(double seconds) {
  char buf[32];
  if (seconds >= 1)
    std::snprintf(buf, sizeof buf, "%.3f s", seconds);
  else
    std::snprintf(buf, sizeof buf, "%.3f ms", seconds * 1e3);
  return buf;
}

// A line "Key:   N kB" of /proc/self/status, in KiB; -1 when absent.
long StatusKiB(std::string_view key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ':')
      return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return -1;
}

// Peak resident set size so far, MB (10^6 bytes): VmHWM, or getrusage's ru_maxrss without /proc.
double PeakRssMB() {
  long kib = StatusKiB("VmHWM");
  if (kib < 0) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    kib = u.ru_maxrss;
  }
  return static_cast<double>(kib) * 1024.0 / 1e6;
}
double RssMB() { return static_cast<double>(StatusKiB("VmRSS")) * 1024.0 / 1e6; }

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Runs fn at least `min_runs` times and until `budget` seconds have gone (at most `max_runs`);
// returns each run's seconds.
template <typename Fn>
std::vector<double> Repeat(Fn&& fn, int min_runs, int max_runs, double budget) {
  std::vector<double> runs;
  double total = 0;
  while (static_cast<int>(runs.size()) < max_runs &&
         (static_cast<int>(runs.size()) < min_runs || total < budget)) {
    auto start = Clock::now();
    fn();
    runs.push_back(Seconds(Clock::now() - start));
    total += runs.back();
  }
  return runs;
}

// The fits' inputs, grouped as BuildPopulation groups them: customers with a purchase on or
// before the end of the window, by (x, t_x, T); repeat buyers with a positive zbar by (x, zbar).
struct FitInputs {
  std::vector<worth::Pattern> patterns;
  std::vector<worth::SpendPattern> spend;
};
FitInputs CollectFitInputs(std::span<const worth::CustomerSummary> summaries,
                           const worth::FactsOptions& options) {
  const int64_t today = followup::LocalDay(options.at, options.zone);
  std::map<std::tuple<double, double, double>, double> patterns;
  std::map<std::pair<double, double>, double> spend;
  for (const auto& s : summaries) {
    if (!s.has_purchases() || s.first_day > today) continue;
    worth::Pattern p = worth::PatternOf(s, options);
    patterns[{p.x, p.t_x, p.T}] += 1;
    if (s.repeat_days() > 0 && s.zbar > 0) spend[{p.x, static_cast<double>(s.zbar)}] += 1;
  }
  FitInputs in;
  for (const auto& [k, count] : patterns)
    in.patterns.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), count});
  for (const auto& [k, count] : spend) in.spend.push_back({k.first, k.second, count});
  return in;
}

int Usage(const char* why) {
  if (why) std::fprintf(stderr, "worth_bench: %s\n", why);
  std::fprintf(stderr,
               "usage: worth_bench STORE_PATH [--at DATE] [--updates N] [--seed S] [--load-only]\n"
               "  STORE_PATH   a followup SQLite store (sqlite:PATH or PATH)\n"
               "  --at DATE    end of the observation window, YYYY-MM-DD[THH:MM:SS] in UTC "
               "(default: now)\n"
               "  --updates N  incremental updates to time (default 1000)\n"
               "  --seed S     seed for picking the updated customers (default 1)\n"
               "  --load-only  stop after Load (for memory profilers)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, at_text;
  long updates = 1000;
  unsigned long long seed = 1;
  bool load_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "-h" || arg == "--help") {
      Usage(nullptr);
      return 0;
    } else if (arg == "--at") {
      const char* v = value();
      if (!v) return Usage("--at needs a date");
      at_text = v;
    } else if (arg == "--updates") {
      const char* v = value();
      char* end = nullptr;
      if (v) updates = std::strtol(v, &end, 10);
      if (!v || *end || updates < 0) return Usage("--updates needs a number >= 0");
    } else if (arg == "--load-only") {
      load_only = true;
    } else if (arg == "--seed") {
      const char* v = value();
      char* end = nullptr;
      if (v) seed = std::strtoull(v, &end, 10);
      if (!v || *end) return Usage("--seed needs a number");
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage(("unknown option " + std::string(arg)).c_str());
    } else if (path.empty()) {
      path = arg;
    } else {
      return Usage("one store path only");
    }
  }
  if (path.empty()) return Usage("no store path");

  auto zone = followup::LookupZone("UTC");
  if (!zone) return Usage(zone.error().message.c_str());
  worth::FactsOptions options;
  options.zone = *zone;
  options.at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  if (!at_text.empty()) {
    auto at = followup::ParseInstant(at_text, *zone);
    if (!at) return Usage(("--at: " + at.error().message).c_str());
    options.at = *at;
  }

  auto store = followup::store::Store::Open(path);
  if (!store) {
    std::fprintf(stderr, "worth_bench: %s\n", store.error().ToString().c_str());
    return 3;
  }
  const double rss_before = RssMB();

  // Load calls `progress` a last time when every transaction is folded, before the referrals, the
  // fit and the apply pass: the time of that call splits Load in two.
  int64_t rows = 0;
  auto load_start = Clock::now();
  auto scanned = load_start;
  auto loaded = worth::CustomerBase::Load(**store, options, [&](int64_t n) {
    rows = n;
    scanned = Clock::now();
  });
  const auto load_end = Clock::now();
  const double load_s = Seconds(load_end - load_start);
  const double scan_s = Seconds(scanned - load_start);
  if (!loaded) {
    std::fprintf(stderr, "worth_bench: load: %s\n", loaded.error().ToString().c_str());
    return 3;
  }
  const double peak_load = PeakRssMB();
  const double rss_after = RssMB();
  auto& base = *loaded;
  const auto summaries = base.customers();
  const auto& model = base.population().model;

  std::printf("worth_bench: %s, at %s\n", path.c_str(),
              followup::FormatInstant(options.at).c_str());
  std::printf("  %zu customers (%lld with a purchase), %lld transactions read\n", summaries.size(),
              static_cast<long long>(model.customers), static_cast<long long>(rows));
  std::printf("  BG/NBD: %s; Gamma-Gamma: %s; %lld patterns, %lld spend patterns\n",
              model.bgnbd ? "fitted" : model.bgnbd_note.c_str(),
              model.gamma_gamma ? "fitted" : model.gamma_gamma_note.c_str(),
              static_cast<long long>(model.patterns), static_cast<long long>(model.spend_patterns));
  if (model.bgnbd)
    std::printf("  BG/NBD r=%.4g alpha=%.4g a=%.4g b=%.4g (weeks)\n", model.bgnbd->r,
                model.bgnbd->alpha, model.bgnbd->a, model.bgnbd->b);
  if (model.gamma_gamma)
    std::printf("  Gamma-Gamma p=%.4g q=%.4g v=%.4g\n", model.gamma_gamma->p, model.gamma_gamma->q,
                model.gamma_gamma->v);
  std::printf("load (CustomerBase::Load: every fact of every customer): %.3f s, %.2f M rows/s\n",
              load_s, load_s > 0 ? static_cast<double>(rows) / load_s / 1e6 : 0.0);
  std::printf("  of which read + summarize: %.3f s; referrals + fit + apply (Refit): %.3f s\n",
              scan_s, load_s - scan_s);
  std::printf(
      "  peak RSS after load: %.1f MB (target < %.0f MB: %s); RSS %.1f MB before load, "
      "%.1f MB after; summaries %.1f MB (%zu bytes each)\n",
      peak_load, kPeakTargetMB, peak_load < kPeakTargetMB ? "PASS" : "MISS", rss_before, rss_after,
      static_cast<double>(summaries.size() * sizeof(worth::CustomerSummary)) / 1e6,
      sizeof(worth::CustomerSummary));
  if (load_only) return 0;

  // The fit: BuildPopulation as Refit calls it, then the two optimisers alone.
  // Small stores fit in milliseconds: more runs for a steadier median.
  const bool small = summaries.size() < 100000;
  auto population_runs = Repeat(
      [&] {
        auto p = worth::BuildPopulation(summaries, options);
        if (p.model.customers < 0) std::abort();  // keep the call
      },
      small ? 20 : 3, small ? 200 : 5, small ? 0.5 : 3.0);
  const double fit_s = Median(population_runs);
  FitInputs inputs = CollectFitInputs(summaries, options);
  auto bgnbd_runs = Repeat(
      [&] {
        auto fit = worth::FitBgNbd(inputs.patterns);
        if (fit && fit->r < 0) std::abort();
      },
      small ? 20 : 3, small ? 200 : 5, small ? 0.5 : 3.0);
  auto gg_runs = Repeat(
      [&] {
        auto fit = worth::FitGammaGamma(inputs.spend);
        if (fit && fit->p < 0) std::abort();
      },
      small ? 20 : 3, small ? 200 : 5, small ? 0.5 : 3.0);
  const double bgnbd_s = Median(bgnbd_runs), gg_s = Median(gg_runs);
  std::printf(
      "fit (BuildPopulation: patterns, cut points, BG/NBD + Gamma-Gamma): %s, median of %zu "
      "(targets: < 2 s on 1M customers, < 10 ms on the CDNOW sample)\n",
      Dur(fit_s).c_str(), population_runs.size());
  std::printf(
      "  FitBgNbd alone: %s over %zu patterns; FitGammaGamma alone: %s over %zu spend "
      "patterns; both: %s\n",
      Dur(bgnbd_s).c_str(), inputs.patterns.size(), Dur(gg_s).c_str(), inputs.spend.size(),
      Dur(bgnbd_s + gg_s).c_str());

  // ApplyModel for everyone, on copies (a chunk at a time, so memory stays flat).
  Clock::duration apply{};
  {
    std::vector<worth::CustomerSummary> chunk;
    const auto& population = base.population();
    for (size_t i = 0; i < summaries.size(); i += 65536) {
      size_t n = std::min<size_t>(65536, summaries.size() - i);
      chunk.assign(summaries.begin() + static_cast<ptrdiff_t>(i),
                   summaries.begin() + static_cast<ptrdiff_t>(i + n));
      auto start = Clock::now();
      for (auto& s : chunk) worth::ApplyModel(s, population, options);
      apply += Clock::now() - start;
    }
  }
  const double apply_s = Seconds(apply);
  std::printf("apply (ApplyModel for every customer): %.3f s, %.2f us a customer\n", apply_s,
              summaries.empty() ? 0.0 : apply_s * 1e6 / static_cast<double>(summaries.size()));
  auto refit_start = Clock::now();
  base.Refit();
  const double refit_s = Seconds(Clock::now() - refit_start);
  std::printf("refit (CustomerBase::Refit = fit + apply): %.3f s\n", refit_s);

  // Incremental updates on random existing customers.
  std::vector<double> update_us;
  if (updates > 0 && !summaries.empty()) {
    std::vector<int64_t> ids;
    ids.reserve(summaries.size());
    for (const auto& s : base.customers()) ids.push_back(s.customer_id);
    std::mt19937_64 rng(seed);
    update_us.reserve(static_cast<size_t>(updates));
    for (long i = 0; i < updates; ++i) {
      int64_t id = ids[rng() % ids.size()];
      auto start = Clock::now();
      auto r = base.Update(**store, id);
      update_us.push_back(Seconds(Clock::now() - start) * 1e6);
      if (!r) {
        std::fprintf(stderr, "worth_bench: update %lld: %s\n", static_cast<long long>(id),
                     r.error().ToString().c_str());
        return 3;
      }
    }
    double sum = 0;
    for (double u : update_us) sum += u;
    std::printf(
        "update (CustomerBase::Update, random existing customers): %zu calls, median %.1f us, "
        "p99 %.1f us, max %.1f us, mean %.1f us (target median < %.0f us: %s)\n",
        update_us.size(), Median(update_us), Percentile(update_us, 99, 0),
        *std::max_element(update_us.begin(), update_us.end()),
        sum / static_cast<double>(update_us.size()), kUpdateTargetUs,
        Median(update_us) < kUpdateTargetUs ? "PASS" : "MISS");
  }
  const double peak_all = PeakRssMB();
  std::printf("  peak RSS of the whole run: %.1f MB\n", peak_all);

  std::printf(
      "figures: customers=%zu rows=%lld load_s=%.4f scan_s=%.4f peak_load_mb=%.1f "
      "peak_mb=%.1f fit_s=%.6f bgnbd_s=%.6f gamma_gamma_s=%.6f apply_s=%.4f refit_s=%.4f "
      "update_median_us=%.1f update_p99_us=%.1f bgnbd=%d gamma_gamma=%d\n",
      summaries.size(), static_cast<long long>(rows), load_s, scan_s, peak_load, peak_all, fit_s,
      bgnbd_s, gg_s, apply_s, refit_s, Median(update_us), Percentile(update_us, 99, 0),
      model.bgnbd ? 1 : 0, model.gamma_gamma ? 1 : 0);
  return 0;
}
