// What the bench programs share: a fatal error, and nearest-rank percentiles.
#pragma once

#include <errno.h>  // program_invocation_short_name (glibc)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace followup::bench {

// "delivery_bench: what" on stderr, exit status 1.
[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::exit(1);
}

// The nearest-rank percentile (0 < p <= 100) of v; `if_empty` when v is empty.
inline double Percentile(std::vector<double> v, double p, double if_empty = NAN) {
  if (v.empty()) return if_empty;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

}  // namespace followup::bench
