// JSON as text. Strings that are not valid UTF-8 (a tensor name or a path taken
// from a hostile file) are written with U+FFFD in place of the bad bytes, where
// nlohmann::json::dump() would throw.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace onnxpress {

inline std::string jsonText(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace onnxpress
