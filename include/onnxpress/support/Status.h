// Status and Expected<T>: how every user-facing failure travels up to the CLI.
// Each error carries a category that maps one-to-one to a process exit code.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace onnxpress {

/// Error categories; the numeric value is the CLI exit code.
enum class ErrorCode : int {
  Ok = 0,
  Usage = 1,         // bad command line, bad option, bad pass pipeline
  InvalidInput = 2,  // invalid model or data file
  Internal = 3,      // a bug or an unexpected system failure
  GateFailed = 4,    // a CI gate (accuracy, size, speed) was not met
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  /// Control characters in `message` (a newline in a tensor name, say) are escaped,
  /// so that every error prints as one line.
  Status(ErrorCode code, std::string message);

  static Status ok() { return {}; }
  bool isOk() const { return code_ == ErrorCode::Ok; }
  explicit operator bool() const { return isOk(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  int exitCode() const { return static_cast<int>(code_); }

  /// Returns a copy whose message is "prefix: message".
  Status withContext(const std::string& prefix) const {
    return isOk() ? *this : Status(code_, prefix + ": " + message_);
  }

 private:
  ErrorCode code_ = ErrorCode::Ok;
  std::string message_;
};

template <typename... Args>
Status invalidInput(fmt::format_string<Args...> f, Args&&... args) {
  return {ErrorCode::InvalidInput, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status usageError(fmt::format_string<Args...> f, Args&&... args) {
  return {ErrorCode::Usage, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status internalError(fmt::format_string<Args...> f, Args&&... args) {
  return {ErrorCode::Internal, fmt::format(f, std::forward<Args>(args)...)};
}

/// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}
  Expected(Status status) : state_(std::move(status)) { assert(!std::get<Status>(state_).isOk()); }

  bool hasValue() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return hasValue(); }
  T& value() { return std::get<T>(state_); }
  const T& value() const { return std::get<T>(state_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return hasValue() ? Status::ok() : std::get<Status>(state_); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace onnxpress

#define ONNXPRESS_CONCAT_INNER(a, b) a##b
#define ONNXPRESS_CONCAT(a, b) ONNXPRESS_CONCAT_INNER(a, b)

/// Propagates a failed Status from the enclosing function.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::onnxpress::Status _status = (expr);            \
    if (!_status.isOk()) return _status;             \
  } while (0)

/// Declares `lhs` from an Expected<T>, or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr)                                           \
  auto ONNXPRESS_CONCAT(_expected_, __LINE__) = (expr);                       \
  if (!ONNXPRESS_CONCAT(_expected_, __LINE__)) return ONNXPRESS_CONCAT(_expected_, __LINE__).status(); \
  lhs = std::move(ONNXPRESS_CONCAT(_expected_, __LINE__).value())
