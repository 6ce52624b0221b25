#include "service/prometheus.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>

namespace followup::service {
namespace {

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) <= 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(value));
  }
  std::array<char, 64> buffer;
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes
  return std::string(buffer.data(), end);
}

std::string SanitizedName(std::string_view name, bool allow_colon) {
  std::string out(name);
  for (size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) out[i] = '_';
  }
  if (out.empty()) out = "_";
  return out;
}

using Samples = std::vector<std::pair<std::map<std::string, std::string>, double>>;

// NAME{label="value",...} VALUE, a line per sample.
void AppendSamples(std::string& out, const std::string& metric, const Samples& samples) {
  for (const auto& [labels, value] : samples) {
    out += metric;
    if (!labels.empty()) {
      out += '{';
      bool first = true;
      for (const auto& [label, label_value] : labels) {
        if (!first) out += ',';
        first = false;
        out += SanitizedName(label, false);
        out += "=\"";
        for (char c : label_value) {
          if (c == '\\') {
            out += "\\\\";
          } else if (c == '"') {
            out += "\\\"";
          } else if (c == '\n') {
            out += "\\n";
          } else {
            out += c;
          }
        }
        out += '"';
      }
      out += '}';
    }
    out += ' ';
    out += FormatValue(value);
    out += '\n';
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds(std::move(upper_bounds)), counts(bounds.size(), 0) {}

void Histogram::Observe(double value) {
  for (size_t i = 0; i < bounds.size(); ++i)
    if (value <= bounds[i]) ++counts[i];
  ++count;
  sum += value;
}

std::string PrometheusHistogram(
    std::string_view name, std::string_view help,
    const std::vector<std::pair<std::map<std::string, std::string>, Histogram>>& histograms) {
  const std::string metric = SanitizedName(name, true);
  Samples buckets, sums, counts;
  for (const auto& [labels, h] : histograms) {
    for (size_t i = 0; i < h.bounds.size(); ++i) {
      auto with_le = labels;
      with_le["le"] = FormatValue(h.bounds[i]);
      buckets.push_back({std::move(with_le), double(h.counts[i])});
    }
    auto with_le = labels;
    with_le["le"] = "+Inf";
    buckets.push_back({std::move(with_le), double(h.count)});
    sums.push_back({labels, h.sum});
    counts.push_back({labels, double(h.count)});
  }
  // The family's HELP and TYPE once, then its three kinds of line.
  std::string out = PrometheusMetric(metric, "histogram", help, {});
  AppendSamples(out, metric + "_bucket", buckets);
  AppendSamples(out, metric + "_sum", sums);
  AppendSamples(out, metric + "_count", counts);
  return out;
}

std::string PrometheusMetric(
    std::string_view name, std::string_view type, std::string_view help,
    const std::vector<std::pair<std::map<std::string, std::string>, double>>& samples) {
  const std::string metric = SanitizedName(name, true);
  std::string out = "# HELP " + metric;
  if (!help.empty()) out += ' ';
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += "\n# TYPE " + metric + " " + std::string(type) + "\n";
  AppendSamples(out, metric, samples);
  return out;
}

}  // namespace followup::service
