// The error contract every fuzz target checks: bad input is refused with a user
// error (InvalidInput or Usage) whose message is one non-empty line.
#pragma once

#include <string>

#include "FuzzTarget.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::fuzz {

inline void expectCleanRefusal(const Status& status, const std::string& stage) {
  const bool userError = status.code() == ErrorCode::InvalidInput || status.code() == ErrorCode::Usage;
  if (!userError || status.message().empty() || status.message().find('\n') != std::string::npos)
    fail(stage + " refused the input without a one-line user error", status.message());
}

}  // namespace onnxpress::fuzz
