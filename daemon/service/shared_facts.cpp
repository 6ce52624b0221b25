#include "service/shared_facts.h"

namespace followup::service {

delivery::FactsLookup SharedFacts::Lookup() {
  return [this](int64_t customer_id, const std::vector<bool>& wanted) {
    std::shared_lock lock(mutex_);
    return base_ ? delivery::FactsIn(*base_)(customer_id, wanted) : delivery::FactValues();
  };
}

}  // namespace followup::service
