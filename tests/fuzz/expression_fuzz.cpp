// Fuzzes the audience expression language: compile any text, and evaluate what compiles over
// customers whose facts are undefined, ordinary, or extreme.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include "fuzz_util.h"
#include "rules/expression.h"

namespace followup::fuzz {
namespace {

constexpr std::array<double, 12> kValues = {0.0,
                                            -0.0,
                                            1.0,
                                            -1.0,
                                            0.3,
                                            3.0,
                                            90.0,
                                            1e9,
                                            -1e300,
                                            1e308,
                                            std::numeric_limits<double>::denorm_min(),
                                            std::numeric_limits<double>::max()};

// Facts of one made-up customer (every fact undefined when `shift` < 0), counting the reads: the
// contract is at most one read per fact, and only of facts the expression declares.
class Facts final : public rules::FactSource {
 public:
  Facts(const rules::Expression& e, int shift) : expression_(e), shift_(shift) {}

  std::optional<double> Get(worth::Fact fact) const override {
    auto declared = expression_.facts();
    bool known = false;
    for (auto f : declared) known = known || f == fact;
    Check(known, "Evaluate read a fact the expression does not declare", expression_.text());
    auto& reads = reads_[static_cast<size_t>(fact)];
    Check(++reads == 1, "Evaluate read a fact twice", expression_.text());
    if (shift_ < 0) return std::nullopt;
    return kValues[(static_cast<size_t>(fact) + static_cast<size_t>(shift_)) % kValues.size()];
  }
  void Reset() { reads_.fill(0); }

 private:
  const rules::Expression& expression_;
  int shift_;
  mutable std::array<int, 64> reads_{};
};

}  // namespace
}  // namespace followup::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = rules::Expression::Compile(text, Location{"rules/fuzz.yaml", 7, 10}, 5);
  if (!compiled) {
    fuzz::Check(compiled.error().where.line >= 7 && compiled.error().where.column >= 1,
                "an error points before its text", compiled.error().message);
    return 0;
  }
  for (int shift = -1; shift < 4; ++shift) {
    fuzz::Facts facts(*compiled, shift);
    auto value = compiled->Evaluate(facts);
    fuzz::Check(!value || !std::isnan(*value), "Evaluate gave NaN rather than null", text);
    facts.Reset();
    bool matches = compiled->Matches(facts);
    fuzz::Check(matches == (value && *value != 0), "Matches disagrees with Evaluate", text);
  }
  return 0;
}
