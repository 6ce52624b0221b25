#include "service/metrics.h"

#include <utility>
#include <vector>

#include "feedback/event.h"
#include "service/prometheus.h"

namespace followup::service {

namespace {

using Samples = std::vector<std::pair<std::map<std::string, std::string>, double>>;

Samples SequenceSamples(const Metrics::SequenceSteps& steps,
                        std::map<std::pair<std::string, std::string>, int64_t> counts) {
  Samples samples;
  auto add = [&](const std::string& rule, const std::string& step, int64_t n) {
    samples.push_back({{{"rule", rule}, {"step", step}}, double(n)});
  };
  for (const auto& [rule, names] : steps)
    for (const auto& step : names) {
      auto it = counts.find({rule, step});
      add(rule, step, it == counts.end() ? 0 : it->second);
      if (it != counts.end()) counts.erase(it);
    }
  for (const auto& [key, n] : counts) add(key.first, key.second, n);
  return samples;
}

// followup_feedback_events_total and followup_complaint_rate.
std::string FeedbackText(const store::FeedbackCounts& counts) {
  auto events = counts.events;
  // Every source with every type acted on, 0 where none: a series that appears only with its
  // first event cannot be alerted on.
  using feedback::Source;
  for (Source source : {Source::kPostmark, Source::kSes, Source::kSendGrid, Source::kMailgun,
                        Source::kGeneric, Source::kDsn, Source::kArf})
    for (auto action : {store::FeedbackAction::kHardBounce, store::FeedbackAction::kSoftBounce,
                        store::FeedbackAction::kComplaint, store::FeedbackAction::kUnsubscribe})
      events.try_emplace({std::string(feedback::SourceName(source)),
                          std::string(store::FeedbackActionName(action))},
                         0);
  Samples samples;
  for (const auto& [key, n] : events)
    samples.push_back({{{"source", key.first}, {"type", key.second}}, double(n)});
  std::string out = PrometheusMetric(
      "followup_feedback_events_total", "counter",
      "Bounces, complaints and unsubscribes recorded after the send, by any process, by source "
      "and type.",
      samples);
  const double rate = counts.recent_sends == 0
                          ? 0.0
                          : double(counts.recent_complained) / double(counts.recent_sends);
  out += PrometheusMetric("followup_complaint_rate", "gauge",
                          "Complained among the latest " + std::to_string(kComplaintRateSends) +
                              " sends (sent, bounced or complained, by sent time); 0 when there "
                              "are none.",
                          {{{}, rate}});
  return out;
}

// Decisions take milliseconds to minutes (a full pass over millions of customers); a send is
// accepted seconds after its decision, or hours and days later when it waits for quiet hours,
// the contact cap or retries.
const std::vector<double> kDecisionBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                             2.5,   5,    10,    30,   60,  300,  900};
const std::vector<double> kSendBounds = {1,    5,     15,    60,    300,    900,
                                         3600, 14400, 43200, 86400, 259200, 604800};

}  // namespace

Metrics::Metrics() : send_latency_(kSendBounds) {}

void Metrics::ObserveDecision(const std::string& job, double seconds) {
  std::lock_guard lock(mutex_);
  decision_seconds_.try_emplace(job, kDecisionBounds).first->second.Observe(seconds);
}

void Metrics::CountSend(const std::string& rule, store::DeliveryStatus status,
                        std::optional<double> latency_seconds) {
  std::lock_guard lock(mutex_);
  ++rule_sends_[{rule, std::string(store::DeliveryStatusName(status))}];
  if (latency_seconds) send_latency_.Observe(*latency_seconds);
}

std::string Metrics::LatencyAndRuleText(
    const std::map<std::pair<std::string, std::string>, int64_t>& stored) const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::map<std::string, std::string>, Histogram>> decisions;
  // Both jobs always, so that an alert on either has a series from the start.
  for (const std::string job : {"full_pass", "new_rows"}) {
    auto it = decision_seconds_.find(job);
    decisions.push_back(
        {{{"job", job}}, it == decision_seconds_.end() ? Histogram(kDecisionBounds) : it->second});
  }
  std::string out = PrometheusHistogram(
      "followup_decision_latency_seconds",
      "From seeing new rows (job new_rows) or starting a full pass (full_pass) to their decisions "
      "stored.",
      decisions);
  out += PrometheusHistogram(
      "followup_send_latency_seconds",
      "From a message's decision to the server accepting it (waits for quiet hours, the contact "
      "cap and retries included).",
      {{{}, send_latency_}});
  auto sends = rule_sends_;
  sends.insert(stored.begin(), stored.end());  // bounced and complained: never counted here
  Samples rules;
  for (const auto& [key, n] : sends)
    rules.push_back({{{"rule", key.first}, {"status", key.second}}, double(n)});
  out += PrometheusMetric("followup_rule_sends_total", "counter",
                          "Delivery outcomes by this process, by rule and outcome; bounced and "
                          "complained: the rule's sends a hard bounce or a complaint was recorded "
                          "for, by any process.",
                          rules);
  return out;
}

void Metrics::SetSequenceSteps(SequenceSteps steps) {
  std::lock_guard lock(mutex_);
  sequence_steps_ = std::move(steps);
}

Metrics::SequenceSteps Metrics::sequence_steps() const {
  std::lock_guard lock(mutex_);
  return sequence_steps_;
}

std::string MetricsText(const Metrics& m, const StoreCounts& counts) {
  const auto& outbox = counts.outbox;
  std::string out = PrometheusMetric("followup_build_info", "gauge",
                                     "Always 1; the labels say which followupd this is.",
                                     {{{{"version", FOLLOWUP_VERSION}}, 1}});
  out += PrometheusMetric("followup_decisions_total", "counter",
                          "Decisions recorded by this process.", {{{}, double(m.decisions)}});
  out += PrometheusMetric("followup_sends_total", "counter",
                          "Delivery attempts by this process, by outcome.",
                          {{{{"status", "sent"}}, double(m.sent)},
                           {{{"status", "deferred"}}, double(m.deferred)},
                           {{{"status", "failed"}}, double(m.failed)},
                           {{{"status", "suppressed"}}, double(m.suppressed)}});
  if (outbox) {
    Samples rows;
    // Every status, those with no rows at 0: a series that appears only once it is non-zero
    // cannot be alerted on.
    for (const auto& [status, name] : store::kDeliveryStatusNames) {
      auto n = outbox->find(status);
      rows.push_back(
          {{{"status", std::string(name)}}, n == outbox->end() ? 0.0 : double(n->second)});
    }
    out += PrometheusMetric("followup_outbox", "gauge", "Outbox rows by status.", rows);
  }
  if (counts.sequence_steps) {
    auto samples = SequenceSamples(m.sequence_steps(), *counts.sequence_steps);
    if (!samples.empty())
      out += PrometheusMetric("followup_sequence_customers", "gauge",
                              "Customers in flight in each sequence, by the step they wait for.",
                              samples);
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
  out += PrometheusMetric(
      "followup_last_success_timestamp_seconds", "gauge",
      "When the last full pass was recorded, the last drain tried everything due, and the models "
      "were last refitted (0: not yet).",
      {{{{"job", "full_pass"}}, double(m.last_full_pass_at.load())},
       {{{"job", "drain"}}, double(m.last_drain_at.load())},
       {{{"job", "refit"}}, double(m.last_refit_at.load())}});
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
  if (const auto& feedback = counts.feedback) {
    out += FeedbackText(*feedback);
    out += m.LatencyAndRuleText(feedback->rule_sends);
  } else {
    out += m.LatencyAndRuleText();
  }
  return out;
}

}  // namespace followup::service
