#include "base/error.h"

namespace followup {

std::string Error::ToString() const {
  std::string out;
  if (!where.file.empty()) {
    out += where.file;
    if (where.line > 0) {
      out += ':' + std::to_string(where.line);
      if (where.column > 0) out += ':' + std::to_string(where.column);
    }
    out += ": ";
  }
  out += message;
  return out;
}

int ExitCodeFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidInput:
    case ErrorCode::kNotFound:
      return 1;
    case ErrorCode::kUsage:
      return 2;
    case ErrorCode::kRuntime:
      return 3;
  }
  return 3;
}

}  // namespace followup
