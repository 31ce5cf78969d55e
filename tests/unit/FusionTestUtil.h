// Helpers shared by the pass tests: literal weights for ONNX text models, and finding
// the node that produces a value.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "onnxpress/ir/Model.h"

namespace onnxpress::test {

/// "{v0, v1, ...}": `n` values uniform in [lo, hi) from a fixed seed, for initializer
/// and Constant literals in ONNX text syntax.
inline std::string seededLiteral(int n, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::string out = "{";
  for (int i = 0; i < n; ++i) out += fmt::format("{}{:.6f}", i ? ", " : "", u(rng));
  return out + "}";
}

/// `text` with every "$NAME" key replaced by its value (model text braces stay literal).
inline std::string substitute(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values)
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  return text;
}

/// "{v0, v1, ...}" holding exactly `values` (floats with 9 significant digits).
template <typename T>
std::string literal(const std::vector<T>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if constexpr (std::is_floating_point_v<T>) out += fmt::format("{}{:.9g}", i ? ", " : "", values[i]);
    else out += fmt::format("{}{}", i ? ", " : "", values[i]);
  }
  return out + "}";
}

/// The node producing `value` in m's main graph; nullptr for an input, an
/// initializer or an unknown name.
inline Node* producerOf(const Model& m, const std::string& value) {
  Value* v = m.graph().findValue(value);
  return v ? v->producer() : nullptr;
}

}  // namespace onnxpress::test
