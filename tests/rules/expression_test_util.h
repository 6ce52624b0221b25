// Helpers shared by the expression tests (parser and evaluator): a hand-made customer, and
// compiling and evaluating in one step.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "rules/expression.h"

namespace followup::testing {

// A hand-made customer: a map from fact to value; a missing fact is undefined. Counts reads.
class MapSource : public rules::FactSource {
 public:
  MapSource() = default;
  MapSource(std::initializer_list<std::pair<const worth::Fact, std::optional<double>>> values)
      : values_(values) {}

  std::optional<double> Get(worth::Fact fact) const override {
    ++reads_[fact];
    auto it = values_.find(fact);
    return it == values_.end() ? std::nullopt : it->second;
  }
  void Set(worth::Fact fact, std::optional<double> value) { values_[fact] = value; }
  int Reads(worth::Fact fact) const { return reads_.count(fact) ? reads_.at(fact) : 0; }

 private:
  std::map<worth::Fact, std::optional<double>> values_;
  mutable std::map<worth::Fact, int> reads_;
};

inline const Location kWhere{"rules/win-back.yaml", 4, 10};

inline rules::Expression Compile(std::string_view text) {
  auto e = rules::Expression::Compile(text, kWhere);
  EXPECT_TRUE(e) << text << ": " << (e ? "" : e.error().ToString());
  return e ? *e : rules::Expression();
}

inline std::optional<double> Eval(std::string_view text,
                                  const rules::FactSource& facts = MapSource()) {
  return Compile(text).Evaluate(facts);
}

}  // namespace followup::testing
