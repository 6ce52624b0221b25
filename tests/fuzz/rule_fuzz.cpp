// Fuzzes the rule files: any text parsed as a rule's YAML; a rule that parses has its schedule and
// its audience exercised the way the engine would.
#include <cstdint>
#include <string>
#include <vector>

#include "base/time.h"
#include "fuzz_util.h"
#include "rules/rule.h"

namespace followup::fuzz {
namespace {

const rules::LoadOptions& Options() {
  static const rules::LoadOptions options = [] {
    rules::LoadOptions o;
    o.templates_dir = FOLLOWUP_SOURCE_DIR "/templates";
    o.zone = *LookupZone("Europe/Berlin");
    o.now = *ParseInstant("2026-06-30T12:00:00Z", nullptr);
    return o;
  }();
  return options;
}

class NoFacts final : public rules::FactSource {
 public:
  std::optional<double> Get(worth::Fact) const override { return std::nullopt; }
};

}  // namespace
}  // namespace followup::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace followup;
  const auto& options = fuzz::Options();
  std::vector<Error> errors;
  auto rule = rules::ParseRule(std::string(reinterpret_cast<const char*>(data), size),
                               "rules/fuzz.yaml", options, errors);
  for (const auto& e : errors)
    fuzz::Check(e.where.file == "rules/fuzz.yaml", "an error lost its file");
  if (!rule) {
    fuzz::Check(!errors.empty(), "a rule was refused without a reason");
    return 0;
  }
  fuzz::Check(errors.empty(), "a rule was accepted with errors");
  if (rule->trigger.schedule) {
    for (auto at : {options.now, options.now + std::chrono::hours(24 * 400)})
      (void)rule->trigger.schedule->LastFiring(at, options.zone);
  }
  if (rule->where) (void)rule->where->Evaluate(fuzz::NoFacts());
  return 0;
}
