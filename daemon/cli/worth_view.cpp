// Shared by the commands that show customer facts: loading the customer base with progress, and
// formatting facts for people (tables) and scripts (JSON).
#include "cli/worth_view.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "app/decide.h"
#include "base/money.h"

namespace followup::cli {

using worth::Fact;
using worth::FactType;

Result<worth::CustomerBase> LoadBase(Env& env) {
  auto store = env.store();
  if (!store) return tl::unexpected(store.error());
  bool tty = isatty(STDERR_FILENO);
  auto last = std::chrono::steady_clock::now();
  auto base = app::LoadFacts(**store, env.settings(), env.clock().Now(), [&](int64_t rows) {
    auto now = std::chrono::steady_clock::now();
    if (!tty || now - last < std::chrono::milliseconds(200)) return;
    last = now;
    std::fprintf(stderr, "\rreading transactions: %lld", static_cast<long long>(rows));
  });
  if (tty) std::fprintf(stderr, "\r\033[K");
  return base;
}

// A fact's value as text for a person.
std::string FactText(const worth::FactInfo& info, std::optional<double> v, int exponent) {
  return v ? worth::FormatFact(info, *v, exponent) : "-";
}

// A fact's value for JSON: money rounded to the currency, times as ISO strings, null if undefined.
Json FactJson(const worth::FactInfo& info, std::optional<double> v, int exponent) {
  if (!v) return nullptr;
  switch (info.type) {
    case FactType::kTime:
      return FormatInstant(Instant{std::chrono::seconds{static_cast<int64_t>(*v)}});
    case FactType::kCount:
    case FactType::kScore:
      return static_cast<int64_t>(std::llround(*v));
    case FactType::kMoney: {
      double scale = std::pow(10.0, exponent);
      return std::round(*v * scale) / scale;
    }
    default:
      return std::round(*v * 1e6) / 1e6;
  }
}

Json FactsJson(const worth::CustomerBase& base, const worth::CustomerSummary& s,
               const std::string& external_id) {
  Json line;
  line["id"] = external_id;
  int exponent = base.options().currency_exponent;
  for (const auto& info : worth::AllFacts())
    line[std::string(info.name)] = FactJson(info, base.Value(s, info.fact), exponent);
  return line;
}

// One line on how the forward-looking facts were made.
std::string ModelLine(const worth::ValueModel& m) {
  if (m.bgnbd && m.gamma_gamma) return "forward-looking facts: BG/NBD + Gamma-Gamma";
  std::string out = "forward-looking facts: ";
  if (!m.bgnbd) out += "historic fallback (purchase model not fitted: " + m.bgnbd_note + ")";
  if (!m.gamma_gamma)
    out += std::string(m.bgnbd ? "" : "; ") +
           "own average order values (spend model not fitted: " + m.gamma_gamma_note + ")";
  return out;
}

}  // namespace followup::cli
