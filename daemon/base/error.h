// Errors as values across parts (docs/architecture.md, the parts: base).
//
// Every fallible function that crosses a part boundary returns Result<T>: the value on success, an
// Error on failure. Errors about user input carry the place they came from (file:line:column, all
// 1-based, 0 when unknown) so that the operator can go straight to it.
#pragma once

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace followup {

enum class ErrorCode {
  kInvalidInput,  // rules, config, rows, arguments: the user can fix it (exit 1)
  kNotFound,      // a named thing does not exist (exit 1)
  kUsage,         // the command line itself is wrong (exit 2)
  kRuntime,       // store, network, file system (exit 3)
};

struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown
};

struct Error {
  ErrorCode code = ErrorCode::kRuntime;
  std::string message;
  Location where;

  // "FILE:LINE:COL: message" (the parts that are known), or just the message.
  std::string ToString() const;
};

// A Result must be looked at: dropping one unread is a compile error. Where dropping a failure is
// right, the call site says why in a comment and casts to void.
template <typename T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using Base = tl::expected<T, Error>;
  using Base::Base;
  using Base::operator=;
  Result() = default;
  Result(const Base& other) : Base(other) {}        // NOLINT(google-explicit-constructor)
  Result(Base&& other) : Base(std::move(other)) {}  // NOLINT(google-explicit-constructor)
};

inline tl::unexpected<Error> Fail(ErrorCode code, std::string message, Location where = {}) {
  return tl::unexpected<Error>(Error{code, std::move(message), std::move(where)});
}
inline tl::unexpected<Error> InvalidInput(std::string message, Location where = {}) {
  return Fail(ErrorCode::kInvalidInput, std::move(message), std::move(where));
}
inline tl::unexpected<Error> RuntimeFailure(std::string message) {
  return Fail(ErrorCode::kRuntime, std::move(message));
}

// The process exit status for an error, the same for every command: 1 invalid input, 2 usage,
// 3 runtime.
int ExitCodeFor(const Error& error);

}  // namespace followup
