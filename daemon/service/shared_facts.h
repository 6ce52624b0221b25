// The customer base the decision and delivery threads share, and its lock (docs/architecture.md,
// the daemon's threads). The decision thread alone changes it, holding the lock exclusively (Set,
// With); it may read it without the lock (base()), since nobody else writes. Any other thread
// reads a customer's facts only through Lookup(), which takes the lock shared.
#pragma once

#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "delivery/composer.h"
#include "worth/customer_base.h"

namespace followup::service {

class SharedFacts {
 public:
  // Decision thread.
  void Set(worth::CustomerBase base) {
    std::unique_lock lock(mutex_);
    base_ = std::move(base);
  }
  // Decision thread: `change(base)` with the lock held exclusively. Set first.
  template <typename Change>
  auto With(Change&& change) {
    std::unique_lock lock(mutex_);
    return change(*base_);
  }
  // Decision thread, after Set.
  const worth::CustomerBase& base() const { return *base_; }
  bool loaded() const { return base_.has_value(); }

  // Any thread: a recipient's facts, read under the shared lock (none before Set). The lookup
  // borrows this.
  delivery::FactsLookup Lookup();

 private:
  std::optional<worth::CustomerBase> base_;
  std::shared_mutex mutex_;
};

}  // namespace followup::service
