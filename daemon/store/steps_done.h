// A sequence place's steps behind it (SequencePlace::done) as both backends store them: a JSON
// list of {"step", "at", "outcome"}, "at" in UTC seconds (docs/store.md, "sequence_places").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace followup::store {

std::string StepsDoneJson(const std::vector<StepDone>& done);
Result<std::vector<StepDone>> ParseStepsDone(std::string_view text);

}  // namespace followup::store
