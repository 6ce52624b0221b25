// The delivery thread's work (docs/architecture.md, the daemon's threads): its own store
// connection, the transport and the composer. The daemon runs Drain as a job on the delivery
// strand, when decisions were recorded and every few seconds (deferred sends falling due), so
// deciding never waits for a delivery round; tests call it directly.
//
//   Start   store opened, delivery taken when no other process holds it (else at a later drain),
//           sends a crash left `sending` requeued, transport and composer set up
//   Drain   every send due at the clock's now, every outcome recorded and counted; while
//           delivery is paused by the sender's failure (delivery/pause.h), nothing until the
//           pause's next try is due. A pause is logged when it begins and when it ends, and shown
//           in the metrics (delivery_paused, sender_failures, the note /healthz gives)
//   Stop    (any thread) bounds the drain in flight: no further round is claimed, the transport
//           starts no further message (those go back to `queued`), and the transfers on the wire
//           end within one delivery.timeout
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "app/deliver.h"
#include "app/settings.h"
#include "base/time.h"
#include "delivery/pause.h"
#include "service/metrics.h"
#include "store/store.h"

namespace followup::service {

class Deliverer {
 public:
  // Borrows everything; the composer reads recipients' facts through `facts`.
  Deliverer(const app::Settings& settings, const Clock& clock, Metrics& metrics,
            delivery::FactsLookup facts);

  // The exit status on failure (3: store or transport), else nullopt.
  std::optional<int> Start();
  // Reads the bounce folder when one is configured (app/bounces.h), then sends what is due. The
  // folder is read by the process that delivers, paused or not.
  void Drain();
  void Stop();

 private:
  const app::Settings& settings_;
  const Clock& clock_;
  Metrics& metrics_;
  delivery::FactsLookup facts_;
  std::atomic<bool> stopping_{false};
  bool Own();
  void Paused(const delivery::DrainSummary& done);
  void Resumed();
  void ReadBounces();

  bool owned_ = false;        // delivery for the store is this process's (Store::OwnDelivery)
  int64_t waiting_for_ = -1;  // the other owner last reported, -1 when none was
  bool requeue_ = false;      // the last drain failed on the store, or delivery was just taken
  std::optional<app::Pause> paused_;  // the operator's pause, as last read
  std::unique_ptr<store::Store> store_;
  std::optional<app::Delivery> delivery_;
  delivery::DeliveryPause pause_;
};

}  // namespace followup::service
