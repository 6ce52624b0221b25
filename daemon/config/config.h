// The one configuration struct (STYLE.md 7), loaded from one YAML file. `config/followup.yaml`
// mirrors it line for line with every default; keep the two together.
#pragma once

#include <string>

#include "base/error.h"

namespace followup {

struct BusinessConfig {
  std::string name = "Example Shop";
  // IANA zone the business speaks: dates without a time are midnight here, schedules fire here.
  std::string timezone = "UTC";
  // ISO 4217 currency for rows that name none.
  std::string currency = "EUR";
};

struct WorthConfig {
  std::string time_unit = "weeks";  // "days" or "weeks": the unit of the BG/NBD model
  double default_margin = 0.3;      // share of revenue that is profit where cost is unknown
  double annual_discount_rate = 0.1;
};

struct ImportConfig {
  int max_field_bytes = 4096;  // a longer CSV field or JSON value is rejected
  int max_line_bytes = 65536;  // a longer line is rejected
};

struct Config {
  // Where the config came from ("" = built-in defaults); relative paths below resolve against its
  // folder when loaded from a file.
  std::string path;
  // The store: "sqlite:PATH" or a plain path to a SQLite file.
  std::string store = "sqlite:/var/lib/followup/followup.db";
  std::string rules_dir = "/etc/followup/rules";
  std::string templates_dir = "/etc/followup/templates";
  BusinessConfig business;
  WorthConfig worth;
  ImportConfig import;
};

// Reads `path`. Every key not in Config, every value of the wrong type or out of range, and YAML
// syntax errors are kInvalidInput with the file, line and column (1-based). Missing keys keep their
// defaults. Relative paths are made absolute against the config file's folder.
Result<Config> LoadConfig(const std::string& path);

// Parses YAML text (for tests): `path` only names the source in errors and anchors relative paths.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& path);

}  // namespace followup
