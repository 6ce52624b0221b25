#include "service/metrics.h"

#include <utility>
#include <vector>

#include "service/prometheus.h"

namespace followup::service {

std::string MetricsText(const Metrics& m,
                        const std::optional<std::map<store::DeliveryStatus, int64_t>>& outbox) {
  std::string out;
  out += PrometheusMetric("followup_decisions_total", "counter",
                          "Decisions recorded by this process.", {{{}, double(m.decisions)}});
  out += PrometheusMetric("followup_sends_total", "counter",
                          "Delivery attempts by this process, by outcome.",
                          {{{{"status", "sent"}}, double(m.sent)},
                           {{{"status", "deferred"}}, double(m.deferred)},
                           {{{"status", "failed"}}, double(m.failed)},
                           {{{"status", "suppressed"}}, double(m.suppressed)}});
  if (outbox) {
    std::vector<std::pair<std::map<std::string, std::string>, double>> rows;
    // Every status, those with no rows at 0: a series that appears only once it is non-zero
    // cannot be alerted on.
    for (const auto& [status, name] : store::kDeliveryStatusNames) {
      auto n = outbox->find(status);
      rows.push_back(
          {{{"status", std::string(name)}}, n == outbox->end() ? 0.0 : double(n->second)});
    }
    out += PrometheusMetric("followup_outbox", "gauge", "Outbox rows by status.", rows);
  }
  out += PrometheusMetric("followup_last_reload_success", "gauge",
                          "1 if the last reload was accepted.", {{{}, double(m.last_reload_ok)}});
  out += PrometheusMetric("followup_reloads_total", "counter", "Reloads by outcome.",
                          {{{{"outcome", "ok"}}, double(m.reloads_ok)},
                           {{{"outcome", "failed"}}, double(m.reloads_failed)}});
  out += PrometheusMetric("followup_full_pass_seconds", "gauge",
                          "Duration of the last evaluation of every rule over every customer.",
                          {{{}, m.last_full_pass_seconds.load()}});
  out += PrometheusMetric("followup_evaluation_seconds", "gauge",
                          "Duration of the last evaluation of new rows.",
                          {{{}, m.last_evaluation_seconds.load()}});
  out += PrometheusMetric("followup_delivery_owner", "gauge",
                          "1 if this process delivers for the store; 0 while another one does.",
                          {{{}, m.delivery_owned ? 1.0 : 0.0}});
  out += PrometheusMetric("followup_delivery_paused", "gauge",
                          "1 while delivery is paused by a failure of the sender's (server "
                          "unreachable, TLS, login, MAIL FROM refused, HTTP 401/403).",
                          {{{}, m.delivery_paused ? 1.0 : 0.0}});
  out += PrometheusMetric("followup_sender_failures_total", "counter",
                          "Delivery tries that ended on a failure of the sender's.",
                          {{{}, double(m.sender_failures)}});
  out += PrometheusMetric("followup_delivery_paused_by_operator", "gauge",
                          "1 while the operator has paused delivery (followupd queue pause).",
                          {{{}, m.delivery_paused_by_operator ? 1.0 : 0.0}});
  return out;
}

}  // namespace followup::service
