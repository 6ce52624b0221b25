// The daemon's counters and their Prometheus text for /metrics (docs/architecture.md, the rooms of
// the service). Any thread adds to them (atomics); the desk reads them with the outbox counts.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "service/prometheus.h"
#include "store/store.h"

namespace followup::service {

struct Metrics {
  Metrics();
  std::atomic<int64_t> decisions{0};
  std::atomic<int64_t> sent{0}, deferred{0}, failed{0}, suppressed{0};
  std::atomic<int64_t> reloads_ok{0}, reloads_failed{0};
  std::atomic<int> last_reload_ok{1};
  std::atomic<double> last_full_pass_seconds{0};
  std::atomic<double> last_evaluation_seconds{0};
  // When (seconds since the epoch, the daemon's Clock) the last full pass was recorded, the last
  // drain tried everything due, and the models were last refitted; 0 until then.
  std::atomic<int64_t> last_full_pass_at{0};
  std::atomic<int64_t> last_drain_at{0};
  std::atomic<int64_t> last_refit_at{0};
  // Seconds since the epoch (the daemon's Clock) when the decision thread last finished a job.
  std::atomic<int64_t> heartbeat{0};
  // The same for the delivery thread while it drains: set when a drain starts and at every
  // recorded outcome. Idle (not draining), it is not expected to beat.
  std::atomic<int64_t> delivery_heartbeat{0};
  std::atomic<bool> delivering{false};
  // This process holds delivery for the store (docs/delivery.md, one deliverer per store).
  std::atomic<bool> delivery_owned{false};
  // Delivery paused by the sender's failure (delivery/pause.h), and the tries that failed so.
  std::atomic<bool> delivery_paused{false};
  std::atomic<int64_t> sender_failures{0};
  // Delivery paused by the operator (followupd queue pause).
  std::atomic<bool> delivery_paused_by_operator{false};

  // What /healthz says of the pause (the delivery thread writes, the loop reads); "" when none.
  void SetPauseNote(std::string note) {
    std::lock_guard lock(pause_mutex_);
    pause_note_ = std::move(note);
  }
  std::string PauseNote() const {
    std::lock_guard lock(pause_mutex_);
    return pause_note_;
  }

  // How long the decision thread took from seeing new rows (job "new_rows") or starting a full
  // pass ("full_pass") until their decisions were stored, in seconds.
  void ObserveDecision(const std::string& job, double seconds);
  // For a message the server accepted: its outcome under its rule, and the time from its decision
  // to the server's acceptance (the daemon's Clock), retries and waits for quiet hours included.
  // Every other outcome is counted under its rule only.
  void CountSend(const std::string& rule, store::DeliveryStatus status,
                 std::optional<double> latency_seconds);
  // The families the three above fill, in the text exposition format; `stored` adds the store's
  // counts to followup_rule_sends_total (the sends that bounced or drew a complaint, by (rule,
  // status), FeedbackCounts::rule_sends).
  std::string LatencyAndRuleText(
      const std::map<std::pair<std::string, std::string>, int64_t>& stored = {}) const;

  // The steps of every sequence in the rules in force, in order: the decision thread sets them at
  // start and at every accepted reload, so that /metrics shows a step nobody waits for as 0.
  using SequenceSteps = std::vector<std::pair<std::string, std::vector<std::string>>>;
  void SetSequenceSteps(SequenceSteps steps);
  SequenceSteps sequence_steps() const;

 private:
  mutable std::mutex pause_mutex_;
  std::string pause_note_;
  mutable std::mutex mutex_;
  SequenceSteps sequence_steps_;  // guarded by mutex_
  // Guarded by mutex_.
  std::map<std::string, Histogram> decision_seconds_;  // by job
  Histogram send_latency_;
  std::map<std::pair<std::string, std::string>, int64_t> rule_sends_;  // (rule, status) -> n
};

// What /metrics reads from the store (on the desk); nullopt where the store failed.
struct StoreCounts {
  std::optional<std::map<store::DeliveryStatus, int64_t>> outbox;
  // Customers in flight by (rule, the step they wait for): Store::SequenceStepCounts.
  std::optional<std::map<std::pair<std::string, std::string>, int64_t>> sequence_steps;
  // The feedback every process recorded: Store::CountFeedback(kComplaintRateSends).
  std::optional<store::FeedbackCounts> feedback;
};

// How many of the latest sends followup_complaint_rate looks at.
inline constexpr int64_t kComplaintRateSends = 1000;

// The /metrics body: the counters; the outbox rows by status and the customers in each sequence
// step when the store gave them (every step of the sequences in force, 0 where nobody is, and
// any other step customers still wait for, e.g. of a sequence no longer loaded); and from the
// feedback the store recorded, followup_feedback_events_total{source,type} (every source and
// acted-on type, 0 where none), the bounced and complained sends of each rule under
// followup_rule_sends_total, and followup_complaint_rate (complained among the latest sends, 0
// when there are none).
std::string MetricsText(const Metrics& m, const StoreCounts& counts);

}  // namespace followup::service
