// The Prometheus text exposition format (version 0.0.4), for /metrics.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace followup::service {

// One metric family in the Prometheus text exposition format (version 0.0.4):
//
//   # HELP NAME HELP
//   # TYPE NAME TYPE
//   NAME{label="value",...} VALUE     (one line per sample; no braces when it has no labels)
//
// HELP escapes '\' and newline; label values escape '\', '"' and newline. Characters not allowed
// in a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or a label name ([a-zA-Z_][a-zA-Z0-9_]*) become '_'.
// Values: integers up to 2^53 in plain digits, other numbers in the shortest form that reads back
// exactly, NaN, +Inf and -Inf. `type` is counter, gauge, untyped, ... (written as given). Pure.
std::string PrometheusMetric(
    std::string_view name, std::string_view type, std::string_view help,
    const std::vector<std::pair<std::map<std::string, std::string>, double>>& samples);

// A histogram's buckets as Prometheus counts them: counts[i] observations at most bounds[i]
// (cumulative), and every observation in `count` and `sum` (the +Inf bucket). Not thread-safe:
// callers guard it.
struct Histogram {
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);

  std::vector<double> bounds;    // ascending, finite
  std::vector<uint64_t> counts;  // cumulative, one per bound
  uint64_t count = 0;
  double sum = 0;
};

// One histogram family: for each labelled histogram the lines NAME_bucket{...,le="B"} for every
// bound and le="+Inf", NAME_sum{...} and NAME_count{...}, after the HELP and TYPE lines. Pure.
std::string PrometheusHistogram(
    std::string_view name, std::string_view help,
    const std::vector<std::pair<std::map<std::string, std::string>, Histogram>>& histograms);

}  // namespace followup::service
