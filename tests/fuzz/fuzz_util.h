// What the fuzz targets share: checks that end the run with a finding, and the properties every
// message about outside input must have.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "base/printable.h"

namespace followup::fuzz {

// A broken property is a finding: say which, then abort so that libFuzzer saves the input.
[[noreturn]] inline void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz property broken: %s: %s\n", what, Printable(detail, 400).c_str());
  std::abort();
}

inline void Check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) Fail(what, detail);
}

// A message that cites outside input must be one printable line: nothing that could forge a line
// of a report or act on a terminal (base/printable.h), and bounded.
inline void CheckMessage(std::string_view message, size_t max_bytes = 1024) {
  Check(Printable(message) == message, "a message carries raw control characters or bad UTF-8",
        message);
  Check(message.size() <= max_bytes, "a message is not bounded", message);
}

}  // namespace followup::fuzz
