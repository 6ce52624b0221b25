// Values as the PostgreSQL backend passes them: times as UTC seconds (timestamptz in the schema),
// arrays as PostgreSQL array literals, so that a batch goes in one statement.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/time.h"

namespace followup::store::pg {

// Seconds for a timestamptz parameter. Instants beyond what PostgreSQL holds (Instant::max() as
// "no end") are clamped to its range, years 4713 BC to 294276 AD, so they compare as SQLite's
// integers do.
inline int64_t Secs(Instant t) {
  constexpr int64_t kMin = -210866803200, kMax = 9224318015999;
  return std::clamp<int64_t>(t.time_since_epoch().count(), kMin, kMax);
}
inline std::optional<int64_t> Secs(const std::optional<Instant>& t) {
  if (!t) return std::nullopt;
  return Secs(*t);
}
inline Instant At(int64_t s) { return Instant{std::chrono::seconds{s}}; }
inline std::optional<Instant> OptAt(const std::optional<int64_t>& s) {
  if (!s) return std::nullopt;
  return At(*s);
}
// A kind or status the outbox holds that this program has no name for (a newer program wrote it).
inline tl::unexpected<Error> UnknownName(std::string_view what, std::string_view name) {
  return RuntimeFailure("store read outbox: unknown " + std::string(what) + " '" +
                        std::string(name) + "' (written by a newer followupd?)");
}

inline std::optional<std::string> NonEmpty(const std::string& v) {
  return v.empty() ? std::optional<std::string>() : std::optional<std::string>(v);
}

// A PostgreSQL array literal of text values: {"a","b\"c"}.
template <typename Range>
std::string TextArray(const Range& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : std::string_view(v)) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

inline std::string IntArray(std::span<const int64_t> values) {
  std::string out = "{";
  for (int64_t v : values) {
    if (out.size() > 1) out += ',';
    out += std::to_string(v);
  }
  out += '}';
  return out;
}

// The same with NULL where a value is missing (times that are not set).
inline std::string OptIntArray(std::span<const std::optional<int64_t>> values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += v ? std::to_string(*v) : "NULL";
  }
  out += '}';
  return out;
}

}  // namespace followup::store::pg
