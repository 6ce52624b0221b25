// The global contact policy (config `contact_policy`): the one definition, with its defaults, that
// the config reads into and the decision engine (rules/engine.h) applies. Header only: the engine
// uses the struct without the config reader.
#pragma once

#include <chrono>

namespace followup {

// Across all rules: how often one customer may be contacted, and when not.
struct ContactPolicy {
  int max_contacts = 1;                 // per customer per `per`; 0 = no cap
  std::chrono::seconds per{7 * 86400};  // "7d" in the file
  // Quiet hours in the customer's time zone, "21:00-08:00" in the file ("" = none): a decision made
  // then waits until they end. Minutes after local midnight; start == end means none.
  int quiet_start_minute = 21 * 60;
  int quiet_end_minute = 8 * 60;
  // How far back event triggers (purchases, returns, referrals) are picked up: a daemon that was
  // down this long still acts on them once; dedupe keys make sure never twice.
  std::chrono::seconds event_lookback{7 * 86400};
};

}  // namespace followup
