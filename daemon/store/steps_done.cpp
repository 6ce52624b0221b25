#include "store/steps_done.h"

#include <nlohmann/json.hpp>

namespace followup::store {

std::string StepsDoneJson(const std::vector<StepDone>& done) {
  auto list = nlohmann::json::array();
  for (const auto& d : done)
    list.push_back(
        {{"step", d.step}, {"at", d.at.time_since_epoch().count()}, {"outcome", d.outcome}});
  return list.dump();
}

Result<std::vector<StepDone>> ParseStepsDone(std::string_view text) {
  auto list = nlohmann::json::parse(text, nullptr, false);
  if (!list.is_array())
    return RuntimeFailure("store read sequence_places: steps_done is not a JSON list");
  std::vector<StepDone> done;
  for (const auto& d : list) {
    if (!d.is_object() || !d.value("step", nlohmann::json()).is_string() ||
        !d.value("at", nlohmann::json()).is_number_integer())
      return RuntimeFailure("store read sequence_places: a step in steps_done lacks step or at");
    done.push_back({d["step"].get<std::string>(),
                    Instant{std::chrono::seconds{d["at"].get<int64_t>()}},
                    d.value("outcome", std::string())});
  }
  return done;
}

}  // namespace followup::store
