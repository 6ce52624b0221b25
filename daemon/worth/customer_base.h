// CustomerBase: every customer's facts, computed from the store, kept in memory, and updated one
// customer at a time when a new transaction arrives. The shell around the pure facts core.
//
// Thread safety: not synchronised; one thread (the service's worth strand, or a CLI command) owns
// a CustomerBase. Reads of a const CustomerBase may happen from several threads.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/error.h"
#include "store/store.h"
#include "worth/facts.h"

namespace followup::worth {

class CustomerBase {
 public:
  // Reads every customer and transaction up to options.at, folds them into summaries, fits the
  // models and scores. `progress` (optional) hears the transactions read so far. Returns kRuntime
  // when the store fails; a model that cannot be fitted is not an error (see ValueModel notes).
  static Result<CustomerBase> Load(store::Store& store, const FactsOptions& options,
                                   const std::function<void(int64_t rows)>& progress = {});

  // A base from summaries made elsewhere (tests, benchmarks): adds referrals, fits and scores.
  static CustomerBase FromSummaries(std::vector<CustomerSummary> summaries,
                                    const FactsOptions& options);

  // Recomputes one customer's facts from the store (and their referrer's referral facts), against
  // the population and models of the last Load: what the service calls for each new transaction.
  // A customer the base has not seen yet is added. kNotFound when the store does not know it.
  Result<void> Update(store::Store& store, int64_t customer_id);

  // Refits the models and score cut points over the current summaries (the nightly refit), and
  // reapplies the models to everyone.
  void Refit();

  const FactsOptions& options() const { return options_; }
  // Moves the end of the observation window (facts that depend on "today" follow).
  void set_at(Instant at) { options_.at = at; }
  const Population& population() const { return population_; }
  std::span<const CustomerSummary> customers() const { return summaries_; }
  // The summary of a customer by store id, or nullptr.
  const CustomerSummary* Find(int64_t customer_id) const;
  std::optional<double> Value(const CustomerSummary& s, Fact fact) const {
    return FactValue(s, population_, options_, fact);
  }

 private:
  CustomerBase(FactsOptions options) : options_(options) {}
  CustomerSummary* FindMutable(int64_t customer_id);

  FactsOptions options_;
  std::vector<CustomerSummary> summaries_;  // sorted by customer_id
  Population population_;
};

}  // namespace followup::worth
