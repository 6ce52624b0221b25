// Shared by the commands that show customer facts: loading the customer base (with progress on a
// terminal) and formatting facts for people and for scripts.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/command.h"
#include "worth/customer_base.h"

namespace followup::cli {

using Json = nlohmann::ordered_json;

// Loads every customer's facts from the store; progress on stderr when it is a terminal.
Result<worth::CustomerBase> LoadBase(Env& env);
// A fact's value for a person: money to the currency's digits, times ISO, "-" when undefined.
std::string FactText(const worth::FactInfo& info, std::optional<double> v, int exponent);
// A fact's value for JSON: money rounded to the currency, times as ISO strings, null if undefined.
Json FactJson(const worth::FactInfo& info, std::optional<double> v, int exponent);
// {"id": external_id, every fact...}
Json FactsJson(const worth::CustomerBase& base, const worth::CustomerSummary& s,
               const std::string& external_id);
// One line on how the forward-looking facts were made (models, or the historic fallback).
std::string ModelLine(const worth::ValueModel& m);

}  // namespace followup::cli
