#include "rules/sequence_report.h"

#include <algorithm>
#include <iterator>

namespace followup::rules {
namespace {

bool IsDecided(const std::string& outcome) {
  return outcome == "send" || outcome == "holdout" || outcome == "control";
}

StepReport& StepOf(SequenceReport& report, const std::string& name) {
  for (auto& s : report.steps)
    if (s.step == name) return s;
  report.steps.emplace_back().step = name;
  return report.steps.back();
}

}  // namespace

SequenceReport ReportSequence(std::span<const std::string> step_names,
                              std::span<const ReportedEntry> entries, std::chrono::seconds window,
                              Instant now) {
  SequenceReport report;
  for (const auto& name : step_names) report.steps.emplace_back().step = name;
  for (const auto& entry : entries) {
    const auto& place = *entry.place;
    const bool held_out = place.kind != store::DecisionKind::kSend;
    ++report.entered;
    // The entry's contacts, in order: (time, step).
    std::vector<std::pair<Instant, const std::string*>> contacts;
    const std::string* last_decided = nullptr;
    for (const auto& done : place.done) {
      auto& step = StepOf(report, done.step);
      if (!IsDecided(done.outcome)) {
        ++step.skipped;
        continue;
      }
      last_decided = &done.step;
      if (held_out) {
        ++step.held_out;
        contacts.emplace_back(done.at, &done.step);
        continue;
      }
      ++step.decided;
      auto status = entry.status.find(done.step);
      if (status == entry.status.end()) continue;
      if (status->second == store::DeliveryStatus::kBounced) ++step.bounced;
      if (status->second == store::DeliveryStatus::kComplained) ++step.complained;
      if (Arrived(status->second)) {
        ++step.sent;
        contacts.emplace_back(done.at, &done.step);
      }
    }
    if (!place.ended_at) {
      ++report.in_flight;
    } else if (place.end_reason == "completed") {
      ++report.completed;
    } else {
      ++report.exits[place.end_reason];
      if (last_decided)
        ++StepOf(report, *last_decided).exits[place.end_reason];
      else
        ++report.exits_before_first_step;
    }
    if (contacts.empty()) continue;
    int64_t revenue = 0;
    const std::string* credited = nullptr;
    for (const auto& purchase : entry.purchases) {
      // The latest contact strictly before the purchase.
      auto after = std::lower_bound(contacts.begin(), contacts.end(), purchase.at,
                                    [](const auto& c, Instant at) { return c.first < at; });
      if (after == contacts.begin()) continue;
      const auto& contact = *std::prev(after);
      if (purchase.at > contact.first + window) continue;
      if (!credited) credited = contact.second;
      revenue += purchase.amount;
    }
    if (credited) {
      auto& step = StepOf(report, *credited);
      ++(held_out ? step.converted_held_out : step.converted);
    }
    auto& group = held_out ? report.held_out : report.contacted;
    if (!place.ended_at || contacts.back().first + window > now) {
      ++group.window_open;
      continue;
    }
    ++group.entries;
    group.revenue.push_back(revenue);
    if (credited) ++group.converted;
  }
  return report;
}

}  // namespace followup::rules
