#include "worth/customer_base.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace followup::worth {
namespace {

struct ById {
  bool operator()(const CustomerSummary& c, int64_t id) const { return c.customer_id < id; }
};

}  // namespace

Result<CustomerBase> CustomerBase::Load(store::Store& store, const FactsOptions& options,
                                        const std::function<void(int64_t)>& progress) {
  CustomerBase base(options);
  // Customers first (ordered by id), then their transactions (ordered by customer): a merge.
  struct Meta {
    int64_t referred_by;
    std::optional<Instant> created_at;
  };
  std::vector<Meta> meta;
  if (auto counts = store.Counts()) {
    base.summaries_.reserve(static_cast<size_t>(counts->customers));
    meta.reserve(static_cast<size_t>(counts->customers));
  }
  auto customers = store.ForEachCustomer([&](const store::CustomerRow& c) {
    CustomerSummary s;
    s.customer_id = c.id;
    base.summaries_.push_back(s);
    meta.push_back({c.referred_by.value_or(0), c.created_at});
  });
  if (!customers) return tl::unexpected(customers.error());

  // Folds the transactions of summaries_[begin, end) read through `source`: a merge of two
  // id-ordered streams. Customers without transactions get their (empty) summary too.
  auto fold = [&](store::Store& source, size_t begin, size_t end, std::atomic<int64_t>& read,
                  bool report) -> Result<void> {
    if (begin >= end) return {};
    std::vector<store::TransactionRow> rows;
    size_t next = begin;
    auto fold_until = [&](int64_t customer_id) {
      for (; next < end && base.summaries_[next].customer_id <= customer_id; ++next) {
        auto& s = base.summaries_[next];
        std::span<const store::TransactionRow> mine;
        if (!rows.empty() && rows.front().customer_id == s.customer_id) mine = rows;
        s = Summarize(s.customer_id, meta[next].referred_by, meta[next].created_at, mine, options);
      }
    };
    auto scan = source.ForEachTransactionOfCustomers(
        options.at, base.summaries_[begin].customer_id, base.summaries_[end - 1].customer_id + 1,
        [&](const store::TransactionRow& t) {
          if (!rows.empty() && rows.front().customer_id != t.customer_id) {
            fold_until(rows.front().customer_id);
            rows.clear();
          }
          rows.push_back(t);
          if (++read % 65536 == 0 && report && progress) progress(read);
        });
    if (!scan) return scan;
    if (!rows.empty()) fold_until(rows.front().customer_id);
    rows.clear();
    fold_until(std::numeric_limits<int64_t>::max());
    return {};
  };
  // Two halves of the customers on two connections and two threads when the store allows it: the
  // scan is most of the work.
  std::atomic<int64_t> read{0};
  const size_t n = base.summaries_.size();
  const size_t half = n / 2;
  auto second = n > 4096 ? store.OpenAnother() : Fail(ErrorCode::kRuntime, "small store");
  if (second) {
    Result<void> other;
    std::thread helper([&] { other = fold(**second, half, n, read, false); });
    auto mine = fold(store, 0, half, read, true);
    helper.join();
    if (!mine) return tl::unexpected(mine.error());
    if (!other) return tl::unexpected(other.error());
  } else if (auto all = fold(store, 0, n, read, true); !all) {
    return tl::unexpected(all.error());
  }
  if (progress) progress(read);

  meta = {};  // freed before the fit, where memory peaks
  AddReferrals(base.summaries_);
  base.Refit();
  return base;
}

CustomerBase CustomerBase::FromSummaries(std::vector<CustomerSummary> summaries,
                                         const FactsOptions& options) {
  CustomerBase base(options);
  base.summaries_ = std::move(summaries);
  std::sort(base.summaries_.begin(), base.summaries_.end(),
            [](const CustomerSummary& a, const CustomerSummary& b) {
              return a.customer_id < b.customer_id;
            });
  AddReferrals(base.summaries_);
  base.Refit();
  return base;
}

void CustomerBase::Refit() {
  population_ = BuildPopulation(summaries_, options_);
  ApplyModelToAll(summaries_, population_, options_);
}

const CustomerSummary* CustomerBase::Find(int64_t customer_id) const {
  auto it = std::lower_bound(summaries_.begin(), summaries_.end(), customer_id, ById{});
  return it != summaries_.end() && it->customer_id == customer_id ? &*it : nullptr;
}

CustomerSummary* CustomerBase::FindMutable(int64_t customer_id) {
  return const_cast<CustomerSummary*>(Find(customer_id));
}

Result<void> CustomerBase::Update(store::Store& store, int64_t customer_id) {
  auto customer = store.FindCustomerById(customer_id);
  if (!customer) return tl::unexpected(customer.error());
  if (!*customer)
    return Fail(ErrorCode::kNotFound, "no customer with store id " + std::to_string(customer_id));
  std::vector<store::TransactionRow> rows;
  auto scan = store.ForEachTransactionOf(
      customer_id, options_.at, [&](const store::TransactionRow& t) { rows.push_back(t); });
  if (!scan) return tl::unexpected(scan.error());
  auto fresh = Summarize(customer_id, (*customer)->referred_by.value_or(0), (*customer)->created_at,
                         rows, options_);
  ApplyModel(fresh, population_, options_);
  auto it = std::lower_bound(summaries_.begin(), summaries_.end(), customer_id, ById{});
  CustomerSummary before;  // empty for a customer new to the base
  before.referred_by = fresh.referred_by;
  if (it == summaries_.end() || it->customer_id != customer_id) {
    summaries_.insert(it, fresh);
  } else {
    before = *it;
    fresh.referrals = it->referrals;
    fresh.referred_revenue = it->referred_revenue;
    *it = fresh;
  }
  // The referrer's referral facts change by the difference this customer made.
  if (auto* referrer = fresh.referred_by ? FindMutable(fresh.referred_by) : nullptr) {
    referrer->referrals += (fresh.has_purchases() ? 1 : 0) - (before.has_purchases() ? 1 : 0);
    referrer->referred_revenue = SaturatingAdd(
        referrer->referred_revenue,
        SaturatingSub(fresh.revenue - fresh.returns, before.revenue - before.returns));
  }
  return {};
}

}  // namespace followup::worth
