// One YAML document, read strictly: the reader the config file and the rule files share. yaml-cpp
// accepts a key given twice in one mapping (it keeps both pairs, and a look-up finds the first)
// and a file of several documents (`---`); both are mistakes in a file that holds one mapping, so
// both are errors here, with FILE:LINE:COL.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace followup {

// The place of a node or a mark in `file`, 1-based.
Location YamlLocation(const std::string& file, const YAML::Mark& mark);

// Parses `text` (named `file` in errors) as one YAML document. A syntax error is appended to
// `problems` and nothing is returned. Otherwise the document is returned (a null node for an empty
// file), and a second document and every key repeated within one mapping are appended to
// `problems`, each where it is.
std::optional<YAML::Node> ReadYamlDocument(const std::string& text, const std::string& file,
                                           std::vector<Error>& problems);

}  // namespace followup
